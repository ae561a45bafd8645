"""Adapters: SDK stream events (dicts and real SDK objects) → UIMessageChunk parts.

``adapter_expected.json`` holds the reviewed output of each event sequence of
``adapter_events.py``; the assertions below spell out the properties that matter.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_streams_client.adapters import (
    AnthropicConverter,
    BedrockConverter,
    ChunkConverter,
    OpenAIChatConverter,
    OpenAIResponsesConverter,
    anthropic_chunks,
    bedrock_chunks,
    error_chunk,
    openai_chat_chunks,
    openai_responses_chunks,
    parse_tool_input,
    tool_error_chunk,
    tool_input_chunk,
    tool_output_chunk,
)
from agent_streams_client.adapters.access import get, to_plain

from . import adapter_events as E
from .fake_clock import run
from .helpers import make_streamer
from .service import Service

EXPECTED: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).parent / "adapter_expected.json").read_text()
)

CASES: dict[str, type[ChunkConverter]] = {
    "CHAT_TEXT": OpenAIChatConverter,
    "CHAT_TOOLS": OpenAIChatConverter,
    "CHAT_BAD_TOOL": OpenAIChatConverter,
    "CHAT_REASONING": OpenAIChatConverter,
    "RESPONSES_TEXT": OpenAIResponsesConverter,
    "RESPONSES_FUNCTION": OpenAIResponsesConverter,
    "RESPONSES_WEB_SEARCH": OpenAIResponsesConverter,
    "RESPONSES_FAILED": OpenAIResponsesConverter,
    "RESPONSES_ERROR": OpenAIResponsesConverter,
    "ANTHROPIC_TOOL": AnthropicConverter,
    "ANTHROPIC_WEB_SEARCH": AnthropicConverter,
    "ANTHROPIC_ERROR": AnthropicConverter,
    "BEDROCK_TOOL": BedrockConverter,
    "BEDROCK_THROTTLED": BedrockConverter,
}


def convert_all(converter: ChunkConverter, events: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for event in events:
        out += converter.convert(event)
    return out + converter.close()


def events_of(name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = getattr(E, name)
    return events


def by_type(chunks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [c for c in chunks if c["type"] == kind]


def text(chunks: list[dict[str, Any]], kind: str = "text-delta") -> str:
    return "".join(c["delta"] for c in by_type(chunks, kind))


@pytest.mark.parametrize("name", sorted(CASES))
def test_event_sequences_give_the_reviewed_chunks(name: str) -> None:
    chunks = convert_all(CASES[name](), events_of(name))
    assert chunks == EXPECTED[name]
    json.dumps(chunks)  # JSON-ready
    # Every block that starts ends (unless an error ended the reply).
    if not by_type(chunks, "error"):
        for kind in ("text", "reasoning"):
            starts = [c["id"] for c in by_type(chunks, f"{kind}-start")]
            assert starts == [c["id"] for c in by_type(chunks, f"{kind}-end")]
        assert chunks[-2:] == [{"type": "finish-step"}, chunks[-1]]
        assert chunks[-1]["type"] == "finish"
    assert chunks[:2] == [{"type": "start"}, {"type": "start-step"}]


def test_openai_chat_text_usage_and_tool_calls() -> None:
    chunks = convert_all(OpenAIChatConverter(), E.CHAT_TEXT)
    assert text(chunks) == "Hello"
    assert chunks[-1] == {
        "type": "finish",
        "finishReason": "stop",
        "messageMetadata": {
            "usage": {
                "inputTokens": 10,
                "outputTokens": 2,
                "totalTokens": 12,
                "reasoningTokens": 0,
                "cachedInputTokens": 4,
            }
        },
    }
    tools = convert_all(OpenAIChatConverter(), E.CHAT_TOOLS)
    available = by_type(tools, "tool-input-available")
    assert [(c["toolCallId"], c["toolName"], c["input"]) for c in available] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_time", {"tz": "CET"}),
    ]
    streamed = "".join(
        c["inputTextDelta"]
        for c in by_type(tools, "tool-input-delta")
        if c["toolCallId"] == "call_a"
    )
    assert json.loads(streamed) == {"city": "Paris"}
    assert tools[-1]["finishReason"] == "tool-calls"
    bad = convert_all(OpenAIChatConverter(), E.CHAT_BAD_TOOL)
    assert by_type(bad, "tool-input-error")[0]["input"] == '{"a": '
    reasoning = convert_all(OpenAIChatConverter(), E.CHAT_REASONING)
    assert text(reasoning, "reasoning-delta") == "Let me think."
    assert reasoning[-1]["finishReason"] == "length"


def test_openai_chat_tool_name_arriving_after_its_arguments() -> None:
    events = [
        E.chat_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": '{"x"'}}]}),
        E.chat_chunk(
            {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ": 1}"}}]}
        ),
        E.chat_chunk({}, "tool_calls"),
    ]
    chunks = convert_all(OpenAIChatConverter(), events)
    assert by_type(chunks, "tool-input-start") == [
        {"type": "tool-input-start", "toolCallId": "c1", "toolName": "f"}
    ]
    assert by_type(chunks, "tool-input-available")[0]["input"] == {"x": 1}


def test_openai_responses_reasoning_text_sources_functions() -> None:
    chunks = convert_all(OpenAIResponsesConverter(), E.RESPONSES_TEXT)
    assert text(chunks) == "See docs."
    assert text(chunks, "reasoning-delta") == "Thinking about it."
    assert [c["url"] for c in by_type(chunks, "source-url")] == ["https://example.com/docs"]
    assert by_type(chunks, "source-document")[0]["filename"] == "guide.pdf"
    assert chunks[-1]["messageMetadata"]["usage"]["reasoningTokens"] == 12
    function = convert_all(OpenAIResponsesConverter(), E.RESPONSES_FUNCTION)
    assert by_type(function, "tool-input-available") == [
        {
            "type": "tool-input-available",
            "toolCallId": "call_9",
            "toolName": "lookup",
            "input": {"q": "python"},
        }
    ]
    assert function[-1]["finishReason"] == "tool-calls"
    search = convert_all(OpenAIResponsesConverter(), E.RESPONSES_WEB_SEARCH)
    assert all(c.get("providerExecuted") for c in by_type(search, "tool-output-available"))
    assert search[-1]["finishReason"] == "length"


def test_errors_end_the_reply_without_finish() -> None:
    for name in ("RESPONSES_FAILED", "RESPONSES_ERROR", "ANTHROPIC_ERROR", "BEDROCK_THROTTLED"):
        converter = CASES[name]()
        chunks = convert_all(converter, events_of(name))
        assert chunks[-1]["type"] == "error"
        assert converter.errored
        assert not by_type(chunks, "finish")
        assert converter.convert({"type": "anything"}) == []  # nothing after the end
    failed = convert_all(OpenAIResponsesConverter(), E.RESPONSES_FAILED)
    assert text(failed) == "Partial"
    assert failed[-1]["errorText"] == "server_error: The server had an error"


def test_anthropic_thinking_signature_tools_and_server_tools() -> None:
    chunks = convert_all(AnthropicConverter(), E.ANTHROPIC_TOOL)
    assert text(chunks, "reasoning-delta") == "The user wants weather."
    signed = [c for c in by_type(chunks, "reasoning-delta") if "providerMetadata" in c]
    assert signed == [
        {
            "type": "reasoning-delta",
            "id": "reasoning-0",
            "delta": "",
            "providerMetadata": {"anthropic": {"signature": "sig=="}},
        }
    ]
    assert by_type(chunks, "tool-input-available")[0]["input"] == {"city": "Paris"}
    assert chunks[-1]["finishReason"] == "tool-calls"
    # Cached input tokens count as input in the AI SDK's usage.
    assert chunks[-1]["messageMetadata"]["usage"]["inputTokens"] == 150
    search = convert_all(AnthropicConverter(), E.ANTHROPIC_WEB_SEARCH)
    assert by_type(search, "tool-input-available")[0]["providerExecuted"] is True
    assert len(by_type(search, "source-url")) == 1  # the citation repeats the result's URL
    assert text(search) == "Rain."


def test_anthropic_helper_events_are_not_doubled() -> None:
    events: list[dict[str, Any]] = []
    for event in E.ANTHROPIC_TOOL:
        events.append(event)
        delta = event.get("delta", {})
        if delta.get("type") == "text_delta":
            events.append({"type": "text", "text": delta["text"], "snapshot": delta["text"]})
        if delta.get("type") == "input_json_delta":
            events.append(
                {"type": "input_json", "partial_json": delta["partial_json"], "snapshot": {}}
            )
    assert convert_all(AnthropicConverter(), events) == EXPECTED["ANTHROPIC_TOOL"]


def test_anthropic_tool_input_given_at_start_only() -> None:
    events = [
        {"type": "message_start", "message": E._MESSAGE},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {"a": 1}},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_stop"},
    ]
    chunks = convert_all(AnthropicConverter(), events)
    assert by_type(chunks, "tool-input-available")[0]["input"] == {"a": 1}


def test_bedrock_finish_waits_for_metadata_and_redacted_reasoning() -> None:
    converter = BedrockConverter()
    before = []
    for event in E.BEDROCK_TOOL[:-1]:
        before += converter.convert(event)
    assert not by_type(before, "finish")  # usage comes after messageStop
    after = converter.convert(E.BEDROCK_TOOL[-1])
    assert after[-1]["messageMetadata"]["usage"] == {
        "inputTokens": 30,
        "outputTokens": 12,
        "totalTokens": 42,
    }
    no_metadata = BedrockConverter()
    chunks = convert_all(no_metadata, E.BEDROCK_TOOL[:-1])
    assert chunks[-1] == {"type": "finish", "finishReason": "tool-calls"}
    redacted = convert_all(
        BedrockConverter(),
        [
            {
                "contentBlockDelta": {
                    "delta": {"reasoningContent": {"redactedContent": b"\x01\x02"}},
                    "contentBlockIndex": 0,
                }
            },
            {"messageStop": {"stopReason": "end_turn"}},
        ],
    )
    assert by_type(redacted, "reasoning-delta")[0]["providerMetadata"] == {
        "bedrock": {"redactedData": "AQI="}
    }


def test_converter_options() -> None:
    first = OpenAIChatConverter(
        message_id="m1", message_metadata={"agent": "a"}, send_finish=False, id_prefix="s1-"
    )
    chunks = convert_all(first, E.CHAT_TEXT)
    assert chunks[0] == {"type": "start", "messageId": "m1", "messageMetadata": {"agent": "a"}}
    assert chunks[-1] == {"type": "finish-step"}
    assert by_type(chunks, "text-start") == [{"type": "text-start", "id": "s1-text-0"}]
    later = OpenAIChatConverter(send_start=False, usage_in_metadata=False)
    chunks = convert_all(later, E.CHAT_TEXT)
    assert chunks[0] == {"type": "start-step"}
    assert chunks[-1] == {"type": "finish", "finishReason": "stop"}
    assert later.usage is not None
    assert later.usage["totalTokens"] == 12
    assert OpenAIChatConverter().close() == []  # nothing happened: nothing to close


def test_tool_helpers() -> None:
    assert tool_output_chunk("c1", {"temp": 21}) == {
        "type": "tool-output-available",
        "toolCallId": "c1",
        "output": {"temp": 21},
    }
    assert tool_output_chunk("c1", "x", preliminary=True)["preliminary"] is True
    assert tool_error_chunk("c1", ValueError("no such city")) == {
        "type": "tool-output-error",
        "toolCallId": "c1",
        "errorText": "no such city",
    }
    assert tool_error_chunk("c1", "boom", dynamic=True)["dynamic"] is True
    assert tool_input_chunk("c1", "f", {"a": 1}, provider_executed=True) == {
        "type": "tool-input-available",
        "toolCallId": "c1",
        "toolName": "f",
        "input": {"a": 1},
        "providerExecuted": True,
    }
    assert error_chunk(RuntimeError()) == {"type": "error", "errorText": "RuntimeError"}
    assert parse_tool_input("") == ({}, None)
    assert parse_tool_input("[1]") == ([1], None)


def test_access_reads_objects_and_dicts() -> None:
    class Obj:
        a = 1
        b = None

    assert get(Obj(), "a") == 1
    assert get(Obj(), "b", 5) == 5
    assert get({"a": 2}, "a") == 2
    assert get(None, "a", 3) == 3
    assert to_plain({"x": b"\x00", "y": None, "z": [1, (2, 3)]}) == {"x": "AA==", "z": [1, [2, 3]]}


# -- the stream helpers ----------------------------------------------------------------------


def collect(chunks: Any) -> list[dict[str, Any]]:
    async def body() -> list[dict[str, Any]]:
        return [c async for c in chunks]

    return run(body())


def test_stream_helpers_take_sync_async_and_boto_style_streams() -> None:
    async def async_events() -> AsyncIterator[dict[str, Any]]:
        for event in E.CHAT_TEXT:
            yield event

    threads: list[str] = []

    def sync_events() -> Iterator[dict[str, Any]]:
        for event in E.ANTHROPIC_TOOL:
            threads.append(threading.current_thread().name)
            yield event

    assert collect(openai_chat_chunks(async_events())) == EXPECTED["CHAT_TEXT"]
    assert collect(anthropic_chunks(sync_events())) == EXPECTED["ANTHROPIC_TOOL"]
    # A blocking SDK stream is read off the event loop's thread.
    assert threading.main_thread().name not in threads
    response = {"stream": iter(E.BEDROCK_TOOL), "ResponseMetadata": {}}
    assert collect(bedrock_chunks(response)) == EXPECTED["BEDROCK_TOOL"]
    assert collect(openai_responses_chunks(E.RESPONSES_TEXT)) == EXPECTED["RESPONSES_TEXT"]


def test_a_raising_sdk_stream_yields_an_error_chunk_then_raises() -> None:
    def failing() -> Iterator[dict[str, Any]]:
        yield E.chat_chunk({"content": "Hi"})
        raise ConnectionError("stream reset")

    seen: list[dict[str, Any]] = []

    async def body() -> None:
        async for chunk in openai_chat_chunks(failing()):
            seen.append(chunk)

    with pytest.raises(ConnectionError):
        run(body())
    assert seen[-1] == {"type": "error", "errorText": "stream reset"}
    assert text(seen) == "Hi"


def test_adapter_into_a_delta_streamer(service: Service) -> None:
    async def body() -> None:
        _, _, streamer = make_streamer(service, throttle_ms=0)
        await streamer.consume(anthropic_chunks(E.ANTHROPIC_TOOL))
        stored = service.parts(streamer.stream_id or "")
        assert stored[0] == {"type": "start"}
        assert stored[-1]["type"] == "finish"
        assert service.stream(streamer.stream_id or "")["nextStart"] == len(
            EXPECTED["ANTHROPIC_TOOL"]
        )

        _, _, failing_streamer = make_streamer(service, throttle_ms=0)

        async def broken() -> AsyncIterator[dict[str, Any]]:
            yield E.CHAT_TEXT[1]
            raise TimeoutError("model timed out")

        with pytest.raises(TimeoutError):
            await failing_streamer.consume(openai_chat_chunks(broken()))
        stream = service.stream(failing_streamer.stream_id or "")
        assert (stream["status"], stream["reason"]) == ("aborted", "model timed out")
        assert service.parts(failing_streamer.stream_id or "")[-1] == {
            "type": "error",
            "errorText": "model timed out",
        }

    run(body())


# -- real SDK objects ------------------------------------------------------------------------------


def _sdk_events(name: str) -> list[Any]:
    """The same events, validated into the SDK's own types (proves shapes and attribute access)."""
    from pydantic import TypeAdapter

    if name.startswith("CHAT"):
        chat = pytest.importorskip("openai.types.chat")
        return [chat.ChatCompletionChunk.model_validate(e) for e in events_of(name)]
    if name.startswith("RESPONSES"):
        responses = pytest.importorskip("openai.types.responses")
        adapter: Any = TypeAdapter(responses.ResponseStreamEvent)
    elif name.startswith("ANTHROPIC"):
        anthropic_types = pytest.importorskip("anthropic.types")
        adapter = TypeAdapter(anthropic_types.RawMessageStreamEvent)
    else:
        pytest.skip("Bedrock events are plain dicts")
    # Anthropic's SDK raises an ``error`` event as an exception: it only exists as raw SSE data.
    keep = "error" if name.startswith("ANTHROPIC") else None
    return [e if e["type"] == keep else adapter.validate_python(e) for e in events_of(name)]


@pytest.mark.parametrize("name", sorted(n for n in CASES if not n.startswith("BEDROCK")))
def test_real_sdk_objects_give_the_same_chunks(name: str) -> None:
    events = _sdk_events(name)
    assert not isinstance(events[0], dict)
    assert convert_all(CASES[name](), events) == EXPECTED[name]


def test_asyncio_is_not_blocked_by_sync_streams() -> None:
    import time

    def slow() -> Iterator[dict[str, Any]]:
        for event in E.CHAT_TEXT:
            time.sleep(0.005)
            yield event

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    async def body() -> None:
        task = asyncio.ensure_future(ticker())
        chunks = [c async for c in openai_chat_chunks(slow())]
        task.cancel()
        assert chunks == EXPECTED["CHAT_TEXT"]

    run(body())
    assert ticks > 3
