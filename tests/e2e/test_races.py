"""Races against the local stack, over HTTP, with threads.

Retrying pipelines write streams: many writers may send the same deltas, and
appends race the stream's ending (finish, abort, abort by order, a firing
timeout, cleanup) and the thread's deletion. Each race starts its participants
at a barrier, each with its own jitter drawn from the round's seed, and is run
for many seeds. After every run the invariants of ``reliability_invariants``
are checked: logs contiguous from 0 without duplicate or overlap, nothing
accepted after a terminal state, terminal states final, every acknowledged
delta readable until cleanup, nothing left of what was deleted.

``AGENT_STREAMS_RACE_ROUNDS=n`` runs every race ``n`` times (the default keeps
this file near a minute and a half on two busy cores).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from agent_streams_dev.local.stack import LocalStack
from agent_streams_protocol.limits import CLEANUP_DELAY_MS, TIMEOUT_MS
from tests.e2e.conftest import LocalApi
from tests.e2e.reliability_invariants import (
    TERMINAL,
    Journal,
    append,
    aws,
    check_gone,
    check_prefix,
    check_stream,
    check_terminal_is_final,
    delta_body,
    full_log,
    read_once,
    schedules_of,
    spans,
    stored_log,
    thread_leftovers,
)
from tests.reliability_report import record

pytestmark = pytest.mark.e2e

ROUNDS_ENV = "AGENT_STREAMS_RACE_ROUNDS"
#: Longest pause a participant takes at the start and between its calls.
JITTER_S = 0.004


def seeds(default: int) -> list[int]:
    """The seeds of a race's rounds: ``default`` of them, or the environment's count."""
    wanted = int(os.environ.get(ROUNDS_ENV) or 0)
    return list(range(1, (wanted if wanted > 0 else default) + 1))


# -- running a race ------------------------------------------------------------------

Participant = Callable[[random.Random], Any]


def race(
    seed: int, participants: Sequence[Participant], background: Sequence[Participant] = ()
) -> list[Any]:
    """Run the participants at once (after a barrier, each after its own jitter) and
    the background ones in a loop until the others are done; returns the results of
    the participants, in order."""
    master = random.Random(seed)
    count = len(participants) + len(background)
    barrier = threading.Barrier(count)
    stop = threading.Event()

    def run(function: Participant, rng: random.Random, loop: bool) -> Any:
        barrier.wait(timeout=60)
        time.sleep(rng.uniform(0, JITTER_S))
        if not loop:
            return function(rng)
        while not stop.is_set():
            function(rng)
            time.sleep(rng.uniform(0, JITTER_S))
        function(rng)  # once more after everyone else is done
        return None

    with ThreadPoolExecutor(count, thread_name_prefix=f"race-{seed}") as pool:
        rngs = [random.Random(master.getrandbits(64)) for _ in range(count)]
        behind = [
            pool.submit(run, fn, rng, True) for fn, rng in zip(background, rngs, strict=False)
        ]
        ahead = [
            pool.submit(run, fn, rng, False)
            for fn, rng in zip(participants, rngs[len(background) :], strict=True)
        ]
        try:
            results = [future.result(timeout=180) for future in ahead]
        finally:
            stop.set()
        for future in behind:
            future.result(timeout=180)
    record("race", runs=1, participants=count)
    return results


def pause(rng: random.Random) -> None:
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0, JITTER_S))


def writer(
    api: LocalApi,
    journal: Journal,
    stream_id: str,
    parts: int,
    *,
    sizes: Sequence[int] = (1,),
    start: int = 0,
) -> Participant:
    """Appends parts ``start`` .. ``parts`` in deltas of random sizes, as a retrying
    pipeline would: on a conflict it goes on from where the stream says; it stops
    when the stream refuses (ended) or is gone."""

    def write(rng: random.Random) -> None:
        cursor = start
        while cursor < parts:
            end = min(parts, cursor + rng.choice(sizes))
            reply = append(api, journal, stream_id, cursor, end)
            if reply.status == 409:
                cursor = reply.body["expectedStart"]
            elif reply.accepted:
                cursor = end
            else:
                assert reply.status in (200, 404), reply
                return
            pause(rng)

    return write


def reader(api: LocalApi, journal: Journal, thread_id: str, stream_id: str) -> Participant:
    return lambda rng: read_once(api, journal, thread_id, stream_id)


@dataclass(frozen=True)
class Seen:
    sent: float
    done: float
    status: int
    state: Any


def observer(api: LocalApi, stream_id: str, seen: list[Seen]) -> Participant:
    """Polls the stream's state, to show a terminal state never changes."""

    def observe(rng: random.Random) -> None:
        sent = time.monotonic()
        status, state = api.state(stream_id)
        seen.append(Seen(sent, time.monotonic(), status, state))

    return observe


