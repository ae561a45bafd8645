"""Faults injected at the AWS client, under botocore's own retries.

A fault is a ``before-send`` handler on the very client the service uses (PynamoDB's
DynamoDB client, the Scheduler and Step Functions clients of ``agent_streams.aws``):
it answers a request in place of AWS, so botocore parses the answer and applies its
retry policy exactly as it would to AWS's. What a fault can answer:

- an error (``error``): throttling, a 500, a cancelled transaction, any code;
- an ambiguous success (``committed_then``): the request is carried out by moto,
  then the answer is replaced by an error, as when AWS commits a write and the
  reply is lost;
- ``BatchWriteItem`` unprocessed items (``unprocessed``): some or all of the batch
  is not carried out and comes back in ``UnprocessedItems``;
- an exception (``raising``), as when the Lambda running the call is stopped.

Each fault fires for its first ``times`` matching calls (None: every call) and
counts what it did.

botocore runs *every* ``before-send`` handler and takes the first answer, so moto
(a handler too) would still carry out a request a fault answered. A fault that
stands for a request AWS did not carry out points the request elsewhere for the
rest of the round, where moto does not look, and a last handler points it back.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

#: botocore's answer to a request: None lets the next handler (moto) answer it.
Answer = Callable[[AWSPreparedRequest, "Fault"], AWSResponse | None]


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        data = self.read()
        if data:
            yield data


def response(
    request: AWSPreparedRequest, status: int, body: Any, headers: dict[str, str]
) -> AWSResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return AWSResponse(request.url, status, {"x-amzn-RequestId": "fault", **headers}, _Raw(data))  # type: ignore[arg-type]


def _protocol(request: AWSPreparedRequest) -> str:
    target = str(request.headers.get("X-Amz-Target", ""))
    return "json" if target else "rest-json"


def error(code: str, status: int = 400, message: str = "injected fault", **extra: Any) -> Answer:
    """An AWS error answer, in the protocol of the service asked."""

    def answer(request: AWSPreparedRequest, fault: Fault) -> AWSResponse:
        if _protocol(request) == "json":  # DynamoDB, Step Functions: code in __type
            body = {"__type": f"com.amazonaws.fault#{code}", "message": message, **extra}
            return response(request, status, body, {"Content-Type": "application/x-amz-json-1.0"})
        body = {"Message": message, **extra}  # Scheduler (rest-json): code in a header
        return response(
            request, status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": code}
        )

    return answer


def xml_error(code: str, status: int, message: str = "injected fault") -> Answer:
    """An error in S3's protocol (REST with XML bodies): ``SlowDown`` 503 and the like."""

    def answer(request: AWSPreparedRequest, fault: Fault) -> AWSResponse:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>fault</RequestId></Error>"
        ).encode()
        return response(request, status, body, {"Content-Type": "application/xml"})

    return answer


def throttled(code: str = "ProvisionedThroughputExceededException") -> Answer:
    return error(code, 400, "Rate of requests exceeds the allowed throughput.")


def internal_error() -> Answer:
    return error("InternalServerError", 500, "Internal server error")


#: DynamoDB's messages for the cancellation reasons a fault can give.
REASON_MESSAGES = {
    "ConditionalCheckFailed": "The conditional request failed",
    "TransactionConflict": "Transaction is ongoing for the item",
    "ThrottlingError": "Throughput exceeds the current capacity for one or more global "
    "secondary indexes. DynamoDB is automatically scaling your index so please try again "
    "shortly.",
    "ProvisionedThroughputExceeded": "The level of configured provisioned throughput for "
    "the table was exceeded. Consider increasing your provisioning level with the "
    "UpdateTable API",
    "RequestLimitExceeded": "Throughput exceeds the current throughput limit for your account.",
    "ValidationError": "One or more parameter values were invalid",
}


def cancelled(*codes: str) -> Answer:
    """``TransactionCanceledException`` with one reason per item, in the order sent
    ("None" for an item that was no reason)."""
    reasons = [
        {"Code": code} if code == "None" else {"Code": code, "Message": REASON_MESSAGES[code]}
        for code in codes
    ]
    return error(
        "TransactionCanceledException",
        400,
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        f"[{', '.join(codes)}]",
        CancellationReasons=reasons,
    )


def transaction_conflict(items: int) -> Answer:
    """``TransactionCanceledException``: another transaction touched the last item."""
    return cancelled(*["None"] * (items - 1), "TransactionConflict")


