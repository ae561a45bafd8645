"""The wire's shapes, declared once: every request and reply of the contract.

Class docstrings and ``Doc`` texts are the OpenAPI document's descriptions (Markdown).

``TypedDict``s over the wire's camelCase keys, so a value read from any transport *is*
the typed value, and a client needs nothing to use them. ``NotRequired`` is the
contract's rule for optional fields: absent, never ``null``. Every shape is
:func:`~agent_streams_protocol.markers.closed` (unknown keys are refused in requests, and
a reply that grows a key fails the tests until its shape declares it); the free-form
inner objects the reference leaves open (parts, provider options, usage…) stay open.

Who reads them: the runtime validates requests against them (pydantic, strict) and
builds its replies typed by them; the OpenAPI document's schemas are generated from them,
and the TypeScript client's types from that document; the Python client types its values
with them. A stream's metadata is :class:`StreamMetadata`: a field added there is taken by
``create_stream``, stored, shown by ``list_streams``/``get_stream``, documented and typed
in both clients, with no other declaration.
"""

# No ``from __future__ import annotations`` here: ``NotRequired`` must be seen when each
# class is made, for ``__optional_keys__`` (which the runtime reads) to be right.
from typing import Annotated, Any, Literal, NotRequired

from agent_streams_protocol.errors import ERROR_CLASSES
from agent_streams_protocol.limits import (
    MAX_CURSORS,
    MAX_ORDER,
    MAX_PART_NUMBER,
    MAX_RETENTION_SECONDS,
    MAX_SHORT_TEXT,
    MIN_RETENTION_SECONDS,
)
from agent_streams_protocol.markers import Constraints, Doc, TypedDict, closed

#: Ids, server-generated: URL-safe and at most 40 characters.
ID_PATTERN = r"^[0-9A-Za-z_-]{1,40}$"

StreamStatus = Literal["streaming", "finished", "aborted"]
StreamFormat = Literal["UIMessageChunk", "TextStreamPart"]
ThreadStatus = Literal["active", "deleting"]
MessageStatus = Literal["success", "failed"]
FinishReason = Literal[
    "stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"
]

STREAM_STATUSES: tuple[StreamStatus, ...] = ("streaming", "finished", "aborted")

Id = Annotated[str, Constraints(pattern=ID_PATTERN)]
ThreadId = Annotated[Id, Doc("The thread's id.")]
StreamId = Annotated[
    Id, Doc("The stream's id; its first 16 characters are derived from its thread's id.")
]
EpochMs = Annotated[int, Constraints(ge=0), Doc("Epoch milliseconds.")]
#: ``order`` and ``stepOrder``: non-negative, and at most 12 digits (the index sorts them).
OrderNumber = Annotated[int, Constraints(ge=0, le=MAX_ORDER)]
#: Part numbers: non-negative, and exact in a JavaScript number.
PartNumber = Annotated[int, Constraints(ge=0, le=MAX_PART_NUMBER)]
ShortText = Annotated[str, Constraints(max_length=MAX_SHORT_TEXT)]
Reason = Annotated[str, Constraints(max_length=4096)]
#: A JSON object the contract leaves open.
Loose = dict[str, Any]
#: One part: a JSON object with a string ``type`` (a UIMessageChunk or a TextStreamPart).
Part = dict[str, Any]


# -- threads ---------------------------------------------------------------------------


@closed
class ThreadRequest(TypedDict):
    """A thread, by id (`get_thread`, `delete_thread`, `delete_thread_streams`)."""

    threadId: ThreadId


@closed
class CreateThreadRequest(TypedDict):
    """What a thread is created with (`Thread` shows it back)."""

    userId: NotRequired[ShortText]
    title: NotRequired[Annotated[str, Constraints(max_length=4096)]]
    summary: NotRequired[Annotated[str, Constraints(max_length=65536)]]


@closed
class Thread(ThreadRequest, CreateThreadRequest):
    """A conversation; it owns streams."""

    status: Annotated[
        ThreadStatus, Doc("`deleting` once `DELETE /threads/{threadId}` has started.")
    ]
    createdAt: EpochMs


