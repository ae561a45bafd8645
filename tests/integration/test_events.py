"""Every sample event in events/ works: invoked through its function's handler, against
the moto-backed stack, it gets the contract's reply.

The events tell one story with fixed ids (a thread, then a stream in it, its first
delta, its finish), so each one is run after the steps before it. Those steps
reuse the events' own direct-invoke arguments, and the service's id generators are
pinned to the events' ids, so the state is exactly what the real calls leave.
HTTP replies are also checked against the committed openapi.json: the status must
be documented for the route and the body must match its schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from agent_streams import ids
from agent_streams.api.http import is_http_event
from agent_streams.api.validation import parse_arguments
from agent_streams.service import appends, streams, threads
from agent_streams_dev.local.template import load_template
from agent_streams_protocol.limits import CLEANUP_DELAY_MS, TIMEOUT_MS
from agent_streams_protocol.shapes import (
    CreateStreamRequest,
    CreateThreadRequest,
    FinishStreamRequest,
    StreamDelta,
)
from tests.conftest import Stack
from tests.helpers import EVENTS, ROOT, load_function, reply_json

THREAD = "zlbdt5N9zZIhqWWG5Fub1Q"
STREAM = "qZpsZmT2dTleYapORBU44N8oNC9_wZ4Jc7Fxuw"
OPENAPI = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
EVENT_FILES = sorted(EVENTS.glob("*.json"))


def read_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def operation_of(path: Path) -> str:
    return path.name.removesuffix(".json").removesuffix(".direct")


# -- the story so far -------------------------------------------------------------------


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """New threads and streams get the events' ids."""
    monkeypatch.setattr(threads, "new_thread_id", lambda: THREAD)
    monkeypatch.setattr(streams, "new_stream_id", lambda thread_id: STREAM)


def _thread(stack: Stack) -> None:
    threads.create_thread(
        parse_arguments(CreateThreadRequest, read_event("create_thread.direct.json"))
    )


def _stream(stack: Stack) -> None:
    _thread(stack)
    streams.create_stream(
        parse_arguments(CreateStreamRequest, read_event("create_stream.direct.json"))
    )


def _first_delta(stack: Stack) -> None:
    _stream(stack)
    appends.add_delta(parse_arguments(StreamDelta, read_event("add_delta.direct.json")))


def _silent_for_ten_minutes(stack: Stack) -> None:
    _first_delta(stack)
    stack.clock.advance(TIMEOUT_MS)


def _finished(stack: Stack) -> None:
    _first_delta(stack)
    streams.finish_stream(
        parse_arguments(FinishStreamRequest, read_event("finish_stream.direct.json"))
    )


def _finished_five_minutes_ago(stack: Stack) -> None:
    _finished(stack)
    stack.clock.advance(CLEANUP_DELAY_MS)


def _nothing(stack: Stack) -> None:
    pass


#: What must exist before each operation's events run.
BEFORE: dict[str, Callable[[Stack], None]] = {
    "create_thread": _nothing,
    "get_thread": _thread,
    "delete_thread": _thread,
    "create_stream": _thread,
    "add_delta": _stream,
    "heartbeat_stream": _stream,
    "list_streams": _first_delta,
    "list_deltas": _first_delta,
    "abort_streams_by_order": _first_delta,
    "delete_thread_streams": _first_delta,
    "streaming_messages": _first_delta,
    "get_stream": _first_delta,
    "get_stream_message": _finished,
    "finish_stream": _first_delta,
    "abort_stream": _first_delta,
    "delete_stream": _first_delta,
    "delete_thread_streams_page": _first_delta,
    "timeout_stream": _silent_for_ten_minutes,
    "cleanup_stream": _finished_five_minutes_ago,
    "publish_events": _finished,
}


# -- what each operation must reply -------------------------------------------------------


def stream_now(stack: Stack) -> Any:
    return stack.services.repository.get_stream(STREAM, stack.clock.now_ms())


def check_thread(stack: Stack, reply: Any) -> None:
    assert reply["threadId"] == THREAD
    assert reply["title"] == "Trip to Lisbon"
    assert reply["status"] == "active"


