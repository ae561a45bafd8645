"""The service's rules called directly: storage on moto (its one implementation), fake
scheduler and workflows, a clock that moves when told.

The same rules run through the handlers in tests/integration; here each operation's
use of storage and of the scheduler is counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from agent_streams.api.validation import parse_arguments
from agent_streams.service import appends, deletion, lifecycle, streams, threads
from agent_streams.service.arguments import CleanupStreamArgs, DeleteThreadStreamsPageArgs
from agent_streams.service.context import Services, use_services
from agent_streams.storage.repository import Repository
from agent_streams_protocol.errors import (
    DeltaConflict,
    StreamNotFound,
    ThreadDeleting,
    ThreadNotFound,
)
from agent_streams_protocol.limits import CLEANUP_DELAY_MS, MINUTE_MS, TIMEOUT_MS
from agent_streams_protocol.shapes import (
    AbortStreamRequest,
    AbortStreamsByOrderRequest,
    CreateStreamRequest,
    CreateThreadRequest,
    FinishStreamRequest,
    ListDeltasRequest,
    StreamDelta,
    StreamRequest,
    ThreadRequest,
)
from tests.conftest import Stack
from tests.fakes import InMemoryScheduler, InMemoryWorkflows, ManualClock

START = 1_767_225_600_000


class CountingRepository:
    """The real repository, with a count of the calls the service makes to it."""

    def __init__(self, inner: Repository) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


@dataclass
class Fakes:
    repo: CountingRepository
    scheduler: InMemoryScheduler
    workflows: InMemoryWorkflows
    clock: ManualClock

    def fire_due(self) -> None:
        for due in self.scheduler.take_due(self.clock.now_ms()):
            if due.target == "timeout":
                lifecycle.timeout_stream(StreamRequest(streamId=due.stream_id))
            else:
                lifecycle.cleanup_stream(CleanupStreamArgs(streamId=due.stream_id))

    def advance(self, ms: int) -> None:
        end = self.clock.now_ms() + ms
        while self.clock.now_ms() < end:
            self.clock.advance(min(MINUTE_MS, end - self.clock.now_ms()))
            self.fire_due()


@pytest.fixture
def fakes(stack: Stack) -> Fakes:
    made = Fakes(
        CountingRepository(stack.services.repository),
        InMemoryScheduler(),
        InMemoryWorkflows(),
        ManualClock(START),
    )
    use_services(
        Services(
            settings=stack.settings,
            repository=made.repo,  # type: ignore[arg-type]
            scheduler=made.scheduler,
            workflows=made.workflows,
            clock=made.clock,
        )
    )
    return made


def new_thread(**fields: Any) -> str:
    return threads.create_thread(CreateThreadRequest(**fields)).thread_id


def new_stream(thread_id: str, order: int = 0, step: int = 0) -> str:
    return streams.create_stream(
        CreateStreamRequest(threadId=thread_id, order=order, stepOrder=step)
    )


def delta(stream_id: str, start: int, end: int | None = None, text: str = "x") -> StreamDelta:
    return StreamDelta(
        streamId=stream_id,
        start=start,
        end=start + 1 if end is None else end,
        parts=[{"type": "text-delta", "id": "t", "delta": text}],
    )


def status(stream_id: str) -> str:
    return streams.get_stream(StreamRequest(streamId=stream_id)).status


class TestBudgets:
    """What each operation asks of storage and of the scheduler (the fake counts calls)."""

    def test_add_delta_is_one_storage_call_and_no_scheduler_call(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        fakes.repo.calls.clear()
        fakes.scheduler.calls.clear()
        fakes.clock.advance(TIMEOUT_MS // 2)  # a heartbeat is due: still nothing more
        assert appends.add_delta(delta(stream, 0)).accepted
        assert dict(fakes.repo.calls) == {"append": 1}
        assert fakes.scheduler.calls == []

    def test_create_stream_arms_one_schedule(self, fakes: Fakes) -> None:
        thread = new_thread()
        fakes.repo.calls.clear()
        new_stream(thread)
        assert dict(fakes.repo.calls) == {"create_stream": 1}
        assert [op for op, _ in fakes.scheduler.calls] == ["create"]

    def test_finish_arms_cleanup_and_cancels_the_timeout(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        fakes.scheduler.calls.clear()
        streams.finish_stream(FinishStreamRequest(streamId=stream))
        assert [op for op, _ in fakes.scheduler.calls] == ["create", "delete"]
        assert [s.target for s in fakes.scheduler.pending.values()] == ["cleanup"]

    def test_list_deltas_reads_each_cursor_once(self, fakes: Fakes) -> None:
        thread = new_thread()
        ids = [new_stream(thread, order=n) for n in range(10)]
        fakes.repo.calls.clear()
        cursors = [{"streamId": s, "cursor": 0} for s in ids]
        appends.list_deltas(
            parse_arguments(ListDeltasRequest, {"threadId": thread, "cursors": cursors})
        )
        # One read of all cursors; putting spilled parts back reads nothing when none is.
        assert dict(fakes.repo.calls) == {"read_deltas": 1, "resolve_deltas": 1}


class TestAppends:
    def test_exactly_once(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        assert appends.add_delta(delta(stream, 0, 2)).accepted
        assert appends.add_delta(delta(stream, 0, 2)).accepted  # a retry
        with pytest.raises(DeltaConflict) as raised:
            appends.add_delta(delta(stream, 0, 2, "other"))
        assert raised.value.expected_start == 2
        with pytest.raises(DeltaConflict):
            appends.add_delta(delta(stream, 3))
        assert streams.get_stream(StreamRequest(streamId=stream)).next_start == 2

    def test_nothing_after_a_terminal_state(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        streams.abort_stream(AbortStreamRequest(streamId=stream, reason="stop"))
        result = appends.add_delta(delta(stream, 0))
        assert (result.accepted, result.status) == (False, "aborted")
        assert streams.abort_stream(AbortStreamRequest(streamId=stream, reason="again")) is False
        assert streams.finish_stream(FinishStreamRequest(streamId=stream)) == "aborted"

    def test_other_threads_cursors_are_ignored(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        appends.add_delta(delta(stream, 0))
        other = new_thread()
        args = parse_arguments(
            ListDeltasRequest, {"threadId": other, "cursors": [{"streamId": stream, "cursor": 0}]}
        )
        assert appends.list_deltas(args) == []


class TestThreads:
    def test_streams_need_an_active_thread(self, fakes: Fakes) -> None:
        from agent_streams.ids import new_thread_id

        with pytest.raises(ThreadNotFound):
            new_stream(new_thread_id())
        thread = new_thread()
        threads.delete_thread(ThreadRequest(threadId=thread))
        with pytest.raises(ThreadDeleting):
            new_stream(thread)
        assert fakes.scheduler.pending == {}

    def test_delete_thread_is_idempotent_while_running_and_resumes_after_a_failure(
        self, fakes: Fakes
    ) -> None:
        thread = new_thread()
        first = threads.delete_thread(ThreadRequest(threadId=thread))
        assert threads.delete_thread(ThreadRequest(threadId=thread)) == first
        fakes.workflows.running.discard(first)
        second = threads.delete_thread(ThreadRequest(threadId=thread))
        assert second != first
        assert threads.get_thread(ThreadRequest(threadId=thread)).deletion_attempt == 2


class TestTimeouts:
    def test_silence_for_ten_minutes_aborts(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        fakes.advance(TIMEOUT_MS - 1)
        assert status(stream) == "streaming"
        fakes.advance(1)
        assert streams.get_stream(StreamRequest(streamId=stream)).reason == "timeout"

    def test_writes_re_arm_for_ten_minutes_after_the_last_one(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        fakes.advance(8 * MINUTE_MS)
        appends.add_delta(delta(stream, 0))
        fakes.advance(TIMEOUT_MS - 1)
        assert status(stream) == "streaming"
        fakes.advance(1)
        assert status(stream) == "aborted"

    def test_a_write_racing_the_timeout_wins(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        fakes.clock.advance(TIMEOUT_MS)
        assert len(fakes.scheduler.take_due(fakes.clock.now_ms())) == 1  # it fires...
        # ...and the write lands between the timeout's read and its conditional abort.
        original = fakes.repo.abort

        def abort_after_a_write(*args: Any, **kwargs: Any) -> Any:
            appends.add_delta(delta(stream, 0))
            return original(*args, **kwargs)

        fakes.repo.abort = abort_after_a_write  # type: ignore[method-assign]
        lifecycle.timeout_stream(StreamRequest(streamId=stream))
        fakes.repo.abort = original  # type: ignore[method-assign]
        assert status(stream) == "streaming"
        assert [s.at_ms for s in fakes.scheduler.pending.values()] == [START + 2 * TIMEOUT_MS]


class TestCleanupAndDeletion:
    def test_cleanup_five_minutes_after_finish(self, fakes: Fakes) -> None:
        stream = new_stream(new_thread())
        for start in range(5):
            appends.add_delta(delta(stream, start))
        streams.finish_stream(FinishStreamRequest(streamId=stream))
        fakes.advance(CLEANUP_DELAY_MS - 1)
        assert status(stream) == "finished"
        fakes.advance(1)
        with pytest.raises(StreamNotFound):
            streams.get_stream(StreamRequest(streamId=stream))
        assert fakes.repo.delta_starts(stream, None, 100) == ([], True)

    def test_thread_streams_are_deleted_in_every_state(self, fakes: Fakes) -> None:
        thread = new_thread()
        ids = [new_stream(thread, order=n) for n in range(3)]
        for s in ids:
            appends.add_delta(delta(s, 0))
        streams.finish_stream(FinishStreamRequest(streamId=ids[0]))
        streams.abort_streams_by_order(
            AbortStreamsByOrderRequest(threadId=thread, order=1, reason="x")
        )
        result = deletion.delete_thread_streams_page(DeleteThreadStreamsPageArgs(threadId=thread))
        assert result.is_done
        for s in ids:
            with pytest.raises(StreamNotFound):
                streams.get_stream(StreamRequest(streamId=s))
            assert fakes.repo.delta_starts(s, None, 100) == ([], True)
        assert fakes.scheduler.pending == {}
