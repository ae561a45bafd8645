"""Faults injected at the AWS clients the service uses, under the service's retries.

For each fault: the operation succeeds after bounded retries, or fails with the
contract's error (``ServiceUnavailable``, 503 over HTTP) having written nothing;
and the documented recovery works: a retry of the same call, the timeout's
re-arm on the Scheduler's retry, the TTL backstop for a lost schedule, a second
``DELETE /threads/{id}``, re-running a stateless deletion page that was stopped.

Retries here do not sleep (``agent_streams.retries.sleep`` is patched), so counting
attempts is cheap. Throttled transactions, reason by reason, are in
``test_throttled_transactions``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from agent_streams import aws
from agent_streams.config import Settings
from agent_streams.retries import BACKOFF
from agent_streams.scheduling import EventBridgeScheduler
from agent_streams.service.context import Services, use_services
from agent_streams.service.ttl import LIVE_GRACE_MS
from agent_streams.storage.models import ThreadItem
from agent_streams.workflows import StepFunctionsWorkflows
from agent_streams_protocol.errors import ServiceUnavailable
from agent_streams_protocol.limits import CLEANUP_DELAY_MS, MINUTE_MS, TIMEOUT_MS
from tests.conftest import REGION, START_MS, Stack, create_tables, drop_tables, snapshot
from tests.fakes import InMemoryScheduler, ManualClock
from tests.helpers import Api, FakeLambdaContext
from tests.integration.conftest import inject_dynamodb, survived
from tests.integration.reliability_faults import (
    Faults,
    Stopped,
    committed_then,
    error,
    internal_error,
    raising,
    throttled,
    transaction_conflict,
    unprocessed,
)

#: Attempts of one call: botocore makes one, agent_streams.retries the rest (every
#: client, every service), unless the invocation's deadline comes first.
DYNAMODB_ATTEMPTS = AWS_ATTEMPTS = CONFLICT_ATTEMPTS = BATCH_ATTEMPTS = BACKOFF.attempts


pytestmark = pytest.mark.usefixtures("no_backoff")


def delta(stream_id: str, start: int, end: int | None = None) -> dict[str, Any]:
    end = start + 1 if end is None else end
    return {
        "streamId": stream_id,
        "start": start,
        "end": end,
        "parts": [{"type": "text-delta", "id": "t", "delta": f"<{i}>"} for i in range(start, end)],
    }


def log_of(api: Api, thread_id: str, stream_id: str) -> list[tuple[int, int]]:
    deltas = api.direct(
        "list_deltas", {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]}
    )
    return [(d["start"], d["end"]) for d in deltas]


def stored_state(stack: Stack) -> tuple[Any, dict[str, Any]]:
    """Everything a failed call must leave as it was: the tables and the schedules."""
    return snapshot(stack.settings), dict(stack.scheduler.pending)


# -- DynamoDB: throttling and 500s on every path ----------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One operation over HTTP, the DynamoDB request it depends on, and what success is."""

    name: str
    dynamodb_operation: str
    call: Callable[[Api, dict[str, str]], tuple[int, Any]]
    check: Callable[[Api, Stack, dict[str, str], int, Any], None]
    writes: bool = True


def _ok(status: int) -> Callable[[Api, Stack, dict[str, str], int, Any], None]:
    def check(api: Api, stack: Stack, ids: dict[str, str], got: int, body: Any) -> None:
        assert got == status, body

    return check


def _created_stream(api: Api, stack: Stack, ids: dict[str, str], got: int, body: Any) -> None:
    assert got == 201, body
    assert api.direct("get_stream", {"streamId": body["streamId"]})["status"] == "streaming"
    assert f"timeout-{body['streamId']}-0" in stack.scheduler.pending


def _appended(api: Api, stack: Stack, ids: dict[str, str], got: int, body: Any) -> None:
    assert (got, body) == (200, {"accepted": True, "status": "streaming"})
    assert log_of(api, ids["thread"], ids["stream"]) == [(0, 1), (1, 2), (2, 3)]


