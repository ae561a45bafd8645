"""The Repository contract, run on DynamoDB (moto): the storage's one implementation.

A bug found later is marked with ``helpers.known_bug`` (a strict xfail), which turns
red once fixed so the marker goes too.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent_streams.storage.repository import Repository
from agent_streams.types import Delta, Stream, StreamStatus
from agent_streams_protocol.errors import InternalError, ThreadDeleting, ThreadNotFound

from .helpers import (
    DELTA_TTL,
    EXPIRED,
    FULL_META,
    LIVE,
    NOW,
    PARTS,
    delta,
    projected,
    seed,
    stream,
    thread,
)

#: What a write DynamoDB refuses for good raises: nothing from botocore or PynamoDB
#: leaves storage.
REFUSED = InternalError
OTHER_PARTS = '[{"type":"text-delta","id":"t","delta":"HO"}]'
ALL: list[StreamStatus] = ["streaming", "finished", "aborted"]


def ids(streams: list[Stream]) -> list[str]:
    return [s.stream_id for s in streams]


def starts(repo: Repository, stream_id: str, now: int = NOW) -> list[int]:
    (page,) = repo.read_deltas([(stream_id, 0)], now, 1000)
    return [d.start for d in page]


def appended(repo: Repository, stream_id: str, *spans: tuple[int, int], now: int = NOW) -> None:
    for start, end in spans:
        outcome = repo.append(stream_id, delta(start, end), now)
        assert outcome.written, outcome


# -- threads ------------------------------------------------------------------------


def test_a_created_thread_reads_back_without_deletion_bookkeeping(repo: Repository) -> None:
    repo.create_thread(
        thread(
            "t1",
            user_id="u",
            title="T",
            summary="S",
            deleting_since=5,
            execution_arn="arn:x",
            deletion_attempt=3,
        )
    )
    # The bookkeeping fields belong to deletion; creation never writes them.
    assert repo.get_thread("t1") == thread("t1", user_id="u", title="T", summary="S")
    assert repo.get_thread("nope") is None


def test_creating_a_thread_again_succeeds_only_as_a_retry(repo: Repository) -> None:
    first = thread("t1", title="first")
    repo.create_thread(first)
    # Ids are random: the same thread under a taken id is a retry of this very write.
    repo.create_thread(first)
    with pytest.raises(REFUSED):
        repo.create_thread(thread("t1", title="second"))
    assert repo.get_thread("t1") == first


def test_begin_thread_deletion_is_idempotent_and_keeps_the_first_time(repo: Repository) -> None:
    repo.create_thread(thread("t1", title="T"))
    first = repo.begin_thread_deletion("t1", NOW)
    again = repo.begin_thread_deletion("t1", NOW + 5_000)
    expected = thread("t1", title="T", status="deleting", deleting_since=NOW)
    assert first == expected
    assert again == expected
    assert repo.get_thread("t1") == expected


def test_begin_thread_deletion_of_a_missing_thread_raises(repo: Repository) -> None:
    with pytest.raises(ThreadNotFound):
        repo.begin_thread_deletion("nope", NOW)
    assert repo.get_thread("nope") is None


def test_record_thread_execution_only_moves_to_a_later_attempt(repo: Repository) -> None:
    repo.create_thread(thread("t1"))
    repo.begin_thread_deletion("t1", NOW)
    assert repo.record_thread_execution("t1", 0, "arn:0") is False  # not after the initial 0
    assert repo.record_thread_execution("t1", 1, "arn:1") is True
    assert repo.record_thread_execution("t1", 1, "arn:1-again") is False
    assert repo.record_thread_execution("t1", 3, "arn:3") is True
    assert repo.record_thread_execution("t1", 2, "arn:2") is False
    found = repo.get_thread("t1")
    assert found is not None
    assert (found.execution_arn, found.deletion_attempt) == ("arn:3", 3)
    assert (found.status, found.deleting_since) == ("deleting", NOW)


def test_record_thread_execution_of_a_missing_thread_is_false(repo: Repository) -> None:
    assert repo.record_thread_execution("nope", 1, "arn:1") is False
    assert repo.get_thread("nope") is None


def test_delete_thread(repo: Repository) -> None:
    repo.create_thread(thread("t1"))
    repo.create_thread(thread("t2"))
    repo.delete_thread("t1")
    repo.delete_thread("t1")  # deleting what is gone is fine
    assert repo.get_thread("t1") is None
    assert repo.get_thread("t2") is not None


# -- creating and reading streams ---------------------------------------------------


def test_a_created_stream_reads_back_exactly(repo: Repository) -> None:
    full = stream(
        "s1",
        order=3,
        step_order=2,
        next_start=7,
        meta=FULL_META,
        reason="why",
        ended_at=NOW - 1,
        cleanup_schedule="cleanup-s1-0",
    )
    seed(repo, full)
    assert repo.get_stream("s1", NOW) == full
    assert repo.get_stream("nope", NOW) is None


def test_provider_options_round_trip_as_json(repo: Repository) -> None:
    seed(repo, stream("s1", meta={**FULL_META, "providerOptions": {"a": (1, 2), "b": {}}}))
    found = repo.get_stream("s1", NOW)
    assert found is not None
    assert found.meta.get("providerOptions") == {"a": [1, 2], "b": {}}


def test_create_stream_in_a_deleting_thread_is_refused(repo: Repository) -> None:
    repo.create_thread(thread("t1"))
    repo.begin_thread_deletion("t1", NOW)
    with pytest.raises(ThreadDeleting):
        repo.create_stream(stream("s1"))
    assert repo.get_stream("s1", NOW) is None
    assert repo.thread_streams("t1", 10) == []


def test_create_stream_in_a_missing_thread_is_refused(repo: Repository) -> None:
    with pytest.raises(ThreadNotFound):
        repo.create_stream(stream("s1", thread_id="nope"))
    assert repo.get_stream("s1", NOW) is None
    assert repo.thread_streams("nope", 10) == []


def test_creating_a_stream_again_succeeds_only_as_a_retry(repo: Repository) -> None:
    first = stream("s1", order=1, meta=FULL_META)
    seed(repo, first)
    repo.create_stream(first)  # as for threads: a retry of this very write
    with pytest.raises(REFUSED):
        repo.create_stream(stream("s1", order=2))
    assert repo.get_stream("s1", NOW) == first


def test_a_retried_stream_creation_succeeds_even_once_the_thread_is_deleting(
    repo: Repository,
) -> None:
    first = stream("s1")
    seed(repo, first)
    repo.begin_thread_deletion("t1", NOW)
    repo.create_stream(first)
    with pytest.raises(ThreadDeleting):
        repo.create_stream(stream("s1", order=5))
    assert repo.get_stream("s1", NOW) == first


@pytest.mark.parametrize(
    ("expires_at", "now", "visible"),
    [
        (None, NOW + 10**12, True),
        (LIVE, LIVE * 1000 - 1, True),
        (LIVE, LIVE * 1000, False),
        (EXPIRED, NOW, False),
    ],
    ids=["no-ttl", "last-ms-before", "at-ttl", "past"],
)
def test_get_stream_ignores_expired_streams(
    repo: Repository, expires_at: int | None, now: int, visible: bool
) -> None:
    seed(repo, stream("s1", expires_at=expires_at))
    assert (repo.get_stream("s1", now) is not None) is visible


def test_storage_hands_out_copies(repo: Repository) -> None:
    given = stream("s1", order=1, meta={**FULL_META, "providerOptions": {"k": {"v": 1}}})
    seed(repo, given)
    kept = repo.get_stream("s1", NOW)
    given.status = "aborted"
    given.meta["providerOptions"]["k"]["v"] = 2
    for got in (
        repo.get_stream("s1", NOW),
        repo.list_streams("t1", ["streaming"], 0, NOW, 10)[0],
        repo.thread_streams("t1", 10)[0],
    ):
        assert got is not None
        got.status = "finished"
        got.next_start = 99
        got.meta["providerOptions"]["k"]["v"] = 3
    outcome = repo.finish("s1", NOW, None, "cleanup-s1", LIVE)
    assert outcome.after is not None
    assert outcome.before is not None
    outcome.before.status = "aborted"
    kept_after = repo.get_stream("s1", NOW)
    assert kept is not None
    assert kept_after is not None
    assert kept_after.meta == kept.meta
    assert (kept_after.status, kept_after.next_start) == ("finished", 0)

    got_thread = repo.get_thread("t1")
    assert got_thread is not None
    got_thread.status = "deleting"
    assert repo.get_thread("t1") == thread("t1")


# -- append ---------------------------------------------------------------------------


def test_append_writes_the_delta_and_moves_the_log(repo: Repository) -> None:
    seed(repo, stream("s1"))
    outcome = repo.append("s1", delta(0, 2), NOW)
    assert (outcome.accepted, outcome.written, outcome.stream, outcome.expected_start) == (
        True,
        True,
        None,
        None,
    )
    found = repo.get_stream("s1", NOW + 1)
    assert found is not None
    assert (found.next_start, found.last_heartbeat, found.status) == (2, NOW, "streaming")
    assert repo.read_deltas([("s1", 0)], NOW, 10) == [[Delta("s1", 0, 2, PARTS)]]


def test_an_identical_retry_is_accepted_and_writes_nothing(repo: Repository) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 2), (2, 4))
    as_found = repo.get_stream("s1", NOW)
    for start, end in ((2, 4), (0, 2)):  # the last delta, and an earlier one
        outcome = repo.append("s1", delta(start, end), NOW + 1_000)
        assert outcome.accepted
        assert not outcome.written
        assert outcome.expected_start is None
        assert outcome.stream == as_found
    # Nothing moved: not the log, not the heartbeat, not the deltas.
    assert repo.get_stream("s1", NOW + 1_000) == as_found
    assert starts(repo, "s1") == [0, 2]


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [(0, 2, OTHER_PARTS), (0, 3, PARTS), (1, 2, PARTS), (3, 4, PARTS), (5, 6, PARTS)],
    ids=["same-span-other-parts", "same-start-other-end", "overlap", "gap-1", "gap-3"],
)
def test_a_delta_that_does_not_fit_reports_the_expected_start(
    repo: Repository, start: int, end: int, parts: str
) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 2))
    before = repo.get_stream("s1", NOW)
    outcome = repo.append("s1", delta(start, end, parts), NOW + 1_000)
    assert (outcome.accepted, outcome.written, outcome.expected_start) == (False, False, 2)
    assert outcome.stream == before
    assert repo.get_stream("s1", NOW + 1_000) == before
    assert repo.read_deltas([("s1", 0)], NOW, 10) == [[Delta("s1", 0, 2, PARTS)]]


@pytest.mark.parametrize("status", ["finished", "aborted"])
def test_append_to_an_ended_stream_is_not_accepted(repo: Repository, status: StreamStatus) -> None:
    ended = stream("s1", status=status, next_start=2)
    seed(repo, ended)
    outcome = repo.append("s1", delta(2, 3), NOW)
    assert (outcome.accepted, outcome.written, outcome.expected_start) == (False, False, None)
    assert outcome.stream == ended
    assert repo.get_stream("s1", NOW) == ended
    assert starts(repo, "s1") == []


def test_append_to_a_missing_stream_is_not_accepted(repo: Repository) -> None:
    outcome = repo.append("nope", delta(0, 1), NOW)
    assert (outcome.stream, outcome.accepted, outcome.written, outcome.expected_start) == (
        None,
        False,
        False,
        None,
    )
    assert starts(repo, "nope") == []
    assert repo.get_stream("nope", NOW) is None


def test_append_to_an_expired_stream_is_not_accepted(repo: Repository) -> None:
    seed(repo, stream("s1", expires_at=EXPIRED))
    outcome = repo.append("s1", delta(0, 1), NOW)
    assert (outcome.stream, outcome.accepted, outcome.written, outcome.expected_start) == (
        None,
        False,
        False,
        None,
    )
    still = repo.get_stream("s1", NOW - 1)
    assert still is not None
    assert still.next_start == 0
    assert starts(repo, "s1", NOW - 1) == []


def test_a_retry_after_the_stream_ended_is_still_accepted(repo: Repository) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 2))
    repo.finish("s1", NOW, None, "cleanup-s1", LIVE)
    outcome = repo.append("s1", delta(0, 2), NOW + 1)
    assert outcome.accepted
    assert not outcome.written
    assert outcome.expected_start is None
    assert outcome.stream is not None
    assert outcome.stream.status == "finished"


# -- heartbeat ----------------------------------------------------------------------


def test_heartbeat_moves_last_heartbeat_of_a_streaming_stream(repo: Repository) -> None:
    seed(repo, stream("s1"))
    repo.heartbeat("s1", NOW + 7)
    found = repo.get_stream("s1", NOW + 7)
    assert found is not None
    assert found.last_heartbeat == NOW + 7


def test_heartbeat_returns_the_stream_it_moved(repo: Repository) -> None:
    seed(repo, stream("s1"))
    got = repo.heartbeat("s1", NOW + 7)
    assert got is not None
    assert got == repo.get_stream("s1", NOW + 7)
    assert got.last_heartbeat == NOW + 7


@pytest.mark.parametrize("status", ["finished", "aborted"])
def test_heartbeat_of_an_ended_stream_changes_nothing(
    repo: Repository, status: StreamStatus
) -> None:
    ended = stream("s1", status=status)
    seed(repo, ended)
    assert repo.heartbeat("s1", NOW) == ended
    assert repo.get_stream("s1", NOW) == ended


def test_heartbeat_of_a_missing_or_expired_stream_is_none(repo: Repository) -> None:
    seed(repo, stream("old", expires_at=EXPIRED))
    assert repo.heartbeat("nope", NOW) is None
    assert repo.heartbeat("old", NOW) is None
    assert repo.get_stream("nope", NOW) is None
    old = repo.get_stream("old", NOW - 1)
    assert old is not None
    assert old.last_heartbeat == NOW - 5_000


# -- finish and abort -------------------------------------------------------------------


def test_finish_without_a_final_delta(repo: Repository) -> None:
    original = stream("s1", meta=FULL_META)
    seed(repo, original)
    appended(repo, "s1", (0, 2), now=NOW - 100)
    before = replace(original, next_start=2, last_heartbeat=NOW - 100)
    outcome = repo.finish("s1", NOW, None, "cleanup-s1-0", LIVE + 60)
    after = replace(
        before,
        status="finished",
        ended_at=NOW,
        cleanup_schedule="cleanup-s1-0",
        expires_at=LIVE + 60,
    )
    assert outcome.changed
    assert outcome.expected_start is None
    assert outcome.before == before
    assert outcome.after == after
    assert repo.get_stream("s1", NOW) == after
    assert ids(repo.list_streams("t1", ["finished"], 0, NOW, 10)) == ["s1"]
    assert repo.list_streams("t1", ["streaming"], 0, NOW, 10) == []


def test_finish_with_a_final_delta_writes_both(repo: Repository) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 2), now=NOW - 100)
    outcome = repo.finish("s1", NOW, delta(2, 5, OTHER_PARTS), "cleanup-s1-0", LIVE)
    assert outcome.changed
    assert outcome.expected_start is None
    assert outcome.after is not None
    assert (outcome.after.status, outcome.after.next_start) == ("finished", 5)
    found = repo.get_stream("s1", NOW)
    assert found is not None
    assert (found.status, found.next_start, found.last_heartbeat) == ("finished", 5, NOW)
    assert repo.read_deltas([("s1", 2)], NOW, 10) == [[Delta("s1", 2, 5, OTHER_PARTS)]]


def test_the_outcome_after_a_final_delta_is_the_stored_stream(repo: Repository) -> None:
    seed(repo, stream("s1"))
    outcome = repo.finish("s1", NOW, delta(0, 1), "cleanup-s1-0", LIVE)
    assert outcome.changed
    assert outcome.after == repo.get_stream("s1", NOW)


@pytest.mark.parametrize("terminal", ["finish", "abort"])
@pytest.mark.parametrize(
    ("start", "parts"),
    [(3, PARTS), (1, PARTS), (0, OTHER_PARTS)],
    ids=["gap", "overlap", "clash"],
)
def test_a_final_delta_that_does_not_fit_writes_nothing(
    repo: Repository, terminal: str, start: int, parts: str
) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 2), now=NOW - 100)
    before = repo.get_stream("s1", NOW)
    final = delta(start, start + 2, parts)
    if terminal == "finish":
        outcome = repo.finish("s1", NOW, final, "cleanup-s1-0", LIVE)
    else:
        outcome = repo.abort("s1", "stop", NOW, final, LIVE)
    assert not outcome.changed
    assert outcome.expected_start == 2
    assert outcome.before == before
    assert outcome.after == before
    # Atomic: the stream is still streaming and the final delta is nowhere.
    assert repo.get_stream("s1", NOW) == before
    assert repo.read_deltas([("s1", 0)], NOW, 10) == [[Delta("s1", 0, 2, PARTS)]]


def test_a_final_delta_already_stored_is_not_silently_ignored(repo: Repository) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 2))  # e.g. an add_delta whose reply was lost
    outcome = repo.finish("s1", NOW + 1, delta(0, 2), "cleanup-s1-0", LIVE)
    found = repo.get_stream("s1", NOW + 1)
    assert found is not None
    assert outcome.changed or outcome.expected_start is not None, (outcome, found.status)


@pytest.mark.parametrize("terminal", ["finish", "abort"])
@pytest.mark.parametrize("status", ["finished", "aborted"])
@pytest.mark.parametrize("with_final", [False, True], ids=["plain", "final-delta"])
def test_ending_an_ended_stream_is_a_no_op(
    repo: Repository, terminal: str, status: StreamStatus, with_final: bool
) -> None:
    ended = stream("s1", status=status, next_start=0, reason="earlier", ended_at=NOW - 1)
    seed(repo, ended)
    final = delta(0, 1) if with_final else None
    if terminal == "finish":
        outcome = repo.finish("s1", NOW, final, "cleanup-s1-9", LIVE + 1)
    else:
        outcome = repo.abort("s1", "again", NOW, final, None)
    assert not outcome.changed
    assert outcome.expected_start is None
    assert outcome.before == ended
    assert outcome.after == ended
    assert repo.get_stream("s1", NOW) == ended
    assert starts(repo, "s1") == []


@pytest.mark.parametrize("terminal", ["finish", "abort"])
def test_ending_a_missing_or_expired_stream_is_a_no_op(repo: Repository, terminal: str) -> None:
    seed(repo, stream("old", expires_at=EXPIRED))
    for stream_id in ("nope", "old"):
        if terminal == "finish":
            outcome = repo.finish(stream_id, NOW, delta(0, 1), "cleanup", LIVE)
        else:
            outcome = repo.abort(stream_id, "x", NOW, delta(0, 1), None)
        assert (outcome.before, outcome.after, outcome.changed) == (None, None, False)
        assert outcome.expected_start is None
    old = repo.get_stream("old", NOW - 1)
    assert old is not None
    assert old.status == "streaming"
    assert starts(repo, "old", NOW - 1) == []


def test_abort_without_a_final_delta(repo: Repository) -> None:
    original = stream("s1", meta=FULL_META)
    seed(repo, original)
    outcome = repo.abort("s1", "user stop", NOW, None, LIVE + 99)
    after = replace(
        original, status="aborted", reason="user stop", ended_at=NOW, expires_at=LIVE + 99
    )
    assert outcome.changed
    assert outcome.expected_start is None
    assert outcome.before == original
    assert outcome.after == after
    assert repo.get_stream("s1", NOW) == after


def test_abort_with_a_final_delta_and_no_ttl(repo: Repository) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 1), now=NOW - 100)
    outcome = repo.abort("s1", "error", NOW, delta(1, 4), None)
    assert outcome.changed
    assert outcome.after is not None
    assert (outcome.after.status, outcome.after.next_start, outcome.after.expires_at) == (
        "aborted",
        4,
        None,
    )
    # No TTL: the partial reply stays readable for as long as it is not deleted.
    later = NOW + 10 * 365 * 86_400_000
    found = repo.get_stream("s1", later)
    assert found is not None
    assert (found.status, found.reason, found.expires_at) == ("aborted", "error", None)
    assert (found.next_start, found.last_heartbeat) == (4, NOW)
    assert starts(repo, "s1") == [0, 1]


@pytest.mark.parametrize(("silent_since", "aborted"), [(NOW - 5_000, True), (NOW - 5_001, False)])
def test_a_timeout_abort_only_takes_a_silent_stream(
    repo: Repository, silent_since: int, aborted: bool
) -> None:
    original = stream("s1")  # last heard from at NOW - 5_000
    seed(repo, original)
    outcome = repo.abort("s1", "timeout", NOW, None, LIVE, silent_since=silent_since)
    assert outcome.changed is aborted
    found = repo.get_stream("s1", NOW)
    assert found is not None
    if aborted:
        assert (found.status, found.reason) == ("aborted", "timeout")
    else:
        assert found == original
        assert outcome.before == original
        assert outcome.after == original


def test_a_skipped_timeout_abort_reports_no_conflict(repo: Repository) -> None:
    seed(repo, stream("s1"))
    outcome = repo.abort("s1", "timeout", NOW, None, LIVE, silent_since=NOW - 60_000)
    assert not outcome.changed
    assert outcome.expected_start is None


def test_a_timeout_abort_after_a_write_is_skipped(repo: Repository) -> None:
    seed(repo, stream("s1", last_heartbeat=NOW - 700_000))
    appended(repo, "s1", (0, 1), now=NOW - 1_000)  # writes are heartbeats
    outcome = repo.abort("s1", "timeout", NOW, None, LIVE, silent_since=NOW - 600_000)
    assert not outcome.changed
    found = repo.get_stream("s1", NOW)
    assert found is not None
    assert found.status == "streaming"


# -- rearm_timeout ------------------------------------------------------------------


def test_rearm_timeout_of_a_streaming_stream(repo: Repository) -> None:
    original = stream("s1", meta=FULL_META)
    seed(repo, original)
    got = repo.rearm_timeout("s1", "timeout-s1-1", NOW + 900_000, LIVE + 900)
    expected = replace(
        original, timeout_schedule="timeout-s1-1", timeout_at=NOW + 900_000, expires_at=LIVE + 900
    )
    assert got == expected
    assert repo.get_stream("s1", NOW) == expected


def test_rearm_timeout_of_an_ended_or_missing_stream_is_none(repo: Repository) -> None:
    ended = stream("s1", status="finished")
    seed(repo, ended)
    assert repo.rearm_timeout("s1", "timeout-s1-1", NOW, LIVE + 1) is None
    assert repo.get_stream("s1", NOW) == ended
    assert repo.rearm_timeout("nope", "timeout-nope-1", NOW, LIVE) is None
    assert repo.get_stream("nope", NOW) is None


# -- list_streams and streams_at_order ---------------------------------------------------

#: A thread's streams as (id, order, stepOrder, status, expiresAt).
LAYOUT: list[tuple[str, int, int, StreamStatus, int | None]] = [
    ("a", 1, 0, "streaming", LIVE),
    ("b", 1, 2, "streaming", LIVE),
    ("c", 2, 1, "streaming", None),
    ("d", 0, 5, "streaming", LIVE),
    ("e", 3, 0, "finished", LIVE),
    ("f", 2, 0, "aborted", None),
    ("g", 4, 0, "streaming", EXPIRED),
    ("i", 1, 1, "finished", LIVE),
    ("j", 1, 3, "aborted", LIVE),
]


@pytest.fixture
def layout(repo: Repository) -> Repository:
    seed(
        repo,
        *(
            stream(sid, order=o, step_order=so, status=st, expires_at=x)
            for sid, o, so, st, x in LAYOUT
        ),
        stream("other", thread_id="t2", order=1, step_order=0),
    )
    return repo


@pytest.mark.parametrize(
    ("statuses", "start_order", "limit", "expected"),
    [
        (["streaming"], 0, 100, ["c", "b", "a", "d"]),
        (["streaming"], 1, 100, ["c", "b", "a"]),
        (["streaming"], 2, 100, ["c"]),
        (["streaming"], 5, 100, []),
        (["streaming"], 0, 2, ["c", "b"]),
        (["finished"], 0, 100, ["e", "i"]),
        (["aborted", "aborted"], 0, 100, ["f", "j"]),
        (ALL, 0, 100, ["e", "c", "f", "j", "b", "i", "a", "d"]),
        (["aborted", "finished"], 2, 100, ["e", "f"]),
        (ALL, 0, 3, ["e", "c", "f"]),
        ([], 0, 100, []),
    ],
)
def test_list_streams(
    layout: Repository,
    statuses: list[StreamStatus],
    start_order: int,
    limit: int,
    expected: list[str],
) -> None:
    assert ids(layout.list_streams("t1", statuses, start_order, NOW, limit)) == expected


def test_list_streams_shows_a_stream_until_it_expires(layout: Repository) -> None:
    assert ids(layout.list_streams("t1", ["streaming"], 0, NOW - 1, 2)) == ["g", "c"]
    assert ids(layout.list_streams("t1", ["streaming"], 0, NOW, 2)) == ["c", "b"]


def test_list_streams_follows_status_changes(layout: Repository) -> None:
    layout.finish("c", NOW, None, "cleanup-c", LIVE)
    assert ids(layout.list_streams("t1", ["streaming"], 0, NOW, 100)) == ["b", "a", "d"]
    assert ids(layout.list_streams("t1", ["finished"], 0, NOW, 100)) == ["e", "c", "i"]


@pytest.mark.parametrize(
    ("order", "max_step", "statuses", "limit", "expected"),
    [
        (1, 3, ALL, 10, ["j", "b", "i", "a"]),
        (1, 2, ALL, 10, ["b", "i", "a"]),
        (1, 0, ALL, 10, ["a"]),
        (1, 3, ["streaming"], 10, ["b", "a"]),
        (1, 3, ["finished", "aborted"], 10, ["j", "i"]),
        (1, 3, ALL, 2, ["j", "b"]),
        (2, 10**6, ["streaming", "aborted"], 10, ["c", "f"]),
        (4, 0, ALL, 10, []),  # g is expired
        (7, 0, ALL, 10, []),
    ],
)
def test_streams_at_order(
    layout: Repository,
    order: int,
    max_step: int,
    statuses: list[StreamStatus],
    limit: int,
    expected: list[str],
) -> None:
    assert ids(layout.streams_at_order("t1", order, max_step, statuses, NOW, limit)) == expected


def test_index_reads_carry_every_stream_message_field(repo: Repository) -> None:
    full = stream(
        "s1",
        order=2,
        step_order=1,
        status="aborted",
        next_start=9,
        reason="r",
        ended_at=NOW - 1,
        cleanup_schedule="cleanup-s1-0",
        meta=FULL_META,
    )
    seed(repo, full)
    stored = repo.get_stream("s1", NOW)
    assert stored is not None
    for listed in (
        repo.list_streams("t1", ["aborted"], 0, NOW, 10),
        repo.streams_at_order("t1", 2, 1, ["aborted"], NOW, 10),
        repo.thread_streams("t1", 10),
    ):
        assert len(listed) == 1
        assert listed[0].message() == stored.message()
        # Exactly the projection: what the index does not hold reads as zero/None,
        # and the schedules (projected for thread deletion) are there.
        assert listed[0] == projected(full)


# -- deltas -------------------------------------------------------------------------


def test_read_deltas_per_cursor(repo: Repository) -> None:
    seed(repo, stream("s1"), stream("s2"), stream("s3"))
    appended(repo, "s1", (0, 2), (2, 3), (3, 7), (7, 8))
    appended(repo, "s2", (0, 1))
    got = repo.read_deltas(
        [("s1", 0), ("s2", 0), ("s1", 3), ("s1", 4), ("s1", 8), ("s3", 0), ("nope", 0)], NOW, 100
    )
    assert [[(d.stream_id, d.start, d.end) for d in page] for page in got] == [
        [("s1", 0, 2), ("s1", 2, 3), ("s1", 3, 7), ("s1", 7, 8)],
        [("s2", 0, 1)],
        [("s1", 3, 7), ("s1", 7, 8)],
        [("s1", 7, 8)],  # a cursor inside a delta skips it
        [],
        [],
        [],
    ]
    assert got[1] == [Delta("s2", 0, 1, PARTS)]


def test_read_deltas_limit_is_per_cursor(repo: Repository) -> None:
    seed(repo, stream("s1"), stream("s2"))
    appended(repo, "s1", *((i, i + 1) for i in range(5)))
    appended(repo, "s2", *((i, i + 1) for i in range(3)))
    got = repo.read_deltas([("s1", 1), ("s2", 0)], NOW, 2)
    assert [[d.start for d in page] for page in got] == [[1, 2], [0, 1]]


def test_read_deltas_ignores_expired_deltas(repo: Repository) -> None:
    seed(repo, stream("s1"))
    repo.append("s1", delta(0, 1, expires_at=EXPIRED), NOW - 10)
    repo.append("s1", delta(1, 2, expires_at=DELTA_TTL), NOW - 10)
    assert starts(repo, "s1", NOW - 1) == [0, 1]
    assert starts(repo, "s1", NOW) == [1]
    assert starts(repo, "s1", DELTA_TTL * 1000) == []


def test_expired_deltas_do_not_hide_live_ones(repo: Repository) -> None:
    seed(repo, stream("s1"))
    repo.append("s1", delta(0, 1, expires_at=EXPIRED), NOW - 10)
    repo.append("s1", delta(1, 2, expires_at=EXPIRED), NOW - 10)
    repo.append("s1", delta(2, 3), NOW - 10)
    assert [d.start for d in repo.read_deltas([("s1", 0)], NOW, 2)[0]] == [2]


def all_delta_starts(repo: Repository, stream_id: str, limit: int) -> tuple[list[int], int]:
    """Page through delta_starts as the deletion does; (starts, pages)."""
    found: list[int] = []
    before: int | None = None
    for pages in range(1, 100):
        page, last = repo.delta_starts(stream_id, before, limit)
        assert page == sorted(page, reverse=True)
        found.extend(page)
        if last:
            return found, pages
        # A page that is not the last is full; DynamoDB may end on an empty last page.
        assert len(page) == limit
        before = page[-1]
    pytest.fail("delta_starts never reported its last page")


def test_delta_starts_pages_newest_first_including_expired(repo: Repository) -> None:
    seed(repo, stream("s1"), stream("s2"))
    for i in range(5):
        repo.append("s1", delta(2 * i, 2 * i + 2, expires_at=EXPIRED if i == 2 else DELTA_TTL), NOW)
    appended(repo, "s2", (0, 1))
    assert repo.delta_starts("s1", None, 2) == ([8, 6], False)
    assert repo.delta_starts("s1", 6, 2) == ([4, 2], False)
    assert repo.delta_starts("s1", 2, 2) == ([0], True)
    assert repo.delta_starts("s1", None, 10) == ([8, 6, 4, 2, 0], True)
    assert repo.delta_starts("s1", 5, 10) == ([4, 2, 0], True)
    assert repo.delta_starts("s1", 0, 10) == ([], True)
    assert repo.delta_starts("nope", None, 10) == ([], True)
    for limit in range(1, 7):
        found, pages = all_delta_starts(repo, "s1", limit)
        assert found == [8, 6, 4, 2, 0]
        assert pages <= 5 // limit + 1


def test_delete_deltas_with_and_without_the_stream(repo: Repository) -> None:
    seed(repo, stream("s1"), stream("s2"))
    appended(repo, "s1", *((i, i + 1) for i in range(30)))
    appended(repo, "s2", (0, 1))
    repo.delete_deltas("s1", list(range(27, -1, -1)), with_stream=False)  # more than 25
    assert starts(repo, "s1") == [28, 29]
    assert repo.get_stream("s1", NOW) is not None
    repo.delete_deltas("s1", [29, 28], with_stream=True)
    assert starts(repo, "s1") == []
    assert repo.get_stream("s1", NOW) is None
    assert repo.delta_starts("s1", None, 10) == ([], True)
    assert ids(repo.thread_streams("t1", 10)) == ["s2"]
    assert starts(repo, "s2") == [0]


def test_delete_deltas_refuses_a_batch_naming_a_delta_twice(repo: Repository) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 1), (1, 2))
    with pytest.raises(REFUSED):
        repo.delete_deltas("s1", [1, 1], with_stream=True)
    # BatchWriteItem refuses the whole batch, the stream's delete included.
    assert starts(repo, "s1") == [0, 1]
    assert repo.get_stream("s1", NOW) is not None


def test_delete_deltas_of_nothing_can_remove_the_stream(repo: Repository) -> None:
    seed(repo, stream("s1"))
    repo.delete_deltas("s1", [], with_stream=True)
    assert repo.get_stream("s1", NOW) is None


# -- thread deletion ------------------------------------------------------------------


def test_thread_streams_lists_every_stream_in_any_state(layout: Repository) -> None:
    everything = {sid for sid, *_ in LAYOUT}
    assert set(ids(layout.thread_streams("t1", 100))) == everything  # g is expired: still listed
    assert set(ids(layout.thread_streams("t1", 100, frozenset({"a", "g"})))) == everything - {
        "a",
        "g",
    }
    page = ids(layout.thread_streams("t1", 3))
    assert len(page) == 3
    assert set(page) <= everything
    assert ids(layout.thread_streams("t3", 10)) == []


def test_thread_streams_in_index_order(layout: Repository) -> None:
    # The index sorts by (status, order, stepOrder): the deletion takes them in that order.
    expected = [sid for sid, *_ in sorted(LAYOUT, key=lambda row: (row[3], row[1], row[2]))]
    assert ids(layout.thread_streams("t1", 100)) == expected


def test_thread_streams_pages_with_exclude_until_done(layout: Repository) -> None:
    seen: list[str] = []
    for _ in range(20):
        page = layout.thread_streams("t1", 2, frozenset(seen))
        if not page:
            break
        assert len(page) <= 2
        assert not set(ids(page)) & set(seen)
        seen.extend(ids(page))
    assert sorted(seen) == sorted(sid for sid, *_ in LAYOUT)


@pytest.mark.parametrize(
    ("only_if", "deleted"), [(None, True), ("finished", True), ("streaming", False)]
)
def test_delete_stream(repo: Repository, only_if: StreamStatus | None, deleted: bool) -> None:
    seed(repo, stream("s1", status="finished"))
    assert repo.delete_stream("s1", only_if=only_if) is deleted
    assert (repo.get_stream("s1", NOW) is None) is deleted


def test_delete_stream_keeps_the_deltas(repo: Repository) -> None:
    seed(repo, stream("s1"))
    appended(repo, "s1", (0, 1))
    assert repo.delete_stream("s1") is True
    assert repo.get_stream("s1", NOW) is None
    assert starts(repo, "s1") == [0]  # deltas go through delete_deltas


def test_delete_stream_of_a_missing_stream(repo: Repository) -> None:
    assert repo.delete_stream("nope") is True  # nothing to delete is not a failure
    assert repo.delete_stream("nope", only_if="finished") is False
    assert repo.get_stream("nope", NOW) is None
