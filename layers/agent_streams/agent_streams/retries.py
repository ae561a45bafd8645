"""Transient AWS failures: which they are, how they are retried, and what is left of them.

Every AWS call the functions make (DynamoDB, EventBridge Scheduler, Step Functions)
goes through :func:`retrying`: throttling, 5xx replies and broken connections are
retried with exponential backoff and full jitter (a sleep drawn from
``[0, min(cap, base * 2**n)]``, so writers throttled together do not come back in
lockstep), for a bounded number of attempts and never past the invocation's
deadline (:func:`retry_deadline`, from the Lambda context). A failure that outlasts
them becomes :class:`ServiceUnavailable` with a
``Retry-After`` (:func:`failure`): "try the same request again later", which every
operation of the contract makes safe. Anything else is a request AWS refused for
good (a bug, a missing permission) and becomes :class:`InternalError`.

A throttle is never reported as anything else: not a missing stream, not a
conflict, not a 500. DynamoDB's transaction cancellation reasons, which carry
throttling per item, are read in ``storage.errors``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from agent_streams.aws import error_code, http_status
from agent_streams.deadline import SAFETY_MARGIN_SECONDS, Deadline, current_deadline
from agent_streams.observability import count, logger
from agent_streams_protocol.errors import AgentStreamsError, InternalError, ServiceUnavailable

T = TypeVar("T")

#: Codes AWS answers when a caller goes too fast (botocore's standard-mode list).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
#: Codes of a failure on AWS's side that the same request may not meet again.
TRANSIENT_CODES = THROTTLING_CODES | {
    "InternalServerError",
    "InternalServerException",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
}
#: What a caller is asked to wait (``Retry-After``) once the retries here ran out.
RETRY_AFTER_SECONDS = ServiceUnavailable.DEFAULT_RETRY_AFTER
#: What retries leave of the invocation: the time to answer after a request in flight
#: (botocore's connect timeout), so a 503 is sent rather than the Lambda stopped.
RESERVE_SECONDS = 3.0


@dataclass(frozen=True)
class Backoff:
    """Attempts and sleeps of one call's retries."""

    #: Attempts in all, the first included.
    attempts: int = 8
    base_seconds: float = 0.05
    cap_seconds: float = 2.0

    def delay(self, retry: int) -> float:
        """The sleep before retry number ``retry`` (0-based): full jitter."""
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**retry))


BACKOFF = Backoff()


def sleep(seconds: float) -> None:
    """Where retries wait (tests replace it, to count retries without waiting)."""
    time.sleep(seconds)


def is_transient(exc: BaseException) -> bool:
    """Throttling, an AWS-side failure, or a connection that broke: worth another attempt."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ClientError):
        status = http_status(exc)
        return error_code(exc) in TRANSIENT_CODES or (
            status is not None and status >= 500 and status != 501
        )
    # Connection refused or reset, timeouts: the request may not have been carried
    # out, or it was and the reply was lost; every write here is safe to repeat.
    return isinstance(exc, ConnectionError | HTTPClientError)


def retry_deadline() -> Deadline:
    """When retries must stop: :data:`RESERVE_SECONDS` before the Lambda is stopped.

    The handler's deadline (``deadline.current_deadline``) is the one of work
    that pages, which stops ``SAFETY_MARGIN_SECONDS`` before the Lambda would be
    stopped: with the template's 10-second functions that leaves nothing, and a
    throttled append could never be tried again. Retries of one request only need
    time to answer, so they may use that margin but :data:`RESERVE_SECONDS`.
    """
    paging = current_deadline()
    return Deadline(paging.expires_at + SAFETY_MARGIN_SECONDS - RESERVE_SECONDS)


def retrying(
    call: Callable[[], T],
    *,
    what: str,
    transient: Callable[[BaseException], bool] = is_transient,
    backoff: Backoff = BACKOFF,
) -> T:
    """``call()``, again after each transient failure while attempts and the deadline last.

    The last failure is raised as it is; the caller maps it (see :func:`failure`).
    """
    deadline = retry_deadline()
    retry = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if not transient(exc) or retry + 1 >= backoff.attempts:
                raise
            delay = backoff.delay(retry)
            if delay >= deadline.remaining():
                raise
            count("AwsRetries")
            logger.info(
                "retrying a transient AWS failure",
                extra={
                    "what": what,
                    "retry": retry + 1,
                    "delay": round(delay, 3),
                    "error": repr(exc),
                },
            )
            retry += 1
            sleep(delay)


def unavailable(service: str, what: str, detail: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"{service} kept failing ({detail}) while trying to {what}",
        retry_after=RETRY_AFTER_SECONDS,
    )


def refused(service: str, what: str, detail: str, exc: BaseException) -> InternalError:
    """A request AWS refused for good: logged with its cause, as a bug is."""
    logger.error(f"{service} refused to {what}", exc_info=exc, extra={"detail": detail})
    return InternalError(f"{service} refused to {what} ({detail})")


def failure(exc: BaseException, service: str, what: str) -> AgentStreamsError:
    """The contract's error for an AWS call that failed (after :func:`retrying`)."""
    if isinstance(exc, AgentStreamsError):
        return exc
    detail = error_code(exc) or type(exc).__name__
    if is_transient(exc):
        return unavailable(service, what, detail)
    return refused(service, what, detail, exc)
