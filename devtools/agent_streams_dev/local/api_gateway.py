"""The HTTP API (API Gateway v2, Lambda proxy, payload 2.0) in front of the functions.

Routes, authorizers and integrations come from the template as deployed with the
local stack's parameters. What a client gets back is what an HTTP API answers —
JSON ``{"message": ...}`` for everything API Gateway itself decides:

- no route for the method and path: 404 ``Not Found`` (HTTP API has no 405);
- a route behind the JWT authorizer: 401 ``Unauthorized`` / 403 ``Forbidden``
  (``jwt_authorizer.py``);
- the function failed — raised, timed out (its ``Timeout`` from the template) or
  returned more than Lambda's 6 MB: 500 ``Internal Server Error``. API Gateway treats
  every Lambda function error as an internal error; HTTP APIs answer 500 with this
  body ("Troubleshooting issues with HTTP API Lambda integrations"; a Lambda timeout
  behind an HTTP API is a 500 too, denoland/deno_registry2#87). The 502 of the Lambda
  guide's "Handling Lambda errors with an API Gateway API" (and of the 6 MB failures
  in DataBiosphere/azul#8192, ``INTEGRATION_FAILURE``) is the REST API's answer;
- the function has not answered after the integration timeout (30 s, the HTTP API
  maximum): 503 ``Service Unavailable`` — what HTTP APIs answer when they give up on
  an integration (captured in cortexlabs/cortex#1225, serverless/serverless#11222);
  the function itself runs on until its own timeout, as on AWS. (504 "Endpoint
  request timed out" is the REST API's answer, not the HTTP API's.)
- a reply that is not a valid payload 2.0 response: 500 ``Internal Server Error``;
- a request whose event would not fit Lambda's request limit (smaller than 6,291,456
  bytes: the body is a JSON string in the event, each ``"`` and ``\\`` of a JSON body
  two bytes there), though its body is within API Gateway's 10 MB: 413 ``Request Too
  Long``, no function invoked — the answer captured from an API Gateway in front of
  Lambda in koki-develop/lgtm-generator#10 (AWS documents the limit, not the reply).

CORS (the API's ``CorsConfiguration``: preflights answered, headers added) is the HTTP
server's, which answers it for every resource that has it (``cors.py``).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from agent_streams_dev.local.cors import CorsRules
from agent_streams_dev.local.functions import FunctionError, LocalFunction, LocalFunctions
from agent_streams_dev.local.jwt_authorizer import JwtAuthorizer, Refused
from agent_streams_dev.local.template import RouteSpec, Template
from agent_streams_protocol.limits import LAMBDA_REQUEST_LIMIT_BYTES

log = logging.getLogger(__name__)

#: HTTP APIs end an integration after 30 seconds (not adjustable upwards).
INTEGRATION_TIMEOUT_S = 30.0
JSON_TYPE = "application/json"


@dataclass
class HttpRequest:
    method: str
    #: The path as sent (percent-encoded), without the query string.
    path: str
    query: str
    #: Lower-case names; a repeated header's values joined with commas.
    headers: dict[str, str]
    body: bytes
    source_ip: str


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def message(
        cls, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        return cls.json(status, {"message": message}, headers)

    @classmethod
    def json(
        cls, status: int, value: Any, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        data = b"" if value is None else json.dumps(value, separators=(",", ":")).encode()
        return cls(status, data, [("Content-Type", JSON_TYPE), *(headers or {}).items()])


class Route:
    def __init__(
        self,
        method: str | None,
        path: str | None,
        function: LocalFunction,
        spec: RouteSpec | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.function = function
        self.spec = spec
        self.key = "$default" if method is None else f"{method} {path}"
        self.regex: re.Pattern[str] | None = None
        if path is not None:
            pattern = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", pattern)
            self.regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sorts routes as HTTP API picks among matches: exact method before ANY, then
        more literal segments, then no greedy variable."""
        if self.path is None:
            return (0, 0, 0)
        literal = sum(1 for s in self.path.split("/") if s and not s.startswith("{"))
        return (int(self.method != "ANY"), literal, int("+}" not in self.path))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (None, "ANY", method):
            return None
        if self.regex is None:
            return {}
        found = self.regex.match(path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


def build_event(
    route: Route,
    method: str,
    raw_path: str,
    raw_query: str,
    path_parameters: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event API Gateway hands the function."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        # API Gateway joins a repeated parameter's values with commas.
        query[key] = f"{query[key]},{value}" if key in query else value
    headers = dict(headers)
    cookies = headers.pop("cookie", None)
    now = time.time()
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": headers.get("host", "localhost"),
        "domainPrefix": headers.get("host", "localhost").split(".")[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route.key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = [c.strip() for c in cookies.split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def event_bytes(event: dict[str, Any]) -> int:
    """The event's size as Lambda counts a request: its JSON, compact, in UTF-8 (the
    smallest it can be sent as, so a request refused here is refused by AWS too)."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))


def proxy_response(payload: bytes) -> HttpResponse:
    """The client's response for a function's payload 2.0 reply (the bytes Lambda returned)."""
    reply = json.loads(payload)
    if not (isinstance(reply, dict) and "statusCode" in reply):
        # Valid JSON without a statusCode: API Gateway assumes 200 and sends it all as JSON.
        return HttpResponse(200, payload, [("Content-Type", JSON_TYPE)])
    status, body, headers = reply.get("statusCode"), reply.get("body"), reply.get("headers") or {}
    if (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not 100 <= status <= 599
        or not isinstance(headers, dict)
        or (body is not None and not isinstance(body, str))
    ):
        raise ValueError(f"not a payload 2.0 response: {str(reply)[:200]}")
    data = b""
    if body is not None:
        data = base64.b64decode(body) if reply.get("isBase64Encoded") else body.encode("utf-8")
    pairs = [(str(k), str(v)) for k, v in headers.items()]
    if not any(k.lower() == "content-type" for k, _ in pairs) and data:
        pairs.append(("Content-Type", JSON_TYPE))
    pairs += [("Set-Cookie", str(c)) for c in reply.get("cookies") or ()]
    return HttpResponse(status, data, pairs)


class HttpApi:
    """The deployed HTTP API: routes matched, authorized and integrated."""

    def __init__(
        self,
        template: Template,
        functions: LocalFunctions,
        *,
        parameters: Mapping[str, str] | None = None,
        now_s: Callable[[], float] = time.time,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
    ) -> None:
        by_logical_id = {f.spec.logical_id: f for f in functions.by_operation.values()}
        self.routes = sorted(
            (
                Route(spec.method, spec.path, by_logical_id[spec.function_id], spec)
                for spec in template.route_specs(parameters)
            ),
            key=lambda r: r.specificity,
            reverse=True,
        )
        self.authorizers = {
            logical_id: JwtAuthorizer(spec, now_s)
            for logical_id, spec in template.jwt_authorizers(parameters).items()
        }
        self.integration_timeout_s = integration_timeout_s
        config = template.http_api_cors(parameters)
        #: The API's ``CorsConfiguration``: the HTTP server answers it (``cors.py``).
        self.cors = None if config is None else CorsRules.http_api(config)

    def jwt_routes(self) -> list[str]:
        return [r.key for r in self.routes if r.spec and r.spec.authorization_type == "JWT"]

    def handle(self, request: HttpRequest) -> HttpResponse:
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is not None:
                return self._serve(route, params, request)
        return HttpResponse.message(404, "Not Found")

    def _serve(self, route: Route, params: dict[str, str], request: HttpRequest) -> HttpResponse:
        authorizer = None
        spec = route.spec
        if spec is not None and spec.authorization_type == "JWT":
            jwt = self.authorizers.get(spec.authorizer_id or "")
            if jwt is None:
                log.error(
                    "%s names authorizer %s, which is not deployed", route.key, spec.authorizer_id
                )
                return HttpResponse.message(500, "Internal Server Error")
            try:
                authorizer = jwt.authorize(request.headers, spec.scopes).request_context()
            except Refused as refused:
                return HttpResponse.message(refused.status, refused.message, refused.headers)
        event = build_event(
            route,
            request.method,
            request.path,
            request.query,
            params,
            request.headers,
            request.body,
            request.source_ip,
            authorizer,
        )
        # Only a body of a third of the limit or more can make an event that large (at
        # most twice the body, and API Gateway's 10,240 bytes of request line and headers).
        if len(request.body) >= LAMBDA_REQUEST_LIMIT_BYTES // 3 and event_bytes(event) >= (
            LAMBDA_REQUEST_LIMIT_BYTES
        ):
            return HttpResponse.message(413, "Request Too Long")
        return self.integrate(route.function, event)

    def integrate(self, function: LocalFunction, event: dict[str, Any]) -> HttpResponse:
        invocation = function.start(event)
        gateway_gives_up = time.monotonic() + self.integration_timeout_s
        answered = invocation.wait(min(gateway_gives_up, invocation.deadline) - time.monotonic())
        if not answered and time.monotonic() < invocation.deadline:
            # API Gateway gave up first; the function runs on until its own timeout.
            log.error("%s did not answer within %ss", function.name, self.integration_timeout_s)
            return HttpResponse.message(503, "Service Unavailable")
        try:
            return proxy_response(invocation.payload())
        except FunctionError as error:
            log.error(
                "%s failed: %s: %s",
                function.name,
                error.error_type,
                error.payload.get("errorMessage"),
            )
        except (ValueError, TypeError) as exc:
            log.error("%s returned a malformed response: %s", function.name, exc)
        return HttpResponse.message(500, "Internal Server Error")
