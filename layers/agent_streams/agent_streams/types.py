"""Domain objects and their wire shapes (camelCase, absent fields omitted)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

StreamStatus = Literal["streaming", "finished", "aborted"]
StreamFormat = Literal["UIMessageChunk", "TextStreamPart"]
ThreadStatus = Literal["active", "deleting"]

STREAM_STATUSES: tuple[StreamStatus, ...] = ("streaming", "finished", "aborted")

Json = Any
Part = dict[str, Any]


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


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

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"threadId": self.thread_id}
        _put(wire, "userId", self.user_id)
        _put(wire, "title", self.title)
        _put(wire, "summary", self.summary)
        wire["status"] = self.status
        wire["createdAt"] = self.created_at
        return wire


@dataclass(slots=True)
class StreamMetadata:
    """What the writer says about a stream when it creates it."""

    format: StreamFormat | None = None
    user_id: str | None = None
    agent_name: str | None = None
    model: str | None = None
    provider: str | None = None
    provider_options: dict[str, Any] | None = None


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
    meta: StreamMetadata = field(default_factory=StreamMetadata)
    reason: str | None = None
    ended_at: int | None = None
    #: Names of the pending EventBridge schedules, so they can be cancelled.
    timeout_schedule: str | None = None
    cleanup_schedule: str | None = None
    #: When the armed timeout schedule fires (epoch ms); older firings are stale.
    timeout_at: int | None = None
    #: TTL (epoch seconds) after which the item is ignored by reads and removed by DynamoDB.
    expires_at: int | None = None

    def message(self) -> dict[str, Any]:
        """The reference's ``publicStreamMessage``."""
        wire: dict[str, Any] = {"streamId": self.stream_id, "status": self.status}
        _put(wire, "format", self.meta.format)
        wire["order"] = self.order
        wire["stepOrder"] = self.step_order
        _put(wire, "userId", self.meta.user_id)
        _put(wire, "agentName", self.meta.agent_name)
        _put(wire, "model", self.meta.model)
        _put(wire, "provider", self.meta.provider)
        _put(wire, "providerOptions", self.meta.provider_options)
        return wire

    def state(self) -> dict[str, Any]:
        """``get_stream``'s reply: the stream message with its state."""
        wire = self.message()
        wire["threadId"] = self.thread_id
        _put(wire, "reason", self.reason)
        wire["lastHeartbeat"] = self.last_heartbeat
        _put(wire, "endedAt", self.ended_at)
        wire["nextStart"] = self.next_start
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

    def to_wire(self) -> dict[str, Any]:
        if self.spilled:
            raise ValueError(f"delta {self.stream_id}:{self.start} has spilled parts to resolve")
        return {
            "streamId": self.stream_id,
            "start": self.start,
            "end": self.end,
            "parts": json.loads(self.parts_json),
        }
