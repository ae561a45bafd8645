"""Lifecycle events, per-stream retention and message snapshots on the local stack, over HTTP.

Every terminal transition shows exactly its event(s) at ``GET /_local/events`` —
finish, abort, order-abort, the timeout on the virtual clock, stream and thread
deletion — also when the function that made the transition is killed right after
its commit (the event comes from the table's stream record, written with the
commit). ``advance(0)`` settles the pipeline: after it, everything written so far
has been delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from agent_streams_dev.local import invocations
from agent_streams_dev.local.stack import LocalStack
from agent_streams_protocol.materialize import derive_ui_messages
from tests.e2e.conftest import LocalApi

pytestmark = pytest.mark.e2e

MINUTE = 60
DAY = 24 * 60 * MINUTE
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "materialize.jsonl"


def settle(api: LocalApi) -> None:
    """Everything written so far delivered: the events of what happened are all in."""
    api.advance(0)


def events(api: LocalApi, **match: str) -> list[tuple[str, dict[str, Any]]]:
    """The events whose detail has these values (e.g. ``streamId=…``), oldest first."""
    status, found = api.get("/_local/events")
    assert status == 200
    return [
        (e["detailType"], e["detail"])
        for e in found
        if all(e["detail"].get(k) == v for k, v in match.items())
    ]


def kinds(api: LocalApi, **match: str) -> list[str]:
    return [kind for kind, _ in events(api, **match)]


def say(api: LocalApi, stream: str, *texts: str) -> None:
    """One delta: a text part of ``texts`` (UIMessageChunk)."""
    parts = [
        {"type": "text-start", "id": "t"},
        *({"type": "text-delta", "id": "t", "delta": text} for text in texts),
        {"type": "text-end", "id": "t"},
    ]
    body = {"start": 0, "end": len(parts), "parts": parts}
    assert api.post(f"/streams/{stream}/deltas", body)[1]["accepted"] is True


def finished(api: LocalApi, thread: str, *texts: str, **meta: Any) -> str:
    stream = api.stream(thread, **{"format": "UIMessageChunk", **meta})
    if texts:
        say(api, stream, *texts)
    assert api.post(f"/streams/{stream}/finish")[0] == 200
    return stream


class TestEvents:
    def test_finish_is_one_stream_finished_event_with_the_stream_in_it(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        thread = api.thread()
        stream = finished(
            api, thread, "a", "b", order=3, step=1, format="UIMessageChunk", userId="ada"
        )
        settle(api)
        found = api.get("/_local/events")[1]
        mine = [e for e in found if e["detail"].get("streamId") == stream]
        state = api.state(stream)[1]
        assert mine == [
            {
                "source": "agent-streams",
                "detailType": "Stream Finished",
                "detail": {
                    "stack": local_stack.stack_name,
                    "threadId": thread,
                    "streamId": stream,
                    "order": 3,
                    "stepOrder": 1,
                    "status": "finished",
                    "cursor": 4,
                    "userId": "ada",
                    "format": "UIMessageChunk",
                },
                "time": _iso(state["endedAt"]),
            }
        ]

    def test_abort_carries_the_callers_reason(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        api.append(stream, 0, "half")
        assert api.post(f"/streams/{stream}/abort", {"reason": "user pressed stop"})[0] == 200
        settle(api)
        ((kind, detail),) = events(api, streamId=stream)
        assert (kind, detail["status"], detail["reason"], detail["cursor"]) == (
            "Stream Aborted",
            "aborted",
            "user pressed stop",
            1,
        )
        assert "userId" not in detail  # absent, never null
        assert "format" not in detail

    def test_order_abort_is_one_event_per_stream_it_aborted(self, api: LocalApi) -> None:
        thread = api.thread()
        first, second = api.stream(thread, order=2, step=0), api.stream(thread, order=2, step=1)
        other = api.stream(thread, order=3)
        assert api.post(f"/threads/{thread}/streams/abort", {"order": 2, "reason": "new turn"})[
            1
        ] == {"aborted": True}
        settle(api)
        for stream in (first, second):
            assert [(k, d["reason"]) for k, d in events(api, streamId=stream)] == [
                ("Stream Aborted", "new turn")
            ]
        assert events(api, streamId=other) == []

    def test_the_timeout_on_the_virtual_clock_is_a_stream_aborted_timeout(
        self, api: LocalApi
    ) -> None:
        stream = api.stream(api.thread())
        api.advance(9 * MINUTE)
        assert events(api, streamId=stream) == []
        api.advance(MINUTE)
        assert [(k, d["reason"]) for k, d in events(api, streamId=stream)] == [
            ("Stream Aborted", "timeout")
        ]

    def test_deleting_a_finished_stream_is_one_stream_deleted(self, api: LocalApi) -> None:
        stream = finished(api, api.thread(), "x")
        assert api.delete(f"/streams/{stream}")[0] == 204
        settle(api)
        assert kinds(api, streamId=stream) == ["Stream Finished", "Stream Deleted"]
        assert events(api, streamId=stream)[1][1]["status"] == "finished"

    def test_deleting_a_live_stream_aborts_it_first(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        api.append(stream, 0, "x", "y")
        assert api.delete(f"/streams/{stream}")[0] == 204
        settle(api)
        found = events(api, streamId=stream)
        assert [(k, d.get("reason")) for k, d in found] == [
            ("Stream Aborted", "deleted"),
            ("Stream Deleted", "deleted"),
        ]
        assert all(d["cursor"] == 2 for _, d in found)

    def test_deleting_a_threads_streams_leaves_the_thread(self, api: LocalApi) -> None:
        thread = api.thread()
        done = finished(api, thread, "x")
        live = api.stream(thread, order=1)
        assert api.delete(f"/threads/{thread}/streams")[0] == 204
        settle(api)
        assert kinds(api, streamId=done) == ["Stream Finished", "Stream Deleted"]
        assert kinds(api, streamId=live) == ["Stream Aborted", "Stream Deleted"]
        assert "Thread Deleted" not in kinds(api, threadId=thread)

    def test_deleting_a_thread_ends_with_thread_deleted(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        thread = api.thread(userId="grace")
        done = finished(api, thread, "x")
        live = api.stream(thread, order=1)
        assert api.delete(f"/threads/{thread}")[0] == 202
        settle(api)
        assert kinds(api, streamId=done) == ["Stream Finished", "Stream Deleted"]
        assert [(k, d.get("reason")) for k, d in events(api, streamId=live)] == [
            ("Stream Aborted", "thread deleted"),
            ("Stream Deleted", "thread deleted"),
        ]
        found = events(api, threadId=thread)
        assert found[-1] == (
            "Thread Deleted",
            {"stack": local_stack.stack_name, "threadId": thread, "userId": "grace"},
        )
        assert [k for k, _ in found].count("Thread Deleted") == 1

    def test_cleanup_is_a_stream_deleted(self, api: LocalApi) -> None:
        stream = finished(api, api.thread(), "x")
        api.advance(5 * MINUTE)
        assert kinds(api, streamId=stream) == ["Stream Finished", "Stream Deleted"]

    def test_per_delta_writes_invoke_nothing(self, api: LocalApi, local_stack: LocalStack) -> None:
        stream = api.stream(api.thread())
        settle(api)
        assert local_stack.event_sources is not None
        before = local_stack.event_sources.invocations
        for start in range(20):
            api.append(stream, start)
        api.post(f"/streams/{stream}/heartbeat")
        settle(api)
        assert local_stack.event_sources.invocations == before
        assert events(api, streamId=stream) == []


def _iso(epoch_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- killed right after the commit ------------------------------------------------------


@contextmanager
def killed_after(
    local_stack: LocalStack, service: str, operation: str, function: str
) -> Iterator[dict[str, int]]:
    """Kill the first invocation of ``function`` right after its ``operation`` call came
    back successfully: what it committed stays, nothing after it runs (Lambda stopped it)."""
    from agent_streams import aws

    assert local_stack.resources is not None
    client = aws.client(service, local_stack.resources.settings.region)
    state = {"killed": 0}

    def kill(http_response: Any = None, **_: Any) -> None:
        invocation = invocations.current()
        if (
            invocation is not None
            and invocation.function_name.endswith(f"-{function}")
            and state["killed"] == 0
            and getattr(http_response, "status_code", 0) == 200
        ):
            state["killed"] += 1
            raise invocations.InvocationStopped(f"{function} killed right after {operation}")

    event = f"after-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"
    client.meta.events.register(event, kill, unique_id="killed-after")
    try:
        yield state
    finally:
        client.meta.events.unregister(event, unique_id="killed-after")


class TestKilledRightAfterTheCommit:
    def test_finish(self, api: LocalApi, local_stack: LocalStack) -> None:
        stream = api.stream(api.thread())
        api.append(stream, 0, "x")
        with killed_after(local_stack, "dynamodb", "TransactWriteItems", "finish_stream") as kill:
            status, _ = api.post(f"/streams/{stream}/finish")
        assert kill["killed"] == 1
        assert status >= 500
        settle(api)
        assert kinds(api, streamId=stream) == ["Stream Finished"]
        # The writer tries again: a no-op, and no second event.
        assert api.post(f"/streams/{stream}/finish")[1] == {"status": "finished"}
        settle(api)
        assert kinds(api, streamId=stream) == ["Stream Finished"]

    def test_abort(self, api: LocalApi, local_stack: LocalStack) -> None:
        stream = api.stream(api.thread())
        with killed_after(local_stack, "dynamodb", "TransactWriteItems", "abort_stream") as kill:
            status, _ = api.post(f"/streams/{stream}/abort", {"reason": "stop"})
        assert kill["killed"] == 1
        assert status >= 500
        settle(api)
        assert [(k, d["reason"]) for k, d in events(api, streamId=stream)] == [
            ("Stream Aborted", "stop")
        ]

    def test_order_abort(self, api: LocalApi, local_stack: LocalStack) -> None:
        thread = api.thread()
        first, second = api.stream(thread, order=1), api.stream(thread, order=1, step=1)
        with killed_after(
            local_stack, "dynamodb", "TransactWriteItems", "abort_streams_by_order"
        ) as kill:
            status, _ = api.post(f"/threads/{thread}/streams/abort", {"order": 1, "reason": "r"})
        assert kill["killed"] == 1
        assert status >= 500
        settle(api)
        # The first abort committed before the kill; the second never ran.
        aborted = [s for s in (first, second) if kinds(api, streamId=s) == ["Stream Aborted"]]
        assert len(aborted) == 1
        # Tried again, the caller aborts the other one: one event each in all.
        api.post(f"/threads/{thread}/streams/abort", {"order": 1, "reason": "r"})
        settle(api)
        assert kinds(api, streamId=first) == kinds(api, streamId=second) == ["Stream Aborted"]

    def test_timeout_fired_by_the_schedule(self, api: LocalApi, local_stack: LocalStack) -> None:
        stream = api.stream(api.thread())
        with killed_after(local_stack, "dynamodb", "TransactWriteItems", "timeout_stream") as kill:
            api.advance(10 * MINUTE)
        assert kill["killed"] == 1
        assert api.state(stream)[1]["reason"] == "timeout"
        assert [(k, d["reason"]) for k, d in events(api, streamId=stream)] == [
            ("Stream Aborted", "timeout")
        ]

    def test_delete_stream(self, api: LocalApi, local_stack: LocalStack) -> None:
        stream = finished(api, api.thread(), "x")
        with killed_after(local_stack, "dynamodb", "BatchWriteItem", "delete_stream") as kill:
            status, _ = api.delete(f"/streams/{stream}")
        assert kill["killed"] == 1
        assert status >= 500
        assert api.state(stream)[0] == 404  # the batch held the stream: it is gone
        settle(api)
        assert kinds(api, streamId=stream) == ["Stream Finished", "Stream Deleted"]

    def test_delete_thread(self, api: LocalApi, local_stack: LocalStack) -> None:
        """The state machine's page is killed once it deleted a stream: its retry goes on
        from there, and each event still shows once."""
        thread = api.thread()
        done = finished(api, thread, "x")
        live = api.stream(thread, order=1)
        with killed_after(
            local_stack, "dynamodb", "BatchWriteItem", "delete_thread_streams_page"
        ) as kill:
            assert api.delete(f"/threads/{thread}")[0] == 202
            settle(api)
        assert kill["killed"] == 1
        assert api.get(f"/threads/{thread}")[0] == 404
        assert kinds(api, streamId=done) == ["Stream Finished", "Stream Deleted"]
        assert kinds(api, streamId=live) == ["Stream Aborted", "Stream Deleted"]
        assert kinds(api, threadId=thread)[-1] == "Thread Deleted"
        assert kinds(api, threadId=thread).count("Thread Deleted") == 1

    def test_publish_events_itself_right_after_putting_the_events(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        """Killed once it put the events, before it could say so: the records are handed
        over again and the events published again — at least once, never lost."""
        stream = api.stream(api.thread())
        with killed_after(local_stack, "events", "PutEvents", "publish_events") as kill:
            api.post(f"/streams/{stream}/finish")
            settle(api)
        assert kill["killed"] == 1
        found = events(api, streamId=stream)
        assert len(found) >= 1
        assert {json.dumps(e, sort_keys=True) for e in found} == {
            json.dumps(found[0], sort_keys=True)
        }
        assert found[0][0] == "Stream Finished"


# -- retention ----------------------------------------------------------------------------


class TestRetention:
    def test_sixty_seconds(self, api: LocalApi) -> None:
        stream = finished(api, api.thread(), "x", retentionSeconds=60)
        assert api.state(stream)[1]["retentionSeconds"] == 60
        api.advance(59)
        assert api.state(stream)[0] == 200
        api.advance(2)
        assert api.state(stream)[0] == 404
        assert kinds(api, streamId=stream) == ["Stream Finished", "Stream Deleted"]

    def test_three_days(self, api: LocalApi) -> None:
        stream = finished(api, api.thread(), "x", retentionSeconds=3 * DAY)
        api.advance(3 * DAY - MINUTE)
        assert api.state(stream)[0] == 200
        assert api.get(f"/streams/{stream}/message")[1]["uiMessage"]["text"] == "x"
        api.advance(2 * MINUTE)
        assert api.state(stream)[0] == 404

    def test_an_aborted_stream_with_its_own_retention_is_cleaned_up_too(
        self, api: LocalApi
    ) -> None:
        stream = api.stream(api.thread(), retentionSeconds=120)
        api.post(f"/streams/{stream}/abort", {"reason": "stop"})
        api.advance(119)
        assert api.state(stream)[0] == 200
        api.advance(2)
        assert api.state(stream)[0] == 404

    def test_an_aborted_stream_without_one_stays_as_in_the_reference(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        assert api.state(stream)[1]["retentionSeconds"] == 300
        api.advance(10 * MINUTE)  # timed out
        api.advance(60 * MINUTE)
        assert api.state(stream)[1]["reason"] == "timeout"

    @pytest.mark.parametrize("seconds", [0, 30 * DAY + 1, "60"])
    def test_out_of_range_is_refused(self, api: LocalApi, seconds: Any) -> None:
        thread = api.thread()
        status, body = api.post(
            f"/threads/{thread}/streams", {"order": 0, "stepOrder": 0, "retentionSeconds": seconds}
        )
        assert (status, body["error"]) == (422, "ValidationError")
        assert api.get(f"/threads/{thread}/streams")[1] == []


# -- the message ---------------------------------------------------------------------------


def _cases() -> list[dict[str, Any]]:
    """Conformance cases that a writer can replay: one stream, deltas without gaps."""
    picked: dict[tuple[Any, str], dict[str, Any]] = {}
    for line in FIXTURES.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if len(case["streamMessages"]) != 1 or case.get("errorChunkMarksFailed"):
            continue
        (message,) = case["streamMessages"]
        deltas = sorted(case["deltas"], key=lambda d: d["start"])
        if [d["start"] for d in deltas] != [0, *[d["end"] for d in deltas[:-1]]]:
            continue
        key = (message.get("format"), message["status"])
        if len(deltas) >= 3 and key not in picked:
            picked[key] = case
    return [picked[k] for k in sorted(picked, key=str)]


def _replay(api: LocalApi, case: dict[str, Any]) -> tuple[str, str]:
    (message,) = case["streamMessages"]
    thread = api.thread()
    meta = {k: message[k] for k in ("format", "agentName", "model", "provider") if k in message}
    stream = api.stream(thread, order=message["order"], step=message["stepOrder"], **meta)
    for delta in sorted(case["deltas"], key=lambda d: d["start"]):
        body = {k: delta[k] for k in ("start", "end", "parts")}
        assert api.post(f"/streams/{stream}/deltas", body)[1]["accepted"] is True
    if message["status"] == "finished":
        api.post(f"/streams/{stream}/finish")
    elif message["status"] == "aborted":
        api.post(f"/streams/{stream}/abort", {"reason": "cut"})
    return thread, stream


def _derived(api: LocalApi, thread: str, stream: str) -> dict[str, Any]:
    """What derive_ui_messages makes of the stored deltas (read page by page)."""
    (public,) = [
        s
        for s in api.get(f"/threads/{thread}/streams?statuses=streaming,finished,aborted")[1]
        if s["streamId"] == stream
    ]
    deltas: list[dict[str, Any]] = []
    cursor = 0
    while page := api.get(f"/threads/{thread}/deltas?cursors={stream}:{cursor}")[1]:
        deltas += page
        cursor = page[-1]["end"]
    (message,) = derive_ui_messages(thread, [public], deltas)
    return message


@pytest.mark.parametrize(
    "case", _cases(), ids=lambda c: f"{c['streamMessages'][0].get('format')}-{c['id']}"
)
def test_the_message_is_derive_ui_messages_over_the_stored_deltas(
    api: LocalApi, case: dict[str, Any]
) -> None:
    thread, stream = _replay(api, case)
    settle(api)  # an ended stream has its snapshot now
    status, reply = api.get(f"/streams/{stream}/message")
    state = api.state(stream)[1]
    assert status == 200
    assert reply == {
        "streamId": stream,
        "status": state["status"],
        "cursor": state["nextStart"],
        "uiMessage": _derived(api, thread, stream),
    }


def test_both_formats_are_covered() -> None:
    formats = {c["streamMessages"][0].get("format") for c in _cases()}
    assert {"UIMessageChunk", "TextStreamPart", None} <= formats


def test_ended_streams_are_read_from_their_snapshots(
    api: LocalApi, local_stack: LocalStack
) -> None:
    """Once the snapshots are written, the deltas are not read again: with them removed
    by hand, streaming_messages and the message reply as before."""
    thread = api.thread()
    streams = [finished(api, thread, f"reply {i} ", "done") for i in range(3)]
    query = f"/threads/{thread}/streams/messages?order=0&stepOrder=0&status=success"
    settle(api)
    before = api.get(query)
    messages = [api.get(f"/streams/{s}/message") for s in streams]
    assert before[0] == 200
    assert len(before[1]) == 3
    assert all(f"reply {i} done" in json.dumps(before[1]) for i in range(3))
    assert local_stack.resources is not None
    dynamodb = local_stack.client("dynamodb")
    deltas_table = local_stack.resources.settings.deltas_table
    for stream in streams:
        dynamodb.delete_item(
            TableName=deltas_table, Key={"streamId": {"S": stream}, "start": {"N": "0"}}
        )
    assert api.get(query) == before
    assert [api.get(f"/streams/{s}/message") for s in streams] == messages


def test_a_stream_with_no_parts_has_an_empty_message(api: LocalApi) -> None:
    stream = finished(api, api.thread())
    settle(api)
    reply = api.get(f"/streams/{stream}/message")[1]
    assert (reply["cursor"], reply["uiMessage"]["parts"]) == (0, [])


def test_a_missing_stream_is_404(api: LocalApi) -> None:
    status, body = api.get("/streams/nosuchstream0000000000000000/message")
    assert (status, body["error"]) == (404, "StreamNotFound")
