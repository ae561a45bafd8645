"""The arguments of every operation, validated the same way over HTTP and direct invoke.

Field names are the wire's camelCase. Models are strict (no "5" for 5) and
forbid unknown fields, as the reference's Convex validators do.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from agent_streams.storage.keys import MAX_ORDER
from agent_streams.types import StreamFormat, StreamStatus
from agent_streams_protocol.limits import MAX_CURSORS, MAX_DELTA_SPAN, MIN_RETENTION_SECONDS

#: JavaScript's Number.MAX_SAFE_INTEGER: part numbers must survive a JS client.
MAX_PART_NUMBER = 2**53 - 1
#: Deeper JSON than this in parts is refused (readers re-parse it recursively).
MAX_JSON_DEPTH = 64


def _utf8(value: str) -> str:
    # JSON can carry lone surrogates ("\ud800") that no UTF-8 store accepts.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(_utf8)]
Id = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,40}$")]
ShortText = Annotated[Text, StringConstraints(max_length=256)]
Reason = Annotated[Text, StringConstraints(max_length=4096)]
OrderNumber = Annotated[int, Field(ge=0, le=MAX_ORDER)]
PartNumber = Annotated[int, Field(ge=0, le=MAX_PART_NUMBER)]
#: At most the longest ``RetentionDays`` the template allows; the stack's own is checked
#: by the service (``streams.create_stream``).
RetentionSeconds = Annotated[int, Field(ge=MIN_RETENTION_SECONDS, le=3650 * 24 * 60 * 60)]


def check_json(value: Any, depth: int = 0, *, lone_surrogates: bool = False) -> None:
    """Refuse JSON a store or reader cannot take: too deep, non-finite, bad text.

    With ``lone_surrogates``, strings may hold them: parts come from writers that
    slice text by UTF-16 code unit (JavaScript's strings) and may split a character
    between two deltas; they are stored as JSON escapes and joined again when read.
    """
    check_text = _any_text if lone_surrogates else _utf8
    stack: list[tuple[Any, int]] = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ValueError("object keys must be strings")
                check_text(key)
                stack.append((sub, level + 1))
        elif isinstance(item, list):
            stack.extend((sub, level + 1) for sub in item)
        elif isinstance(item, str):
            check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        elif item is not None and not isinstance(item, bool | int | float):
            raise ValueError(f"not a JSON value: {type(item).__name__}")


def _any_text(value: str) -> str:
    return value


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    check_json(value)
    return value


def _part_object(value: dict[str, Any]) -> dict[str, Any]:
    check_json(value, lone_surrogates=True)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
PartObject = Annotated[dict[str, Any], AfterValidator(_part_object)]
ProviderOptions = Annotated[dict[str, dict[str, Any]], AfterValidator(_json_object)]


class Arguments(BaseModel):
    # defer_build: a model's validator is built when first needed, not when this module is
    # imported; each handler builds only its own (``api.handler.lambda_handler``), so a cold
    # start does not pay for the other operations' models.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# -- threads -------------------------------------------------------------------


class CreateThreadArgs(Arguments):
    userId: ShortText | None = None
    title: Annotated[Text, StringConstraints(max_length=4096)] | None = None
    summary: Annotated[Text, StringConstraints(max_length=65536)] | None = None


class ThreadArgs(Arguments):
    threadId: Id


# -- streams -------------------------------------------------------------------


class CreateStreamArgs(Arguments):
    threadId: Id
    order: OrderNumber
    stepOrder: OrderNumber
    format: StreamFormat | None = None
    userId: ShortText | None = None
    agentName: ShortText | None = None
    model: ShortText | None = None
    provider: ShortText | None = None
    providerOptions: ProviderOptions | None = None
    #: How long the stream stays readable once it ended (default: 5 minutes once
    #: finished; an aborted stream stays until deleted or the stack's RetentionDays).
    retentionSeconds: RetentionSeconds | None = None


class ListStreamsArgs(Arguments):
    threadId: Id
    startOrder: OrderNumber | None = None
    statuses: Annotated[list[StreamStatus], Field(min_length=1, max_length=3)] | None = None


class Cursor(Arguments):
    streamId: Id
    cursor: PartNumber


class ListDeltasArgs(Arguments):
    threadId: Id
    cursors: Annotated[list[Cursor], Field(max_length=MAX_CURSORS)]

    @model_validator(mode="after")
    def _distinct(self) -> ListDeltasArgs:
        seen: set[str] = set()
        for cursor in self.cursors:
            if cursor.streamId in seen:
                raise ValueError(f"cursors name stream {cursor.streamId} more than once")
            seen.add(cursor.streamId)
        return self


class AbortStreamsByOrderArgs(Arguments):
    threadId: Id
    order: OrderNumber
    reason: Reason


class StreamingMessagesArgs(Arguments):
    threadId: Id
    order: OrderNumber
    stepOrder: OrderNumber
    status: Literal["success", "failed"]
    error: Reason | None = None


class StreamArgs(Arguments):
    streamId: Id


class DeltaArgs(Arguments):
    streamId: Id
    start: PartNumber
    end: PartNumber
    parts: Annotated[list[PartObject], Field(min_length=1)]

    @model_validator(mode="after")
    def _fits(self) -> DeltaArgs:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be greater than start ({self.start})")
        if self.end - self.start > MAX_DELTA_SPAN:
            raise ValueError(
                f"a delta numbers at most {MAX_DELTA_SPAN} parts (end - start), "
                f"not {self.end - self.start}"
            )
        if len(self.parts) > self.end - self.start:
            raise ValueError(
                f"{len(self.parts)} parts cannot number {self.start} to {self.end}: "
                "a delta holds at most end - start parts"
            )
        for index, part in enumerate(self.parts):
            if not isinstance(part.get("type"), str):
                raise ValueError(f"parts[{index}] needs a string 'type'")
        return self


class FinishStreamArgs(Arguments):
    streamId: Id
    finalDelta: DeltaArgs | None = None

    @model_validator(mode="after")
    def _same_stream(self) -> FinishStreamArgs:
        _check_final_delta(self.streamId, self.finalDelta)
        return self


class AbortStreamArgs(Arguments):
    streamId: Id
    reason: Reason
    finalDelta: DeltaArgs | None = None

    @model_validator(mode="after")
    def _same_stream(self) -> AbortStreamArgs:
        _check_final_delta(self.streamId, self.finalDelta)
        return self


def _check_final_delta(stream_id: str, final_delta: DeltaArgs | None) -> None:
    if final_delta is not None and final_delta.streamId != stream_id:
        raise ValueError(f"finalDelta is for stream {final_delta.streamId}, not {stream_id}")


class CleanupStreamArgs(Arguments):
    streamId: Id
    cursor: PartNumber | None = None


class DeleteThreadStreamsPageArgs(Arguments):
    """What the state machine asks a page to delete: a thread's streams (all of them, or
    with ``createdBefore`` those created by then), or with ``streamId`` one stream."""

    threadId: Id | None = None
    streamId: Id | None = None
    createdBefore: Annotated[int, Field(ge=0)] | None = None
    streamOrder: OrderNumber | None = None
    deltaCursor: Annotated[Text, StringConstraints(max_length=128)] | None = None

    @model_validator(mode="after")
    def _scoped(self) -> DeleteThreadStreamsPageArgs:
        if (self.threadId is None) == (self.streamId is None):
            raise ValueError("name either threadId or streamId")
        if self.createdBefore is not None and self.threadId is None:
            raise ValueError("createdBefore goes with threadId")
        return self


class StreamRecordsArgs(Arguments):
    """What Lambda's event source mapping hands ``publish_events``: DynamoDB stream records
    of the Streams and Threads tables (already filtered to the ones it needs)."""

    Records: list[dict[str, Any]]