@closed
class Execution(TypedDict):
    """The Step Functions execution carrying out a deletion (for `DELETE /threads/{threadId}`:
    the thread's streams, then the thread)."""

    executionArn: str


# -- streams ---------------------------------------------------------------------------


@closed
class StreamRequest(TypedDict):
    """A stream, by id (`get_stream`, `heartbeat_stream`, `delete_stream`…)."""

    streamId: StreamId


@closed
class StreamPlace(TypedDict):
    """Where a stream is in its thread."""

    order: Annotated[OrderNumber, Doc("The message's place in the thread.")]
    stepOrder: Annotated[OrderNumber, Doc("The step within the message.")]


@closed
class StreamMetadata(TypedDict):
    """What the writer says about a stream when it creates it, shown back to readers."""

    format: NotRequired[StreamFormat]
    userId: NotRequired[ShortText]
    agentName: NotRequired[ShortText]
    model: NotRequired[ShortText]
    provider: NotRequired[ShortText]
    providerOptions: NotRequired[dict[str, Loose]]


#: How long a stream stays readable once it ended: at most the longest ``RetentionDays``
#: the template allows (the stack's own is checked by ``create_stream``).
RetentionSeconds = Annotated[int, Constraints(ge=MIN_RETENTION_SECONDS, le=MAX_RETENTION_SECONDS)]


@closed
class CreateStreamRequest(ThreadRequest, StreamPlace, StreamMetadata):
    """A new stream: its thread, its place, its metadata."""

    retentionSeconds: NotRequired[
        Annotated[
            RetentionSeconds,
            Doc(
                "How long the stream stays readable once it ended (default 300, once "
                "finished; an aborted stream created without one stays until deleted or "
                "the stack's RetentionDays, which is also the longest allowed)."
            ),
        ]
    ]


@closed
class _StreamHead(TypedDict):
    streamId: StreamId
    status: StreamStatus


@closed
class StreamMessage(_StreamHead, StreamPlace, StreamMetadata):
    """A stream as readers list it (the reference's `publicStreamMessage`)."""


@closed
class StreamState(StreamMessage):
    """A stream with its state (`get_stream`)."""

    threadId: ThreadId
    reason: NotRequired[Annotated[str, Doc("Why the stream was aborted.")]]
    lastHeartbeat: Annotated[
        int, Constraints(ge=0), Doc("Epoch milliseconds of the last write or heartbeat.")
    ]
    endedAt: NotRequired[
        Annotated[int, Constraints(ge=0), Doc("Epoch milliseconds of the finish or abort.")]
    ]
    nextStart: Annotated[
        int,
        Constraints(ge=0),
        Doc("The `start` the next delta must have (the log's end)."),
    ]
    retentionSeconds: Annotated[
        int,
        Constraints(ge=MIN_RETENTION_SECONDS),
        Doc(
            "How long the stream stays readable once it ended (create_stream's, or 300). "
            "An aborted stream created without one stays until deleted or the stack's "
            "RetentionDays."
        ),
    ]


@closed
class StreamIdReply(TypedDict):
    """The id of the stream just created."""

    streamId: StreamId


@closed
class ListStreamsRequest(ThreadRequest):
    """A thread's streams, newest first."""

    startOrder: NotRequired[OrderNumber]
    statuses: NotRequired[Annotated[list[StreamStatus], Constraints(min_length=1, max_length=3)]]


# -- deltas ----------------------------------------------------------------------------


@closed
class StreamDelta(TypedDict):
    """Parts number `start` (inclusive) to `end` (exclusive) of a stream; `parts` may hold
    fewer than `end - start` parts, because the writer merges consecutive text deltas."""

    streamId: StreamId
    start: PartNumber
    end: PartNumber
    parts: Annotated[
        list[Part],
        Constraints(min_length=1),
        Doc("`UIMessageChunk` or `TextStreamPart` objects, each with a string `type`."),
    ]


