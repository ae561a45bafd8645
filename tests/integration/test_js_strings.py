"""JavaScript writers slice strings by UTF-16 code unit and may split a character
between two deltas. The halves (lone surrogates, ``"\\ud83d"`` in the request's JSON)
are accepted, stored losslessly, returned exactly as written, and joined again where
the message is materialised — as JavaScript joins them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_streams.json_text import lambda_json
from tests.conftest import Stack, snapshot
from tests.helpers import Api, http_event, load_function

HIGH, LOW = "\\ud83d", "\\ude00"  # as JSON escapes: the two halves of U+1F600


@pytest.fixture
def ui_stream(api: Api, thread_id: str) -> str:
    args = {"threadId": thread_id, "order": 0, "stepOrder": 0, "format": "UIMessageChunk"}
    return str(api.direct("create_stream", args))


def post_raw(api: Api, operation: str, stream_id: str, body: str) -> tuple[int, Any]:
    return api.http(operation, {"streamId": stream_id}, raw_body=body)


def write_split_emoji(api: Api, stream_id: str) -> None:
    first = (
        '{"start":0,"end":2,"parts":[{"type":"text-start","id":"t"},'
        f'{{"type":"text-delta","id":"t","delta":"smile {HIGH}"}}]}}'
    )
    second = f'{{"start":2,"end":3,"parts":[{{"type":"text-delta","id":"t","delta":"{LOW}!"}}]}}'
    assert post_raw(api, "add_delta", stream_id, first) == (
        200,
        {"accepted": True, "status": "streaming"},
    )
    assert post_raw(api, "add_delta", stream_id, second)[0] == 200


def test_halves_are_accepted_stored_as_escapes_and_returned_as_written(
    api: Api, stack: Stack, thread_id: str, ui_stream: str
) -> None:
    write_split_emoji(api, ui_stream)
    stored = sorted(
        snapshot(stack.settings)[stack.settings.deltas_table], key=lambda i: int(i["start"]["N"])
    )
    assert HIGH in stored[0]["parts"]["S"]
    assert LOW in stored[1]["parts"]["S"]
    # Over HTTP: the reply body carries the very escapes the writer sent.
    route = load_function("list_deltas").OPERATION.http.route
    event = http_event(
        route.method, route.path, {"threadId": thread_id}, {"cursors": f"{ui_stream}:0"}
    )
    response = load_function("list_deltas").handler(event, api.context)
    assert f'"smile {HIGH}"' in response["body"]
    assert f'"{LOW}!"' in response["body"]
    lambda_json(response).encode("utf-8")  # what the runtime does: it can
    deltas = json.loads(response["body"])
    assert deltas[0]["parts"][1]["delta"] == "smile \ud83d"
    assert deltas[1]["parts"][0]["delta"] == "\ude00!"


def test_a_direct_invoke_returns_them_as_json_escapes(
    api: Api, thread_id: str, ui_stream: str
) -> None:
    """The python3.13 runtime sends a return value as UTF-8, which a lone surrogate is
    not; the handler returns the JSON text itself (bytes, sent as they are)."""
    write_split_emoji(api, ui_stream)
    args = {"threadId": thread_id, "cursors": [{"streamId": ui_stream, "cursor": 0}]}
    raw = load_function("list_deltas").handler(args, api.context)
    assert isinstance(raw, bytes)
    assert HIGH.encode() in raw
    assert json.loads(raw)[1]["parts"][0]["delta"] == "\ude00!"
    # Values without halves are returned as values, as before.
    assert isinstance(
        load_function("get_stream").handler({"streamId": ui_stream}, api.context), dict
    )


def test_the_message_joins_them_into_the_character(
    api: Api, thread_id: str, ui_stream: str
) -> None:
    write_split_emoji(api, ui_stream)
    api.direct("finish_stream", {"streamId": ui_stream})
    status, messages = api.http(
        "streaming_messages",
        {"threadId": thread_id},
        query={"order": "0", "stepOrder": "0", "status": "success"},
    )
    assert status == 200
    assert messages[0]["message"]["content"][0]["text"] == "smile \U0001f600!"


def test_a_half_left_alone_is_returned_escaped(api: Api, thread_id: str, ui_stream: str) -> None:
    body = (
        '{"start":0,"end":2,"parts":[{"type":"text-start","id":"t"},'
        f'{{"type":"text-delta","id":"t","delta":"cut {HIGH}"}}]}}'
    )
    assert post_raw(api, "add_delta", ui_stream, body)[0] == 200
    api.direct("abort_stream", {"streamId": ui_stream, "reason": "cut off"})
    route = load_function("streaming_messages").OPERATION.http.route
    event = http_event(
        route.method,
        route.path,
        {"threadId": thread_id},
        {"order": "0", "stepOrder": "0", "status": "failed"},
    )
    response = load_function("streaming_messages").handler(event, api.context)
    assert response["statusCode"] == 200
    assert f"cut {HIGH}" in response["body"]
    lambda_json(response).encode("utf-8")


def test_an_identical_retry_with_halves_is_recognised(api: Api, ui_stream: str) -> None:
    body = f'{{"start":0,"end":1,"parts":[{{"type":"text-delta","id":"t","delta":"{HIGH}"}}]}}'
    assert post_raw(api, "add_delta", ui_stream, body)[1]["accepted"] is True
    assert post_raw(api, "add_delta", ui_stream, body)[1]["accepted"] is True


def test_keys_may_hold_halves_too(api: Api, ui_stream: str) -> None:
    body = f'{{"start":0,"end":1,"parts":[{{"type":"data-x","data":{{"{HIGH}":1}}}}]}}'
    assert post_raw(api, "add_delta", ui_stream, body)[0] == 200


def test_other_text_still_must_be_whole(api: Api, stack: Stack, ui_stream: str) -> None:
    """Only parts carry a writer's sliced text; a reason, a title, an id do not."""
    before = snapshot(stack.settings)
    status, body = post_raw(api, "abort_stream", ui_stream, f'{{"reason":"{HIGH}"}}')
    assert (status, body["error"]) == (422, "ValidationError")
    assert snapshot(stack.settings) == before