def check_observations(seen: list[Seen], journal: Journal, stream_id: str) -> None:
    """Once a terminal state was seen, every later look saw the same state (or, for a
    finished stream, its cleanup), and no writer got a new delta accepted."""
    first = next(
        (s for s in sorted(seen, key=lambda s: s.sent) if s.status == 200 and s.state["status"] in TERMINAL),
        None,
    )  # fmt: skip
    if first is None:
        return
    for later in seen:
        if later.sent <= first.done:
            continue
        if later.status == 404:
            assert first.state["status"] == "finished", (first, later)
            continue
        assert later.state == first.state, f"terminal state changed: {first.state} -> {later.state}"
    for reply in journal.replies.get(stream_id, []):
        if reply.sent > first.done and reply.accepted:
            # Only an identical retry of a delta stored before the end is acknowledged.
            assert reply.body["status"] == first.state["status"], reply
            assert reply.end <= first.state["nextStart"], (reply, first.state)


def drop(api: LocalApi, local_stack: LocalStack, thread_id: str, *stream_ids: str) -> None:
    """Delete the round's streams (so the tables stay small) and show nothing is left."""
    for stream_id in stream_ids:
        assert api.delete(f"/streams/{stream_id}")[0] == 204
        check_gone(api, local_stack, thread_id, stream_id)


# -- the races -----------------------------------------------------------------------

PARTS = 12


@pytest.mark.parametrize("seed", seeds(3))
def test_sixteen_writers_race_the_same_append_sequence(
    seed: int, api: LocalApi, local_stack: LocalStack
) -> None:
    thread = api.thread()
    stream = api.stream(thread)
    journal = Journal()
    seen: list[Seen] = []
    race(
        seed,
        [writer(api, journal, stream, PARTS) for _ in range(16)],
        [reader(api, journal, thread, stream), observer(api, stream, seen)],
    )
    replies = journal.replies[stream]
    # Every writer sent every delta, and every one was acknowledged: once written,
    # fifteen times as an identical retry.
    assert len(replies) == 16 * PARTS
    assert all(r.status == 200 and r.body == {"accepted": True, "status": "streaming"} for r in replies)  # fmt: skip
    state = check_stream(api, local_stack, journal, thread, stream, terminal=False)
    assert spans(full_log(api, thread, stream)) == [(i, i + 1) for i in range(PARTS)]
    assert state["nextStart"] == PARTS
    assert api.post(f"/streams/{stream}/finish")[1] == {"status": "finished"}
    finished = api.state(stream)[1]
    check_terminal_is_final(api, local_stack, thread, stream, finished)
    check_observations(seen, journal, stream)
    drop(api, local_stack, thread, stream)


@pytest.mark.parametrize("seed", seeds(3))
def test_writers_batching_differently_never_overlap(
    seed: int, api: LocalApi, local_stack: LocalStack
) -> None:
    thread = api.thread()
    stream = api.stream(thread)
    journal = Journal()
    race(
        seed,
        [writer(api, journal, stream, 2 * PARTS, sizes=(1, 2, 3, 5)) for _ in range(10)],
        [reader(api, journal, thread, stream)],
    )
    check_stream(api, local_stack, journal, thread, stream, terminal=False)
    conflicts = [r for r in journal.replies[stream] if r.status == 409]
    assert all(r.body["expectedStart"] > r.start for r in conflicts)
    drop(api, local_stack, thread, stream)