def check_deleting(stack: Stack, reply: Any) -> None:
    assert reply == {"executionArn": reply["executionArn"]}
    assert reply["executionArn"].endswith(f"{THREAD}-1")
    thread = stack.services.repository.get_thread(THREAD)
    assert thread is not None
    assert thread.status == "deleting"


def check_new_stream(stack: Stack, stream_id: Any) -> None:
    assert stream_id == STREAM
    created = stream_now(stack)
    assert created.status == "streaming"
    assert created.meta.get("agentName") == "travel-planner"
    assert created.retention_seconds == 300


def check_listed(stack: Stack, reply: Any) -> None:
    assert [s["streamId"] for s in reply] == [STREAM]
    assert reply[0]["status"] == "streaming"
    assert reply[0]["providerOptions"] == {"openai": {"reasoningEffort": "low"}}


def check_deltas(stack: Stack, reply: Any) -> None:
    first = read_event("add_delta.direct.json")
    assert reply == [first]


def check_aborted(stack: Stack, aborted: Any) -> None:
    assert aborted is True
    assert stream_now(stack).status == "aborted"


def check_gone(stack: Stack, value: Any) -> None:
    assert value is None
    assert stream_now(stack) is None


def check_messages(status: str) -> Callable[[Stack, Any], None]:
    def check(stack: Stack, messages: Any) -> None:
        assert len(messages) == 1
        (message,) = messages
        assert message["status"] == status
        assert message["message"]["role"] == "assistant"
        assert "Lisbon in May is mild" in json.dumps(message["message"])
        assert ("error" in message) == (status == "failed")

    return check


def check_state(stack: Stack, state: Any) -> None:
    assert state["streamId"] == STREAM
    assert state["threadId"] == THREAD
    assert state["status"] == "streaming"
    assert state["nextStart"] == 4
    assert state["retentionSeconds"] == 300


def check_message(stack: Stack, reply: Any) -> None:
    assert (reply["streamId"], reply["status"], reply["cursor"]) == (STREAM, "finished", 8)
    assert reply["uiMessage"]["text"] == "Lisbon in May is mild: expect 17-24 °C and little rain."


def check_published(stack: Stack, reply: Any) -> None:
    assert reply == {"batchItemFailures": []}
    assert stream_now(stack).snapshot_chunks == 1  # the snapshot came first


def check_appended(stack: Stack, value: Any) -> None:
    assert value in (True, {"accepted": True, "status": "streaming"})
    assert stream_now(stack).next_start == 4


def check_heartbeat(stack: Stack, value: Any) -> None:
    assert value is None
    assert stream_now(stack).status == "streaming"


def check_finished(stack: Stack, value: Any) -> None:
    assert value in (None, {"status": "finished"})
    stream = stream_now(stack)
    assert stream.status == "finished"
    assert stream.next_start == 8


def check_timed_out(stack: Stack, value: Any) -> None:
    assert value is None
    stream = stream_now(stack)
    assert stream.status == "aborted"
    assert stream.reason == "timeout"


def check_page(stack: Stack, value: Any) -> None:
    assert value == {"isDone": True}
    assert stream_now(stack) is None


def _aborted_reply(check: Callable[[Stack, Any], None]) -> Callable[[Stack, Any], None]:
    """HTTP wraps a direct boolean as ``{"aborted": …}``."""

    def unwrap(stack: Stack, value: Any) -> None:
        check(stack, value["aborted"] if isinstance(value, dict) else value)

    return unwrap


def _stream_id_reply(stack: Stack, value: Any) -> None:
    check_new_stream(stack, value["streamId"] if isinstance(value, dict) else value)


