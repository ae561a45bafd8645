"""The DeleteThreadStreams state machine retries throttling wherever it meets it.

A page function that AWS kept throttling past its own retries fails with
``ServiceUnavailable`` (its error type on a direct invoke); Lambda throttling the
invocation itself is ``Lambda.TooManyRequestsException``; DynamoDB tasks meet
throttling as ``DynamoDB.<exception>``. Each is retried with backoff and jitter,
long enough to ride out a burst, before the execution fails.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_streams_protocol.errors import ServiceUnavailable
from tests.helpers import ROOT

DEFINITION: dict[str, Any] = json.loads(
    (ROOT / "statemachines" / "delete_thread_streams.asl.json")
    .read_text()
    .replace("${IndexSettleSeconds}", "5")
)
TASKS = {name: s for name, s in DEFINITION["States"].items() if s["Type"] == "Task"}
LAMBDA_TASKS = {n: s for n, s in TASKS.items() if s["Resource"].endswith(":lambda:invoke")}
DYNAMODB_TASKS = {n: s for n, s in TASKS.items() if ":dynamodb:" in s["Resource"]}

#: Throttling and transient faults of a Lambda task (AWS's recommended list, and ours).
LAMBDA_TRANSIENT = [
    ServiceUnavailable.__name__,
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
]
#: DynamoDB throttling as a Step Functions DynamoDB task reports it (the SDK's
#: exception names, and the service's codes the local stack reports).
DYNAMODB_THROTTLING = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.InternalServerError",
]


def first_retry(state: dict[str, Any], error: str) -> dict[str, Any] | None:
    """The Retry rule Step Functions applies to ``error`` (the first that matches)."""
    for rule in state.get("Retry", []):
        if error in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]:
            return dict(rule)
    return None


def test_there_are_tasks_of_both_kinds() -> None:
    assert set(LAMBDA_TASKS) == {
        "DeletePage",
        "ConfirmEmpty",
        "DeleteStreamPage",
        "DeleteStreamsPage",
    }
    assert set(DYNAMODB_TASKS) == {"MarkDeleting", "DeleteThread"}


@pytest.mark.parametrize("error", LAMBDA_TRANSIENT)
@pytest.mark.parametrize("task", sorted(LAMBDA_TASKS))
def test_lambda_tasks_retry_throttling_long_with_jitter(task: str, error: str) -> None:
    rule = first_retry(LAMBDA_TASKS[task], error)
    assert rule is not None
    assert error in rule["ErrorEquals"], "only the catch-all rule matches: 3 attempts"
    assert rule["MaxAttempts"] >= 6
    assert rule["BackoffRate"] >= 2
    assert rule["JitterStrategy"] == "FULL"
    # The backoff ceiling spans minutes: longer than a throttling burst lasts.
    waits = [
        min(rule["IntervalSeconds"] * rule["BackoffRate"] ** n, rule.get("MaxDelaySeconds", 1e9))
        for n in range(rule["MaxAttempts"])
    ]
    assert sum(waits) >= 60


@pytest.mark.parametrize("error", DYNAMODB_THROTTLING)
@pytest.mark.parametrize("task", sorted(DYNAMODB_TASKS))
def test_dynamodb_tasks_retry_throttling(task: str, error: str) -> None:
    rule = first_retry(DYNAMODB_TASKS[task], error)
    assert rule is not None
    assert error in rule["ErrorEquals"]
    assert rule["MaxAttempts"] >= 6
    assert rule["JitterStrategy"] == "FULL"


@pytest.mark.parametrize("task", sorted(DYNAMODB_TASKS))
def test_a_failed_condition_is_caught_not_retried(task: str) -> None:
    state = DYNAMODB_TASKS[task]
    assert first_retry(state, "DynamoDB.ConditionalCheckFailedException") is None
    assert any(
        "DynamoDB.ConditionalCheckFailedException" in c["ErrorEquals"] for c in state["Catch"]
    )
