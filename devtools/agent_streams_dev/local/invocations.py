"""One Lambda invocation in this process, held to what Lambda enforces.

- **The reply is what the runtime returns.** The python3.13 runtime (awslambdaric)
  serialises a handler's return value with ``ensure_ascii=False`` and posts it as
  UTF-8; Lambda refuses a synchronous reply over 6,291,556 bytes with the function
  error ``Function.ResponseSizeTooLarge`` ("Response payload size exceeded maximum
  allowed payload size (6291556 bytes)." — the wording AWS reports, e.g. in API
  Gateway access logs quoted in DataBiosphere/azul#8192, and what moto's Lambda
  answers). The caller gets the serialised reply decoded again, never the handler's
  own objects. ``bytes`` are posted as they are; a value it cannot serialise is its
  ``Runtime.MarshalError``.
- **Errors are the runtime's.** An unhandled exception is the runtime's payload
  ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` (``runtime_error``), as
  every caller sees it: the HTTP API, the schedules, the state machine, Lambda's
  Invoke API.
- **The function's ``Timeout``.** Past it the caller gets Lambda's timeout error
  (``Sandbox.Timedout``, "Task timed out after N seconds"). Lambda would freeze the
  sandbox; a thread cannot be killed, so here the invocation is *stopped* where it
  can touch anything: every AWS call it makes after its deadline — from its own
  thread or from threads it handed work to through ``concurrent.futures`` — raises
  :class:`InvocationStopped` before a byte is sent (a botocore ``before-call`` and
  ``before-send`` hook on the runtime's session). A late handler therefore cannot
  write after its caller was told it failed.

What the emulation cannot stop: pure computation and sleeps go on until they end
(the thread is a daemon, so they never hold the process), AWS calls already on the
wire at the deadline complete (as a request already received by DynamoDB would),
and clients made outside the runtime's botocore session are not watched.
"""

from __future__ import annotations

import contextvars
import decimal
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from agent_streams_dev.local import lambda_log

log = logging.getLogger(__name__)

#: Lambda's limit on a synchronous invocation's response payload.
MAX_RESPONSE_BYTES = 6_291_556
RESPONSE_TOO_LARGE = (
    f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
)


class FunctionError(Exception):
    """The invocation failed: Lambda's ``FunctionError: Unhandled`` with its payload
    (``errorType``, ``errorMessage``…), whether the handler raised or Lambda stopped it."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload

    @property
    def error_type(self) -> str:
        return str(self.payload.get("errorType", ""))


class InvocationStopped(BaseException):
    """An AWS call of an invocation that is past its deadline (Lambda would have frozen
    it). A ``BaseException`` so that no ``except Exception`` in the handler retries it."""


@dataclass
class LocalLambdaContext:
    """What a handler sees of Lambda's context object."""

    function_name: str
    timeout_s: int
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    function_version: str = "$LATEST"
    #: ``time.monotonic()`` at which Lambda stops the invocation (default: now + timeout).
    deadline: float = 0.0

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def _decimal(value: Any) -> Any:
    # The runtime writes a Decimal as its digits; an int or float prints the same.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def runtime_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The payload the python3.13 runtime (awslambdaric) returns for an unhandled
    exception: ``errorType`` the class name, ``errorMessage`` its ``str()``, the request
    id, and ``stackTrace`` as ``traceback.format_list`` of the handler's frames."""
    frames = [
        (f.filename, f.lineno or 0, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)
    ]
    # The runtime drops its own leading frames (bootstrap.py); here, the call into the handler.
    while len(frames) > 1 and frames[0][0] == __file__:
        frames.pop(0)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def marshal_response(result: Any, request_id: str = "") -> bytes:
    """The bytes the python3.13 runtime posts for ``result``, or the FunctionError
    Lambda reports instead (not serialisable, not UTF-8, over 6 MB). ``bytes`` go back
    as they are, as the runtime sends them (``application/unknown``)."""
    if isinstance(result, bytes):
        data = result
    else:
        data = _serialise(result, request_id)
    if len(data) > MAX_RESPONSE_BYTES:
        raise FunctionError(
            {"errorType": "Function.ResponseSizeTooLarge", "errorMessage": RESPONSE_TOO_LARGE}
        )
    return data


def _serialise(result: Any, request_id: str) -> bytes:
    try:
        text = json.dumps(result, ensure_ascii=False, default=_decimal)
    except Exception as exc:  # the runtime turns any failure here into a MarshalError
        # The runtime's FaultException, in its make_error shape: no frames.
        raise FunctionError(
            {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
                "requestId": request_id,
                "stackTrace": [],
            }
        ) from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate: the runtime's post of the reply raises outside its own
        # error handling and the runtime process exits.
        raise FunctionError(
            {
                "errorType": "Runtime.ExitError",
                "errorMessage": "Runtime exited with error: exit status 1 "
                f"(the reply is not valid UTF-8: {exc.reason})",
            }
        ) from exc


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "agent_streams_local_invocation", default=None
)


