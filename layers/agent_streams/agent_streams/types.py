"""Domain objects, and their replies in the wire's shapes (``agent_streams_protocol.shapes``).

A stream's metadata is kept as the wire has it (:class:`~agent_streams_protocol.shapes.
StreamMetadata`, absent fields absent): it is taken from ``create_stream``, stored and
shown back whole, so a field added to its shape needs nothing here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import cast

from agent_streams_protocol import shapes
from agent_streams_protocol.limits import DEFAULT_RETENTION_SECONDS
from agent_streams_protocol.shapes import (
    STREAM_STATUSES,
    Part,
    StreamFormat,
    StreamMetadata,
    StreamStatus,
    ThreadStatus,
)

#: The reasons a deletion aborts a streaming stream with before purging it: a stream
#: aborted so is being deleted, and live reads end as for a deleted one.
DELETED_REASON = "deleted"
THREAD_DELETED_REASON = "thread deleted"
DELETION_REASONS = frozenset({DELETED_REASON, THREAD_DELETED_REASON})

__all__ = [
    "DELETED_REASON",
    "DELETION_REASONS",
    "STREAM_STATUSES",
    "THREAD_DELETED_REASON",
    "Delta",
    "Part",
    "Stream",
    "StreamFormat",
    "StreamMetadata",
    "StreamStatus",
    "Thread",
    "ThreadStatus",
]


@dataclass(slots=True)
class Thread:
    thread_id: str
    created_at: int
    status: ThreadStatus = "active"
    user_id: str | None = None
    title: str | None = None
    summary: str | None = None
    #: When deletion started and the state machine execution running it.
    deleting_since: int | None = None
    execution_arn: str | None = None
    deletion_attempt: int = 0

    def to_wire(self) -> shapes.Thread:
        wire: shapes.Thread = {
            "threadId": self.thread_id,
            "status": self.status,
            "createdAt": self.created_at,
        }
        if self.user_id is not None:
            wire["userId"] = self.user_id
        if self.title is not None:
            wire["title"] = self.title
        if self.summary is not None:
            wire["summary"] = self.summary
        return wire


def _no_metadata() -> StreamMetadata:
    return {}


@dataclass(slots=True)
class Stream:
    stream_id: str
    thread_id: str
    order: int
    step_order: int
    status: StreamStatus
    created_at: int
    last_heartbeat: int
    next_start: int = 0
    #: What the writer said about the stream, as the wire has it.
    meta: StreamMetadata = field(default_factory=_no_metadata)
    reason: str | None = None
    ended_at: int | None = None
    #: Names of the pending EventBridge schedules, so they can be cancelled.
    timeout_schedule: str | None = None
    cleanup_schedule: str | None = None
    #: When the armed timeout schedule fires (epoch ms); older firings are stale.
    timeout_at: int | None = None
    #: TTL (epoch seconds) after which the item is ignored by reads and removed by DynamoDB.
    expires_at: int | None = None
    #: How long the stream stays readable once ended, as create_stream was given it
    #: (None: the default, and an aborted stream stays until deleted or the TTL backstop).
    retention_seconds: int | None = None
    #: How many items its snapshot (``storage.snapshots``) takes, once it is written.
    snapshot_chunks: int | None = None
    #: Aborted by its own deletion (which goes on): its message is not worth a snapshot.
    deleting: bool = False

    @property
    def retention_ms(self) -> int:
        """How long after it ends a finished stream (and an aborted one with its own
        retention) is cleaned up."""
        seconds = self.retention_seconds
        return (DEFAULT_RETENTION_SECONDS if seconds is None else seconds) * 1000

    @property
    def cleaned_up_after_retention(self) -> bool:
        """Whether the cleanup schedule deletes it once ended: a finished stream always,
        an aborted one only if it was created with its own ``retentionSeconds``."""
        return self.status == "finished" or (
            self.status == "aborted" and self.retention_seconds is not None
        )

    def message(self) -> shapes.StreamMessage:
        """The reference's ``publicStreamMessage``."""
        return {
            "streamId": self.stream_id,
            "status": self.status,
            "order": self.order,
            "stepOrder": self.step_order,
            **self.meta,
        }

    def state(self) -> shapes.StreamState:
        """``get_stream``'s reply: the stream message with its state."""
        # The message, grown into the state by the assignments below (each one checked).
        wire = cast(shapes.StreamState, self.message())
        wire["threadId"] = self.thread_id
        wire["lastHeartbeat"] = self.last_heartbeat
        wire["nextStart"] = self.next_start
        if self.reason is not None:
            wire["reason"] = self.reason
        if self.ended_at is not None:
            wire["endedAt"] = self.ended_at
        wire["retentionSeconds"] = self.retention_ms // 1000
        return wire


@dataclass(frozen=True, slots=True)
class SpilledPart:
    """A part stored in S3 (too large for its delta's item), and where it goes back."""

    #: Where its marker is in the delta's stored parts text, and the marker's length.
    offset: int
    length: int
    #: The object's key, and the part's JSON there: its bytes, its ``"``, ``\\``, ``,``
    #: and ``:`` (what a reply adds to it, ``service.reply_sizes.delta_reply_bytes``), and
    #: its SHA-256 (hex).
    key: str
    size: int
    grows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Delta:
    stream_id: str
    start: int
    end: int
    #: The parts as stored: compact JSON, so reads can pass them on without re-encoding.
    #: With ``spilled``, some of them are markers standing for parts stored in S3:
    #: ``Repository.resolve_deltas`` puts those back before the delta is read.
    parts_json: str
    spilled: tuple[SpilledPart, ...] = ()

    def to_wire(self) -> shapes.StreamDelta:
        if self.spilled:
            raise ValueError(f"delta {self.stream_id}:{self.start} has spilled parts to resolve")
        return {
            "streamId": self.stream_id,
            "start": self.start,
            "end": self.end,
            "parts": json.loads(self.parts_json),
        }
