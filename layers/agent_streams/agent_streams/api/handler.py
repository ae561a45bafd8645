"""The Lambda handler every function gets: HTTP and direct invoke, observed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from agent_streams import heap
from agent_streams.api.http import (
    error_reply,
    http_arguments,
    internal_error_reply,
    is_http_event,
    jwt_subject,
    respond,
)
from agent_streams.api.operation import Operation
from agent_streams.api.reply_limit import direct_reply, http_reply_bytes, too_large
from agent_streams.api.validation import adapter, parse_arguments
from agent_streams.config import ConfigurationError, get_settings
from agent_streams.deadline import SAFETY_MARGIN_SECONDS, Deadline, set_deadline
from agent_streams.observability import (
    capture_lambda_handler,
    count,
    logger,
    metrics,
    use_stack_dimension,
)
from agent_streams.service.context import reset_caller, set_caller
from agent_streams_protocol.errors import AgentStreamsError, ServiceUnavailable
from agent_streams_protocol.limits import MAX_REPLY_BYTES

#: Where the HTTP API's event carries its request id (Powertools'
#: ``correlation_paths.API_GATEWAY_HTTP``, spelled out: that module is not imported).
HTTP_REQUEST_ID = "requestContext.requestId"

LambdaHandler = Callable[[dict[str, Any], Any], Any]


def _deadline(context: Any) -> Deadline | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return Deadline.after(max(0.0, remaining() / 1000 - SAFETY_MARGIN_SECONDS))


def serve_direct(operation: Operation[Any, Any], event: Any) -> Any:
    """A direct invoke: the event is the arguments; errors raise the contract's exceptions."""
    args = parse_arguments(operation.arguments, event)
    try:
        payload, size = direct_reply(operation.direct(operation.run(args)))
    except ServiceUnavailable:
        count("ServiceUnavailable")
        raise
    if size > MAX_REPLY_BYTES:
        raise too_large(operation.name, size, operation.too_large_hint)
    return payload


def _error(error: AgentStreamsError) -> dict[str, Any]:
    """The HTTP reply of a contract error (every one goes through here)."""
    if error.status >= 500:
        logger.warning("operation failed", extra={"error": error.code, "detail": error.message})
    if isinstance(error, ServiceUnavailable):
        count("ServiceUnavailable")
    return error_reply(error)


def serve_http(operation: Operation[Any, Any], event: dict[str, Any]) -> dict[str, Any]:
    served = operation.http
    if served is None:
        return _error(ServiceUnavailable(f"{operation.name} is not served over HTTP"))
    caller = None
    try:
        caller = set_caller(jwt_subject(event))
        args = parse_arguments(operation.arguments, http_arguments(event, served.route))
        response = respond(served.answer(operation.run(args)))
        size = http_reply_bytes(response)
        if size > MAX_REPLY_BYTES:
            raise too_large(operation.name, size, operation.too_large_hint)
        return response
    except AgentStreamsError as error:
        return _error(error)
    except Exception:
        logger.exception("unexpected failure")
        return internal_error_reply()
    finally:
        if caller is not None:
            reset_caller(caller)


def _start_process() -> None:
    """What the process's first invocation does before its work."""
    heap.suspend()  # until the AWS SDK has loaded (see agent_streams.heap)
    with contextlib.suppress(ConfigurationError):  # the operation reports it, as a reply
        use_stack_dimension(get_settings().stack_name)


def lambda_handler(operation: Operation[Any, Any]) -> LambdaHandler:
    # Validators are built when first needed: this function's own is built now, at import
    # (what the first invocation would otherwise pay), and no other operation's.
    adapter(operation.arguments)

    first = True

    def serve(event: dict[str, Any], context: Any) -> Any:
        if logger.get_correlation_id() is None:
            # A direct invoke has no API Gateway request id: Lambda's own stands in.
            logger.set_correlation_id(getattr(context, "aws_request_id", None))
        token = set_deadline(_deadline(context))
        try:
            if is_http_event(event):
                return serve_http(operation, event)
            return serve_direct(operation, event)
        finally:
            set_deadline(None)
            del token

    def handle(event: dict[str, Any], context: Any) -> Any:
        nonlocal first
        starting, first = first, False
        if starting:
            _start_process()
        try:
            return serve(event, context)
        finally:
            if starting:
                heap.resume()  # if no AWS call did

    observed = logger.inject_lambda_context(correlation_id_path=HTTP_REQUEST_ID, clear_state=True)(
        metrics.log_metrics(capture_lambda_handler(handle))
    )
    observed.operation = operation  # type: ignore[attr-defined]
    return observed