class Invocation:
    """A handler running on its own thread, with Lambda's deadline."""

    def __init__(self, function_name: str, timeout_s: float, context: LocalLambdaContext) -> None:
        self.function_name = function_name
        self.timeout_s = timeout_s
        self.context = context
        self.request_id = context.aws_request_id
        self.deadline = context.deadline
        self._done = threading.Event()
        # The invocation's clock started when its deadline was set (the context's birth).
        self._started_at = self.deadline - timeout_s
        self._finished_at = 0.0
        self._payload: bytes | None = None
        self._error: dict[str, Any] | None = None

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def wait(self, seconds: float) -> bool:
        """Whether the handler returned within ``seconds`` (and within its deadline)."""
        finished = self._done.wait(max(0.0, seconds))
        return finished and self._finished_at <= self.deadline

    def payload(self) -> bytes:
        """The response payload; FunctionError if the invocation failed or timed out
        (call after :meth:`wait` returned, or once the deadline is past)."""
        if not self.wait(self.deadline - time.monotonic()):
            raise FunctionError(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {self.request_id} Error: Task timed out "
                    f"after {self.timeout_s:.2f} seconds",
                }
            )
        if self._error is not None:
            raise FunctionError(self._error)
        assert self._payload is not None
        return self._payload

    def result(self) -> Any:
        return json.loads(self.payload())

    def elapsed_ms(self) -> float:
        """How long the handler ran (so far, if it still runs)."""
        end = self._finished_at if self._done.is_set() else time.monotonic()
        return (end - self._started_at) * 1000

    def _run(
        self, handler: Callable[[Any, Any], Any], event: Any, log_lines: list[str] | None
    ) -> None:
        _current.set(self)
        # The Tail log is captured in the invocation's own context (it runs in a fresh one).
        lambda_log.capture(log_lines)
        try:
            try:
                result = handler(event, self.context)
            except InvocationStopped:
                log.info("%s %s was stopped at its deadline", self.function_name, self.request_id)
                self._error = {"errorType": "Sandbox.Timedout", "errorMessage": "stopped"}
                return
            except Exception as exc:
                self._error = runtime_error(exc, self.request_id)
                return
            self._payload = marshal_response(result, self.request_id)
        except FunctionError as error:
            self._error = error.payload
        finally:
            self._finished_at = time.monotonic()
            self._done.set()


def start(
    function_name: str,
    timeout_s: float,
    handler: Callable[[Any, Any], Any],
    event: Any,
    context: LocalLambdaContext,
    *,
    log_lines: list[str] | None = None,
) -> Invocation:
    """Run ``handler(event, context)`` on a thread of its own, as Lambda would run it;
    with ``log_lines``, the functions' log records of the invocation are appended there
    (``LogType: Tail``, ``lambda_log.py``)."""
    invocation = Invocation(function_name, timeout_s, context)
    # A fresh context: nothing of the caller's leaks into the invocation.
    thread = threading.Thread(
        target=contextvars.Context().run,
        args=(invocation._run, handler, event, log_lines),
        name=f"lambda:{function_name}",
        daemon=True,
    )
    thread.start()
    return invocation


def current() -> Invocation | None:
    """The invocation the calling code runs in (None: outside any)."""
    return _current.get()


# -- the deadline, enforced on the runtime's AWS calls -----------------------------------


def _refuse_after_deadline(**_: Any) -> None:
    invocation = _current.get()
    if invocation is not None and invocation.expired():
        raise InvocationStopped(
            f"{invocation.function_name} {invocation.request_id} is past its deadline: "
            "Lambda stopped it, so this AWS call is never sent"
        )


_GUARD_EVENTS = ("before-call", "before-send")
_GUARD_ID = "agent-streams-local-invocation-deadline"


def guard_aws_calls(events: Any) -> None:
    """Refuse, on this botocore event emitter, every AWS call of an invocation past its
    deadline. Install it before the session makes clients: they copy its handlers."""
    for name in _GUARD_EVENTS:
        events.register_first(name, _refuse_after_deadline, unique_id=_GUARD_ID)


def unguard_aws_calls(events: Any) -> None:
    for name in _GUARD_EVENTS:
        events.unregister(name, unique_id=_GUARD_ID)


# -- work handed to threads stays part of its invocation ---------------------------------

_original_submit = ThreadPoolExecutor.submit
_propagating = 0
_propagation_lock = threading.Lock()


def _submit_in_context(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    return _original_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)


def propagate_invocations(enabled: bool) -> None:
    """While a local stack runs, a task submitted to any ``ThreadPoolExecutor`` runs in
    its submitter's context, so an AWS call a handler makes through a pool (the
    storage layer's concurrent queries) is known to be that invocation's. Counted:
    two stacks in one process keep it on until both stop."""
    global _propagating
    with _propagation_lock:
        _propagating += 1 if enabled else -1
        active = _propagating > 0
        ThreadPoolExecutor.submit = _submit_in_context if active else _original_submit  # type: ignore[method-assign,assignment]
