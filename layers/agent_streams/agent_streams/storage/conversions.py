"""Items to domain objects and back: raw DynamoDB items (low-level reads, the items a
cancelled transaction returns) and PynamoDB models."""

from __future__ import annotations

import json
from typing import Any, cast

from agent_streams.storage.keys import status_order_key
from agent_streams.storage.models import DeltaItem, StreamItem, ThreadItem
from agent_streams.storage.repository import DeltaWrite
from agent_streams.types import Stream, StreamMetadata, Thread

Raw = dict[str, Any]


def _n(raw: Raw, name: str) -> int | None:
    value = raw.get(name)
    return None if value is None else int(value["N"])


def _s(raw: Raw, name: str) -> str | None:
    value = raw.get(name)
    return None if value is None else str(value["S"])


def dumps_metadata(meta: StreamMetadata) -> str | None:
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False) if meta else None


def loads_metadata(text: str | None) -> StreamMetadata:
    return cast(StreamMetadata, json.loads(text)) if text else {}


def stream_from_raw(raw: Raw) -> Stream:
    """A stream from a raw DynamoDB item (full or index-projected)."""
    return Stream(
        stream_id=str(raw["streamId"]["S"]),
        thread_id=str(raw["threadId"]["S"]),
        order=_n(raw, "order") or 0,
        step_order=_n(raw, "stepOrder") or 0,
        status=_s(raw, "status"),  # type: ignore[arg-type]
        created_at=_n(raw, "createdAt") or 0,
        last_heartbeat=_n(raw, "lastHeartbeat") or 0,
        next_start=_n(raw, "nextStart") or 0,
        meta=loads_metadata(_s(raw, "metadata")),
        reason=_s(raw, "reason"),
        ended_at=_n(raw, "endedAt"),
        timeout_schedule=_s(raw, "timeoutSchedule"),
        cleanup_schedule=_s(raw, "cleanupSchedule"),
        timeout_at=_n(raw, "timeoutAt"),
        expires_at=_n(raw, "expiresAt"),
        retention_seconds=_n(raw, "retentionSeconds"),
        snapshot_chunks=_n(raw, "snapshotChunks"),
        deleting=bool(raw.get("deleting", {}).get("BOOL", False)),
    )


def stream_from_item(item: StreamItem) -> Stream:
    return stream_from_raw(item.serialize())


def stream_item(stream: Stream) -> StreamItem:
    return StreamItem(
        stream.stream_id,
        thread_id=stream.thread_id,
        status_order=status_order_key(stream.status, stream.order, stream.step_order),
        status=stream.status,
        order=stream.order,
        step_order=stream.step_order,
        created_at=stream.created_at,
        last_heartbeat=stream.last_heartbeat,
        next_start=stream.next_start,
        metadata=dumps_metadata(stream.meta),
        reason=stream.reason,
        ended_at=stream.ended_at,
        timeout_schedule=stream.timeout_schedule,
        cleanup_schedule=stream.cleanup_schedule,
        timeout_at=stream.timeout_at,
        expires_at=stream.expires_at,
        retention_seconds=stream.retention_seconds,
        snapshot_chunks=stream.snapshot_chunks,
        deleting=stream.deleting or None,
    )


def thread_from_item(item: ThreadItem) -> Thread:
    return Thread(
        thread_id=item.thread_id,
        created_at=int(item.created_at),
        status=item.status,  # type: ignore[arg-type]
        user_id=item.user_id,
        title=item.title,
        summary=item.summary,
        deleting_since=None if item.deleting_since is None else int(item.deleting_since),
        execution_arn=item.execution_arn,
        deletion_attempt=int(item.deletion_attempt or 0),
    )


def thread_item(thread: Thread) -> ThreadItem:
    """A new thread's item: deletion bookkeeping is never written at creation."""
    return ThreadItem(
        thread.thread_id,
        status=thread.status,
        created_at=thread.created_at,
        user_id=thread.user_id,
        title=thread.title,
        summary=thread.summary,
    )


def delta_item(stream_id: str, delta: DeltaWrite) -> DeltaItem:
    return DeltaItem(
        stream_id,
        delta.start,
        end=delta.end,
        parts=delta.parts_json,
        spilled=list(delta.spilled) or None,
        expires_at=delta.expires_at,
    )


def spilled_offsets(raw: Raw) -> tuple[int, ...]:
    """The ``spilled`` attribute of a raw delta item (empty when every part is inline)."""
    return tuple(int(value["N"]) for value in raw.get("spilled", {}).get("L", []))


def same_delta(raw: Raw, delta: DeltaWrite) -> bool:
    """Whether a stored delta item is ``delta`` (an identical retry of it). A spilled
    part's marker holds its SHA-256, so equal texts mean equal parts, spilled or not."""
    return (
        int(raw["end"]["N"]) == delta.end
        and raw["parts"]["S"] == delta.parts_json
        and spilled_offsets(raw) == delta.spilled
    )


def live(stream: Stream | None, now: int) -> Stream | None:
    """The stream, unless its TTL has passed (DynamoDB may take days to remove it)."""
    if stream is None or (stream.expires_at is not None and stream.expires_at * 1000 <= now):
        return None
    return stream
