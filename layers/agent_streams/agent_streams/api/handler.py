"""The Lambda handler every function gets: HTTP and direct invoke, observed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
from agent_streams.observability import logger, metrics, tracer
from agent_streams.service.context import (
    SAFETY_MARGIN_SECONDS,
    Deadline,
    reset_caller,
    set_caller,
    set_deadline,
)
from agent_streams_protocol.errors import AgentStreamsError, ServiceUnavailable
from agent_streams_protocol.limits import MAX_REPLY_BYTES

LambdaHandler = Callable[[dict[str, Any], Any], Any]


def _deadline(context: Any) -> Deadline | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return Deadline.after(max(0.0, remaining() / 1000 - SAFETY_MARGIN_SECONDS))


def serve_direct(operation: Operation[Any, Any], event: Any) -> Any:
    """A direct invoke: the event is the arguments; errors raise the contract's exceptions."""
    args = parse_arguments(operation.arguments, event)
    payload, size = direct_reply(operation.direct(operation.run(args)))
    if size > MAX_REPLY_BYTES:
        raise too_large(operation.name, size, operation.too_large_hint)
    return payload


def serve_http(operation: Operation[Any, Any], event: dict[str, Any]) -> dict[str, Any]:
    served = operation.http
    if served is None:
        return error_reply(ServiceUnavailable(f"{operation.name} is not served over HTTP"))
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
        if error.status >= 500:
            logger.warning("operation failed", extra={"error": error.code, "detail": error.message})
        return error_reply(error)
    except Exception:
        logger.exception("unexpected failure")
        return internal_error_reply()
    finally:
        if caller is not None:
            reset_caller(caller)


def lambda_handler(operation: Operation[Any, Any]) -> LambdaHandler:
    # Validators are built when first needed: this function's own is built now, at import
    # (what the first invocation would otherwise pay), and no other operation's.
    adapter(operation.arguments)

    def handle(event: dict[str, Any], context: Any) -> Any:
        token = set_deadline(_deadline(context))
        try:
            if is_http_event(event):
                return serve_http(operation, event)
            return serve_direct(operation, event)
        finally:
            set_deadline(None)
            del token

    observed = logger.inject_lambda_context(clear_state=True)(
        metrics.log_metrics(tracer.capture_lambda_handler(handle))
    )
    observed.operation = operation  # type: ignore[attr-defined]
    return observed
