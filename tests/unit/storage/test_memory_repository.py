"""What only the fake promises: call counts, AWS paging, and atomicity under threads."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from agent_streams.storage.memory import InMemoryRepository
from agent_streams.storage.repository import AppendOutcome, TransitionOutcome

from .helpers import LIVE, NOW, delta, seed, stream


def test_calls_count_each_public_call_once() -> None:
    repo = InMemoryRepository()
    seed(repo, stream("s1"))
    repo.calls.clear()
    repo.append("s1", delta(0, 1), NOW)
    repo.append("s1", delta(0, 1), NOW)  # a retry: still one call, whatever it does inside
    repo.heartbeat("s1", NOW)
    repo.finish("s1", NOW, delta(1, 2), "cleanup-s1-0", LIVE)  # reads before it writes
    repo.finish("s1", NOW, None, "cleanup-s1-0", LIVE)
    repo.read_deltas([("s1", 0), ("s1", 1)], NOW, 10)
    assert repo.calls == Counter({"append": 2, "heartbeat": 1, "finish": 2, "read_deltas": 1})


def test_a_full_page_of_delta_starts_is_not_the_last() -> None:
    # As on AWS, which returns LastEvaluatedKey whenever Limit is reached: the deletion
    # must cope with an empty last page (moto, and so the contract suite, cannot show it).
    repo = InMemoryRepository()
    seed(repo, stream("s1"))
    for i in range(4):
        repo.append("s1", delta(i, i + 1), NOW)
    assert repo.delta_starts("s1", None, 2) == ([3, 2], False)
    assert repo.delta_starts("s1", 2, 2) == ([1, 0], False)
    assert repo.delta_starts("s1", 0, 2) == ([], True)


def race(workers: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` on ``workers`` threads released at the same moment."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


class SlowDeltas(dict[str, dict[int, object]]):
    """The fake's delta store, slow to look up.

    It widens the window between checking the stream and writing the delta, so
    that a write that were not atomic would let two racing writers both win.
    """

    def get(self, key: str, default: object = None) -> object:
        time.sleep(0.0002)
        return super().get(key, default)


def slowed(monkeypatch: pytest.MonkeyPatch) -> InMemoryRepository:
    repo = InMemoryRepository()
    seed(repo, stream("s1"))
    monkeypatch.setattr(repo, "_deltas", SlowDeltas(repo._deltas))
    return repo


def test_racing_appends_build_one_gap_free_log(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = slowed(monkeypatch)
    writers, length = 8, 40
    outcomes: list[list[AppendOutcome]] = [[] for _ in range(writers)]

    def write(i: int) -> None:
        # Every writer tries to put its own parts at every position of the log.
        start = 0
        while start < length:
            outcome = repo.append("s1", delta(start, start + 1, f'[{{"w":{i}}}]'), NOW)
            outcomes[i].append(outcome)
            start = start + 1 if outcome.written else (outcome.expected_start or start + 1)

    race(writers, write)
    written = sum(o.written for per in outcomes for o in per)
    assert written == length  # exactly one winner per position
    (page,) = repo.read_deltas([("s1", 0)], NOW, 1000)
    assert [(d.start, d.end) for d in page] == [(i, i + 1) for i in range(length)]
    found = repo.get_stream("s1", NOW)
    assert found is not None
    assert found.next_start == length


@pytest.mark.parametrize("attempt", range(8))
def test_a_final_delta_racing_an_append_leaves_one_consistent_log(
    monkeypatch: pytest.MonkeyPatch, attempt: int
) -> None:
    repo = slowed(monkeypatch)
    finished: list[TransitionOutcome] = []
    appended: list[AppendOutcome] = []

    def act(i: int) -> None:
        if i == 0:
            finished.append(repo.finish("s1", NOW, delta(0, 2, "[1]"), "cleanup-s1-0", LIVE))
        else:
            appended.append(repo.append("s1", delta(0, 1, "[2]"), NOW))

    race(2, act)
    assert finished[0].changed != appended[0].written  # exactly one of them won
    found = repo.get_stream("s1", NOW)
    assert found is not None
    (page,) = repo.read_deltas([("s1", 0)], NOW, 10)
    if finished[0].changed:
        assert (found.status, found.next_start) == ("finished", 2)
        assert [(d.end, d.parts_json) for d in page] == [(2, "[1]")]
    else:
        assert finished[0].expected_start == 1
        assert (found.status, found.next_start) == ("streaming", 1)
        assert [(d.end, d.parts_json) for d in page] == [(1, "[2]")]
