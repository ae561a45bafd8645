"""streaming_messages: one stream's messages to save, built from conformance cases.

The expected values are computed from the fixtures' ``messageDocs`` (produced by
the reference), not from this package's own conversion.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent_streams_protocol.materialize import streaming_messages

from .helpers import conformance_cases, normalise

PICKED = (
    "message",
    "fileIds",
    "status",
    "finishReason",
    "model",
    "provider",
    "providerMetadata",
    "sources",
    "reasoning",
    "reasoningDetails",
    "usage",
    "warnings",
    "error",
)


def _service_stream(case: dict[str, Any], stream_message: dict[str, Any]) -> dict[str, Any]:
    """The service's stream shape: StreamMessage + threadId and its state."""
    stream = {
        **stream_message,
        "threadId": case["threadId"],
        "lastHeartbeat": 1_700_000_000_000,
        "nextStart": max(
            [d["end"] for d in case["deltas"] if d["streamId"] == stream_message["streamId"]],
            default=0,
        ),
    }
    if stream_message["status"] == "aborted":
        stream["reason"] = "timeout"
    if stream_message["status"] == "finished":
        stream["endedAt"] = 1_700_000_001_000
    return stream


def _expected(
    case: dict[str, Any], stream_message: dict[str, Any], skip: int, metadata: dict[str, Any]
) -> list[dict[str, Any]]:
    docs = [d for d in case["messageDocs"] if d["id"] == "stream:" + stream_message["streamId"]]
    return [{**{k: d[k] for k in PICKED if k in d}, **metadata} for d in docs[skip:]]


def _streams() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (case, stream)
        for case in conformance_cases()
        if "errorChunkMarksFailed" not in case  # the reference throws there
        for stream in case["streamMessages"]
    ][::7]


@pytest.mark.parametrize(
    ("case", "stream_message"), _streams(), ids=lambda v: v.get("id") or v.get("streamId")
)
@pytest.mark.parametrize("extra_steps", [0, 1, 2])
def test_matches_the_reference_docs(
    case: dict[str, Any], stream_message: dict[str, Any], extra_steps: int
) -> None:
    stream = _service_stream(case, stream_message)
    own = [d for d in case["deltas"] if d["streamId"] == stream_message["streamId"]]
    step_order = stream_message["stepOrder"] + extra_steps
    metadata = (
        {"status": "failed", "error": "stopped"} if extra_steps == 1 else {"status": "success"}
    )
    got = streaming_messages(case["threadId"], stream, own, step_order, metadata)
    assert normalise(got) == normalise(_expected(case, stream_message, extra_steps, metadata))


def _tool_stream() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    stream = {
        "streamId": "s1",
        "status": "aborted",
        "format": "UIMessageChunk",
        "order": 3,
        "stepOrder": 4,
        "threadId": "th",
        "model": "gpt",
        "provider": "openai",
        "userId": "u",
        "reason": "timeout",
        "lastHeartbeat": 1,
        "nextStart": 9,
    }
    parts = [
        {"type": "start-step"},
        {
            "type": "tool-input-available",
            "toolCallId": "c1",
            "toolName": "weather",
            "input": {"city": "Paris"},
        },
        {"type": "tool-output-available", "toolCallId": "c1", "output": {"temp": 21}},
        {"type": "finish-step"},
        {"type": "start-step"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "It is 21"},
        {"type": "source-url", "sourceId": "src", "url": "https://example.com"},
    ]
    # out of order, with a re-send: streaming_messages takes all deltas as they are
    deltas = [
        {"streamId": "s1", "start": 4, "end": 8, "parts": parts[4:]},
        {"streamId": "s1", "start": 0, "end": 4, "parts": parts[:4]},
        {"streamId": "s1", "start": 0, "end": 4, "parts": parts[:4]},
    ]
    return stream, deltas


def test_tool_call_result_and_text_become_three_messages() -> None:
    stream, deltas = _tool_stream()
    got = streaming_messages("th", stream, deltas, 4, {"status": "failed", "error": "timeout"})
    assert [m["message"]["role"] for m in got] == ["assistant", "tool", "assistant"]
    assert [m["finishReason"] for m in got] == ["tool-calls", "tool-calls", "stop"]
    assert got[0]["message"]["content"][0] == {
        "type": "tool-call",
        "args": {"city": "Paris"},
        "toolCallId": "c1",
        "toolName": "weather",
    }
    assert got[1]["message"]["content"][0]["output"] == {"type": "json", "value": {"temp": 21}}
    for message in got:
        assert message["status"] == "failed"
        assert message["error"] == "timeout"
        assert message["model"] == "gpt"
        assert message["provider"] == "openai"
        assert message["sources"] == [
            {"type": "source", "sourceType": "url", "url": "https://example.com", "id": "src"}
        ]
        # only the reference's fields: no doc ids, thread, order or text
        assert set(message) <= set(PICKED)


def test_skips_the_steps_already_saved() -> None:
    stream, deltas = _tool_stream()
    everything = streaming_messages("th", stream, deltas, 4, {"status": "success"})
    assert streaming_messages("th", stream, deltas, 5, {"status": "success"}) == everything[1:]
    assert streaming_messages("th", stream, deltas, 6, {"status": "success"}) == everything[2:]
    assert streaming_messages("th", stream, deltas, 9, {"status": "success"}) == []


def test_a_negative_skip_counts_from_the_end_like_array_slice() -> None:
    stream, deltas = _tool_stream()
    everything = streaming_messages("th", stream, deltas, 4, {"status": "success"})
    assert streaming_messages("th", stream, deltas, 3, {"status": "success"}) == everything[-1:]


def test_no_error_key_unless_given() -> None:
    stream, deltas = _tool_stream()
    got = streaming_messages("th", stream, deltas, 4, {"status": "success", "error": None})
    assert all("error" not in m for m in got)
    assert all(m["status"] == "success" for m in got)


def test_a_stream_without_deltas_gives_nothing() -> None:
    stream, _ = _tool_stream()
    assert streaming_messages("th", stream, [], 4, {"status": "success"}) == []


def test_deltas_without_stream_id_are_the_streams_own() -> None:
    stream, deltas = _tool_stream()
    bare = [{k: v for k, v in d.items() if k != "streamId"} for d in deltas]
    other = [{**deltas[0], "streamId": "someone-else", "start": 8, "end": 9}]
    expected = streaming_messages("th", stream, deltas, 4, {"status": "success"})
    assert streaming_messages("th", stream, bare + other, 4, {"status": "success"}) == expected
