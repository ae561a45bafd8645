"""The one place where DynamoDB's failures become the contract's errors.

Whatever a call raised — botocore's ``ClientError`` or connection errors, PynamoDB's
exceptions wrapping them, a cancelled transaction — :func:`mapped` turns it into
``ServiceUnavailable`` (503, ``Retry-After``) when it is transient, and
``InternalError`` (500) otherwise. Nothing from botocore or PynamoDB leaves storage.

Two outcomes are not failures and are read by the callers before mapping: a
conditional write whose condition did not hold (:func:`condition_failed`), and a
transaction cancelled *only* by its conditions (``transactions.Cancelled``).

A cancelled transaction says why per item, and those reasons are read one by one:
only ``ConditionalCheckFailed`` is about the data. ``ThrottlingError``,
``ProvisionedThroughputExceeded``, ``RequestLimitExceeded`` and
``TransactionConflict`` say nothing about it (the item was not even looked at), so
such a transaction is retried like any throttled request — never read as a
missing stream or a conflicting delta.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, TransactGetError, TransactWriteError

from agent_streams import retries
from agent_streams.aws import error_code
from agent_streams_protocol.errors import AgentStreamsError

SERVICE = "DynamoDB"
CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"
#: Cancellation reasons (one per item of a transaction).
REASON_NONE = "None"
REASON_CONDITION_FAILED = "ConditionalCheckFailed"
#: Reasons that a new attempt of the very same transaction may not meet.
TRANSIENT_REASONS = frozenset(
    {
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "TransactionConflict",
    }
)
#: Reasons that the same transaction will always meet: the request itself is wrong.
PERMANENT_REASONS = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})


def cause(exc: BaseException) -> BaseException:
    """The botocore error behind a PynamoDB exception (or the error itself)."""
    if isinstance(exc, PynamoDBException) and exc.cause is not None:
        return exc.cause
    return exc


def code(exc: BaseException) -> str | None:
    return error_code(cause(exc))


def condition_failed(exc: BaseException) -> bool:
    """A single-item write whose condition did not hold."""
    return code(exc) == CONDITION_FAILED


def reason_codes(exc: BaseException) -> list[str]:
    """The cancellation reasons of a cancelled transaction, one per item, in sent order."""
    if not isinstance(exc, TransactWriteError | TransactGetError):
        return []
    return [REASON_NONE if r is None else r.code for r in exc.cancellation_reasons]


def cancelled_by_conditions(exc: BaseException) -> bool:
    """A transaction cancelled for its conditions only: the outcome is in the reasons' items."""
    if code(exc) != TRANSACTION_CANCELED:
        return False
    reasons = reason_codes(exc)
    return REASON_CONDITION_FAILED in reasons and all(
        r in (REASON_NONE, REASON_CONDITION_FAILED) for r in reasons
    )


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt of the same request."""
    if code(exc) == TRANSACTION_CANCELED:
        reasons = set(reason_codes(exc)) - {REASON_NONE, REASON_CONDITION_FAILED}
        if reasons & PERMANENT_REASONS:
            return False
        if reasons & TRANSIENT_REASONS:
            return True
        # A reason this code does not know, or none at all, tells nothing about the
        # data either, and nothing was written: worth another attempt too.
        return bool(reasons) or REASON_CONDITION_FAILED not in reason_codes(exc)
    return retries.is_transient(cause(exc))


def _detail(exc: BaseException) -> str:
    found = code(exc) or type(cause(exc)).__name__
    if found == TRANSACTION_CANCELED:
        return f"{found} [{', '.join(reason_codes(exc))}]"
    return found


def to_domain(exc: BaseException, what: str) -> AgentStreamsError:
    """The contract's error for a DynamoDB call that failed (after its retries)."""
    if isinstance(exc, AgentStreamsError):
        return exc
    if is_transient(exc):
        return retries.unavailable(SERVICE, what, _detail(exc))
    return retries.refused(SERVICE, what, _detail(exc), exc)


@contextmanager
def mapped(what: str) -> Iterator[None]:
    """Raise the contract's error for any DynamoDB failure in the block."""
    try:
        yield
    except (ClientError, BotoCoreError, PynamoDBException) as exc:
        raise to_domain(exc, what) from exc
