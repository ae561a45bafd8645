"""PynamoDB models of the three tables and the Streams index.

Table names come from settings at run time: :func:`bind_models` points the
models at them (and forgets cached connections when they change), on the
process's one DynamoDB client (timeouts, pool and retries are ``agent_streams.aws``'s).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
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
    #: The stream's metadata (``shapes.StreamMetadata``) as compact JSON text: one
    #: attribute whatever fields it has, projected into the index once, and an exact round
    #: trip of what the writer gave (no Decimal). Absent when the writer gave none.
    metadata = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    ended_at = NumberAttribute(null=True, attr_name="endedAt")
    timeout_schedule = UnicodeAttribute(null=True, attr_name="timeoutSchedule")
    cleanup_schedule = UnicodeAttribute(null=True, attr_name="cleanupSchedule")
    timeout_at = NumberAttribute(null=True, attr_name="timeoutAt")
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")
    retention_seconds = NumberAttribute(null=True, attr_name="retentionSeconds")
    #: Set once, with the snapshot's items (``storage.snapshots``): how many there are.
    snapshot_chunks = NumberAttribute(null=True, attr_name="snapshotChunks")
    #: Set by the abort that begins the stream's deletion.
    deleting = BooleanAttribute(null=True)

    by_thread = StreamsByThread()


class DeltaItem(Model):
    class Meta(_Meta):
        pass

    stream_id = UnicodeAttribute(hash_key=True, attr_name="streamId")
    start = NumberAttribute(range_key=True)
    end = NumberAttribute()
    #: Compact JSON text of the parts (see ``codec``).
    parts = UnicodeAttribute()
    #: Where the markers of parts stored in S3 are in ``parts`` (see ``spill``); absent
    #: when every part is inline.
    spilled = ListAttribute(of=NumberAttribute, null=True)
    expires_at = NumberAttribute(attr_name="expiresAt")


class SnapshotChunkItem(Model):
    """One piece of an ended stream's snapshot, in the Deltas table under the stream's id
    with a negative ``start`` (``storage.snapshots``), where no delta can be."""

    class Meta(_Meta):
        pass

    stream_id = UnicodeAttribute(hash_key=True, attr_name="streamId")
    start = NumberAttribute(range_key=True)
    data = BinaryAttribute(legacy_encoding=False)
    expires_at = NumberAttribute(attr_name="expiresAt")


def bind_models(settings: Settings) -> None:
    """Point the models at the configured tables, on the process's DynamoDB client."""
    pairs: tuple[tuple[type[Model], str], ...] = (
        (ThreadItem, settings.require("threads_table")),
        (StreamItem, settings.require("streams_table")),
        (DeltaItem, settings.require("deltas_table")),
        (SnapshotChunkItem, settings.require("deltas_table")),
    )
    for model, table_name in pairs:
        meta: Any = model.Meta
        if meta.table_name != table_name or meta.region != settings.region:
            meta.table_name = table_name
            meta.region = settings.region
            model._connection = None
    _share_connection()


def connection() -> Connection:
    """The PynamoDB connection the models share (what ``TransactWrite`` is given)."""
    return _share_connection()


class _Connection(Connection):
    """PynamoDB's connection on the process's one DynamoDB client (``aws.client``).

    botocore makes one attempt per call there: retries are ``agent_streams.retries``'s.
    """

    @property
    def client(self) -> Any:
        return aws.client("dynamodb", self.region)


def _share_connection() -> _Connection:
    """One PynamoDB connection (so one botocore client) for the models.

    PynamoDB has no public way to hand its models a connection or a client: left
    alone, each model builds a connection with a botocore session and client of
    its own, so an operation touching two tables, or reading concurrently, built a
    second client and loaded the endpoint data again on its first call. This is
    the one place that reaches into PynamoDB's internals (a model's table
    connection); the models' settings are the same (``_Meta``), only the table
    differs, and a connection serves any table whose schema it was given.
    """
    first = StreamItem._get_connection()
    if isinstance(first.connection, _Connection):
        shared = first.connection
    else:
        meta: Any = StreamItem.Meta
        shared = _Connection(region=meta.region)
    for model in (StreamItem, DeltaItem, SnapshotChunkItem, ThreadItem):
        table = model._get_connection()
        if table.connection is shared:
            continue
        try:
            shared.get_meta_table(table.table_name)
        except TableError:
            shared.add_meta_table(table.get_meta_table())
        table.connection = shared
    return shared
