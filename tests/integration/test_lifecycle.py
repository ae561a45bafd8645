"""The scheduler targets and thread deletion, driven with a fake scheduler and clock.

Firing a schedule here means what EventBridge Scheduler does: invoke the target
function directly with ``{streamId}`` at (or after) the schedule's time.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent_streams.deadline import Deadline, set_deadline
from agent_streams_protocol.limits import CLEANUP_DELAY_MS, MINUTE_MS, TIMEOUT_MS
from tests.conftest import Stack, snapshot
from tests.helpers import Api, FakeLambdaContext


def text_delta(stream_id: str, start: int) -> dict[str, Any]:
    return {
        "streamId": stream_id,
        "start": start,
        "end": start + 1,
        "parts": [{"type": "text-delta", "id": "t", "delta": "x"}],
    }


def fire_due(api: Api, stack: Stack) -> list[str]:
    """Invoke every schedule that is due now, as Scheduler would; returns their names."""
    fired = []
    for schedule in stack.scheduler.take_due(stack.clock.now_ms()):
        operation = "timeout_stream" if schedule.target == "timeout" else "cleanup_stream"
        api.direct(operation, {"streamId": schedule.stream_id})
        fired.append(schedule.name)
    return fired


def advance(api: Api, stack: Stack, ms: int, step: int = MINUTE_MS) -> None:
    """Move the clock in steps, firing what falls due on the way."""
    target = stack.clock.now_ms() + ms
    while stack.clock.now_ms() < target:
        stack.clock.advance(min(step, target - stack.clock.now_ms()))
        fire_due(api, stack)


def status(api: Api, stream_id: str) -> dict[str, Any]:
    return dict(api.direct("get_stream", {"streamId": stream_id}))


class TestTimeout:
    def test_a_silent_stream_is_aborted_after_10_minutes(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        advance(api, stack, TIMEOUT_MS - MINUTE_MS)
        assert status(api, stream_id)["status"] == "streaming"  # 9 minutes: not yet
        advance(api, stack, MINUTE_MS)
        state = status(api, stream_id)
        assert (state["status"], state["reason"]) == ("aborted", "timeout")
        assert stack.scheduler.pending == {}

    def test_writes_keep_it_alive_and_the_timeout_re_arms(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        for start in range(25):  # a delta a minute for 25 minutes
            api.direct("add_delta", text_delta(stream_id, start))
            advance(api, stack, MINUTE_MS)
        assert status(api, stream_id)["status"] == "streaming"
        # One schedule per ~10 quiet... here one per 10 minutes of the stream's life, not one per write.
        creates = [name for op, name in stack.scheduler.calls if op == "create"]
        assert 2 <= len(creates) <= 4
        advance(api, stack, TIMEOUT_MS)
        assert status(api, stream_id)["reason"] == "timeout"

    def test_heartbeats_keep_it_alive(self, api: Api, stack: Stack, stream_id: str) -> None:
        for _ in range(6):
            advance(api, stack, 5 * MINUTE_MS)
            api.direct("heartbeat_stream", {"streamId": stream_id})
        assert status(api, stream_id)["status"] == "streaming"

    def test_re_arms_for_ten_minutes_after_the_last_write(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        advance(api, stack, 7 * MINUTE_MS)
        api.direct("add_delta", text_delta(stream_id, 0))
        last_write = stack.clock.now_ms()
        advance(api, stack, 3 * MINUTE_MS)  # the first schedule fires at 10 minutes and re-arms
        (armed,) = stack.scheduler.pending.values()
        assert armed.at_ms == last_write + TIMEOUT_MS
        advance(api, stack, 7 * MINUTE_MS - 1)
        assert status(api, stream_id)["status"] == "streaming"
        advance(api, stack, 1)
        assert status(api, stream_id)["reason"] == "timeout"

    def test_a_duplicate_or_late_firing_is_harmless(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        stack.clock.advance(TIMEOUT_MS)
        api.direct("timeout_stream", {"streamId": stream_id})
        before = snapshot(stack.settings)
        api.direct("timeout_stream", {"streamId": stream_id})
        assert snapshot(stack.settings) == before
        assert status(api, stream_id)["reason"] == "timeout"

    def test_a_stale_firing_does_not_re_arm_again(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        stack.clock.advance(5 * MINUTE_MS)
        api.direct("add_delta", text_delta(stream_id, 0))
        stack.clock.advance(5 * MINUTE_MS)
        api.direct("timeout_stream", {"streamId": stream_id})  # re-arms for the write + 10 min
        pending = dict(stack.scheduler.pending)
        api.direct("timeout_stream", {"streamId": stream_id})  # the same firing delivered twice
        assert stack.scheduler.pending.keys() == pending.keys()

    def test_a_timeout_for_an_ended_or_missing_stream_does_nothing(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        api.direct("finish_stream", {"streamId": stream_id})
        stack.clock.advance(TIMEOUT_MS)
        before = snapshot(stack.settings)
        api.direct("timeout_stream", {"streamId": stream_id})
        api.direct("delete_stream", {"streamId": stream_id})
        after_delete = snapshot(stack.settings)
        api.direct("timeout_stream", {"streamId": stream_id})
        assert snapshot(stack.settings) == after_delete
        assert before != after_delete

    def test_a_lost_timeout_is_covered_by_the_ttl(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        stack.scheduler.pending.clear()  # the schedule is lost
        advance(api, stack, TIMEOUT_MS + 59 * MINUTE_MS)
        assert status(api, stream_id)["status"] == "streaming"
        advance(api, stack, 2 * MINUTE_MS)
        # Past its TTL the stream is ignored by every read (DynamoDB removes it later).
        assert api.http("get_stream", {"streamId": stream_id})[0] == 404
        assert api.direct("add_delta", text_delta(stream_id, 0)) is False


class TestCleanup:
    def test_a_finished_stream_is_deleted_5_minutes_later(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        for start in range(40):
            api.direct("add_delta", text_delta(stream_id, start))
        api.direct("finish_stream", {"streamId": stream_id})
        advance(api, stack, 4 * MINUTE_MS)
        assert status(api, stream_id)["status"] == "finished"
        advance(api, stack, MINUTE_MS)
        assert api.http("get_stream", {"streamId": stream_id})[0] == 404
        tables = snapshot(stack.settings)
        assert tables[stack.settings.deltas_table] == []
        assert tables[stack.settings.streams_table] == []
        assert stack.scheduler.pending == {}

    def test_an_early_firing_waits_for_its_time(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        api.direct("finish_stream", {"streamId": stream_id})
        stack.clock.advance(MINUTE_MS)
        stack.scheduler.pending.clear()
        api.direct("cleanup_stream", {"streamId": stream_id})
        assert status(api, stream_id)["status"] == "finished"
        (again,) = stack.scheduler.pending.values()
        assert again.at_ms == stack.clock.now_ms() - MINUTE_MS + CLEANUP_DELAY_MS

    def test_never_deletes_a_streaming_or_aborted_stream(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        aborted = api.direct("create_stream", {"threadId": thread_id, "order": 1, "stepOrder": 0})
        api.direct("abort_stream", {"streamId": aborted, "reason": "x"})
        stack.clock.advance(CLEANUP_DELAY_MS)
        before = snapshot(stack.settings)
        api.direct("cleanup_stream", {"streamId": stream_id})
        api.direct("cleanup_stream", {"streamId": aborted})
        assert snapshot(stack.settings) == before

    def test_a_duplicate_firing_is_harmless(self, api: Api, stack: Stack, stream_id: str) -> None:
        api.direct("finish_stream", {"streamId": stream_id})
        stack.clock.advance(CLEANUP_DELAY_MS)
        api.direct("cleanup_stream", {"streamId": stream_id})
        api.direct("cleanup_stream", {"streamId": stream_id})
        assert api.http("get_stream", {"streamId": stream_id})[0] == 404

    def test_runs_out_of_time_and_continues_itself(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        from tests.integration.test_appends import _bulk_load

        _bulk_load(stack, [stream_id], per_stream=2500)
        api.direct("finish_stream", {"streamId": stream_id})
        stack.clock.advance(CLEANUP_DELAY_MS)
        stack.scheduler.pending.clear()
        token = set_deadline(Deadline.after(0))  # out of time after the first page
        try:
            from agent_streams.service import lifecycle
            from agent_streams.service.arguments import CleanupStreamArgs

            lifecycle.cleanup_stream(CleanupStreamArgs(streamId=stream_id))
        finally:
            set_deadline(None)
            del token
        left = len(snapshot(stack.settings)[stack.settings.deltas_table])
        assert 0 < left < 2500
        # The newest deltas went first: what is left is still a prefix from 0.
        first = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]},
        )
        assert first[0]["start"] == 0
        (continuation,) = stack.scheduler.pending.values()
        assert continuation.target == "cleanup"
        advance(api, stack, 2 * MINUTE_MS)
        assert snapshot(stack.settings)[stack.settings.deltas_table] == []
        assert api.http("get_stream", {"streamId": stream_id})[0] == 404


class TestThreadDeletion:
    def test_delete_thread_marks_it_and_starts_one_execution(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        status_code, body = api.http("delete_thread", {"threadId": thread_id})
        assert status_code == 202
        arn = body["executionArn"]
        assert api.direct("get_thread", {"threadId": thread_id})["status"] == "deleting"
        # While it runs, asking again returns the same execution.
        assert api.direct("delete_thread", {"threadId": thread_id}) == {"executionArn": arn}
        assert len(stack.workflows.started) == 1

    def test_after_a_failed_execution_a_second_delete_resumes(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        first = api.direct("delete_thread", {"threadId": thread_id})["executionArn"]
        stack.workflows.running.discard(first)  # it failed
        second = api.direct("delete_thread", {"threadId": thread_id})["executionArn"]
        assert second != first
        assert len(stack.workflows.started) == 2

    def test_delete_thread_of_a_missing_thread_is_404(self, api: Api) -> None:
        from agent_streams.ids import new_thread_id

        status_code, body = api.http("delete_thread", {"threadId": new_thread_id()})
        assert (status_code, body["error"]) == (404, "ThreadNotFound")

    def test_pages_delete_every_stream_in_every_state(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        from tests.integration.test_appends import _bulk_load

        streams = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(3)
        ]
        _bulk_load(stack, streams, per_stream=1000)
        api.direct("finish_stream", {"streamId": streams[0]})
        api.direct("abort_stream", {"streamId": streams[1], "reason": "x"})
        api.direct("delete_thread", {"threadId": thread_id})
        # An invocation with no time to spare does one page of work and says where it is.
        hurried = Api(FakeLambdaContext(remaining_ms=0))
        pages = 0
        while True:
            pages += 1
            result = hurried.direct("delete_thread_streams_page", {"threadId": thread_id})
            if result["isDone"]:
                break
            assert pages < 50
        assert pages > 3
        tables = snapshot(stack.settings)
        assert tables[stack.settings.streams_table] == []
        assert tables[stack.settings.deltas_table] == []
        assert stack.scheduler.pending == {}
        # The state machine deletes the thread item itself once the pages are done.
        assert api.direct("get_thread", {"threadId": thread_id})["status"] == "deleting"

    def test_a_page_with_time_to_spare_finishes_in_one_call(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        streams = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(2)
        ]
        for s in streams:
            api.direct("add_delta", text_delta(s, 0))
        assert api.direct("delete_thread_streams_page", {"threadId": thread_id}) == {"isDone": True}

    @pytest.mark.parametrize(
        "bad",
        [{}, {"threadId": "a/b"}, {"threadId": "t", "streamOrder": -1}, {"threadId": "t", "x": 1}],
    )
    def test_page_arguments_are_validated(self, api: Api, bad: dict[str, Any]) -> None:
        from agent_streams_protocol.errors import ValidationError

        with pytest.raises(ValidationError):
            api.direct("delete_thread_streams_page", bad)
