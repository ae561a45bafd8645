"""Lambda's Invoke API on the local stack's port.

``POST /2015-03-31/functions/{FunctionName}/invocations`` is what every AWS SDK sends
for ``Invoke``; pointed at the local stack (``endpoint_url``), boto3, the AWS SDK for
JavaScript or any other SDK invokes the stack's functions as it would in AWS. The
invocation takes the one path the HTTP routes, the schedules and the state machine
take (``LocalFunction.start``, ``invocations.py``: a thread of its own, the function's
``Timeout``, the runtime's serialisation and 6 MB reply), with this request's id and
invoked ARN in its context, and answers as Lambda does:

- ``RequestResponse`` (the default): 200, the function's return value as the runtime
  serialises it, header ``X-Amz-Executed-Version: $LATEST``; a function error is still
  a 200, with ``X-Amz-Function-Error: Unhandled`` and its payload: an exception's
  ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` (the python3.13
  runtime's), ``Runtime.MarshalError``, ``Function.ResponseSizeTooLarge`` over 6 MB,
  ``Sandbox.Timedout`` past the function's ``Timeout``.
- ``Event``: 202 at once, the function run in the background (no retries).
- ``DryRun``: 204, nothing run.
- ``X-Amz-Log-Type: Tail``: ``X-Amz-Log-Result``, the last 4 KB of the invocation's log
  (START/END/REPORT, the records of the functions' Powertools logger, the runtime's
  ``[ERROR]`` block), base64.
- Service errors as Lambda sends them (status, ``x-amzn-ErrorType``, JSON body):
  ``ResourceNotFoundException`` (404), ``RequestEntityTooLargeException`` (413),
  ``InvalidRequestContentException`` (400), ``InvalidParameterValueException`` (400),
  ``ValidationException`` (400).

``FunctionName`` may be the deployed name (``<stack>-<operation>``), the template's
logical id (``CreateThreadFunction``, as ``sam local`` accepts it), a full ARN or a
partial one (``<account>:function:<name>``), with an optional ``:$LATEST`` qualifier
(or ``?Qualifier=$LATEST``). Versions and aliases other than ``$LATEST`` do not exist
here: they are ``ResourceNotFoundException``, as an unpublished version is in AWS.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from agent_streams_dev.local.api_gateway import HttpRequest, HttpResponse
from agent_streams_dev.local.functions import (
    ACCOUNT_ID,
    FunctionError,
    LocalFunction,
    LocalFunctions,
    LocalLambdaContext,
)
from agent_streams_dev.local.lambda_log import LATEST, TailHandler, invocation_log

log = logging.getLogger(__name__)

#: Every request under this path is Lambda's API (the HTTP server hands it over whole).
PATH_PREFIX = "/2015-03-31/"
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")

#: Lambda's quotas: a synchronous payload "must be smaller than 6291456 bytes", an
#: asynchronous one 1 MB. (The reply's 6 MB is the invocation's: ``invocations.py``.)
MAX_REQUEST_BYTES = 6 * 1024 * 1024
MAX_EVENT_REQUEST_BYTES = 1024 * 1024

#: The service model's patterns (botocore's ``NamespacedFunctionName`` and qualifier).
_FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_FUNCTION_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?"
    r"((?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}):)?"
    r"((?P<account>\d{12}):)?(function:)?(?P<name>[a-zA-Z0-9-_\.]+)"
    r"(:(?P<qualifier>\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_QUALIFIER_PATTERN = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"
_INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")
_LOG_TYPES = ("None", "Tail")


@dataclass(frozen=True)
class InvokeReply:
    status: int
    headers: dict[str, str]
    body: bytes = b""


class LambdaServiceError(Exception):
    """An error of the Lambda service itself (not of the function): an HTTP error status,
    ``x-amzn-ErrorType`` and a JSON body, as botocore and the JavaScript SDK parse them."""

    def __init__(
        self, status: int, code: str, message: str, *, message_key: str = "message"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body: dict[str, str] = {"Type": "User", message_key: message}


def _request_too_large() -> LambdaServiceError:
    # The code Lambda sends (SDK users report it; botocore's model names the error
    # RequestTooLargeException, so botocore raises a plain ClientError).
    return LambdaServiceError(
        413,
        "RequestEntityTooLargeException",
        f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation",
    )


def _not_found(arn: str) -> LambdaServiceError:
    return LambdaServiceError(
        404, "ResourceNotFoundException", f"Function not found: {arn}", message_key="Message"
    )


def _validation_error(problems: list[str]) -> LambdaServiceError:
    count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''}"
    error = LambdaServiceError(
        400, "ValidationException", f"{count} detected: {'; '.join(problems)}"
    )
    error.body.pop("Type")
    return error


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_payload(body: bytes) -> Any:
    """The event: the payload as JSON (none at all is ``{}``, as in Lambda)."""
    if not body:
        return {}
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LambdaServiceError(
            400,
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {exc}",
        ) from None


# -- the API ----------------------------------------------------------------------------------


class LambdaInvokeApi:
    """Serves ``Invoke`` for a stack's functions (``handle`` and ``refusal`` are mounted
    on the HTTP server at :data:`PATH_PREFIX`)."""

    def __init__(
        self, functions: LocalFunctions, *, region: str, account_id: str = ACCOUNT_ID
    ) -> None:
        self.region = region
        self.account_id = account_id
        self._functions = functions
        self._events: set[threading.Thread] = set()
        self._events_lock = threading.Lock()
        self._log_handlers: list[tuple[logging.Logger, TailHandler]] = []

    # -- life ---------------------------------------------------------------------------

    def install_log_capture(self, service_logger: str) -> None:
        """Start copying the functions' log records for ``Tail`` (once they are loaded)."""
        logger = logging.getLogger(service_logger)
        handler = TailHandler(logger)
        logger.addHandler(handler)
        self._log_handlers.append((logger, handler))

    def wait_for_events(self, timeout: float = 30.0) -> bool:
        """Wait until the ``Event`` invocations started so far have finished."""
        deadline = time.monotonic() + timeout
        with self._events_lock:
            running = list(self._events)
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in running)

    def close(self) -> None:
        self.wait_for_events(timeout=5.0)
        for logger, handler in self._log_handlers:
            logger.removeHandler(handler)
        self._log_handlers.clear()

    # -- HTTP -----------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Lambda's reply to one request under :data:`PATH_PREFIX`, as mounted on the
        local stack's HTTP server (which has read the body whole, a chunked one too)."""
        if len(request.body) > MAX_REQUEST_BYTES:
            reply = self._error_reply(_request_too_large())
        else:
            reply = self.serve(
                request.method, request.path, request.query, request.headers, request.body
            )
        return HttpResponse(reply.status, reply.body, list(reply.headers.items()))

    def refusal(self, status: int) -> HttpResponse | None:
        """Lambda's answer to a request the HTTP server refused before reading it whole:
        a body over the server's own 10 MB is over Lambda's 6 MB too. Other refusals
        keep the server's answer."""
        if status != 413:
            return None
        reply = self._error_reply(_request_too_large())
        return HttpResponse(reply.status, reply.body, list(reply.headers.items()))

    # -- the API --------------------------------------------------------------------------

    def serve(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> InvokeReply:
        """Lambda's reply to one request (``headers`` with lower-case names)."""
        request_id = str(uuid.uuid4())
        try:
            found = _INVOKE_PATH.match(path)
            if method != "POST" or found is None:
                raise LambdaServiceError(
                    404,
                    "UnknownOperationException",
                    "the local stack serves Lambda's Invoke only: "
                    "POST /2015-03-31/functions/{FunctionName}/invocations",
                )
            params = dict(parse_qsl(query, keep_blank_values=True))
            invocation_type = headers.get("x-amz-invocation-type") or "RequestResponse"
            log_type = headers.get("x-amz-log-type") or "None"
            function, invoked_arn = self._resolve(
                unquote(found.group("name")), params.get("Qualifier"), invocation_type, log_type
            )
            if invocation_type == "Event" and len(body) > MAX_EVENT_REQUEST_BYTES:
                raise LambdaServiceError(
                    413,
                    "RequestEntityTooLargeException",
                    f"{len(body)} byte payload is too large for the Event invocation type "
                    f"(limit {MAX_EVENT_REQUEST_BYTES} bytes)",
                )
            event = parse_payload(body)
        except LambdaServiceError as error:
            return self._error_reply(error, request_id)
        context = function.context(invoked_arn, request_id)
        if invocation_type == "DryRun":
            return InvokeReply(204, {"x-amzn-RequestId": request_id})
        if invocation_type == "Event":
            self._start_event(function, event, context)
            return InvokeReply(202, {"x-amzn-RequestId": request_id})
        return self._invoke(function, event, context, tail=log_type == "Tail")

    def _resolve(
        self, name: str, query_qualifier: str | None, invocation_type: str, log_type: str
    ) -> tuple[LocalFunction, str]:
        problems = []
        parsed = _FUNCTION_NAME.fullmatch(name)
        if parsed is None:
            problems.append(
                f"Value '{name}' at 'functionName' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {_FUNCTION_NAME_PATTERN}"
            )
        elif len(name) > 256:
            problems.append(
                f"Value '{name}' at 'functionName' failed to satisfy constraint: "
                "Member must have length less than or equal to 256"
            )
        if query_qualifier is not None and (
            not 1 <= len(query_qualifier) <= 128
            or not re.fullmatch(_QUALIFIER_PATTERN, query_qualifier)
        ):
            problems.append(
                f"Value '{query_qualifier}' at 'qualifier' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {_QUALIFIER_PATTERN}"
            )
        for value, member, allowed in (
            (invocation_type, "invocationType", _INVOCATION_TYPES),
            (log_type, "logType", _LOG_TYPES),
        ):
            if value not in allowed:
                problems.append(
                    f"Value '{value}' at '{member}' failed to satisfy constraint: "
                    f"Member must satisfy enum value set: [{', '.join(allowed)}]"
                )
        if problems or parsed is None:
            raise _validation_error(problems)
        name_qualifier = parsed.group("qualifier")
        if query_qualifier and name_qualifier and query_qualifier != name_qualifier:
            raise LambdaServiceError(
                400,
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            )
        region = parsed.group("region")
        if region and region != self.region:
            raise LambdaServiceError(
                404,
                "ResourceNotFoundException",
                f"Functions from '{region}' are not reachable in this region ('{self.region}')",
                message_key="Message",
            )
        qualifier = query_qualifier or name_qualifier
        account = parsed.group("account") or self.account_id
        function = self._find(parsed.group("name"))
        if function is None or account != self.account_id or qualifier not in (None, LATEST):
            arn = f"arn:aws:lambda:{self.region}:{account}:function:{parsed.group('name')}"
            raise _not_found(f"{arn}:{qualifier or LATEST}")
        return function, function.arn + (f":{qualifier}" if qualifier else "")

    def _find(self, name: str) -> LocalFunction | None:
        """By deployed name, else by logical id (looked up now: a test may add functions)."""
        functions = list(self._functions.by_operation.values())
        return next((f for f in functions if f.name == name), None) or next(
            (f for f in functions if f.spec.logical_id == name), None
        )

    def _invoke(
        self, function: LocalFunction, event: Any, context: LocalLambdaContext, *, tail: bool
    ) -> InvokeReply:
        request_id = context.aws_request_id
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Executed-Version": LATEST,
            "x-amzn-RequestId": request_id,
        }
        lines: list[str] | None = [] if tail else None
        invocation = function.start(event, context, log_lines=lines)
        error: dict[str, Any] | None = None
        try:
            payload = invocation.payload()
        except FunctionError as failed:
            error = failed.payload
            log.info("%s: %s: %s", function.name, error["errorType"], error["errorMessage"])
            headers["X-Amz-Function-Error"] = "Unhandled"
            payload = json.dumps(error, ensure_ascii=False).encode("utf-8")
        if lines is not None:
            headers["X-Amz-Log-Result"] = invocation_log(
                request_id,
                list(lines),  # a handler past its timeout may still be logging
                error,
                invocation.elapsed_ms(),
                context.memory_limit_in_mb,
            )
        return InvokeReply(200, headers, payload)

    def _start_event(
        self, function: LocalFunction, event: Any, context: LocalLambdaContext
    ) -> None:
        invocation = function.start(event, context)

        def settle() -> None:
            try:
                invocation.payload()
            except FunctionError as error:
                # Lambda would retry twice and then drop it (or send it to a destination).
                log.warning(
                    "%s (Event %s): %s: %s",
                    function.name,
                    context.aws_request_id,
                    error.payload["errorType"],
                    error.payload["errorMessage"],
                )
            finally:
                with self._events_lock:
                    self._events.discard(thread)

        thread = threading.Thread(target=settle, name=f"lambda-event-{function.name}", daemon=True)
        with self._events_lock:
            self._events.add(thread)
        thread.start()

    def _error_reply(self, error: LambdaServiceError, request_id: str | None = None) -> InvokeReply:
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": request_id or str(uuid.uuid4()),
            "x-amzn-ErrorType": error.code,
        }
        return InvokeReply(error.status, headers, json.dumps(error.body).encode("utf-8"))