def finisher(api: LocalApi, journal: Journal, stream_id: str) -> Participant:
    """Finishes the stream, half the time with a final delta at the end it last saw
    (retrying at the end the conflict names, as the client does)."""

    def finish(rng: random.Random) -> None:
        body: dict[str, Any] = {}
        if rng.random() < 0.5:
            end = api.state(stream_id)[1]["nextStart"]
            for _ in range(8):
                body = {"finalDelta": {"streamId": stream_id, **delta_body(end, end + 2)}}
                status, reply = api.post(f"/streams/{stream_id}/finish", body)
                journal.call("finish", stream_id, status, (reply, body))
                if status != 409:
                    return
                end = reply["expectedStart"]
            body = {}
        status, reply = api.post(f"/streams/{stream_id}/finish", body)
        journal.call("finish", stream_id, status, (reply, body))

    return finish


def aborter(api: LocalApi, journal: Journal, stream_id: str, reason: str) -> Participant:
    def abort(rng: random.Random) -> None:
        body: dict[str, Any] = {"reason": reason}
        if rng.random() < 0.3:
            end = api.state(stream_id)[1]["nextStart"]
            body["finalDelta"] = {"streamId": stream_id, **delta_body(end, end + 1)}
        status, reply = api.post(f"/streams/{stream_id}/abort", body)
        if status == 409:  # the final delta lost a race: abort without it
            body = {"reason": reason}
            status, reply = api.post(f"/streams/{stream_id}/abort", body)
        journal.call("abort", stream_id, status, (reply, body))

    return abort


def check_enders(
    journal: Journal, stream_id: str, state: dict[str, Any], log: list[tuple[int, int]]
) -> None:
    """Exactly one ending won, the one the stream shows, with its final delta if it had one."""
    finals = set()  # (start, end) of final deltas the winner carried
    finishes = [(s, b) for s, b in journal.of("finish", stream_id) if s != 409]
    aborts = journal.of("abort", stream_id)
    assert all(s == 200 for s, _ in finishes + aborts), (finishes, aborts)
    winners = [body for _, (reply, body) in aborts if reply["aborted"]]
    if state["status"] == "aborted":
        assert len(winners) == 1, aborts
        assert state["reason"] == winners[0]["reason"]
        assert all(reply["status"] == "aborted" for _, (reply, _) in finishes)
    else:
        assert state["status"] == "finished", state
        assert winners == [], aborts
        assert finishes, "a finished stream was finished by someone"
        assert all(reply["status"] == "finished" for _, (reply, _) in finishes)
        winners = [body for _, (_, body) in finishes[-1:]]
    for body in winners:
        final = body.get("finalDelta")
        if final is not None:
            finals.add((final["start"], final["end"]))
    for final in finals:
        # Written with the ending, or already there (a retry): in the log either way.
        assert final in log, ("the winner's final delta is in the log", final, log)


@pytest.mark.parametrize("seed", seeds(5))
def test_appends_race_finish(seed: int, api: LocalApi, local_stack: LocalStack) -> None:
    thread = api.thread()
    stream = api.stream(thread)
    journal = Journal()
    seen: list[Seen] = []
    race(
        seed,
        [
            *(writer(api, journal, stream, 3 * PARTS, sizes=(1, 2, 3)) for _ in range(8)),
            finisher(api, journal, stream),
        ],
        [reader(api, journal, thread, stream), observer(api, stream, seen)],
    )
    state = check_stream(api, local_stack, journal, thread, stream, terminal=True)
    assert state["status"] == "finished"
    check_enders(journal, stream, state, spans(full_log(api, thread, stream)))
    check_observations(seen, journal, stream)
    check_terminal_is_final(api, local_stack, thread, stream, state)
    # Cleanup comes 5 minutes later and leaves nothing.
    local_stack.advance(CLEANUP_DELAY_MS / 1000)
    check_gone(api, local_stack, thread, stream)