def _finished(api: Api, stack: Stack, ids: dict[str, str], got: int, body: Any) -> None:
    assert (got, body) == (200, {"status": "finished"})
    assert log_of(api, ids["thread"], ids["stream"]) == [(0, 1), (1, 2), (2, 4)]
    assert set(stack.scheduler.pending) == {f"cleanup-{ids['stream']}-0"}


def _aborted(api: Api, stack: Stack, ids: dict[str, str], got: int, body: Any) -> None:
    assert (got, body) == (200, {"aborted": True})
    assert api.direct("get_stream", {"streamId": ids["stream"]})["status"] == "aborted"
    assert stack.scheduler.pending == {}


def _listed(count: int) -> Callable[[Api, Stack, dict[str, str], int, Any], None]:
    def check(api: Api, stack: Stack, ids: dict[str, str], got: int, body: Any) -> None:
        assert got == 200, body
        assert len(body) == count, body

    return check


def _deleted(api: Api, stack: Stack, ids: dict[str, str], got: int, body: Any) -> None:
    assert got == 204, body
    tables = snapshot(stack.settings)
    assert tables[stack.settings.streams_table] == []
    assert tables[stack.settings.deltas_table] == []
    assert stack.scheduler.pending == {}


SCENARIOS = [
    Scenario(
        "create_thread",
        "PutItem",
        lambda api, ids: api.http("create_thread", body={"title": "t"}),
        _ok(201),
    ),
    Scenario(
        "get_thread",
        "GetItem",
        lambda api, ids: api.http("get_thread", {"threadId": ids["thread"]}),
        _ok(200),
        writes=False,
    ),
    Scenario(
        "create_stream",
        "TransactWriteItems",
        lambda api, ids: api.http(
            "create_stream", {"threadId": ids["thread"]}, body={"order": 3, "stepOrder": 0}
        ),
        _created_stream,
    ),
    Scenario(
        "add_delta",
        "TransactWriteItems",
        lambda api, ids: api.http(
            "add_delta", {"streamId": ids["stream"]}, body=delta(ids["stream"], 2)
        ),
        _appended,
    ),
    Scenario(
        "finish_stream",
        "TransactWriteItems",
        lambda api, ids: api.http(
            "finish_stream",
            {"streamId": ids["stream"]},
            body={"finalDelta": delta(ids["stream"], 2, 4)},
        ),
        _finished,
    ),
    Scenario(
        "abort_stream",
        "TransactWriteItems",
        lambda api, ids: api.http(
            "abort_stream", {"streamId": ids["stream"]}, body={"reason": "r"}
        ),
        _aborted,
    ),
    Scenario(
        "heartbeat_stream",
        "UpdateItem",
        lambda api, ids: api.http("heartbeat_stream", {"streamId": ids["stream"]}),
        _ok(204),
    ),
    Scenario(
        "get_stream",
        "GetItem",
        lambda api, ids: api.http("get_stream", {"streamId": ids["stream"]}),
        _ok(200),
        writes=False,
    ),
    Scenario(
        "list_deltas",
        "Query",
        lambda api, ids: api.http(
            "list_deltas", {"threadId": ids["thread"]}, query={"cursors": f"{ids['stream']}:0"}
        ),
        _listed(2),
        writes=False,
    ),
    Scenario(
        "list_streams",
        "Query",
        lambda api, ids: api.http("list_streams", {"threadId": ids["thread"]}),
        _listed(1),
        writes=False,
    ),
    Scenario(
        "streaming_messages",
        "Query",
        lambda api, ids: api.http(
            "streaming_messages",
            {"threadId": ids["thread"]},
            query={"order": "0", "stepOrder": "0", "status": "success"},
        ),
        _listed(1),
        writes=False,
    ),
    Scenario(
        "abort_streams_by_order",
        "Query",
        lambda api, ids: api.http(
            "abort_streams_by_order", {"threadId": ids["thread"]}, body={"order": 0, "reason": "r"}
        ),
        _aborted,
        writes=False,  # the query comes first: nothing is written when it fails
    ),
    Scenario(
        "delete_stream",
        "BatchWriteItem",
        lambda api, ids: api.http("delete_stream", {"streamId": ids["stream"]}),
        _deleted,
    ),
]

