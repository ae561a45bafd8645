"""TextStreamPart → UIMessageChunk: the AI SDK's ``toUIMessageStream``, for stored parts.

A port of the transform in ``streamText(...).toUIMessageStream()`` (``ai`` 5.0,
``packages/ai/src/generate-text/stream-text.ts``), applied to parts as a writer
stored them (JSON, so a ``file`` part's ``file`` is ``{mediaType, base64}``). It
is what a browser's ``useChat`` would have received had it been connected to the
model call itself, with these options:

* ``sendReasoning: true``, ``sendStart: true``, ``sendFinish: true`` (the defaults);
* ``sendSources: true`` (the AI SDK's default is false; the stored reply has them and
  the materialisation shows them, so a live reader gets them too);
* ``onError``: the AI SDK's ``getErrorMessage`` (its default masks every error as
  "An error occurred." so a server does not leak details; here the writer already
  chose what to store, and the materialisation shows the same text);
* no ``messageMetadata`` callback, no ``generateMessageId``.

One difference is forced by working from stored parts: ``toUIMessageStream`` marks
a tool ``dynamic`` by looking the tool up in the call's tool set; stored parts carry
that flag themselves (``dynamic: true`` on ``tool-input-start``, ``tool-call``,
``tool-result``, ``tool-error``), so it is taken from the part. That also makes the
conversion stateless: each part converts on its own, which is what lets a reader
resume in the middle of a stream and still get exactly the chunks it would have got.

Parts that convert to nothing: ``tool-input-end``, ``raw``, and anything the AI SDK
does not know (its ``default`` case throws; a stored stream should still be readable,
so an unknown part is skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    get_error_message,
    js_string,
    truthy,
)
from agent_streams_protocol.materialize.live_parts import JsonDict

__all__ = ["text_stream_part_to_ui_chunk", "to_ui_message_chunks"]


def _if_set(chunk: JsonDict, key: str, value: Any) -> None:
    """``...(value != null ? {key: value} : {})``."""
    if value is not None and value is not UNDEFINED:
        chunk[key] = value


def _as_written(chunk: JsonDict, key: str, part: JsonDict, source: str) -> None:
    """``key: part.source``: JSON.stringify drops it when undefined, keeps a null."""
    if source in part:
        chunk[key] = part[source]


def _dynamic(chunk: JsonDict, part: JsonDict) -> None:
    # toUIMessageStream sends `dynamic: true` or nothing ("to reduce data transfer").
    if truthy(part.get("dynamic", UNDEFINED)):
        chunk["dynamic"] = True


def _with_id(kind: str) -> Callable[[JsonDict], JsonDict]:
    def convert(part: JsonDict) -> JsonDict:
        chunk: JsonDict = {"type": kind}
        _as_written(chunk, "id", part, "id")
        _if_set(chunk, "providerMetadata", part.get("providerMetadata"))
        return chunk

    return convert


def _with_delta(kind: str) -> Callable[[JsonDict], JsonDict]:
    def convert(part: JsonDict) -> JsonDict:
        chunk: JsonDict = {"type": kind}
        _as_written(chunk, "id", part, "id")
        _as_written(chunk, "delta", part, "text")
        _if_set(chunk, "providerMetadata", part.get("providerMetadata"))
        return chunk

    return convert


def _file(part: JsonDict) -> JsonDict:
    stored = part.get("file")
    file: JsonDict = stored if isinstance(stored, dict) else {}
    media_type = file.get("mediaType", UNDEFINED)
    # A GeneratedFile serialised as JSON keeps its data as `base64Data`.
    data = file.get("base64", file.get("base64Data", UNDEFINED))
    chunk: JsonDict = {"type": "file"}
    if media_type is not UNDEFINED:
        chunk["mediaType"] = media_type
    chunk["url"] = f"data:{js_string(media_type)};base64,{js_string(data)}"
    return chunk


def _source(part: JsonDict) -> JsonDict | None:
    source_type = part.get("sourceType")
    chunk: JsonDict
    if source_type == "url":
        chunk = {"type": "source-url"}
        _as_written(chunk, "sourceId", part, "id")
        _as_written(chunk, "url", part, "url")
        _as_written(chunk, "title", part, "title")
    elif source_type == "document":
        chunk = {"type": "source-document"}
        _as_written(chunk, "sourceId", part, "id")
        _as_written(chunk, "mediaType", part, "mediaType")
        _as_written(chunk, "title", part, "title")
        _as_written(chunk, "filename", part, "filename")
    else:
        return None
    _if_set(chunk, "providerMetadata", part.get("providerMetadata"))
    return chunk


def _tool_input_start(part: JsonDict) -> JsonDict:
    chunk: JsonDict = {"type": "tool-input-start"}
    _as_written(chunk, "toolCallId", part, "id")
    _as_written(chunk, "toolName", part, "toolName")
    _if_set(chunk, "providerExecuted", part.get("providerExecuted"))
    _dynamic(chunk, part)
    return chunk


def _tool_input_delta(part: JsonDict) -> JsonDict:
    chunk: JsonDict = {"type": "tool-input-delta"}
    _as_written(chunk, "toolCallId", part, "id")
    _as_written(chunk, "inputTextDelta", part, "delta")
    return chunk


def _tool_call(part: JsonDict) -> JsonDict:
    invalid = truthy(part.get("invalid", UNDEFINED))
    chunk: JsonDict = {"type": "tool-input-error" if invalid else "tool-input-available"}
    _as_written(chunk, "toolCallId", part, "toolCallId")
    _as_written(chunk, "toolName", part, "toolName")
    _as_written(chunk, "input", part, "input")
    _if_set(chunk, "providerExecuted", part.get("providerExecuted"))
    _if_set(chunk, "providerMetadata", part.get("providerMetadata"))
    _dynamic(chunk, part)
    if invalid:
        chunk["errorText"] = get_error_message(part.get("error", UNDEFINED))
    return chunk


def _tool_result(part: JsonDict) -> JsonDict:
    chunk: JsonDict = {"type": "tool-output-available"}
    _as_written(chunk, "toolCallId", part, "toolCallId")
    _as_written(chunk, "output", part, "output")
    _if_set(chunk, "providerExecuted", part.get("providerExecuted"))
    _if_set(chunk, "preliminary", part.get("preliminary"))
    _dynamic(chunk, part)
    return chunk


def _tool_error(part: JsonDict) -> JsonDict:
    chunk: JsonDict = {"type": "tool-output-error"}
    _as_written(chunk, "toolCallId", part, "toolCallId")
    chunk["errorText"] = get_error_message(part.get("error", UNDEFINED))
    _if_set(chunk, "providerExecuted", part.get("providerExecuted"))
    _dynamic(chunk, part)
    return chunk


def _error(part: JsonDict) -> JsonDict:
    return {"type": "error", "errorText": get_error_message(part.get("error", UNDEFINED))}


def _finish(part: JsonDict) -> JsonDict:
    chunk: JsonDict = {"type": "finish"}
    _as_written(chunk, "finishReason", part, "finishReason")
    return chunk


def _abort(part: JsonDict) -> JsonDict:
    # `controller.enqueue(part)`: the part itself.
    return dict(part)


_CONVERTERS: dict[str, Callable[[JsonDict], JsonDict | None]] = {
    "text-start": _with_id("text-start"),
    "text-delta": _with_delta("text-delta"),
    "text-end": _with_id("text-end"),
    "reasoning-start": _with_id("reasoning-start"),
    "reasoning-delta": _with_delta("reasoning-delta"),
    "reasoning-end": _with_id("reasoning-end"),
    "file": _file,
    "source": _source,
    "tool-input-start": _tool_input_start,
    "tool-input-delta": _tool_input_delta,
    "tool-call": _tool_call,
    "tool-result": _tool_result,
    "tool-error": _tool_error,
    "error": _error,
    "start-step": lambda part: {"type": "start-step"},
    "finish-step": lambda part: {"type": "finish-step"},
    "start": lambda part: {"type": "start"},
    "finish": _finish,
    "abort": _abort,
}


def text_stream_part_to_ui_chunk(part: Any) -> JsonDict | None:
    """The UI message chunk ``toUIMessageStream`` sends for one stored part (None: none)."""
    if type(part) is not dict:
        return None
    kind = part.get("type")
    convert = _CONVERTERS.get(kind) if type(kind) is str else None
    return None if convert is None else convert(part)


def to_ui_message_chunks(parts: Iterable[Any]) -> list[JsonDict]:
    """Every chunk of a run of stored TextStreamPart parts, in order."""
    chunks = []
    for part in parts:
        chunk = text_stream_part_to_ui_chunk(part)
        if chunk is not None:
            chunks.append(chunk)
    return chunks