@pytest.mark.parametrize("seed", seeds(5))
def test_appends_race_abort_and_finish(seed: int, api: LocalApi, local_stack: LocalStack) -> None:
    thread = api.thread()
    stream = api.stream(thread)
    journal = Journal()
    seen: list[Seen] = []
    race(
        seed,
        [
            *(writer(api, journal, stream, 3 * PARTS, sizes=(1, 2)) for _ in range(6)),
            aborter(api, journal, stream, "user stopped it"),
            aborter(api, journal, stream, "pipeline failed"),
            finisher(api, journal, stream),
        ],
        [reader(api, journal, thread, stream), observer(api, stream, seen)],
    )
    state = check_stream(api, local_stack, journal, thread, stream, terminal=True)
    check_enders(journal, stream, state, spans(full_log(api, thread, stream)))
    check_observations(seen, journal, stream)
    check_terminal_is_final(api, local_stack, thread, stream, state)
    if state["status"] == "finished":
        local_stack.advance(CLEANUP_DELAY_MS / 1000)
        check_gone(api, local_stack, thread, stream)
    else:
        drop(api, local_stack, thread, stream)


@pytest.mark.parametrize("seed", seeds(3))
def test_appends_race_abort_streams_by_order(
    seed: int, api: LocalApi, local_stack: LocalStack
) -> None:
    thread = api.thread()
    doomed = [api.stream(thread, order=1, step=step) for step in range(3)]
    spared = api.stream(thread, order=2)
    journal = Journal()
    created: list[str] = []

    def abort_by_order(rng: random.Random) -> None:
        status, reply = api.post(f"/threads/{thread}/streams/abort", {"order": 1, "reason": "stop"})
        journal.call("abort_by_order", thread, status, reply)

    def create_late(rng: random.Random) -> None:
        created.append(api.stream(thread, order=1, step=3 + rng.randrange(3)))

    race(
        seed,
        [
            *(writer(api, journal, s, PARTS, sizes=(1, 2)) for s in [*doomed, spared] for _ in range(3)),
            abort_by_order,
            create_late,
        ],
        [reader(api, journal, thread, doomed[0])],
    )  # fmt: skip
    assert journal.of("abort_by_order") == [(200, {"aborted": True})]
    for stream in doomed:
        state = check_stream(api, local_stack, journal, thread, stream, terminal=True)
        assert (state["status"], state["reason"]) == ("aborted", "stop")
        check_terminal_is_final(api, local_stack, thread, stream, state)
    state = check_stream(api, local_stack, journal, thread, spared, terminal=False)
    assert state["nextStart"] == PARTS
    # A stream created while the abort ran is either aborted or untouched, never half.
    for stream in created:
        state = check_stream(api, local_stack, journal, thread, stream)
        assert state["status"] in ("streaming", "aborted"), state
    # Nothing streaming is left at order 1 once asked again.
    api.post(f"/threads/{thread}/streams/abort", {"order": 1, "reason": "stop"})
    assert [s["order"] for s in api.get(f"/threads/{thread}/streams")[1]] == [2]
    drop(api, local_stack, thread, *doomed, spared, *created)