DYNAMODB_FAULTS = {
    "throughput": lambda: throttled("ProvisionedThroughputExceededException"),
    "throttling": lambda: throttled("ThrottlingException"),
    "internal": internal_error,
}


def arrange(api: Api) -> dict[str, str]:
    thread = str(api.direct("create_thread", {"title": "faults"})["threadId"])
    stream = str(api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0}))
    for start in range(2):
        api.direct("add_delta", delta(stream, start))
    return {"thread": thread, "stream": stream}


@pytest.mark.parametrize("kind", list(DYNAMODB_FAULTS))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_transient_dynamodb_faults_are_retried_to_success(
    api: Api, stack: Stack, faults: Faults, scenario: Scenario, kind: str
) -> None:
    ids = arrange(api)
    fault = inject_dynamodb(
        faults, scenario.dynamodb_operation, DYNAMODB_FAULTS[kind](), times=DYNAMODB_ATTEMPTS - 1
    )
    status, body = scenario.call(api, ids)
    scenario.check(api, stack, ids, status, body)
    assert fault.injected == DYNAMODB_ATTEMPTS - 1
    survived(faults)


@pytest.mark.parametrize("kind", list(DYNAMODB_FAULTS))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_lasting_dynamodb_faults_are_503_with_nothing_written(
    api: Api, stack: Stack, faults: Faults, scenario: Scenario, kind: str
) -> None:
    ids = arrange(api)
    before = stored_state(stack)
    fault = inject_dynamodb(faults, scenario.dynamodb_operation, DYNAMODB_FAULTS[kind]())
    status, body = scenario.call(api, ids)
    assert (status, body["error"]) == (503, "ServiceUnavailable"), body
    assert api.last_response["headers"]["Retry-After"] == "1"
    # Bounded: the retries' attempts for each request of that kind (a few run at once).
    assert DYNAMODB_ATTEMPTS <= fault.calls <= 3 * DYNAMODB_ATTEMPTS, fault.calls
    if scenario.name == "delete_stream":
        # The stream is aborted first (so no writer adds behind the deleter); then the
        # batch failed: the stream and its whole log are still there, consistent.
        assert api.direct("get_stream", {"streamId": ids["stream"]})["status"] == "aborted"
        assert log_of(api, ids["thread"], ids["stream"]) == [(0, 1), (1, 2)]
    else:
        assert stored_state(stack) == before, "a failed call wrote something"
    # Recovery: the same call again, once AWS is back, does it, once.
    fault.lift()
    status, body = scenario.call(api, ids)
    scenario.check(api, stack, ids, status, body)
    survived(faults)


# -- TransactionConflict: the repository's own retries ----------------------------------------


@pytest.mark.parametrize(
    "scenario",
    [s for s in SCENARIOS if s.dynamodb_operation == "TransactWriteItems"],
    ids=lambda s: s.name,
)
def test_transaction_conflicts_are_retried(
    api: Api, stack: Stack, faults: Faults, scenario: Scenario, no_backoff: list[float]
) -> None:
    ids = arrange(api)
    items = 1 if scenario.name == "abort_stream" else 2
    fault = inject_dynamodb(
        faults, "TransactWriteItems", transaction_conflict(items), times=CONFLICT_ATTEMPTS - 1
    )
    status, body = scenario.call(api, ids)
    scenario.check(api, stack, ids, status, body)
    assert fault.calls == CONFLICT_ATTEMPTS  # one call an attempt
    assert len(no_backoff) == CONFLICT_ATTEMPTS - 1, "backed off between attempts"
    survived(faults)


