"""Synchronous deletions answer within their function's time and hand the rest over.

``delete_stream`` and ``delete_thread_streams`` delete until the invocation's
deadline is near, then start the deletion state machine on what is left and
answer 202 with the execution. Here an invocation with no time to spare does one
page of work; the state machine's pages are then run as it would run them.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent_streams.deadline import SAFETY_MARGIN_SECONDS
from agent_streams_protocol.limits import MINUTE_MS
from tests.conftest import Stack, snapshot
from tests.helpers import Api, FakeLambdaContext
from tests.integration.test_appends import _bulk_load

#: A Lambda context whose time is all but gone: the deadline passes after one page.
HURRIED = FakeLambdaContext(remaining_ms=int(SAFETY_MARGIN_SECONDS * 1000))


def run_pages(scope: dict[str, Any]) -> int:
    """Run ``delete_thread_streams_page`` as the state machine's loop does, each call with
    no time to spare; returns how many calls it took."""
    hurried = Api(FakeLambdaContext(remaining_ms=0))
    for calls in range(1, 200):
        if hurried.direct("delete_thread_streams_page", scope)["isDone"]:
            return calls
    raise AssertionError("the pages never finished")


def starts(api: Api, thread_id: str, stream_id: str) -> list[int]:
    """Every start a reader can read from cursor 0, following the log."""
    found: list[int] = []
    cursor = 0
    while True:
        page = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": cursor}]},
        )
        if not page:
            return found
        found += [d["start"] for d in page]
        cursor = page[-1]["end"]


class TestDeleteStream:
    @pytest.mark.parametrize("transport", ["http", "direct"])
    def test_out_of_time_it_answers_with_the_execution_finishing_it(
        self, stack: Stack, thread_id: str, stream_id: str, transport: str
    ) -> None:
        _bulk_load(stack, [stream_id], per_stream=2200)
        hurried = Api(HURRIED)
        if transport == "http":
            status, body = hurried.http("delete_stream", {"streamId": stream_id})
            assert status == 202, body
        else:
            body = hurried.direct("delete_stream", {"streamId": stream_id})
        ((name, scope),) = stack.workflows.scoped.items()
        assert body == {
            "executionArn": f"arn:aws:states:us-east-1:000000000000:execution:fake:{name}"
        }
        assert scope == {"streamId": stream_id}
        assert name == f"stream-{stream_id}-{stack.clock.now_ms()}"

        # Meanwhile: aborted (no writer can append behind the deleter), and what is left
        # is a prefix of the log from 0 — never a hole.
        api = Api()
        state = api.direct("get_stream", {"streamId": stream_id})
        assert (state["status"], state["reason"]) == ("aborted", "deleted")
        left = starts(api, thread_id, stream_id)
        assert 0 < len(left) < 2200
        assert left == list(range(len(left)))

        assert run_pages(scope) >= 2
        assert api.http("get_stream", {"streamId": stream_id})[0] == 404
        assert snapshot(stack.settings)[stack.settings.deltas_table] == []
        assert stack.scheduler.pending == {}

    def test_with_time_to_spare_it_is_done_in_the_call(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        _bulk_load(stack, [stream_id], per_stream=1500)
        assert api.http("delete_stream", {"streamId": stream_id}) == (204, None)
        assert api.direct("delete_stream", {"streamId": stream_id}) is None
        assert stack.workflows.scoped == {}
        tables = snapshot(stack.settings)
        assert tables[stack.settings.deltas_table] == []
        assert tables[stack.settings.streams_table] == []

    def test_the_leftovers_of_a_missing_stream_are_handed_over_too(
        self, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        _bulk_load(stack, [stream_id], per_stream=1500)
        Api().direct("delete_stream", {"streamId": stream_id})  # gone, but:
        _bulk_load(stack, [stream_id], per_stream=1500)  # leftovers, as after a crash
        assert Api(HURRIED).http("delete_stream", {"streamId": stream_id})[0] == 202
        (scope,) = stack.workflows.scoped.values()
        run_pages(scope)
        assert snapshot(stack.settings)[stack.settings.deltas_table] == []


class TestDeleteThreadStreams:
    def test_out_of_time_it_hands_over_the_streams_that_existed(
        self, stack: Stack, thread_id: str
    ) -> None:
        api = Api()
        old = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(3)
        ]
        _bulk_load(stack, old, per_stream=1100)
        api.direct("finish_stream", {"streamId": old[0]})
        called_at = stack.clock.now_ms()

        status, body = Api(HURRIED).http("delete_thread_streams", {"threadId": thread_id})
        assert status == 202, body
        ((name, scope),) = stack.workflows.scoped.items()
        assert scope == {"threadId": thread_id, "createdBefore": called_at}
        assert body["executionArn"].endswith(name)

        # A new turn starts while the rest is deleted in the background: it is not touched.
        stack.clock.advance(MINUTE_MS)
        new = api.direct("create_stream", {"threadId": thread_id, "order": 3, "stepOrder": 0})
        api.direct(
            "add_delta",
            {"streamId": new, "start": 0, "end": 1, "parts": [{"type": "start"}]},
        )
        for stream in old:  # each a clean prefix, or gone
            left = starts(api, thread_id, stream)
            assert left == list(range(len(left)))

        run_pages(scope)
        for stream in old:
            assert api.http("get_stream", {"streamId": stream})[0] == 404
            assert starts(api, thread_id, stream) == []
        assert api.direct("get_stream", {"streamId": new})["status"] == "streaming"
        assert starts(api, thread_id, new) == [0]
        assert api.direct("get_thread", {"threadId": thread_id})["status"] == "active"

    def test_with_time_to_spare_it_is_done_in_the_call(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        streams = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(2)
        ]
        _bulk_load(stack, streams, per_stream=500)
        assert api.http("delete_thread_streams", {"threadId": thread_id}) == (204, None)
        assert stack.workflows.scoped == {}
        assert snapshot(stack.settings)[stack.settings.deltas_table] == []


@pytest.mark.parametrize(
    "bad",
    [
        {"threadId": "t", "streamId": "s"},
        {"streamId": "s", "createdBefore": 1},
        {"threadId": "t", "createdBefore": -1},
    ],
)
def test_page_scopes_are_validated(api: Api, bad: dict[str, Any]) -> None:
    from agent_streams_protocol.errors import ValidationError

    with pytest.raises(ValidationError):
        api.direct("delete_thread_streams_page", bad)
