"""The wire shapes of the HTTP replies, as typed dicts, for the OpenAPI document.

Documentation only: no function imports this module at run time (the replies
themselves are built by ``agent_streams.types``), so pydantic's JSON-schema
machinery never costs a cold start. The tests check real replies against the
schemas generated here, which keeps the two in step.

Shapes are ``TypedDict``s rather than models because the contract omits absent
optional fields instead of sending ``null``: ``NotRequired`` says exactly that
("may be missing, never null"), while ``X | None`` would document a null. Every
shape forbids unknown keys, so a reply that grows a field fails the tests until
the document describes it; the free-form inner objects the reference leaves
open (parts, provider options, usage…) stay open.

``typing_extensions.TypedDict`` is required: pydantic refuses ``typing.TypedDict``
before Python 3.12.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from typing_extensions import TypedDict

from agent_streams.ids import ID_PATTERN
from agent_streams.types import StreamFormat, StreamStatus, ThreadStatus
from agent_streams_protocol.errors import ERROR_CLASSES

#: Reply shapes forbid unknown keys (see the module's docstring).
_CLOSED = ConfigDict(extra="forbid")

ThreadId = Annotated[str, Field(pattern=ID_PATTERN.pattern, description="The thread's id.")]
StreamId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN.pattern,
        description="The stream's id; its first 16 characters are derived from its thread's id.",
    ),
]
EpochMs = Annotated[int, Field(ge=0, description="Epoch milliseconds.")]
OrderNumber = Annotated[int, Field(ge=0)]
PartNumber = Annotated[int, Field(ge=0)]
Loose = dict[str, Any]

# -- threads -------------------------------------------------------------------


class Thread(TypedDict):
    """A conversation; it owns streams."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    threadId: ThreadId
    userId: NotRequired[str]
    title: NotRequired[str]
    summary: NotRequired[str]
    status: Annotated[
        ThreadStatus,
        Field(description="`deleting` once `DELETE /threads/{threadId}` has started."),
    ]
    createdAt: EpochMs


class Execution(TypedDict):
    """The Step Functions execution deleting the thread's streams, then the thread."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    executionArn: str


# -- streams -------------------------------------------------------------------


class StreamIdReply(TypedDict):
    """The id of the stream just created."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    streamId: StreamId


class StreamMessage(TypedDict):
    """A stream as readers list it (the reference's `publicStreamMessage`)."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    streamId: StreamId
    status: StreamStatus
    format: NotRequired[StreamFormat]
    order: Annotated[int, Field(ge=0, description="The message's place in the thread.")]
    stepOrder: Annotated[int, Field(ge=0, description="The step within the message.")]
    userId: NotRequired[str]
    agentName: NotRequired[str]
    model: NotRequired[str]
    provider: NotRequired[str]
    providerOptions: NotRequired[dict[str, Loose]]


class StreamState(StreamMessage):
    """A stream with its state (`get_stream`)."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    threadId: ThreadId
    reason: NotRequired[Annotated[str, Field(description="Why the stream was aborted.")]]
    lastHeartbeat: Annotated[
        int, Field(ge=0, description="Epoch milliseconds of the last write or heartbeat.")
    ]
    endedAt: NotRequired[
        Annotated[int, Field(ge=0, description="Epoch milliseconds of the finish or abort.")]
    ]
    nextStart: Annotated[
        int,
        Field(ge=0, description="The `start` the next delta must have (the log's end)."),
    ]
    retentionSeconds: Annotated[
        int,
        Field(
            ge=1,
            description=(
                "How long the stream stays readable once it ended (create_stream's, or 300). "
                "An aborted stream created without one stays until deleted or the stack's "
                "RetentionDays."
            ),
        ),
    ]


class StreamUIMessage(TypedDict):
    """A stream's UI message (`get_stream_message`): from its snapshot once it ended."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    streamId: StreamId
    status: StreamStatus
    cursor: Annotated[
        int,
        Field(
            ge=0,
            description=(
                "The part number after the last one in the message: go on from it with "
                "list_deltas (an ended stream's `nextStart`)."
            ),
        ),
    ]
    uiMessage: Annotated[
        Loose,
        Field(
            description=(
                "The AI SDK 5 UI message `derive_ui_messages` makes of the stream's deltas: "
                "`{id, key, order, stepOrder, status, agentName?, text, role, parts, metadata?}`."
            )
        ),
    ]


class StreamDelta(TypedDict):
    """Parts number `start` (inclusive) to `end` (exclusive) of a stream; `parts` may hold
    fewer than `end - start` parts, because the writer merges consecutive text deltas."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    streamId: StreamId
    start: PartNumber
    end: PartNumber
    parts: Annotated[
        list[Loose],
        Field(
            description="`UIMessageChunk` or `TextStreamPart` objects, each with a string `type`."
        ),
    ]