@pytest.mark.parametrize(
    "scenario",
    [s for s in SCENARIOS if s.dynamodb_operation == "TransactWriteItems"],
    ids=lambda s: s.name,
)
def test_lasting_transaction_conflicts_are_503_with_nothing_written(
    api: Api, stack: Stack, faults: Faults, scenario: Scenario
) -> None:
    ids = arrange(api)
    before = stored_state(stack)
    items = 1 if scenario.name == "abort_stream" else 2
    fault = inject_dynamodb(faults, "TransactWriteItems", transaction_conflict(items))
    status, body = scenario.call(api, ids)
    assert (status, body["error"]) == (503, "ServiceUnavailable"), body
    assert api.last_response["headers"]["Retry-After"] == "1"
    assert "TransactionConflict" in body["message"]
    assert fault.calls == CONFLICT_ATTEMPTS
    assert stored_state(stack) == before
    fault.lift()
    status, body = scenario.call(api, ids)
    scenario.check(api, stack, ids, status, body)
    survived(faults)


# -- a write AWS carried out whose reply was lost ----------------------------------------------


def test_an_append_committed_but_unacknowledged_is_accepted_once(
    api: Api, stack: Stack, faults: Faults
) -> None:
    ids = arrange(api)
    inject_dynamodb(faults, "TransactWriteItems", committed_then(internal_error()), times=1)
    status, body = api.http("add_delta", {"streamId": ids["stream"]}, body=delta(ids["stream"], 2))
    # botocore's retry finds the delta already there: an identical retry, accepted.
    _appended(api, stack, ids, status, body)
    assert api.direct("get_stream", {"streamId": ids["stream"]})["nextStart"] == 3
    survived(faults)


def test_a_stream_created_but_unacknowledged_is_created_once(
    api: Api, stack: Stack, faults: Faults
) -> None:
    ids = arrange(api)
    inject_dynamodb(faults, "TransactWriteItems", committed_then(internal_error()), times=1)
    status, body = api.http(
        "create_stream", {"threadId": ids["thread"]}, body={"order": 3, "stepOrder": 0}
    )
    _created_stream(api, stack, ids, status, body)
    streams = api.direct("list_streams", {"threadId": ids["thread"]})
    assert sorted(s["order"] for s in streams) == [0, 3]
    survived(faults)


def test_a_finish_committed_but_unacknowledged_still_arms_the_cleanup(
    api: Api, stack: Stack, faults: Faults
) -> None:
    ids = arrange(api)
    inject_dynamodb(faults, "TransactWriteItems", committed_then(internal_error()), times=1)
    status, body = api.http(
        "finish_stream",
        {"streamId": ids["stream"]},
        body={"finalDelta": delta(ids["stream"], 2, 4)},
    )
    _finished(api, stack, ids, status, body)
    survived(faults)


def test_an_abort_committed_but_unacknowledged_says_it_aborted(
    api: Api, stack: Stack, faults: Faults
) -> None:
    ids = arrange(api)
    inject_dynamodb(faults, "TransactWriteItems", committed_then(internal_error()), times=1)
    status, body = api.http("abort_stream", {"streamId": ids["stream"]}, body={"reason": "r"})
    _aborted(api, stack, ids, status, body)
    survived(faults)


# -- BatchWriteItem: unprocessed items ---------------------------------------------------------


def many_deltas(api: Api, count: int = 60) -> dict[str, str]:
    ids = arrange(api)
    for start in range(2, count):
        api.direct("add_delta", delta(ids["stream"], start))
    return ids


