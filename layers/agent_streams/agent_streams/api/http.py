"""The API Gateway HTTP API (payload v2) side of a function: event in, reply out.

The HTTP API already routes each route to its own function, so no router is
needed here: the event's path parameters, query string (read as the route declares,
``agent_streams_protocol.routes``) and body are merged into the operation's
arguments, which are then validated exactly as a direct invoke's are.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from agent_streams.api.operation import Reply
from agent_streams.json_text import escape_lone_surrogates, has_lone_surrogates
from agent_streams_protocol.errors import (
    AgentStreamsError,
    DeltaTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
)
from agent_streams_protocol.limits import LAMBDA_REQUEST_LIMIT_BYTES, MAX_DELTA_PARTS_BYTES
from agent_streams_protocol.routes import Route

#: What an HTTP API event adds around its body, generously: the request line and headers
#: (API Gateway takes at most 10,240 bytes of them), each escaped at most twice over, and
#: the request context with a JWT's claims.
EVENT_OVERHEAD_BYTES = 64 * 1024
#: Largest request body accepted: 3,112,960 bytes. API Gateway takes 10 MB, but the event
#: it invokes the function with must be smaller than Lambda's 6 MB request limit, and the
#: body is a JSON string in it (each ``"``, ``\\`` and escaped whitespace of a JSON body
#: takes two bytes): a body this size always reaches the function, and holds a delta of
#: MAX_DELTA_PARTS_BYTES (``tests/unit/test_spill_limits.py``).
MAX_BODY_BYTES = (LAMBDA_REQUEST_LIMIT_BYTES - EVENT_OVERHEAD_BYTES) // 2
JSON_HEADERS = {"Content-Type": "application/json"}


def jwt_subject(event: dict[str, Any]) -> str | None:
    """The subject of the JWT that API Gateway's JWT authorizer verified.

    None when the request did not come through a JWT authorizer (IAM, a route without
    authorization). It fails closed: a request the JWT authorizer let through
    (``requestContext.authorizer.jwt`` is there) without a non-empty string ``sub`` is
    refused, never taken for an IAM caller, who may read every thread.
    """
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    if not isinstance(authorizer, dict) or "jwt" not in authorizer:
        return None
    jwt = authorizer["jwt"]
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(subject, str) or not subject:
        raise Unauthorized(
            "the token has no subject: a JWT caller is known by its 'sub' claim, "
            "which must be a non-empty string"
        )
    return subject


def is_http_event(event: Any) -> bool:
    return isinstance(event, dict) and "requestContext" in event and "routeKey" in event


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:32]} is out of range")
    return value


def parse_json(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no numbers that overflow to infinity."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValidationError("body is nested too deeply") from None
    except ValueError as exc:
        raise ValidationError(f"body is not valid JSON: {exc}") from None


def _body(event: dict[str, Any], route: Route[Any, Any]) -> dict[str, Any]:
    raw = event.get("body")
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise ValidationError("body must be text")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("body is not valid base64") from None
    else:
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("body is not valid UTF-8") from None
    if len(data) > MAX_BODY_BYTES:
        if route.carries_delta:
            raise DeltaTooLarge(
                len(data),
                MAX_BODY_BYTES,
                f"body is {len(data)} bytes, over the {MAX_BODY_BYTES}-byte limit; a delta's "
                f"parts may be at most {MAX_DELTA_PARTS_BYTES} bytes of compact JSON",
            )
        raise ValidationError(f"body is {len(data)} bytes, over the {MAX_BODY_BYTES}-byte limit")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ValidationError(f"Content-Type must be application/json, not {content_type!r}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("body is not valid UTF-8") from None
    body = parse_json(text)
    if not isinstance(body, dict):
        raise ValidationError("body must be a JSON object")
    return body


def http_arguments(event: dict[str, Any], route: Route[Any, Any]) -> dict[str, Any]:
    """The operation's arguments from the path, the query string and the body."""
    args = _body(event, route)
    for name, text in (event.get("queryStringParameters") or {}).items():
        spec = route.query.get(name)
        if spec is None:
            known = ", ".join(route.query) or "none"
            raise ValidationError(f"unknown query parameter {name!r} (known: {known})")
        try:
            args[name] = spec.codec.parse(text)
        except ValueError as exc:
            raise ValidationError(f"query parameter {name}: {exc}") from None
    for name, spec in route.query.items():
        if spec.required and name not in args:
            raise ValidationError(f"query parameter {name} is required")
    for name, value in (event.get("pathParameters") or {}).items():
        if name in args and args[name] != value:
            raise ValidationError(
                f"the body names {name} {args[name]!r}, but the path names {value!r}"
            )
        args[name] = value
    return args


def respond(reply: Reply) -> dict[str, Any]:
    response: dict[str, Any] = {"statusCode": reply.status, "isBase64Encoded": False}
    body: str | None = None
    if reply.raw_body is not None:
        body = reply.raw_body
    elif reply.body is not None or reply.status != 204:
        body = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False)
    if body is not None:
        response["headers"] = dict(JSON_HEADERS)
        # Half a character (a lone surrogate) cannot be sent as UTF-8: as an escape,
        # it is the same JSON string (json_text).
        response["body"] = escape_lone_surrogates(body) if has_lone_surrogates(body) else body
    return response


def error_reply(error: AgentStreamsError) -> dict[str, Any]:
    response = respond(Reply(error.status, error.to_body()))
    if isinstance(error, ServiceUnavailable):
        # RFC 9110: how long to wait before the same request (it is safe to repeat).
        response["headers"]["Retry-After"] = str(error.retry_after)
    return response


def internal_error_reply() -> dict[str, Any]:
    return respond(Reply(500, {"error": "InternalError", "message": "internal error"}))
