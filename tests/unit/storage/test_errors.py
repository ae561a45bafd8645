"""The one mapping of DynamoDB's failures, and the retries under it (no AWS needed)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from pynamodb.exceptions import GetError, TransactWriteError, VerboseClientError

from agent_streams import retries
from agent_streams.deadline import Deadline, set_deadline
from agent_streams.storage import errors
from agent_streams_protocol.errors import (
    AgentStreamsError,
    InternalError,
    ServiceUnavailable,
    StreamNotFound,
)


def client_error(code: str, status: int = 400, **extra: Any) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {"HTTPStatusCode": status},
            **extra,
        },
        "Op",
    )


def cancelled(*codes: str) -> TransactWriteError:
    """What PynamoDB raises for a TransactWriteItems cancelled with these reasons."""
    from pynamodb.exceptions import CancellationReason

    reasons = [None if c == "None" else CancellationReason(code=c) for c in codes]
    cause = VerboseClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("Failed to write transaction items", cause)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (client_error("ProvisionedThroughputExceededException"), True),
        (client_error("ThrottlingException"), True),
        (client_error("RequestLimitExceeded"), True),
        (client_error("TransactionInProgressException"), True),
        (client_error("InternalServerError", 500), True),
        (client_error("SomethingNew", 503), True),
        (client_error("ValidationException"), False),
        (client_error("AccessDeniedException"), False),
        (client_error("ResourceNotFoundException"), False),
        (client_error("ConditionalCheckFailedException"), False),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (ReadTimeoutError(endpoint_url="http://x"), True),
        (GetError("Failed to get item", client_error("ThrottlingException")), True),
        (GetError("Failed to get item", EndpointConnectionError(endpoint_url="http://x")), True),
        (GetError("Failed to get item", client_error("ValidationException")), False),
    ],
)
def test_what_is_transient(exc: BaseException, transient: bool) -> None:
    assert errors.is_transient(exc) is transient


@pytest.mark.parametrize(
    ("codes", "transient", "by_conditions"),
    [
        # Only ConditionalCheckFailed (and None) is an answer about the data.
        (("None", "ConditionalCheckFailed"), False, True),
        (("ConditionalCheckFailed", "ConditionalCheckFailed"), False, True),
        # Throttled or conflicting items: retried, whatever the other items say.
        (("None", "ThrottlingError"), True, False),
        (("ThrottlingError", "None"), True, False),
        (("ProvisionedThroughputExceeded", "None"), True, False),
        (("None", "RequestLimitExceeded"), True, False),
        (("None", "TransactionConflict"), True, False),
        (("ConditionalCheckFailed", "ThrottlingError"), True, False),
        (("ThrottlingError", "ConditionalCheckFailed"), True, False),
        # A reason nobody documented, or none at all: nothing was written, try again.
        (("None", "SomethingNew"), True, False),
        (("None", "None"), True, False),
        (("None",), True, False),
        # The request itself is wrong: the same one will always fail.
        (("ValidationError", "None"), False, False),
        (("ItemCollectionSizeLimitExceeded", "ThrottlingError"), False, False),
    ],
)
def test_cancellation_reasons_are_read_one_by_one(
    codes: tuple[str, ...], transient: bool, by_conditions: bool
) -> None:
    exc = cancelled(*codes)
    assert errors.reason_codes(exc) == list(codes)
    assert errors.is_transient(exc) is transient
    assert errors.cancelled_by_conditions(exc) is by_conditions


def test_transient_failures_map_to_503_with_retry_after_and_the_rest_to_500() -> None:
    throttled = errors.to_domain(cancelled("None", "ThrottlingError"), "append a delta")
    assert isinstance(throttled, ServiceUnavailable)
    assert throttled.status == 503
    assert throttled.retry_after == 1
    assert "ThrottlingError" in throttled.message
    assert throttled.message.endswith("retry after 1 s")
    refused = errors.to_domain(client_error("ValidationException"), "append a delta")
    assert isinstance(refused, InternalError)
    assert refused.status == 500
    # The contract's own errors pass through as they are.
    missing = StreamNotFound("s")
    assert errors.to_domain(missing, "x") is missing


def test_nothing_but_the_contracts_errors_leaves_the_mapping() -> None:
    for raised in (
        client_error("ThrottlingException"),
        client_error("ValidationException"),
        cancelled("None", "TransactionConflict"),
        GetError("Failed", EndpointConnectionError(endpoint_url="http://x")),
    ):
        with pytest.raises(AgentStreamsError), errors.mapped("read a stream"):
            raise raised


# -- retries ---------------------------------------------------------------------------


class Flaky:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    found: list[float] = []
    monkeypatch.setattr(retries, "sleep", found.append)
    return found


def test_transient_failures_are_retried_with_growing_jittered_sleeps(slept: list[float]) -> None:
    call = Flaky([client_error("ThrottlingException")] * 5)
    assert retries.retrying(call, what="x") == "done"
    assert call.calls == 6
    assert len(slept) == 5
    backoff = retries.BACKOFF
    for retry, delay in enumerate(slept):
        assert 0 <= delay <= min(backoff.cap_seconds, backoff.base_seconds * 2**retry)


def test_retries_end_after_their_attempts(slept: list[float]) -> None:
    call = Flaky([client_error("ThrottlingException")] * 100)
    with pytest.raises(ClientError):
        retries.retrying(call, what="x")
    assert call.calls == retries.BACKOFF.attempts
    assert len(slept) == retries.BACKOFF.attempts - 1


def test_what_is_not_transient_is_not_retried(slept: list[float]) -> None:
    call = Flaky([client_error("ValidationException")])
    with pytest.raises(ClientError):
        retries.retrying(call, what="x")
    assert call.calls == 1
    assert slept == []


def test_no_retry_sleeps_past_the_deadline(
    slept: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_streams.deadline import SAFETY_MARGIN_SECONDS

    # Retries may go on RESERVE_SECONDS short of the Lambda's end, the paging deadline
    # plus its margin: here that is now.
    monkeypatch.setattr(retries, "RESERVE_SECONDS", SAFETY_MARGIN_SECONDS)
    token = set_deadline(Deadline.after(0.0))
    try:
        call = Flaky([client_error("ThrottlingException")] * 3)
        with pytest.raises(ClientError):
            retries.retrying(call, what="x")
    finally:
        set_deadline(None)
        del token
    assert call.calls == 1
    assert slept == []


def test_the_adapters_map_what_is_left() -> None:
    unavailable = retries.failure(client_error("ThrottlingException"), "EventBridge Scheduler", "x")
    assert isinstance(unavailable, ServiceUnavailable)
    assert unavailable.retry_after == retries.RETRY_AFTER_SECONDS
    assert isinstance(
        retries.failure(client_error("AccessDeniedException"), "Step Functions", "x"), InternalError
    )