@pytest.mark.parametrize(
    ("keep", "times"),
    [
        (lambda items: [], 3),  # nothing carried out, three times
        (lambda items: items[: (len(items) + 1) // 2], None),  # half of what is left, always
        (lambda items: items[:1], 5),  # one at a time, for a while
    ],
    ids=["none-thrice", "half-always", "one-at-a-time"],
)
def test_unprocessed_items_are_retried_until_done(
    api: Api, stack: Stack, faults: Faults, keep: Any, times: int | None
) -> None:
    ids = many_deltas(api)
    fault = inject_dynamodb(faults, "BatchWriteItem", unprocessed(keep), times=times)
    status, body = api.http("delete_stream", {"streamId": ids["stream"]})
    _deleted(api, stack, ids, status, body)
    assert fault.unprocessed > 0
    survived(faults)


def test_items_left_unprocessed_for_good_are_503_and_a_rerun_finishes(
    api: Api, stack: Stack, faults: Faults, no_backoff: list[float]
) -> None:
    ids = many_deltas(api)
    fault = inject_dynamodb(faults, "BatchWriteItem", unprocessed(lambda items: []))
    status, body = api.http("delete_stream", {"streamId": ids["stream"]})
    assert (status, body["error"]) == (503, "ServiceUnavailable")
    assert "unprocessed" in body["message"]
    assert fault.calls == BATCH_ATTEMPTS
    assert len(no_backoff) == BATCH_ATTEMPTS - 1
    # Aborted (no writer can add behind the deleter), the log untouched and readable.
    assert api.direct("get_stream", {"streamId": ids["stream"]})["status"] == "aborted"
    assert log_of(api, ids["thread"], ids["stream"])[:2] == [(0, 1), (1, 2)]
    fault.lift()
    status, body = api.http("delete_stream", {"streamId": ids["stream"]})
    _deleted(api, stack, ids, status, body)
    survived(faults)


def test_a_cleanup_stopped_by_unprocessed_items_is_finished_by_the_schedulers_retry(
    api: Api, stack: Stack, faults: Faults
) -> None:
    ids = many_deltas(api)
    api.direct("finish_stream", {"streamId": ids["stream"]})
    stack.clock.advance(CLEANUP_DELAY_MS)
    # Half the deltas go, then DynamoDB stops processing anything.
    fault = inject_dynamodb(faults, "BatchWriteItem", unprocessed(lambda items: []), skip=1)
    with pytest.raises(ServiceUnavailable):
        api.direct("cleanup_stream", {"streamId": ids["stream"]})
    # What is left is a clean prefix of the log, and the stream still says finished.
    left = log_of(api, ids["thread"], ids["stream"])
    assert left == [(i, i + 1) for i in range(len(left))]
    assert 0 < len(left) < 60
    assert api.direct("get_stream", {"streamId": ids["stream"]})["status"] == "finished"
    fault.lift()
    api.direct("cleanup_stream", {"streamId": ids["stream"]})  # Scheduler's retry
    _deleted(api, stack, ids, 204, None)
    survived(faults)


# -- Scheduler and Step Functions, through the real adapters -----------------------------------


@pytest.fixture
def aws_stack(moto_aws: None) -> Iterator[Stack]:
    """The service on moto with the real Scheduler and Step Functions adapters."""
    import boto3

    suffix = uuid.uuid4().hex[:8]
    scheduler = boto3.client("scheduler", region_name=REGION)
    group = f"streams-{suffix}"
    scheduler.create_schedule_group(Name=group)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    role = "arn:aws:iam::123456789012:role/agent-streams"
    machine = sfn.create_state_machine(
        name=f"delete-{suffix}",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=role,
    )["stateMachineArn"]
    function = "arn:aws:lambda:us-east-1:123456789012:function:agent-streams-"
    settings = Settings(
        threads_table=f"threads-{suffix}",
        streams_table=f"streams-{suffix}",
        deltas_table=f"deltas-{suffix}",
        schedule_group=group,
        scheduler_role_arn=role,
        timeout_function_arn=function + "timeout_stream",
        cleanup_function_arn=function + "cleanup_stream",
        delete_thread_state_machine_arn=machine,
        region=REGION,
    )
    create_tables(settings)
    from agent_streams.storage.dynamo import DynamoRepository
    from tests.fakes import InMemoryWorkflows

    clock = ManualClock(START_MS)
    services = Services(
        settings=settings,
        repository=DynamoRepository(settings),
        scheduler=EventBridgeScheduler(settings),
        workflows=StepFunctionsWorkflows(settings),
        clock=clock,
    )
    use_services(services)
    yield Stack(settings, services, InMemoryScheduler(), InMemoryWorkflows(), clock)
    use_services(None)
    drop_tables(settings)
    scheduler.delete_schedule_group(Name=group)


def schedules(stack: Stack) -> dict[str, int]:
    """The stack's pending schedules: name -> time (epoch ms)."""
    from agent_streams.scheduling import parse_at_expression

    client = aws.client("scheduler", REGION)
    found = {}
    for summary in client.list_schedules(GroupName=stack.settings.schedule_group)["Schedules"]:
        detail = client.get_schedule(GroupName=stack.settings.schedule_group, Name=summary["Name"])
        found[summary["Name"]] = parse_at_expression(detail["ScheduleExpression"])
    return found


def scheduler_client() -> Any:
    return aws.client("scheduler", REGION)


def sfn_client() -> Any:
    return aws.client("stepfunctions", REGION)


def test_create_stream_rides_out_scheduler_throttling(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    fault = faults.inject(
        scheduler_client(),
        "CreateSchedule",
        error("ThrottlingException", 429),
        times=AWS_ATTEMPTS - 1,
    )
    status, body = api.http(
        "create_stream", {"threadId": thread}, body={"order": 0, "stepOrder": 0}
    )
    assert status == 201, body
    assert f"timeout-{body['streamId']}-0" in schedules(aws_stack)
    assert fault.calls == AWS_ATTEMPTS
    survived(faults)


def test_create_stream_without_a_scheduler_is_503_with_nothing_written(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    before = snapshot(aws_stack.settings)
    fault = faults.inject(
        scheduler_client(), "CreateSchedule", error("InternalServerException", 500)
    )
    status, body = api.http(
        "create_stream", {"threadId": thread}, body={"order": 0, "stepOrder": 0}
    )
    assert (status, body["error"]) == (503, "ServiceUnavailable"), body
    assert fault.calls == AWS_ATTEMPTS
    assert snapshot(aws_stack.settings) == before
    assert schedules(aws_stack) == {}
    fault.lift()
    status, body = api.http(
        "create_stream", {"threadId": thread}, body={"order": 0, "stepOrder": 0}
    )
    assert status == 201
    survived(faults)


def test_a_finish_whose_cleanup_schedule_is_lost_is_covered_by_the_ttl(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    stream = api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0})
    api.direct("add_delta", delta(stream, 0))
    faults.inject(scheduler_client(), "CreateSchedule", error("InternalServerException", 500))
    # The finish is committed; arming its cleanup failed (logged and counted), not the call.
    assert api.http("finish_stream", {"streamId": stream}) == (200, {"status": "finished"})
    assert schedules(aws_stack) == {}  # timeout cancelled, no cleanup armed
    # The TTL backstop: an hour after the cleanup was due, every read ignores the stream...
    aws_stack.clock.advance(CLEANUP_DELAY_MS + LIVE_GRACE_MS - MINUTE_MS)
    assert api.http("get_stream", {"streamId": stream})[0] == 200
    aws_stack.clock.advance(MINUTE_MS)
    assert api.http("get_stream", {"streamId": stream})[0] == 404
    assert api.direct("list_streams", {"threadId": thread, "statuses": ["finished"]}) == []
    # ...and every item it left carries a TTL, so DynamoDB removes it.
    tables = snapshot(aws_stack.settings)
    for table in (aws_stack.settings.streams_table, aws_stack.settings.deltas_table):
        assert tables[table]
        assert all("expiresAt" in item for item in tables[table])
    survived(faults)


def test_a_timeout_left_behind_by_a_failed_cancel_fires_harmlessly(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    stream = api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0})
    faults.inject(scheduler_client(), "DeleteSchedule", error("InternalServerException", 500))
    assert api.http("finish_stream", {"streamId": stream}) == (200, {"status": "finished"})
    assert set(schedules(aws_stack)) == {f"timeout-{stream}-0", f"cleanup-{stream}-0"}
    state = api.direct("get_stream", {"streamId": stream})
    aws_stack.clock.advance(TIMEOUT_MS)
    api.direct("timeout_stream", {"streamId": stream})  # the leftover fires: nothing happens
    assert api.direct("get_stream", {"streamId": stream}) == state
    survived(faults)


def test_a_timeout_that_cannot_re_arm_fails_and_the_schedulers_retry_re_arms_it(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    stream = api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0})
    aws_stack.clock.advance(5 * MINUTE_MS)
    api.direct("add_delta", delta(stream, 0))  # written at 5 minutes
    aws_stack.clock.advance(5 * MINUTE_MS)
    before = snapshot(aws_stack.settings)
    fault = faults.inject(
        scheduler_client(), "CreateSchedule", error("InternalServerException", 500)
    )
    with pytest.raises(ServiceUnavailable):  # so EventBridge Scheduler retries the target
        api.direct("timeout_stream", {"streamId": stream})
    assert snapshot(aws_stack.settings) == before
    fault.lift()
    api.direct("timeout_stream", {"streamId": stream})
    rearmed = START_MS + 5 * MINUTE_MS + TIMEOUT_MS
    assert schedules(aws_stack).get(f"timeout-{stream}-1") == rearmed
    state = api.direct("get_stream", {"streamId": stream})
    assert state["status"] == "streaming"
    survived(faults)


def test_a_timeout_whose_retries_all_fail_is_covered_by_the_ttl(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    stream = api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0})
    aws_stack.clock.advance(5 * MINUTE_MS)
    api.direct("heartbeat_stream", {"streamId": stream})  # not silent: the timeout re-arms
    aws_stack.clock.advance(5 * MINUTE_MS)
    faults.inject(scheduler_client(), "CreateSchedule", error("InternalServerException", 500))
    for _ in range(3):  # the Scheduler's retries, then the DLQ
        with pytest.raises(ServiceUnavailable):
            api.direct("timeout_stream", {"streamId": stream})
    assert api.direct("get_stream", {"streamId": stream})["status"] == "streaming"
    # An hour after the timeout that was armed, the stream is gone for every reader.
    aws_stack.clock.advance(LIVE_GRACE_MS - 1000)
    assert api.http("get_stream", {"streamId": stream})[0] == 200
    aws_stack.clock.advance(1000)
    assert api.http("get_stream", {"streamId": stream})[0] == 404
    assert api.direct("list_streams", {"threadId": thread}) == []
    assert api.http("add_delta", {"streamId": stream}, body=delta(stream, 1))[0] == 404
    survived(faults)