class Aborted(TypedDict):
    """Whether the call aborted a stream."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    aborted: bool


class Accepted(TypedDict):
    """Whether the delta is stored (by this call or an identical earlier one), and the
    stream's status after the call. `accepted` is false when the stream is not streaming."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    accepted: bool
    status: StreamStatus


class Status(TypedDict):
    """The stream's status after the call."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    status: StreamStatus


# -- message docs ----------------------------------------------------------------

FinishReason = Literal[
    "stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"
]


class MessageWithMetadata(TypedDict):
    """A message doc materialised from a stream's deltas (the reference's
    `vMessageWithMetadataInternal`). Inner objects follow the AI SDK and are left open."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    message: Annotated[
        Loose, Field(description="An AI SDK model message: `{role, content, providerOptions?}`.")
    ]
    text: NotRequired[str]
    fileIds: NotRequired[list[str]]
    status: Annotated[
        Literal["success", "failed"], Field(description="The `status` the request asked for.")
    ]
    finishReason: NotRequired[FinishReason]
    model: NotRequired[str]
    provider: NotRequired[str]
    providerMetadata: NotRequired[dict[str, Loose]]
    sources: NotRequired[list[Loose]]
    reasoning: NotRequired[str]
    reasoningDetails: NotRequired[list[Loose]]
    usage: NotRequired[Loose]
    warnings: NotRequired[list[Loose]]
    error: NotRequired[Annotated[str, Field(description="The `error` the request gave.")]]


# -- errors ------------------------------------------------------------------------

#: Besides the contract's codes, an unexpected failure replies ``InternalError`` (500).
ERROR_CODES: tuple[str, ...] = (*sorted(ERROR_CLASSES), "InternalError")


class Error(TypedDict):
    """An error reply. `error` is the code (the exception class a direct invoke raises)."""

    __pydantic_config__ = _CLOSED  # type: ignore[misc]

    error: Annotated[str, Field(json_schema_extra={"enum": list(ERROR_CODES)})]
    message: Annotated[str, Field(description="What went wrong, for people.")]
    expectedStart: NotRequired[
        Annotated[
            int,
            Field(ge=0, description="`DeltaConflict` only: the `start` the stream expects."),
        ]
    ]


#: The schemas the routes name (``HttpRoute.reply_schema``), and ``Error``, by name.
REPLY_SCHEMAS: dict[str, Any] = {
    "Aborted": Aborted,
    "Accepted": Accepted,
    "Error": Error,
    "Execution": Execution,
    "MessageWithMetadataList": list[MessageWithMetadata],
    "Status": Status,
    "StreamDeltaList": list[StreamDelta],
    "StreamId": StreamIdReply,
    "StreamMessageList": list[StreamMessage],
    "StreamState": StreamState,
    "StreamUIMessage": StreamUIMessage,
    "Thread": Thread,
}
#: Component names that differ from the Python class's (``StreamId`` is also a field type).
_COMPONENT_NAMES = {"StreamIdReply": "StreamId"}


class DocumentSchemaGenerator(GenerateJsonSchema):
    """pydantic's JSON schemas, trimmed for a readable document.

    Property titles ("Streamid") only repeat the key; definitions keep their class
    name as title. Component names come from ``_COMPONENT_NAMES`` where the class
    name would clash with a field type's name.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def typed_dict_schema(self, schema: Any) -> JsonSchemaValue:
        generated = super().typed_dict_schema(schema)
        if generated.get("title") in _COMPONENT_NAMES:
            generated["title"] = _COMPONENT_NAMES[generated["title"]]
        return generated

    def normalize_name(self, name: str) -> str:
        name = super().normalize_name(name)
        return _COMPONENT_NAMES.get(name, name)


def component_schemas(names: list[str], ref_template: str) -> dict[str, dict[str, Any]]:
    """The JSON schemas of ``names`` (keys of ``REPLY_SCHEMAS``) and of every shape they
    use, by component name, sorted; references follow ``ref_template``."""
    unknown = sorted(set(names) - set(REPLY_SCHEMAS))
    if unknown:
        raise KeyError(f"no reply schema named {', '.join(unknown)} in agent_streams_dev.schemas")
    generator = DocumentSchemaGenerator(ref_template=ref_template)
    wanted = sorted(set(names))
    inputs = [
        (name, "serialization", TypeAdapter(REPLY_SCHEMAS[name]).core_schema) for name in wanted
    ]
    top, definitions = generator.generate_definitions(inputs)  # type: ignore[arg-type]
    found: dict[str, dict[str, Any]] = {str(name): schema for name, schema in definitions.items()}
    for (name, _mode), schema in top.items():
        # A typed dict comes back as a reference to its definition; a list inline.
        if schema.get("$ref") != ref_template.format(model=name):
            found[name] = dict(schema)
    return dict(sorted(found.items()))
