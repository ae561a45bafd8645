"""Streams through their handlers: create, list, read, heartbeat, finish, abort, delete."""

from __future__ import annotations

from typing import Any

import pytest

from agent_streams.ids import new_stream_id, new_thread_id
from agent_streams_protocol.errors import (
    StreamNotFound,
    ThreadDeleting,
    ThreadNotFound,
    ValidationError,
)
from agent_streams_protocol.limits import CLEANUP_DELAY_MS, TIMEOUT_MS
from tests.conftest import START_MS, Stack, snapshot
from tests.helpers import Api


def text_delta(stream_id: str, start: int, text: str = "x") -> dict[str, Any]:
    return {
        "streamId": stream_id,
        "start": start,
        "end": start + 1,
        "parts": [{"type": "text-delta", "id": "t", "delta": text}],
    }


def new_stream(api: Api, thread_id: str, order: int = 0, step: int = 0, **meta: Any) -> str:
    return str(
        api.direct(
            "create_stream", {"threadId": thread_id, "order": order, "stepOrder": step, **meta}
        )
    )


class TestCreateStream:
    def test_http_creates_a_streaming_stream_with_its_metadata(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        options = {"openai": {"reasoningEffort": "low", "n": 0.5, "nested": {"a": [1, None, True]}}}
        status, body = api.http(
            "create_stream",
            {"threadId": thread_id},
            body={
                "order": 3,
                "stepOrder": 1,
                "format": "UIMessageChunk",
                "userId": "u1",
                "agentName": "helper",
                "model": "gpt-x",
                "provider": "openai",
                "providerOptions": options,
            },
        )
        assert status == 201
        stream_id = body["streamId"]
        state = api.direct("get_stream", {"streamId": stream_id})
        assert state == {
            "streamId": stream_id,
            "status": "streaming",
            "format": "UIMessageChunk",
            "order": 3,
            "stepOrder": 1,
            "userId": "u1",
            "agentName": "helper",
            "model": "gpt-x",
            "provider": "openai",
            "providerOptions": options,
            "threadId": thread_id,
            "lastHeartbeat": START_MS,
            "nextStart": 0,
            "retentionSeconds": 300,
        }

    def test_ids_are_url_safe_and_short(self, api: Api, thread_id: str) -> None:
        stream_id = new_stream(api, thread_id)
        assert len(stream_id) <= 40
        assert all(c.isalnum() or c in "-_" for c in stream_id)

    def test_arms_the_timeout_once(self, api: Api, stack: Stack, thread_id: str) -> None:
        stream_id = new_stream(api, thread_id)
        (armed,) = stack.scheduler.pending.values()
        assert (armed.target, armed.stream_id, armed.at_ms) == (
            "timeout",
            stream_id,
            START_MS + TIMEOUT_MS,
        )

    def test_an_unknown_thread_is_404_and_leaves_nothing(self, api: Api, stack: Stack) -> None:
        before = snapshot(stack.settings)
        missing = new_thread_id()
        with pytest.raises(ThreadNotFound):
            api.direct("create_stream", {"threadId": missing, "order": 0, "stepOrder": 0})
        status, body = api.http(
            "create_stream", {"threadId": missing}, body={"order": 0, "stepOrder": 0}
        )
        assert (status, body["error"]) == (404, "ThreadNotFound")
        assert snapshot(stack.settings) == before
        assert stack.scheduler.pending == {}

    def test_a_thread_being_deleted_takes_no_new_stream(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        api.direct("delete_thread", {"threadId": thread_id})
        before = snapshot(stack.settings)
        with pytest.raises(ThreadDeleting):
            api.direct("create_stream", {"threadId": thread_id, "order": 0, "stepOrder": 0})
        status, body = api.http(
            "create_stream", {"threadId": thread_id}, body={"order": 0, "stepOrder": 0}
        )
        assert (status, body["error"]) == (409, "ThreadDeleting")
        assert snapshot(stack.settings) == before
        assert stack.scheduler.pending == {}

    @pytest.mark.parametrize(
        "bad",
        [
            {"order": -1, "stepOrder": 0},
            {"order": 0},
            {"order": 0, "stepOrder": 0, "format": "Other"},
            {"order": 1.5, "stepOrder": 0},
            {"order": 0, "stepOrder": 0, "providerOptions": {"x": 1}},
            {"order": 0, "stepOrder": 0, "model": "m" * 300},
            {"order": 0, "stepOrder": 0, "unknown": True},
            {"order": 10**12, "stepOrder": 0},
        ],
    )
    def test_bad_arguments_are_422(
        self, api: Api, stack: Stack, thread_id: str, bad: dict[str, Any]
    ) -> None:
        before = snapshot(stack.settings)
        status, body = api.http("create_stream", {"threadId": thread_id}, body=bad)
        assert (status, body["error"]) == (422, "ValidationError")
        assert snapshot(stack.settings) == before


class TestListStreams:
    def test_defaults_to_streaming_newest_first(self, api: Api, thread_id: str) -> None:
        a = new_stream(api, thread_id, order=1, step=0)
        b = new_stream(api, thread_id, order=1, step=2)
        c = new_stream(api, thread_id, order=2, step=0)
        done = new_stream(api, thread_id, order=3, step=0)
        api.direct("finish_stream", {"streamId": done})
        status, body = api.http("list_streams", {"threadId": thread_id})
        assert status == 200
        assert [s["streamId"] for s in body] == [c, b, a]
        assert body[0] == {"streamId": c, "status": "streaming", "order": 2, "stepOrder": 0}

    def test_statuses_and_start_order_filter(self, api: Api, thread_id: str) -> None:
        old = new_stream(api, thread_id, order=0)
        finished = new_stream(api, thread_id, order=1)
        aborted = new_stream(api, thread_id, order=2)
        live = new_stream(api, thread_id, order=3)
        api.direct("finish_stream", {"streamId": finished})
        api.direct("abort_stream", {"streamId": aborted, "reason": "user"})
        _, body = api.http(
            "list_streams",
            {"threadId": thread_id},
            query={"statuses": "finished,aborted,streaming", "startOrder": "1"},
        )
        assert [(s["streamId"], s["status"]) for s in body] == [
            (live, "streaming"),
            (aborted, "aborted"),
            (finished, "finished"),
        ]
        direct = api.direct("list_streams", {"threadId": thread_id, "statuses": ["aborted"]})
        assert [s["streamId"] for s in direct] == [aborted]
        assert old not in [
            s["streamId"]
            for s in api.direct("list_streams", {"threadId": thread_id, "startOrder": 1})
        ]

    def test_at_most_100(self, api: Api, thread_id: str) -> None:
        for n in range(105):
            new_stream(api, thread_id, order=n)
        body = api.direct("list_streams", {"threadId": thread_id})
        assert len(body) == 100
        assert body[0]["order"] == 104

    def test_other_threads_are_not_listed(self, api: Api, thread_id: str) -> None:
        other_thread = api.direct("create_thread", {})["threadId"]
        new_stream(api, other_thread)
        assert api.direct("list_streams", {"threadId": thread_id}) == []

    @pytest.mark.parametrize(
        "query",
        [
            {"statuses": "running"},
            {"startOrder": "-1"},
            {"startOrder": "x"},
            {"statuses": ""},
            {"order": "1"},
        ],
    )
    def test_bad_queries_are_422(self, api: Api, thread_id: str, query: dict[str, str]) -> None:
        status, body = api.http("list_streams", {"threadId": thread_id}, query=query)
        assert (status, body["error"]) == (422, "ValidationError")


class TestGetAndHeartbeat:
    def test_get_stream_404(self, api: Api, thread_id: str) -> None:
        missing = new_stream_id(thread_id)
        with pytest.raises(StreamNotFound):
            api.direct("get_stream", {"streamId": missing})
        assert api.http("get_stream", {"streamId": missing})[0] == 404

    def test_heartbeat_moves_last_heartbeat_only(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        stack.clock.advance(60_000)
        status, body = api.http("heartbeat_stream", {"streamId": stream_id})
        assert (status, body) == (204, None)
        state = api.direct("get_stream", {"streamId": stream_id})
        assert state["lastHeartbeat"] == START_MS + 60_000
        assert state["nextStart"] == 0
        assert len(stack.scheduler.calls) == 1  # the create; heartbeats never touch the schedule

    def test_heartbeat_of_an_ended_stream_is_a_no_op(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        api.direct("finish_stream", {"streamId": stream_id})
        before = snapshot(stack.settings)
        assert api.direct("heartbeat_stream", {"streamId": stream_id}) is None
        assert snapshot(stack.settings) == before

    def test_heartbeat_of_a_missing_stream_is_404(self, api: Api, thread_id: str) -> None:
        missing = new_stream_id(thread_id)
        with pytest.raises(StreamNotFound):
            api.direct("heartbeat_stream", {"streamId": missing})
        assert api.http("heartbeat_stream", {"streamId": missing})[0] == 404


class TestFinish:
    def test_finish_arms_cleanup_and_cancels_the_timeout(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        stack.clock.advance(1_000)
        status, body = api.http("finish_stream", {"streamId": stream_id})
        assert (status, body) == (200, {"status": "finished"})
        (armed,) = stack.scheduler.pending.values()
        assert (armed.target, armed.at_ms) == ("cleanup", START_MS + 1_000 + CLEANUP_DELAY_MS)
        state = api.direct("get_stream", {"streamId": stream_id})
        assert (state["status"], state["endedAt"]) == ("finished", START_MS + 1_000)

    def test_final_delta_and_finish_are_one_write(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        api.direct("add_delta", text_delta(stream_id, 0, "a"))
        assert (
            api.direct(
                "finish_stream",
                {"streamId": stream_id, "finalDelta": text_delta(stream_id, 1, "b")},
            )
            is None
        )
        deltas = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]},
        )
        assert [d["start"] for d in deltas] == [0, 1]
        assert api.direct("get_stream", {"streamId": stream_id})["nextStart"] == 2

    def test_a_final_delta_that_does_not_fit_changes_nothing(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        api.direct("add_delta", text_delta(stream_id, 0))
        before = snapshot(stack.settings)
        status, body = api.http(
            "finish_stream", {"streamId": stream_id}, body={"finalDelta": text_delta(stream_id, 5)}
        )
        assert (status, body["error"], body["expectedStart"]) == (409, "DeltaConflict", 1)
        assert snapshot(stack.settings) == before
        assert api.direct("get_stream", {"streamId": stream_id})["status"] == "streaming"

    def test_finishing_twice_is_a_no_op(self, api: Api, stack: Stack, stream_id: str) -> None:
        api.direct("finish_stream", {"streamId": stream_id})
        before = snapshot(stack.settings)
        calls = len(stack.scheduler.calls)
        assert api.http("finish_stream", {"streamId": stream_id}) == (200, {"status": "finished"})
        assert snapshot(stack.settings) == before
        assert len(stack.scheduler.calls) == calls

    def test_finishing_an_aborted_stream_keeps_it_aborted(self, api: Api, stream_id: str) -> None:
        api.direct("abort_stream", {"streamId": stream_id, "reason": "stop"})
        assert api.http("finish_stream", {"streamId": stream_id}) == (200, {"status": "aborted"})

    def test_a_final_delta_for_another_stream_is_422(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        other = new_stream(api, thread_id, order=1)
        with pytest.raises(ValidationError):
            api.direct("finish_stream", {"streamId": stream_id, "finalDelta": text_delta(other, 0)})

    def test_finish_of_a_missing_stream_is_404(self, api: Api, thread_id: str) -> None:
        missing = new_stream_id(thread_id)
        with pytest.raises(StreamNotFound):
            api.direct("finish_stream", {"streamId": missing})


class TestAbort:
    def test_abort_keeps_the_partial_reply(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        api.direct("add_delta", text_delta(stream_id, 0, "partial"))
        status, body = api.http(
            "abort_stream",
            {"streamId": stream_id},
            body={"reason": "user stopped", "finalDelta": text_delta(stream_id, 1)},
        )
        assert (status, body) == (200, {"aborted": True})
        state = api.direct("get_stream", {"streamId": stream_id})
        assert (state["status"], state["reason"], state["nextStart"]) == (
            "aborted",
            "user stopped",
            2,
        )
        assert stack.scheduler.pending == {}  # the timeout was cancelled, nothing else armed
        deltas = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]},
        )
        assert len(deltas) == 2

    def test_abort_of_an_ended_stream_is_false_and_writes_nothing(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        api.direct("finish_stream", {"streamId": stream_id})
        before = snapshot(stack.settings)
        assert api.direct("abort_stream", {"streamId": stream_id, "reason": "late"}) is False
        assert (
            api.direct(
                "abort_stream",
                {"streamId": stream_id, "reason": "late", "finalDelta": text_delta(stream_id, 0)},
            )
            is False
        )
        assert snapshot(stack.settings) == before

    def test_abort_of_a_missing_stream_is_404(self, api: Api, thread_id: str) -> None:
        status, body = api.http(
            "abort_stream", {"streamId": new_stream_id(thread_id)}, body={"reason": "x"}
        )
        assert (status, body["error"]) == (404, "StreamNotFound")

    def test_abort_by_order_aborts_the_streaming_ones_at_that_order(
        self, api: Api, thread_id: str
    ) -> None:
        a = new_stream(api, thread_id, order=4, step=0)
        b = new_stream(api, thread_id, order=4, step=1)
        done = new_stream(api, thread_id, order=4, step=2)
        other = new_stream(api, thread_id, order=5)
        api.direct("finish_stream", {"streamId": done})
        status, body = api.http(
            "abort_streams_by_order",
            {"threadId": thread_id},
            body={"order": 4, "reason": "new turn"},
        )
        assert (status, body) == (200, {"aborted": True})
        statuses = {
            s: api.direct("get_stream", {"streamId": s})["status"] for s in (a, b, done, other)
        }
        assert statuses == {a: "aborted", b: "aborted", done: "finished", other: "streaming"}
        assert (
            api.direct(
                "abort_streams_by_order", {"threadId": thread_id, "order": 4, "reason": "again"}
            )
            is False
        )


class TestDeleteStream:
    def test_deletes_the_stream_and_every_delta(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        for i in range(30):
            api.direct("add_delta", text_delta(stream_id, i))
        keep = new_stream(api, thread_id, order=1)
        api.direct("add_delta", text_delta(keep, 0))
        assert api.http("delete_stream", {"streamId": stream_id}) == (204, None)
        with pytest.raises(StreamNotFound):
            api.direct("get_stream", {"streamId": stream_id})
        cursors = [{"streamId": stream_id, "cursor": 0}, {"streamId": keep, "cursor": 0}]
        left = api.direct("list_deltas", {"threadId": thread_id, "cursors": cursors})
        assert [d["streamId"] for d in left] == [keep]
        assert all(s.stream_id != stream_id for s in stack.scheduler.pending.values())

    def test_deleting_again_is_harmless(self, api: Api, stream_id: str) -> None:
        api.direct("delete_stream", {"streamId": stream_id})
        assert api.http("delete_stream", {"streamId": stream_id}) == (204, None)

    def test_deleting_a_streaming_stream_stops_its_writer(self, api: Api, stream_id: str) -> None:
        api.direct("add_delta", text_delta(stream_id, 0))
        api.direct("delete_stream", {"streamId": stream_id})
        assert api.direct("add_delta", text_delta(stream_id, 1)) is False


class TestDeleteThreadStreams:
    def test_deletes_every_stream_but_keeps_the_thread(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        streams = [new_stream(api, thread_id, order=n) for n in range(4)]
        for s in streams:
            api.direct("add_delta", text_delta(s, 0))
        api.direct("finish_stream", {"streamId": streams[0]})
        api.direct("abort_stream", {"streamId": streams[1], "reason": "x"})
        assert api.http("delete_thread_streams", {"threadId": thread_id}) == (204, None)
        assert (
            api.direct(
                "list_streams",
                {"threadId": thread_id, "statuses": ["streaming", "finished", "aborted"]},
            )
            == []
        )
        assert api.direct("get_thread", {"threadId": thread_id})["status"] == "active"
        assert stack.scheduler.pending == {}
        tables = snapshot(stack.settings)
        assert tables[stack.settings.streams_table] == []
        assert tables[stack.settings.deltas_table] == []