def run_deletion(
    api: Api,
    thread_id: str,
    context: FakeLambdaContext | None = None,
    retried: list[str] | None = None,
) -> int:
    """What the state machine does: pages until done (a page that fails with
    ``ServiceUnavailable`` is retried, as its ``Retry`` says), then the thread item goes."""
    pages = 0
    runner = Api(context) if context is not None else api
    while True:
        pages += 1
        assert pages < 200
        try:
            page = runner.direct("delete_thread_streams_page", {"threadId": thread_id})
        except ServiceUnavailable as exc:
            if retried is None:
                raise
            retried.append(exc.code)
            continue
        if page["isDone"]:
            break
    ThreadItem(thread_id).delete(condition=ThreadItem.status == "deleting")
    return pages


def test_delete_thread_when_step_functions_will_not_start_is_503_and_a_second_delete_starts_it(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    stream = api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0})
    api.direct("add_delta", delta(stream, 0))
    fault = faults.inject(sfn_client(), "StartExecution", error("ServiceUnavailable", 503))
    status, body = api.http("delete_thread", {"threadId": thread})
    assert (status, body["error"]) == (503, "ServiceUnavailable"), body
    assert fault.calls == AWS_ATTEMPTS
    # The thread is marked: no stream can sneak in while nobody deletes it.
    assert api.direct("get_thread", {"threadId": thread})["status"] == "deleting"
    status, body = api.http(
        "create_stream", {"threadId": thread}, body={"order": 1, "stepOrder": 0}
    )
    assert (status, body["error"]) == (409, "ThreadDeleting")
    fault.lift()
    status, body = api.http("delete_thread", {"threadId": thread})
    assert status == 202, body
    executions = sfn_client().list_executions(
        stateMachineArn=aws_stack.settings.delete_thread_state_machine_arn
    )["executions"]
    assert [e["executionArn"] for e in executions] == [body["executionArn"]]
    assert executions[0]["name"] == f"{thread}-1"
    run_deletion(api, thread)
    tables = snapshot(aws_stack.settings)
    assert all(tables[t] == [] for t in tables), tables
    survived(faults)