@pytest.mark.parametrize("seed", seeds(5))
def test_appends_race_a_firing_timeout(seed: int, api: LocalApi, local_stack: LocalStack) -> None:
    thread = api.thread()
    stream = api.stream(thread)
    for start in range(3):
        assert api.append(stream, start, f"<{start}>")[0] == 200
    # Ten silent minutes pass (without firing anything): the timeout is due.
    local_stack.clock.advance(TIMEOUT_MS)
    functions = local_stack.functions
    assert functions is not None
    timeout = functions.by_operation["timeout_stream"]
    journal = Journal()
    seen: list[Seen] = []

    def fire(rng: random.Random) -> None:
        timeout.invoke({"streamId": stream})

    def heartbeat(rng: random.Random) -> None:
        assert api.post(f"/streams/{stream}/heartbeat")[0] == 204

    rng = random.Random(seed)
    writers = [writer(api, journal, stream, 3 + PARTS, start=3) for _ in range(rng.randrange(1, 5))]
    race(
        seed,
        [*writers, fire, fire, *([heartbeat] if rng.random() < 0.5 else [])],
        [reader(api, journal, thread, stream), observer(api, stream, seen)],
    )
    local_stack.fire_due()  # the armed schedule fires too, late
    state = check_stream(api, local_stack, journal, thread, stream)
    check_observations(seen, journal, stream)
    if state["status"] == "aborted":
        assert state["reason"] == "timeout"
        refused = [r for r in journal.replies[stream] if not r.accepted]
        assert refused, "writers that lost to the timeout were told so"
    else:
        # A write or heartbeat came first: the timeout re-armed for 10 minutes after it,
        # and fires then.
        assert state["status"] == "streaming", state
        assert any(name.startswith("timeout-") for name in schedules_of(local_stack, stream))
        local_stack.advance(TIMEOUT_MS / 1000 - 1)
        assert api.state(stream)[1]["status"] == "streaming"
        local_stack.advance(1)
        state = api.state(stream)[1]
        assert (state["status"], state["reason"]) == ("aborted", "timeout")
    check_terminal_is_final(api, local_stack, thread, stream, state)
    assert schedules_of(local_stack, stream) == []
    drop(api, local_stack, thread, stream)


@pytest.mark.parametrize("seed", seeds(4))
def test_appends_finish_and_cleanup_race(seed: int, api: LocalApi, local_stack: LocalStack) -> None:
    thread = api.thread()
    stream = api.stream(thread)
    functions = local_stack.functions
    assert functions is not None
    cleanup = functions.by_operation["cleanup_stream"]
    journal = Journal()
    seen: list[Seen] = []

    def clean(rng: random.Random) -> None:
        cleanup.invoke({"streamId": stream})

    # Writers and a finish race an early cleanup (which must wait for its time).
    race(
        seed,
        [
            *(writer(api, journal, stream, 2 * PARTS, sizes=(1, 3)) for _ in range(5)),
            finisher(api, journal, stream),
            clean,
        ],
        [reader(api, journal, thread, stream), observer(api, stream, seen)],
    )
    state = check_stream(api, local_stack, journal, thread, stream, terminal=True)
    log = spans(full_log(api, thread, stream))
    check_enders(journal, stream, state, log)

    # Five minutes later: late writers, readers and several firings of the cleanup race.
    local_stack.clock.advance(CLEANUP_DELAY_MS)
    late = Journal()
    reads = Journal()

    def late_writer(rng: random.Random) -> None:
        for start, end in rng.sample(log, min(3, len(log))):  # retries of stored deltas
            reply = append(api, late, stream, start, end)
            assert reply.status in (200, 404), reply
            if reply.status == 200:
                assert reply.body == {"accepted": True, "status": "finished"}, reply
        reply = append(api, late, stream, state["nextStart"], state["nextStart"] + 1)
        assert reply.status == 404 or reply.body == {"accepted": False, "status": "finished"}

    race(
        seed,
        [late_writer, late_writer, clean, clean, lambda rng: local_stack.fire_due()],
        [reader(api, reads, thread, stream), reader(api, reads, thread, stream), observer(api, stream, seen)],
    )  # fmt: skip
    check_observations(seen, journal, stream)
    # A stream deleted part-way still showed every reader a clean prefix of its log.
    for read in reads.reads[stream]:
        check_prefix(read.deltas, stream, "a read during cleanup")
        assert spans(read.deltas) == log[: len(read.deltas)]
    check_gone(api, local_stack, thread, stream)


