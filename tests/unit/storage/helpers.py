"""Builders and constants shared by the storage tests."""

from __future__ import annotations

import contextlib
import functools
import uuid
from dataclasses import replace
from typing import Any

import pytest

from agent_streams.config import Settings
from agent_streams.storage.repository import DeltaWrite, Repository
from agent_streams.types import Stream, StreamMetadata, StreamStatus, Thread

#: The storage's rules have one implementation; its contract runs on moto.
BACKENDS = ("dynamo",)

#: The moto tables: unique to this test process, and the same for every test in it
#: (each test re-creates them empty). Keeping the names lets PynamoDB keep its
#: connections: new names make it build three botocore clients, about 1 s a test.
_SUFFIX = uuid.uuid4().hex[:8]
SETTINGS = Settings(
    threads_table=f"contract-threads-{_SUFFIX}",
    streams_table=f"contract-streams-{_SUFFIX}",
    deltas_table=f"contract-deltas-{_SUFFIX}",
    region="us-east-1",
)

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z, epoch ms
#: TTLs are epoch seconds: an item is expired once ``expires_at * 1000 <= now``.
LIVE = NOW // 1000 + 3600
EXPIRED = NOW // 1000  # expired exactly at NOW
DELTA_TTL = NOW // 1000 + 86_400

#: Metadata with every StreamMessage field, and options that need an exact JSON round trip.
FULL_META = StreamMetadata(
    format="UIMessageChunk",
    userId="user-1",
    agentName="agent",
    model="gpt-x",
    provider="openai",
    providerOptions={"openai": {"effort": "low", "mix": [1, 2.5, None, True, "é"]}},
)

PARTS = '[{"type":"text-delta","id":"t","delta":"hi"}]'


@functools.cache
def _dynamodb_client() -> Any:
    import boto3

    # moto intercepts every botocore client, whenever it was made; one client for the
    # whole run saves building one per test (tests.conftest.create_tables does).
    return boto3.session.Session().client("dynamodb", region_name=SETTINGS.region)


def create_template_tables(settings: Settings) -> None:
    """tests.conftest.create_tables with a client kept for the run, replacing old tables.

    moto does not always forget its tables between mock_aws contexts (its reset loses
    track of cached backends, getmoto/moto#6592), so a table of an earlier test can
    still be there: drop it first.
    """
    from agent_streams_dev.local.template import load_template

    client = _dynamodb_client()
    names = {
        "ThreadsTable": settings.threads_table,
        "StreamsTable": settings.streams_table,
        "DeltasTable": settings.deltas_table,
    }
    for logical_id, spec in load_template().tables().items():
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=names[logical_id])
        client.create_table(**spec.create_table_kwargs(names[logical_id]))


def thread(thread_id: str = "t1", **fields: Any) -> Thread:
    return Thread(thread_id=thread_id, created_at=NOW - 60_000, **fields)


def stream(
    stream_id: str,
    thread_id: str = "t1",
    *,
    order: int = 0,
    step_order: int = 0,
    status: StreamStatus = "streaming",
    **fields: Any,
) -> Stream:
    base = Stream(
        stream_id=stream_id,
        thread_id=thread_id,
        order=order,
        step_order=step_order,
        status=status,
        created_at=NOW - 10_000,
        last_heartbeat=NOW - 5_000,
        timeout_schedule=f"timeout-{stream_id}-0",
        timeout_at=NOW + 600_000,
        expires_at=LIVE,
    )
    return replace(base, **fields)


def delta(start: int, end: int, parts: str = PARTS, expires_at: int = DELTA_TTL) -> DeltaWrite:
    return DeltaWrite(start=start, end=end, parts_json=parts, expires_at=expires_at)


def seed(repo: Repository, *streams: Stream) -> None:
    """Create the streams' threads (active) and the streams, as given."""
    for thread_id in dict.fromkeys(s.thread_id for s in streams):
        if repo.get_thread(thread_id) is None:
            repo.create_thread(thread(thread_id))
    for s in streams:
        repo.create_stream(s)


def projected(full: Stream) -> Stream:
    """What an index read returns: the Streams index does not project these."""
    return replace(
        full,
        created_at=0,
        last_heartbeat=0,
        next_start=0,
        reason=None,
        ended_at=None,
        timeout_at=None,
    )


def known_bug(reason: str, *, on: tuple[str, ...] = ("dynamo",)) -> pytest.MarkDecorator:
    """Run the test on both backends, expecting it to fail (strictly) on ``on``.

    Strict, so fixing the bug turns the test red until the marker goes.
    """
    return pytest.mark.parametrize(
        "repo",
        [
            pytest.param(
                name,
                id=name,
                marks=[pytest.mark.xfail(strict=True, reason=reason)] if name in on else [],
            )
            for name in BACKENDS
        ],
        indirect=True,
    )