@closed
class StreamCursor(TypedDict):
    """The next part number a reader wants from one stream."""

    streamId: StreamId
    cursor: PartNumber


@closed
class ListDeltasRequest(ThreadRequest):
    """Deltas of a thread's streams, each from its cursor."""

    cursors: Annotated[list[StreamCursor], Constraints(max_length=MAX_CURSORS)]


@closed
class Accepted(TypedDict):
    """Whether the delta is stored (by this call or an identical earlier one), and the
    stream's status after the call. `accepted` is false when the stream is not streaming."""

    accepted: bool
    status: StreamStatus


# -- ending streams --------------------------------------------------------------------


@closed
class FinishStreamRequest(StreamRequest):
    """Finish a stream, with its last delta (atomically)."""

    finalDelta: NotRequired[StreamDelta]


@closed
class AbortStreamRequest(StreamRequest):
    """Abort a stream, with its last delta (atomically)."""

    reason: Reason
    finalDelta: NotRequired[StreamDelta]


@closed
class AbortStreamsByOrderRequest(ThreadRequest):
    """Abort the streaming streams of a thread at one order."""

    order: OrderNumber
    reason: Reason


@closed
class Status(TypedDict):
    """The stream's status after the call."""

    status: StreamStatus


@closed
class Aborted(TypedDict):
    """Whether the call aborted a stream."""

    aborted: bool


@closed
class StreamUIMessage(_StreamHead):
    """A stream's UI message (`get_stream_message`): from its snapshot once it ended."""

    cursor: Annotated[
        int,
        Constraints(ge=0),
        Doc(
            "The part number after the last one in the message: go on from it with "
            "list_deltas (an ended stream's `nextStart`)."
        ),
    ]
    uiMessage: Annotated[
        Loose,
        Doc(
            "The AI SDK 5 UI message `derive_ui_messages` makes of the stream's deltas: "
            "`{id, key, order, stepOrder, status, agentName?, text, role, parts, metadata?}`."
        ),
    ]


# -- message docs ----------------------------------------------------------------------


@closed
class StreamingMessagesRequest(ThreadRequest):
    """The streams at one order, up to one step, materialised into message docs."""

    order: OrderNumber
    stepOrder: OrderNumber
    status: MessageStatus
    error: NotRequired[Reason]


@closed
class MessageWithMetadata(TypedDict):
    """A message doc materialised from a stream's deltas (the reference's
    `vMessageWithMetadataInternal`). Inner objects follow the AI SDK and are left open."""

    message: Annotated[Loose, Doc("An AI SDK model message: `{role, content, providerOptions?}`.")]
    text: NotRequired[str]
    fileIds: NotRequired[list[str]]
    status: Annotated[MessageStatus, Doc("The `status` the request asked for.")]
    finishReason: NotRequired[FinishReason]
    model: NotRequired[str]
    provider: NotRequired[str]
    providerMetadata: NotRequired[dict[str, Loose]]
    sources: NotRequired[list[Loose]]
    reasoning: NotRequired[str]
    reasoningDetails: NotRequired[list[Loose]]
    usage: NotRequired[Loose]
    warnings: NotRequired[list[Loose]]
    error: NotRequired[Annotated[str, Doc("The `error` the request gave.")]]


# -- errors ----------------------------------------------------------------------------

#: Besides the contract's codes, an unexpected failure replies ``InternalError`` (500).
ERROR_CODES: tuple[str, ...] = (*sorted(ERROR_CLASSES), "InternalError")


@closed
class ErrorReply(TypedDict):
    """An error reply. `error` is the code (the exception class a direct invoke raises)."""

    error: Annotated[str, Doc(enum=ERROR_CODES)]
    message: Annotated[str, Doc("What went wrong, for people.")]
    expectedStart: NotRequired[
        Annotated[
            int, Constraints(ge=0), Doc("`DeltaConflict` only: the `start` the stream expects.")
        ]
    ]
