"""TextStreamPart → UI message chunks (``toUIMessageStream``), checked against the materialisation.

For every TextStreamPart stream of the conformance cases, the converted chunks fed
through the port's ``readUIMessageStream`` (what ``useChat`` builds) must give the
UI message ``derive_ui_messages`` builds from the same deltas (the reference's own
TextStreamPart merger), up to the places where the reference's merger and the AI
SDK's ``processUIMessageStream`` build a message differently by design
(docs/live-reads.md, "TextStreamPart streams"):

* the AI SDK marks steps (``step-start`` parts), text parts' and reasoning parts'
  ``state`` and a reasoning ``id``; the reference has none of them, shows a
  reasoning part as done unless it is the last part, and continues the previous
  text (reasoning) part when a new text (reasoning) block follows it directly;
* the reference ignores ``file`` parts;
* ``providerMetadata`` of text and reasoning parts: the reference keeps the first
  block's, the AI SDK the latest delta's; tool ``callProviderMetadata`` comes from
  ``tool-input-end`` in the reference, which ``toUIMessageStream`` drops;
* while a tool's input streams, the reference shows the raw text and the AI SDK
  the partially parsed value; the reference's ``tool-input-end`` makes the call
  ``input-available`` before its ``tool-call`` arrives;
* a ``tool-error`` is ``output-error`` in the AI SDK, an ``errorText`` beside the
  old state in the reference; the reference's dynamic tools show no
  ``providerExecuted``; a null output is the same as none.

Anything else — every text, every reasoning text, every tool call's final input and
output, every source, the order of it all — must be equal.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agent_streams_protocol.materialize import derive_ui_messages
from agent_streams_protocol.materialize.derive import StreamUIMessage
from agent_streams_protocol.materialize.parts import get_parts
from agent_streams_protocol.materialize.ui_chunks import (
    text_stream_part_to_ui_chunk,
    to_ui_message_chunks,
)

from .helpers import conformance_cases


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def comparable(
    parts: list[dict[str, Any]], *, reference: bool, texts_apart: bool = False
) -> list[dict[str, Any]]:
    """The parts with the documented differences between the two builders taken out.

    ``texts_apart``: the stream reuses a text (reasoning) block id in a later step,
    which the reference appends to that id's first part; the texts are then compared
    as one string per kind, the other parts as a sequence.
    """
    out: list[dict[str, Any]] = []
    joined = {"text": "", "reasoning": ""}
    for original in parts:
        part = _without_nulls(copy.deepcopy(original))
        kind = part.get("type")
        if kind == "step-start" or (kind == "file" and not reference):
            continue
        if kind in ("text", "reasoning"):
            for key in ("state", "id", "providerMetadata"):
                part.pop(key, None)
            if texts_apart:
                joined[kind] += part.get("text", "")
                continue
            if out and out[-1].get("type") == kind:
                out[-1]["text"] = out[-1].get("text", "") + part.get("text", "")
                continue
        elif kind == "dynamic-tool" or (isinstance(kind, str) and kind.startswith("tool-")):
            part.pop("callProviderMetadata", None)
            if kind == "dynamic-tool":
                part.pop("providerExecuted", None)
            if "errorText" in part:
                part["state"] = "output-error"
            if part.get("state") in ("input-streaming", "input-available"):
                part["state"] = "input"
                part.pop("input", None)
                part.pop("rawInput", None)
        out.append(part)
    if texts_apart:
        out.append({"joined": joined})
    return out


def reuses_block_ids(parts: list[Any]) -> bool:
    seen: set[tuple[str, Any]] = set()
    for part in parts:
        if isinstance(part, dict) and part.get("type") in ("text-start", "reasoning-start"):
            key = (part["type"], part.get("id"))
            if key in seen:
                return True
            seen.add(key)
    return False


def _text_stream_part_streams() -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    found = []
    # The reference's own cases. (The project's extra cases are fuzzed and hand-made
    # malformed streams — deltas of blocks never started, a call changing type, results
    # after errors — on which the two builders disagree by design.)
    for case in conformance_cases():
        for stream in case["streamMessages"]:
            if stream.get("format") == "UIMessageChunk":
                continue
            own = [d for d in case["deltas"] if d.get("streamId") == stream["streamId"]]
            found.append((f"{case['id']}/{stream['streamId']}", case["threadId"], stream, own))
    return found


STREAMS = _text_stream_part_streams()


def test_there_are_text_stream_part_streams_to_check() -> None:
    assert len(STREAMS) > 150


@pytest.mark.parametrize(
    ("name", "thread_id", "stream", "deltas"), STREAMS, ids=[s[0] for s in STREAMS]
)
def test_converted_chunks_build_the_materialised_message(
    name: str, thread_id: str, stream: dict[str, Any], deltas: list[dict[str, Any]]
) -> None:
    (expected,) = derive_ui_messages(thread_id, [stream], deltas)
    parts, _ = get_parts(deltas)
    # What useChat builds from the chunks: the UIMessageChunk rules.
    builder = StreamUIMessage(thread_id, {**stream, "format": "UIMessageChunk"})
    builder.feed(to_ui_message_chunks(parts))
    got = builder.build()
    apart = reuses_block_ids(parts)
    assert comparable(got["parts"], reference=False, texts_apart=apart) == comparable(
        expected["parts"], reference=True, texts_apart=apart
    )
    assert got["id"] == expected["id"]
    if not any(p.get("type") == "abort" for p in parts if isinstance(p, dict)):
        # The reference fails a message on an abort part; the AI SDK does not.
        assert got["status"] == expected["status"]


def test_each_part_converts_as_to_ui_message_stream_does() -> None:
    convert = text_stream_part_to_ui_chunk
    assert convert({"type": "text-delta", "id": "t", "text": "hi"}) == {
        "type": "text-delta",
        "id": "t",
        "delta": "hi",
    }
    assert convert({"type": "reasoning-start", "id": "r", "providerMetadata": None}) == {
        "type": "reasoning-start",
        "id": "r",
    }
    assert convert({"type": "file", "file": {"mediaType": "image/png", "base64": "AAAA"}}) == {
        "type": "file",
        "mediaType": "image/png",
        "url": "data:image/png;base64,AAAA",
    }
    assert convert({"type": "source", "sourceType": "url", "id": "s", "url": "u"}) == {
        "type": "source-url",
        "sourceId": "s",
        "url": "u",
    }
    assert convert({"type": "tool-input-start", "id": "c", "toolName": "t", "dynamic": True}) == {
        "type": "tool-input-start",
        "toolCallId": "c",
        "toolName": "t",
        "dynamic": True,
    }
    assert convert({"type": "tool-input-delta", "id": "c", "delta": '{"a'}) == {
        "type": "tool-input-delta",
        "toolCallId": "c",
        "inputTextDelta": '{"a',
    }
    assert convert(
        {"type": "tool-call", "toolCallId": "c", "toolName": "t", "input": 1, "invalid": True,
         "error": {"message": "bad"}}
    ) == {"type": "tool-input-error", "toolCallId": "c", "toolName": "t", "input": 1,
          "errorText": '{"message":"bad"}'}  # fmt: skip
    assert convert(
        {"type": "tool-result", "toolCallId": "c", "toolName": "t", "input": 1, "output": 2,
         "preliminary": True, "dynamic": False}
    ) == {"type": "tool-output-available", "toolCallId": "c", "output": 2, "preliminary": True}  # fmt: skip
    assert convert({"type": "tool-error", "toolCallId": "c", "error": "boom"}) == {
        "type": "tool-output-error",
        "toolCallId": "c",
        "errorText": "boom",
    }
    assert convert({"type": "error", "error": "model overloaded"}) == {
        "type": "error",
        "errorText": "model overloaded",
    }
    assert convert({"type": "finish", "finishReason": "stop", "totalUsage": {}}) == {
        "type": "finish",
        "finishReason": "stop",
    }
    assert convert({"type": "start-step", "request": {}, "warnings": []}) == {"type": "start-step"}
    assert convert({"type": "abort"}) == {"type": "abort"}
    for silent in ({"type": "tool-input-end", "id": "c"}, {"type": "raw", "rawValue": 1},
                   {"type": "no-such-part"}, "not a part"):  # fmt: skip
        assert convert(silent) is None
