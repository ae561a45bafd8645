"""PynamoDB models of the three tables and the Streams index.

Table names come from settings at run time: :func:`bind_models` points the
models at them (and forgets cached connections when they change).
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TableError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from agent_streams import aws
from agent_streams.config import Settings
from agent_streams.storage.keys import STREAM_INDEX_ATTRIBUTES, STREAM_INDEX_NAME

_UNBOUND = "agent-streams-unbound"


class _Meta:
    table_name = _UNBOUND
    region: str | None = None
    connect_timeout_seconds = 3
    read_timeout_seconds = 10
    max_pool_connections = 32
    billing_mode = "PAY_PER_REQUEST"


class ThreadItem(Model):
    class Meta(_Meta):
        pass

    thread_id = UnicodeAttribute(hash_key=True, attr_name="threadId")
    status = UnicodeAttribute()
    created_at = NumberAttribute(attr_name="createdAt")
    user_id = UnicodeAttribute(null=True, attr_name="userId")
    title = UnicodeAttribute(null=True)
    summary = UnicodeAttribute(null=True)
    deleting_since = NumberAttribute(null=True, attr_name="deletingSince")
    execution_arn = UnicodeAttribute(null=True, attr_name="executionArn")
    deletion_attempt = NumberAttribute(default=0, attr_name="deletionAttempt")


class StreamsByThread(GlobalSecondaryIndex["StreamItem"]):  # type: ignore[no-untyped-call]
    """Mirrors the reference's ``threadId_state_order_stepOrder`` index.

    Projects only what ``StreamMessage`` and the TTL filter need, so the
    per-delta updates of ``nextStart``/``lastHeartbeat`` never write to it.
    """

    class Meta:
        index_name = STREAM_INDEX_NAME
        projection = IncludeProjection(list(STREAM_INDEX_ATTRIBUTES))

    thread_id = UnicodeAttribute(hash_key=True, attr_name="threadId")
    status_order = UnicodeAttribute(range_key=True, attr_name="statusOrder")


class StreamItem(Model):
    class Meta(_Meta):
        pass

    stream_id = UnicodeAttribute(hash_key=True, attr_name="streamId")
    thread_id = UnicodeAttribute(attr_name="threadId")
    status_order = UnicodeAttribute(attr_name="statusOrder")
    status = UnicodeAttribute()
    order = NumberAttribute()
    step_order = NumberAttribute(attr_name="stepOrder")
    created_at = NumberAttribute(attr_name="createdAt")
    last_heartbeat = NumberAttribute(attr_name="lastHeartbeat")
    next_start = NumberAttribute(attr_name="nextStart")
    format = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True, attr_name="userId")
    agent_name = UnicodeAttribute(null=True, attr_name="agentName")
    model = UnicodeAttribute(null=True)
    provider = UnicodeAttribute(null=True)
    #: JSON text, for an exact round trip of arbitrary provider options.
    provider_options = UnicodeAttribute(null=True, attr_name="providerOptions")
    reason = UnicodeAttribute(null=True)
    ended_at = NumberAttribute(null=True, attr_name="endedAt")
    timeout_schedule = UnicodeAttribute(null=True, attr_name="timeoutSchedule")
    cleanup_schedule = UnicodeAttribute(null=True, attr_name="cleanupSchedule")
    timeout_at = NumberAttribute(null=True, attr_name="timeoutAt")
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")

    by_thread = StreamsByThread()


class DeltaItem(Model):
    class Meta(_Meta):
        pass

    stream_id = UnicodeAttribute(hash_key=True, attr_name="streamId")
    start = NumberAttribute(range_key=True)
    end = NumberAttribute()
    #: Compact JSON text of the parts (see ``codec``).
    parts = UnicodeAttribute()
    expires_at = NumberAttribute(attr_name="expiresAt")


def bind_models(settings: Settings) -> None:
    """Point the models at the configured tables and index."""
    pairs: tuple[tuple[type[Model], str], ...] = (
        (ThreadItem, settings.require("threads_table")),
        (StreamItem, settings.require("streams_table")),
        (DeltaItem, settings.require("deltas_table")),
    )
    for model, table_name in pairs:
        meta: Any = model.Meta
        if meta.table_name != table_name or meta.region != settings.region:
            meta.table_name = table_name
            meta.region = settings.region
            model._connection = None
    _share_connection()


class _Connection(Connection):
    """PynamoDB's connection, its client made from the process's botocore session
    (``agent_streams.aws``) rather than from a session of its own."""

    @property
    def session(self) -> Any:
        return aws.session()

    @property
    def client(self) -> Any:
        if self._client is None:
            with aws.creating_lock:
                return super().client
        return super().client


def _share_connection() -> None:
    """One PynamoDB connection (so one botocore client) for the three models.

    Left alone, each model makes its own connection, each with a botocore session
    of its own: an operation touching two tables, or reading concurrently, built a
    second client and loaded the endpoint data again on its first call. The models'
    settings are the same (``_Meta``); only the table differs, and a connection
    serves any table whose schema it was given.
    """
    first = StreamItem._get_connection()
    if isinstance(first.connection, _Connection):
        shared = first.connection
    else:
        meta: Any = StreamItem.Meta
        shared = _Connection(
            region=meta.region,
            host=meta.host,
            connect_timeout_seconds=meta.connect_timeout_seconds,
            read_timeout_seconds=meta.read_timeout_seconds,
            max_retry_attempts=meta.max_retry_attempts,
            max_pool_connections=meta.max_pool_connections,
            extra_headers=meta.extra_headers,
        )
    for model in (StreamItem, DeltaItem, ThreadItem):
        table = model._get_connection()
        if table.connection is shared:
            continue
        try:
            shared.get_meta_table(table.table_name)
        except TableError:
            shared.add_meta_table(table.get_meta_table())
        table.connection = shared


def dumps_options(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads_options(raw: str | None) -> dict[str, Any] | None:
    return None if raw is None else dict(json.loads(raw))
