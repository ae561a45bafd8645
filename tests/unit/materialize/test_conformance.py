"""Every case produced by the reference: UI messages, message docs, and the live follower."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from agent_streams_protocol.materialize import (
    StreamMaterializer,
    derive_ui_messages,
    from_ui_messages,
    merge_thread_ui_messages,
)

from .helpers import DATA, all_cases, conformance_cases, normalise, stream_of

CASES = all_cases()
IDS = [case["id"] for case in CASES]


def test_the_conformance_fixture_is_complete() -> None:
    assert len(conformance_cases()) == 400


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ui_messages(case: dict[str, Any]) -> None:
    got = derive_ui_messages(case["threadId"], case["streamMessages"], case["deltas"])
    assert normalise(got) == normalise(case["uiMessages"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_message_docs(case: dict[str, Any]) -> None:
    docs: list[dict[str, Any]] = []
    for message in case["uiMessages"]:
        meta = {"threadId": case["threadId"], **stream_of(case, message)}
        docs.extend(from_ui_messages([message], meta))
    assert normalise(docs) == normalise(case["messageDocs"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_followers_one_delta_at_a_time(case: dict[str, Any]) -> None:
    """Per-stream materializers fed the deltas as listed, merged, give the same messages."""
    followers = [StreamMaterializer(case["threadId"], s) for s in case["streamMessages"]]
    for delta in case["deltas"]:
        for follower in followers:
            follower.apply([delta])
    merged = merge_thread_ui_messages(f.ui_messages() for f in followers)
    assert normalise(merged) == normalise(case["uiMessages"])


def test_an_error_chunk_marks_the_message_failed_and_keeps_the_parts() -> None:
    stream = {
        "streamId": "s1",
        "status": "streaming",
        "format": "UIMessageChunk",
        "order": 0,
        "stepOrder": 0,
    }
    parts = [
        {"type": "start-step"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "partial answer"},
        {"type": "error", "errorText": "rate limited"},
    ]
    [message] = derive_ui_messages(
        "th", [stream], [{"streamId": "s1", "start": 0, "end": 4, "parts": parts}]
    )
    assert message["status"] == "failed"
    assert message["text"] == "partial answer"
    assert [p["type"] for p in message["parts"]] == ["step-start", "text"]


#: fromUIMessages of the reference on UI messages a stream never produces (user and
#: system roles, unavailable tools, every tool state), from tools/reference/from_ui_messages.mjs.
FROM_UI = json.loads((DATA / "from_ui_messages_reference.json").read_text("utf-8"))


@pytest.mark.parametrize("case", FROM_UI, ids=[c["id"] for c in FROM_UI])
def test_from_ui_messages_on_any_ui_message(case: dict[str, Any]) -> None:
    got = from_ui_messages(case["uiMessages"], case["meta"])
    assert normalise(got) == normalise(case["messageDocs"])


@pytest.mark.parametrize("case", conformance_cases()[:40], ids=IDS[:40])
def test_numbers_read_back_from_dynamodb_as_decimals_work_the_same(case: dict[str, Any]) -> None:
    streams = [
        {**s, "order": Decimal(s["order"]), "stepOrder": Decimal(s["stepOrder"])}
        for s in case["streamMessages"]
    ]
    deltas = [{**d, "start": Decimal(d["start"]), "end": Decimal(d["end"])} for d in case["deltas"]]
    got = derive_ui_messages(case["threadId"], streams, deltas)
    assert normalise(got) == normalise(case["uiMessages"])
    follower = StreamMaterializer(case["threadId"], streams[0])
    follower.apply(deltas)
    assert isinstance(follower.cursor, int)
