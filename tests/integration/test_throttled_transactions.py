"""Transactions cancelled by throttled or conflicting items: never a wrong answer.

DynamoDB cancels a ``TransactWriteItems`` with one reason per item. A reason of
``ThrottlingError``, ``ProvisionedThroughputExceeded``, ``RequestLimitExceeded`` or
``TransactionConflict`` says nothing about the data: the stream is not missing, the
delta is not past the end of the log. Each write that is one transaction (add_delta,
finish and abort with a final delta, create_stream) meets such a cancellation on each
of its items, over HTTP and by direct invoke, and either succeeds once the retries
get through, or answers 503 ``ServiceUnavailable`` with ``Retry-After`` (direct: raises
it) having written nothing — never 404, ``false``, 409 or 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from agent_streams import retries
from agent_streams.deadline import SAFETY_MARGIN_SECONDS
from agent_streams.retries import BACKOFF
from agent_streams_protocol.errors import ServiceUnavailable
from tests.conftest import Stack, snapshot
from tests.helpers import Api, FakeLambdaContext
from tests.integration.conftest import inject_dynamodb, survived
from tests.integration.reliability_faults import Faults, cancelled

pytestmark = pytest.mark.usefixtures("no_backoff")

ATTEMPTS = BACKOFF.attempts
#: Cancellation reasons that are no answer about the data.
TRANSIENT_REASONS = [
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "TransactionConflict",
]

Ids = dict[str, str]


def delta(stream_id: str, start: int, end: int | None = None) -> dict[str, Any]:
    end = start + 1 if end is None else end
    return {
        "streamId": stream_id,
        "start": start,
        "end": end,
        "parts": [{"type": "text-delta", "id": "t", "delta": f"<{i}>"} for i in range(start, end)],
    }


def log_of(api: Api, ids: Ids) -> list[tuple[int, int]]:
    deltas = api.direct(
        "list_deltas",
        {"threadId": ids["thread"], "cursors": [{"streamId": ids["stream"], "cursor": 0}]},
    )
    return [(d["start"], d["end"]) for d in deltas]


def arrange(api: Api) -> Ids:
    thread = str(api.direct("create_thread", {"title": "throttled"})["threadId"])
    stream = str(api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0}))
    for start in range(2):
        assert api.direct("add_delta", delta(stream, start)) is True
    return {"thread": thread, "stream": stream}


def stored(stack: Stack) -> tuple[Any, dict[str, Any]]:
    return snapshot(stack.settings), dict(stack.scheduler.pending)


@dataclass(frozen=True)
class Write:
    """One write that is one TransactWriteItems, its items in the order sent."""

    name: str
    items: tuple[str, str]
    operation: str
    path: Callable[[Ids], dict[str, str]]
    body: Callable[[Ids], dict[str, Any]]
    http_ok: tuple[int, Any] | None
    direct_ok: Any
    check: Callable[[Api, Stack, Ids], None]

    def http(self, api: Api, ids: Ids) -> tuple[int, Any]:
        return api.http(self.operation, self.path(ids), body=self.body(ids))

    def direct(self, api: Api, ids: Ids) -> Any:
        return api.direct(self.operation, {**self.path(ids), **self.body(ids)})


def _appended(api: Api, stack: Stack, ids: Ids) -> None:
    assert log_of(api, ids) == [(0, 1), (1, 2), (2, 3)]
    assert api.direct("get_stream", {"streamId": ids["stream"]})["nextStart"] == 3


def _ended(status: str) -> Callable[[Api, Stack, Ids], None]:
    def check(api: Api, stack: Stack, ids: Ids) -> None:
        assert log_of(api, ids) == [(0, 1), (1, 2), (2, 4)]
        state = api.direct("get_stream", {"streamId": ids["stream"]})
        assert (state["status"], state["nextStart"]) == (status, 4)

    return check


def _created(api: Api, stack: Stack, ids: Ids) -> None:
    streams = api.direct("list_streams", {"threadId": ids["thread"]})
    assert sorted(s["order"] for s in streams) == [0, 3]
    created = next(s["streamId"] for s in streams if s["order"] == 3)
    assert f"timeout-{created}-0" in stack.scheduler.pending


WRITES = [
    Write(
        "add_delta",
        ("delta", "stream"),
        "add_delta",
        lambda ids: {"streamId": ids["stream"]},
        lambda ids: delta(ids["stream"], 2),
        (200, {"accepted": True, "status": "streaming"}),
        True,
        _appended,
    ),
    Write(
        "finish_with_final_delta",
        ("delta", "stream"),
        "finish_stream",
        lambda ids: {"streamId": ids["stream"]},
        lambda ids: {"finalDelta": delta(ids["stream"], 2, 4)},
        (200, {"status": "finished"}),
        None,
        _ended("finished"),
    ),
    Write(
        "abort_with_final_delta",
        ("delta", "stream"),
        "abort_stream",
        lambda ids: {"streamId": ids["stream"]},
        lambda ids: {"reason": "stop", "finalDelta": delta(ids["stream"], 2, 4)},
        (200, {"aborted": True}),
        True,
        _ended("aborted"),
    ),
    Write(
        "create_stream",
        ("thread", "stream"),
        "create_stream",
        lambda ids: {"threadId": ids["thread"]},
        lambda ids: {"order": 3, "stepOrder": 0},
        None,  # 201 and a new id: checked by _created
        None,
        _created,
    ),
]


def reasons_on(write: Write, where: str, reason: str) -> list[str]:
    """The cancellation reasons with ``reason`` on item ``where`` ("both": every item)."""
    return [reason if where in (item, "both") else "None" for item in write.items]


def assert_succeeded(write: Write, got: tuple[int, Any]) -> None:
    if write.http_ok is not None:
        assert got == write.http_ok
    else:
        assert got[0] == 201, got


@pytest.mark.parametrize("where", ["first", "second", "both"])
@pytest.mark.parametrize("reason", TRANSIENT_REASONS)
@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_a_cancellation_that_passes_is_retried_to_success(
    api: Api, stack: Stack, faults: Faults, write: Write, reason: str, where: str
) -> None:
    ids = arrange(api)
    item = {"first": write.items[0], "second": write.items[1], "both": "both"}[where]
    fault = inject_dynamodb(
        faults,
        "TransactWriteItems",
        cancelled(*reasons_on(write, item, reason)),
        times=ATTEMPTS - 1,
    )
    assert_succeeded(write, write.http(api, ids))
    write.check(api, stack, ids)
    assert fault.injected == ATTEMPTS - 1
    survived(faults)


@pytest.mark.parametrize("way", ["http", "direct"])
@pytest.mark.parametrize("where", ["first", "second"])
@pytest.mark.parametrize("reason", TRANSIENT_REASONS)
@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_a_lasting_cancellation_is_503_with_retry_after_and_nothing_written(
    api: Api, stack: Stack, faults: Faults, write: Write, reason: str, where: str, way: str
) -> None:
    ids = arrange(api)
    before = stored(stack)
    item = write.items[0 if where == "first" else 1]
    fault = inject_dynamodb(
        faults, "TransactWriteItems", cancelled(*reasons_on(write, item, reason))
    )
    if way == "http":
        status, body = write.http(api, ids)
        assert (status, body["error"]) == (503, "ServiceUnavailable"), body
        assert reason in body["message"]
        assert api.last_response["headers"]["Retry-After"] == "1"
    else:
        with pytest.raises(ServiceUnavailable) as raised:  # never False, never StreamNotFound
            write.direct(api, ids)
        assert raised.value.retry_after == 1
        assert str(raised.value).endswith("retry after 1 s")
    assert fault.calls == ATTEMPTS
    assert stored(stack) == before, "a throttled write wrote something"
    # The same request again, once DynamoDB keeps up: done, once.
    fault.lift()
    if way == "http":
        assert_succeeded(write, write.http(api, ids))
    else:
        result = write.direct(api, ids)
        if write.direct_ok is not None:
            assert result == write.direct_ok
    write.check(api, stack, ids)
    survived(faults)


def test_a_throttled_stream_item_beside_a_stored_delta_is_still_a_retry_not_a_conflict(
    api: Api, stack: Stack, faults: Faults
) -> None:
    """The delta's condition failed (it is stored) but the stream's item was throttled:
    nothing is known of the stream yet, so the transaction is tried again, and the
    answer is the one an identical retry gets."""
    ids = arrange(api)
    before = stored(stack)
    fault = inject_dynamodb(
        faults,
        "TransactWriteItems",
        cancelled("ConditionalCheckFailed", "ThrottlingError"),
        times=1,
    )
    status, body = api.http("add_delta", {"streamId": ids["stream"]}, body=delta(ids["stream"], 1))
    assert (status, body) == (200, {"accepted": True, "status": "streaming"})
    assert fault.calls == 2
    assert stored(stack) == before
    survived(faults)


def test_a_cancellation_for_a_bad_request_is_an_internal_error_with_nothing_written(
    api: Api, stack: Stack, faults: Faults
) -> None:
    ids = arrange(api)
    before = stored(stack)
    fault = inject_dynamodb(faults, "TransactWriteItems", cancelled("ValidationError", "None"))
    status, body = api.http("add_delta", {"streamId": ids["stream"]}, body=delta(ids["stream"], 2))
    assert (status, body["error"]) == (500, "InternalError"), body
    assert "ValidationError" in body["message"]
    assert fault.calls == 1  # retrying the same request would meet the same refusal
    assert stored(stack) == before


def nearly_over(monkeypatch: pytest.MonkeyPatch, budget: float) -> Api:
    """An invocation whose retries have ``budget`` seconds left (its 10 s are nearly over)."""
    monkeypatch.setattr(retries, "RESERVE_SECONDS", SAFETY_MARGIN_SECONDS - budget)
    return Api(FakeLambdaContext(remaining_ms=int(SAFETY_MARGIN_SECONDS * 1000)))


def test_no_time_left_means_no_retry_and_a_503(
    stack: Stack, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = nearly_over(monkeypatch, 0.0)
    ids = arrange(api)
    fault = inject_dynamodb(faults, "TransactWriteItems", cancelled("None", "ThrottlingError"))
    status, body = api.http("add_delta", {"streamId": ids["stream"]}, body=delta(ids["stream"], 2))
    assert (status, body["error"]) == (503, "ServiceUnavailable"), body
    assert fault.calls == 1
    survived(faults)


def test_retries_stop_at_the_deadline(
    stack: Stack, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = 0.5
    # Arranged first: the invocation's time runs from its context's creation, and a busy
    # machine could spend the budget on arranging.
    ids = arrange(Api(FakeLambdaContext(remaining_ms=10_000)))
    api = nearly_over(monkeypatch, budget)
    monkeypatch.setattr(retries, "sleep", time.sleep)
    monkeypatch.setattr(retries.Backoff, "delay", lambda self, retry: 0.1)
    fault = inject_dynamodb(faults, "TransactWriteItems", cancelled("None", "ThrottlingError"))
    started = time.monotonic()
    status, body = api.http("add_delta", {"streamId": ids["stream"]}, body=delta(ids["stream"], 2))
    elapsed = time.monotonic() - started
    assert (status, body["error"]) == (503, "ServiceUnavailable"), body
    # Sleeps of 0.1 s while one still fits before the deadline: about 5 attempts, not 8.
    assert 2 <= fault.calls < ATTEMPTS, fault.calls
    # Past the deadline by at most one attempt (a margin for a busy machine).
    assert elapsed < budget + 0.5, elapsed
    survived(faults)


def test_a_ten_second_function_has_time_to_retry(
    stack: Stack, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The template's functions mostly have 10 s: all of a throttled append's retries fit
    (the paging deadline, 10 s before the end, would leave none)."""
    api = Api(FakeLambdaContext(remaining_ms=10_000))
    ids = arrange(api)
    fault = inject_dynamodb(
        faults, "TransactWriteItems", cancelled("None", "ThrottlingError"), times=ATTEMPTS - 1
    )
    status, body = api.http("add_delta", {"streamId": ids["stream"]}, body=delta(ids["stream"], 2))
    assert (status, body) == (200, {"accepted": True, "status": "streaming"})
    assert fault.injected == ATTEMPTS - 1
    survived(faults)