#: operation -> (HTTP success status, check of the reply body or direct return value)
EXPECTED: dict[str, tuple[int | None, Callable[[Stack, Any], None]]] = {
    "create_thread": (201, check_thread),
    "get_thread": (200, check_thread),
    "delete_thread": (202, check_deleting),
    "create_stream": (201, _stream_id_reply),
    "list_streams": (200, check_listed),
    "list_deltas": (200, check_deltas),
    "abort_streams_by_order": (200, _aborted_reply(check_aborted)),
    "delete_thread_streams": (204, check_gone),
    "get_stream": (200, check_state),
    "add_delta": (200, check_appended),
    "heartbeat_stream": (204, check_heartbeat),
    "finish_stream": (200, check_finished),
    "abort_stream": (200, _aborted_reply(check_aborted)),
    "delete_stream": (204, check_gone),
    "timeout_stream": (None, check_timed_out),
    "cleanup_stream": (None, check_gone),
    "delete_thread_streams_page": (None, check_page),
    "get_stream_message": (200, check_message),
    "publish_events": (None, check_published),
}
#: Direct returns that have the shape of an HTTP reply schema.
DIRECT_SCHEMAS = {
    "create_thread": "Thread",
    "get_thread": "Thread",
    "delete_thread": "Execution",
    "list_streams": "StreamMessageList",
    "list_deltas": "StreamDeltaList",
    "streaming_messages": "MessageWithMetadataList",
    "get_stream": "StreamState",
    "get_stream_message": "StreamUIMessage",
}


def validate(value: Any, schema: dict[str, Any]) -> None:
    """Validate against a schema of the document, resolving its component references."""
    jsonschema.Draft202012Validator({**schema, "components": OPENAPI["components"]}).validate(value)


def check_http_reply(event: dict[str, Any], response: dict[str, Any]) -> None:
    method, path = event["routeKey"].split(" ", 1)
    responses = OPENAPI["paths"][path][method.lower()]["responses"]
    status = str(response["statusCode"])
    assert status in responses, f"{event['routeKey']} replied {status}, not documented"
    content = responses[status].get("content")
    if content is None:
        assert response.get("body") is None
    else:
        assert response["headers"]["Content-Type"] == "application/json"
        validate(reply_json(response), content["application/json"]["schema"])


# -- the tests ----------------------------------------------------------------------------


def _case(path: Path) -> Any:
    return pytest.param(path, id=path.name)


@pytest.mark.usefixtures("fixed_ids")
@pytest.mark.parametrize("path", [_case(path) for path in EVENT_FILES])
def test_event(path: Path, stack: Stack, lambda_context) -> None:
    operation = operation_of(path)
    event = json.loads(path.read_text(encoding="utf-8"))
    BEFORE[operation](stack)
    result = load_function(operation).handler(event, lambda_context)

    if operation == "streaming_messages":
        status = event.get("queryStringParameters", {}).get("status") or event["status"]
        expected_status, check = 200, check_messages(status)
    else:
        expected_status, check = EXPECTED[operation]

    if is_http_event(event):
        assert result["statusCode"] == expected_status, result
        check_http_reply(event, result)
        check(stack, reply_json(result))
    else:
        if operation in DIRECT_SCHEMAS:
            validate(result, {"$ref": f"#/components/schemas/{DIRECT_SCHEMAS[operation]}"})
        check(stack, result)


def test_every_function_has_its_events() -> None:
    expected: set[str] = set()
    for operation, spec in load_template().functions().items():
        expected.add(f"{operation}.json")
        if spec.path is not None:
            expected.add(f"{operation}.direct.json")
    assert {p.name for p in EVENT_FILES} == expected
    assert set(BEFORE) == set(load_template().functions())


def named_ids(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of a ``threadId``/``streamId`` in an event, bodies and cursors too."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("threadId", "streamId"):
                # A DynamoDB image (publish_events's records) holds {"S": id}.
                yield key, item["S"] if isinstance(item, dict) and "S" in item else item
            elif key == "body" and isinstance(item, str):
                yield from named_ids(json.loads(item))
            elif key == "cursors" and isinstance(item, str):
                yield from (("streamId", pair.rsplit(":", 1)[0]) for pair in item.split(","))
            else:
                yield from named_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from named_ids(item)


def test_events_name_the_same_thread_and_stream() -> None:
    """The events tell one story: the stream's id is derived from the thread's (as
    ``ids.new_stream_id`` makes it), and no event names another id."""
    assert ids.stream_in_thread(STREAM, THREAD)
    assert ids.is_valid_id(STREAM)
    assert ids.is_valid_id(THREAD)
    for path in EVENT_FILES:
        event = json.loads(path.read_text(encoding="utf-8"))
        for key, value in named_ids(event):
            assert value == {"threadId": THREAD, "streamId": STREAM}[key], (path.name, key)
