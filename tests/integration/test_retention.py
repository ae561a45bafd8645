"""``retentionSeconds``: how long an ended stream stays readable, honoured by the cleanup
schedule and the TTL backstop — for finished streams always, for aborted ones only when
given (without it, an aborted stream stays until deleted or RetentionDays, as in the
reference)."""

from __future__ import annotations

import pytest

from agent_streams.service.ttl import LIVE_GRACE_MS
from agent_streams.types import Stream
from agent_streams_protocol.errors import ValidationError
from agent_streams_protocol.limits import MINUTE_MS, TIMEOUT_MS
from tests.conftest import START_MS, Stack, snapshot
from tests.helpers import Api
from tests.integration.test_lifecycle import advance, fire_due

DAY_S = 86_400


def new_stream(api: Api, thread_id: str, retention: int | None = None) -> str:
    args: dict[str, object] = {"threadId": thread_id, "order": 0, "stepOrder": 0}
    if retention is not None:
        args["retentionSeconds"] = retention
    return str(api.direct("create_stream", args))


def stored(stack: Stack, stream_id: str) -> Stream | None:
    return stack.services.repository.get_stream(stream_id, stack.clock.now_ms())


class TestFinished:
    def test_cleanup_and_ttl_follow_the_streams_retention(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        stream_id = new_stream(api, thread_id, 60)
        api.direct("finish_stream", {"streamId": stream_id})
        (armed,) = stack.scheduler.pending.values()
        assert (armed.target, armed.at_ms) == ("cleanup", START_MS + 60_000)
        found = stack.services.repository.get_stream(stream_id, START_MS)
        assert found is not None
        assert found.expires_at == (START_MS + 60_000 + LIVE_GRACE_MS) // 1000
        assert api.direct("get_stream", {"streamId": stream_id})["retentionSeconds"] == 60
        advance(api, stack, MINUTE_MS)
        assert stored(stack, stream_id) is None

    def test_three_days(self, api: Api, stack: Stack, thread_id: str) -> None:
        stream_id = new_stream(api, thread_id, 3 * DAY_S)
        api.direct("finish_stream", {"streamId": stream_id})
        stack.clock.advance(3 * DAY_S * 1000 - 1)
        assert fire_due(api, stack) == []
        assert stored(stack, stream_id) is not None
        stack.clock.advance(1)
        assert len(fire_due(api, stack)) == 1
        assert stored(stack, stream_id) is None

    def test_an_early_cleanup_waits_for_the_retention(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        """A cleanup fired early (the default's time, say) re-arms itself for the stream's."""
        stream_id = new_stream(api, thread_id, 600)
        api.direct("finish_stream", {"streamId": stream_id})
        stack.clock.advance(5 * MINUTE_MS)
        api.direct("cleanup_stream", {"streamId": stream_id})
        assert stored(stack, stream_id) is not None
        assert [s.at_ms for s in stack.scheduler.pending.values()] == [START_MS + 600_000] * len(
            stack.scheduler.pending
        )


class TestAborted:
    def test_with_its_own_retention_it_is_cleaned_up(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        stream_id = new_stream(api, thread_id, 120)
        calls_before = len(stack.scheduler.calls)
        assert api.direct("abort_stream", {"streamId": stream_id, "reason": "stop"}) is True
        # Its budget: the timeout cancelled, the cleanup armed.
        assert sorted(c for c, _ in stack.scheduler.calls[calls_before:]) == ["create", "delete"]
        (armed,) = stack.scheduler.pending.values()
        assert (armed.target, armed.at_ms) == ("cleanup", START_MS + 120_000)
        advance(api, stack, 2 * MINUTE_MS)
        assert stored(stack, stream_id) is None

    def test_without_one_it_stays_until_retention_days(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        stream_id = new_stream(api, thread_id)
        api.direct("abort_stream", {"streamId": stream_id, "reason": "stop"})
        assert stack.scheduler.pending == {}
        found = stored(stack, stream_id)
        assert found is not None
        assert found.expires_at == START_MS // 1000 + stack.settings.retention_seconds
        # A stray cleanup (the default's) leaves it alone.
        api.direct("cleanup_stream", {"streamId": stream_id})
        assert stored(stack, stream_id) is not None

    def test_a_timed_out_stream_with_its_own_retention_is_cleaned_up(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        stream_id = new_stream(api, thread_id, 300)
        advance(api, stack, TIMEOUT_MS)
        state = api.direct("get_stream", {"streamId": stream_id})
        assert (state["status"], state["reason"]) == ("aborted", "timeout")
        (armed,) = stack.scheduler.pending.values()
        assert armed.at_ms == START_MS + TIMEOUT_MS + 300_000
        advance(api, stack, 5 * MINUTE_MS)
        assert stored(stack, stream_id) is None


@pytest.mark.parametrize("retention", [0, -1, 30 * DAY_S + 1, 10**12])
def test_out_of_range_is_refused_and_writes_nothing(
    api: Api, stack: Stack, thread_id: str, retention: int
) -> None:
    before = snapshot(stack.settings)
    with pytest.raises(ValidationError, match="retentionSeconds"):
        new_stream(api, thread_id, retention)
    assert snapshot(stack.settings) == before
    assert stack.scheduler.pending == {}


def test_the_stacks_retention_days_is_the_longest(api: Api, thread_id: str) -> None:
    assert new_stream(api, thread_id, 30 * DAY_S)