def committed_then(answer: Answer) -> Answer:
    """Let moto carry the request out, then answer ``answer`` instead of its reply."""

    def ambiguous(request: AWSPreparedRequest, fault: Fault) -> AWSResponse | None:
        return answer(request, fault)

    ambiguous.carried_out = True  # type: ignore[attr-defined]
    return ambiguous


def unprocessed(keep: Callable[[list[Any]], list[Any]] = lambda items: []) -> Answer:
    """``BatchWriteItem`` carrying out only ``keep(items)`` of each table's requests and
    returning the rest as unprocessed (default: none carried out)."""
    from moto.core.models import botocore_stubber

    def answer(request: AWSPreparedRequest, fault: Fault) -> AWSResponse:
        body = json.loads(request.body or b"{}")  # type: ignore[arg-type]
        done: dict[str, list[Any]] = {}
        left: dict[str, list[Any]] = {}
        for table, items in body["RequestItems"].items():
            kept = keep(items)
            done[table] = kept
            rest = [item for item in items if item not in kept]
            if rest:
                left[table] = rest
        fault.unprocessed += sum(len(items) for items in left.values())
        done = {table: items for table, items in done.items() if items}
        if done:
            request.body = json.dumps({**body, "RequestItems": done}).encode()
            request.headers["Content-Length"] = str(len(request.body))
            carried = botocore_stubber("before-send", request)
            assert carried is not None
            assert carried.status_code == 200, carried.content
        return response(
            request,
            200,
            {"UnprocessedItems": left},
            {"Content-Type": "application/x-amz-json-1.0"},
        )

    return answer


class Stopped(BaseException):
    """The Lambda running the call was stopped (a timeout), mid-request: like the
    runtime being killed, nothing catches it (it is no ``Exception``)."""


def raising(exc: BaseException) -> Answer:
    def answer(request: AWSPreparedRequest, fault: Fault) -> AWSResponse:
        raise exc

    return answer


@dataclass
class Fault:
    event: str
    answer: Answer
    times: int | None
    #: Calls that matched; calls answered by the fault.
    calls: int = 0
    injected: int = 0
    #: BatchWriteItem requests left unprocessed.
    unprocessed: int = 0
    #: The fault fires only for calls after this many matching ones.
    skip: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        with self._lock:
            self.calls += 1
            if self.calls <= self.skip:
                return None
            if self.times is not None and self.injected >= self.times:
                return None
            self.injected += 1
        answer = self.answer(request, self)
        if not getattr(self.answer, "carried_out", False):
            _divert(request)
        return answer

    def lift(self) -> None:
        """From now on, let every call through."""
        with self._lock:
            self.times = self.injected


_NOWHERE = "https://fault.invalid/"


def _divert(request: AWSPreparedRequest) -> None:
    """Keep moto from carrying out a request a fault answered (until ``_restore``)."""
    request.context["fault-diverted"] = (request, request.url)  # type: ignore[attr-defined]
    request.url = _NOWHERE


def _restore(context: dict[str, Any], **_: Any) -> None:
    """After the attempt (``response-received``): the request goes to AWS again."""
    diverted = context.pop("fault-diverted", None)
    if diverted is not None:
        request, url = diverted
        request.url = url


class Faults:
    """The faults of one test; all removed at its end."""

    def __init__(self) -> None:
        self.installed: list[tuple[Any, str, Fault]] = []

    def inject(
        self,
        client: Any,
        operation: str,
        answer: Answer,
        *,
        times: int | None = None,
        skip: int = 0,
    ) -> Fault:
        service = client.meta.service_model.service_id.hyphenize()
        event = f"before-send.{service}.{operation}"
        fault = Fault(event, answer, times, skip=skip)
        self.attach(client, fault)
        return fault

    def attach(self, client: Any, fault: Fault) -> None:
        """Install ``fault`` on one more client (it counts across all of them)."""
        client.meta.events.register_first(fault.event, fault, unique_id=f"fault-{id(fault)}")
        received = fault.event.replace("before-send.", "response-received.", 1)
        client.meta.events.register_last(received, _restore, unique_id="fault-restore")
        self.installed.append((client, fault.event, fault))

    @property
    def injected(self) -> int:
        return sum(fault.injected for _, _, fault in self.installed)

    def remove_all(self) -> None:
        for client, event, fault in self.installed:
            client.meta.events.unregister(event, unique_id=f"fault-{id(fault)}")
            received = event.replace("before-send.", "response-received.", 1)
            client.meta.events.unregister(received, unique_id="fault-restore")
        self.installed.clear()