@pytest.mark.parametrize("seed", seeds(4))
def test_stream_creation_races_thread_deletion(
    seed: int, api: LocalApi, local_stack: LocalStack
) -> None:
    thread = api.thread()
    existing = [api.stream(thread, order=n) for n in range(2)]
    for stream in existing:
        for start in range(5):
            api.append(stream, start)
    journal = Journal()
    created: list[tuple[float, str]] = []
    refused: list[tuple[int, Any]] = []
    deletions: list[tuple[float, float, int, Any]] = []

    def creator(rng: random.Random) -> None:
        for _ in range(3):
            sent = time.monotonic()
            status, body = api.post(
                f"/threads/{thread}/streams", {"order": rng.randrange(4), "stepOrder": rng.randrange(2)}
            )  # fmt: skip
            if status != 201:
                assert (status, body["error"]) in ((409, "ThreadDeleting"), (404, "ThreadNotFound")), body  # fmt: skip
                refused.append((status, body))
                return
            created.append((sent, body["streamId"]))
            for start in range(2):
                reply = append(api, journal, body["streamId"], start, start + 1)
                assert reply.status in (200, 404), reply
            pause(rng)

    def deleter(rng: random.Random) -> None:
        sent = time.monotonic()
        status, body = api.delete(f"/threads/{thread}")
        deletions.append((sent, time.monotonic(), status, body))
        assert status in (202, 404), body

    rng = random.Random(seed)
    race(
        seed,
        [
            *(creator for _ in range(6)),
            deleter,
            *([deleter] if rng.random() < 0.5 else []),
            *(writer(api, journal, s, 12, start=5) for s in existing),
        ],
    )
    local_stack.wait_for_executions()
    assert any(status == 202 for _, _, status, _ in deletions)
    first_accepted = min(done for _, done, status, _ in deletions if status == 202)
    assert all(sent < first_accepted for sent, _ in created), "a stream was created in a thread being deleted"  # fmt: skip
    assert api.get(f"/threads/{thread}")[0] == 404
    assert thread_leftovers(local_stack, thread) == {}
    for _, stream in created:
        check_gone(api, local_stack, thread, stream)
    # A second deletion of a deleted thread: not found, and still nothing left.
    assert api.delete(f"/threads/{thread}")[0] == 404
    assert api.post(f"/threads/{thread}/streams", {"order": 9, "stepOrder": 0})[0] == 404


# -- deterministic interleavings that once went wrong ----------------------------------


def test_finish_with_a_final_delta_another_writer_already_stored(
    api: LocalApi, local_stack: LocalStack
) -> None:
    """Two writers of a retrying pipeline: one appends the last delta, the other finishes
    with the same delta as its finalDelta. The finish must not be dropped."""
    thread = api.thread()
    stream = api.stream(thread)
    assert api.post(f"/streams/{stream}/deltas", delta_body(0, 2))[1]["accepted"] is True
    final = {"streamId": stream, **delta_body(0, 2)}
    assert api.post(f"/streams/{stream}/finish", {"finalDelta": final}) == (200, {"status": "finished"})  # fmt: skip
    state = api.state(stream)[1]
    assert (state["status"], state["nextStart"]) == ("finished", 2)
    assert spans(stored_log(local_stack, stream)) == [(0, 2)]

    other = api.stream(thread, order=1)
    assert api.post(f"/streams/{other}/deltas", delta_body(0, 1))[1]["accepted"] is True
    final = {"streamId": other, **delta_body(0, 1)}
    assert api.post(f"/streams/{other}/abort", {"reason": "r", "finalDelta": final}) == (200, {"aborted": True})  # fmt: skip
    assert api.state(other)[1]["status"] == "aborted"
    drop(api, local_stack, thread, stream, other)


# -- a thread deletion whose Lambda is killed mid-page, under the real state machine ----------

#: What Step Functions reports when a Lambda task runs out of time (a name with a dot).
SandboxTimedout = type("Sandbox.Timedout", (Exception,), {})


