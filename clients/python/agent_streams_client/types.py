"""Typed shapes of the contract's values, as the client sees them.

They are ``TypedDict``s over the wire's camelCase keys, so a value read from any
transport *is* the typed value (no conversion, no copy), and the materialiser,
which works on plain dicts, takes them as they are. Absent optional fields are
omitted, never ``None`` (the contract's rule).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

#: One part: a JSON object with a string ``type`` (a UIMessageChunk or a TextStreamPart).
Part = dict[str, Any]

StreamFormat = Literal["UIMessageChunk", "TextStreamPart"]
StreamStatus = Literal["streaming", "finished", "aborted"]
ThreadStatus = Literal["active", "deleting"]
MessageStatus = Literal["success", "failed"]

#: The statuses a stream ends in.
TERMINAL_STATUSES: frozenset[str] = frozenset({"finished", "aborted"})


class Thread(TypedDict):
    threadId: str
    userId: NotRequired[str]
    title: NotRequired[str]
    summary: NotRequired[str]
    status: ThreadStatus
    createdAt: int


class DeleteThreadResult(TypedDict):
    """``delete_thread``'s reply: the deletion runs in a state machine."""

    executionArn: str


class StreamMessage(TypedDict):
    """A stream as ``list_streams`` shows it (the reference's ``publicStreamMessage``)."""

    streamId: str
    status: StreamStatus
    format: NotRequired[StreamFormat]
    order: int
    stepOrder: int
    userId: NotRequired[str]
    agentName: NotRequired[str]
    model: NotRequired[str]
    provider: NotRequired[str]
    providerOptions: NotRequired[dict[str, Any]]


class StreamState(StreamMessage):
    """A stream with its state, as ``get_stream`` returns it."""

    threadId: str
    reason: NotRequired[str]
    lastHeartbeat: int
    endedAt: NotRequired[int]
    nextStart: int
    retentionSeconds: int


class StreamDelta(TypedDict):
    """Parts ``start`` (inclusive) to ``end`` (exclusive) of a stream.

    ``len(parts) <= end - start``: the writer may merge consecutive text deltas.
    """

    streamId: str
    start: int
    end: int
    parts: list[Part]


class StreamCursor(TypedDict):
    """The next part number a reader wants from one stream."""

    streamId: str
    cursor: int


class MessageWithMetadata(TypedDict):
    """A message doc materialised from a stream (the reference's ``vMessageWithMetadataInternal``)."""

    message: dict[str, Any]
    text: NotRequired[str]
    fileIds: NotRequired[list[str]]
    status: str
    finishReason: NotRequired[str]
    model: NotRequired[str]
    provider: NotRequired[str]
    providerMetadata: NotRequired[dict[str, Any]]
    sources: NotRequired[list[dict[str, Any]]]
    reasoning: NotRequired[str]
    reasoningDetails: NotRequired[list[dict[str, Any]]]
    usage: NotRequired[dict[str, Any]]
    warnings: NotRequired[list[dict[str, Any]]]
    error: NotRequired[str]


#: A UI message as the materialiser builds it (AI SDK 5 ``UIMessage`` plus the agent's fields).
UIMessage = dict[str, Any]