def test_delete_thread_rides_out_step_functions_throttling(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    faults.inject(sfn_client(), "StartExecution", error("ThrottlingException", 400), times=2)
    status, body = api.http("delete_thread", {"threadId": thread})
    assert status == 202, body
    # Asking while it runs: the same execution, even when describing it is throttled.
    faults.inject(sfn_client(), "DescribeExecution", error("ThrottlingException", 400), times=2)
    assert api.http("delete_thread", {"threadId": thread}) == (202, body)
    survived(faults)


def test_delete_thread_when_step_functions_cannot_be_asked_is_503(
    api: Api, aws_stack: Stack, faults: Faults
) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    status, first = api.http("delete_thread", {"threadId": thread})
    assert status == 202
    fault = faults.inject(sfn_client(), "DescribeExecution", error("InternalServerError", 500))
    status, body = api.http("delete_thread", {"threadId": thread})
    assert (status, body["error"]) == (503, "ServiceUnavailable")
    fault.lift()
    assert api.http("delete_thread", {"threadId": thread}) == (202, first)
    survived(faults)


# -- a Lambda stopped mid-deletion ---------------------------------------------------------------


def arrange_thread(api: Api, streams: int = 3, deltas: int = 40) -> tuple[str, list[str]]:
    thread = str(api.direct("create_thread", {})["threadId"])
    ids = []
    for order in range(streams):
        stream = str(
            api.direct("create_stream", {"threadId": thread, "order": order, "stepOrder": 0})
        )
        for start in range(deltas):
            api.direct("add_delta", delta(stream, start))
        ids.append(stream)
    api.direct("finish_stream", {"streamId": ids[0]})
    api.direct("abort_stream", {"streamId": ids[1], "reason": "x"})
    return thread, ids


@pytest.mark.parametrize("stop_at", [1, 2, 3, 4, 6])
def test_a_page_stopped_mid_batch_is_resumed_by_the_next_attempt(
    api: Api, stack: Stack, faults: Faults, stop_at: int
) -> None:
    thread, streams = arrange_thread(api)
    assert api.http("delete_thread", {"threadId": thread})[0] == 202
    # The Lambda is stopped during its `stop_at`-th batch write (a timeout).
    fault = inject_dynamodb(faults, "BatchWriteItem", raising(Stopped()), times=1, skip=stop_at - 1)
    with pytest.raises(Stopped):
        api.direct("delete_thread_streams_page", {"threadId": thread})
    assert fault.injected == 1
    # Cut short anywhere, every stream still shows a clean prefix of its log.
    for stream in streams:
        left = log_of(api, thread, stream)
        assert left == [(i, i + 1) for i in range(len(left))]
    # Step Functions retries the task (or a second DELETE starts the next attempt):
    # the page function is stateless and starts again from what remains.
    assert run_deletion(api, thread) >= 1
    tables = snapshot(stack.settings)
    assert all(tables[t] == [] for t in tables), tables
    assert stack.scheduler.pending == {}
    survived(faults)


def test_pages_cut_short_by_their_deadline_add_up_to_the_whole_deletion(
    api: Api, stack: Stack, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_streams.service import deletion

    thread, _ = arrange_thread(api, streams=4, deltas=30)
    assert api.http("delete_thread", {"threadId": thread})[0] == 202
    # Pages of 10 deltas, and a Lambda with no time beyond its safety margin: every
    # invocation stops after one page of work and says so.
    monkeypatch.setattr(deletion, "DELETE_PAGE", 10)
    stops = inject_dynamodb(faults, "Query", throttled(), times=2)  # and a throttled listing
    retried: list[str] = []
    pages = run_deletion(api, thread, FakeLambdaContext(remaining_ms=0), retried)
    assert pages > 4
    assert stops.injected == 2
    # Retried inside the page (retries may use the margin paging leaves): no page failed.
    assert retried == []
    tables = snapshot(stack.settings)
    assert all(tables[t] == [] for t in tables), tables
    survived(faults)