@pytest.fixture
def killed_pages(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The delete page function, stopped during its second batch write (its Lambda
    killed) for its first ``kills`` invocations, failing with ``error``; returns a
    setter for those."""
    from dataclasses import replace

    from tests.integration.reliability_faults import Faults, Stopped, raising
    from tests.integration.test_faults import inject_dynamodb

    functions = local_stack.functions
    assert functions is not None
    page = functions.by_operation["delete_thread_streams_page"]
    state: dict[str, Any] = {"kills": 0, "killed": 0, "error": SandboxTimedout}

    def handler(event: Any, context: Any) -> Any:
        if state["killed"] >= state["kills"]:
            return page.handler(event, context)
        faults = Faults()
        inject_dynamodb(faults, "BatchWriteItem", raising(Stopped()), times=1, skip=1)
        try:
            return page.handler(event, context)
        except Stopped:
            state["killed"] += 1
            raise state["error"]("Task timed out") from None
        finally:
            faults.remove_all()

    killed = replace(page, handler=handler)
    monkeypatch.setitem(functions.by_operation, "delete_thread_streams_page", killed)
    monkeypatch.setitem(functions._by_name, page.name, killed)
    monkeypatch.setitem(functions._by_name, page.arn, killed)

    def kill(count: int, error: type[Exception] = SandboxTimedout) -> dict[str, Any]:
        state.update(kills=count, error=error)
        return state

    return kill


def test_a_deletion_whose_page_lambda_is_killed_is_retried_by_the_state_machine(
    api: LocalApi, local_stack: LocalStack, killed_pages: Any
) -> None:
    thread = api.thread()
    streams = [api.stream(thread, order=n) for n in range(3)]
    for stream in streams:
        for start in range(30):
            api.post(f"/streams/{stream}/deltas", delta_body(start, start + 1))
    killed = killed_pages(1)
    journal = Journal()
    race(
        7,
        [
            *(writer(api, journal, s, 60, start=30) for s in streams),
            lambda rng: api.delete(f"/threads/{thread}"),
        ],
    )
    local_stack.wait_for_executions()
    assert killed["killed"] == 1
    assert local_stack.resources is not None
    executions = aws(local_stack, "stepfunctions").list_executions(
        stateMachineArn=local_stack.resources.state_machine_arn
    )["executions"]
    mine = [e for e in executions if e["name"].startswith(thread)]
    assert [e["status"] for e in mine] == ["SUCCEEDED"], "the task's Retry resumed it"
    assert api.get(f"/threads/{thread}")[0] == 404
    assert thread_leftovers(local_stack, thread) == {}
    record("fault", injected=1, survived=1, tests=1)


def test_a_deletion_failed_for_good_is_resumed_by_a_second_delete(
    api: LocalApi, local_stack: LocalStack, killed_pages: Any
) -> None:
    thread = api.thread()
    streams = [api.stream(thread, order=n) for n in range(2)]
    for stream in streams:
        for start in range(80):  # enough for every attempt to be killed mid-page
            api.post(f"/streams/{stream}/deltas", delta_body(start, start + 1))
    # Killed with an unexpected error more often than the state machine retries one
    # (three times): the execution fails.
    killed = killed_pages(4, RuntimeError)
    assert api.delete(f"/threads/{thread}")[0] == 202
    local_stack.wait_for_executions()
    assert local_stack.resources is not None
    sfn = aws(local_stack, "stepfunctions")
    arn = local_stack.resources.state_machine_arn
    mine = [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["name"].startswith(thread)]  # fmt: skip
    assert [e["status"] for e in mine] == ["FAILED"]
    assert killed["killed"] == 4, killed
    # Cut short: what is left is a clean prefix of each log, and the thread still
    # refuses new streams.
    for stream in streams:
        check_prefix(full_log(api, thread, stream), stream, "after a failed deletion")
    assert api.post(f"/threads/{thread}/streams", {"order": 5, "stepOrder": 0})[0] == 409
    status, body = api.delete(f"/threads/{thread}")  # the next attempt
    assert status == 202, body
    local_stack.wait_for_executions()
    assert api.get(f"/threads/{thread}")[0] == 404
    assert thread_leftovers(local_stack, thread) == {}
    record("fault", injected=killed["killed"], survived=killed["killed"], tests=1)
