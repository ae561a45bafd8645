"""The HTTP API on localhost, as API Gateway's HTTP API (payload 2.0) would serve it:
each route of the template goes to its function; a function's own error is a
500 ``{"message": "Internal Server Error"}``, an unknown route a 404."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from agent_streams_dev.local.asgi import AsgiBridge
from agent_streams_dev.local.functions import FunctionError, LocalFunction, LocalFunctions

log = logging.getLogger(__name__)

#: API Gateway's own limit on a request payload.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


class Route:
    def __init__(self, method: str, path: str, function: LocalFunction) -> None:
        self.method = method
        self.path = path
        self.function = function
        pattern = re.sub(
            r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
        )
        self.regex = re.compile(f"^{pattern}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.regex.match(path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


#: Extra endpoints of the local stack: (method, path) -> handler(body) -> (status, reply).
LocalEndpoints = dict[tuple[str, str], Callable[[Any], tuple[int, Any]]]


def build_event(
    route: Route,
    method: str,
    raw_path: str,
    raw_query: str,
    path_parameters: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        # API Gateway joins a repeated parameter's values with commas.
        query[key] = f"{query[key]},{value}" if key in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{route.method} {route.path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a burst of new connections (a client
    # opening its pool with many threads) overflows it, and the kernel resets some.
    request_queue_size = 128


class LocalHttpServer:
    def __init__(
        self,
        host: str,
        port: int,
        functions: LocalFunctions,
        endpoints: LocalEndpoints,
        live: AsgiBridge | None = None,
    ) -> None:
        self.routes = [
            Route(f.spec.method, f.spec.path, f)
            for f in functions.by_operation.values()
            if f.spec.method and f.spec.path
        ]
        self.endpoints = endpoints
        #: The live reads (SSE), served by the stream_events function's ASGI app.
        self.live = live
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle holds the body
            # back until the client acknowledges the headers (a delayed ACK, ~40 ms).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(format, *args)

            def do_GET(self) -> None:
                server._handle(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

        self._httpd = _Server((host, port), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="agent-streams-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        method = request.command
        split = urlsplit(request.path)
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            request.rfile.read(length)
            self._send(request, 413, {"message": "Request Entity Too Large"})
            return
        body = request.rfile.read(length) if length else b""
        if self.live is not None and self.live.handles(split.path):
            self.live.serve(request, body)
            return
        endpoint = self.endpoints.get((method, split.path))
        if endpoint is not None:
            try:
                payload = json.loads(body) if body else {}
                status, reply = endpoint(payload)
            except (ValueError, TypeError) as exc:
                status, reply = 400, {"message": str(exc)}
            self._send(request, status, reply)
            return
        for route in self.routes:
            params = route.match(method, split.path)
            if params is None:
                continue
            headers = {k.lower(): v for k, v in request.headers.items()}
            event = build_event(
                route,
                method,
                split.path,
                split.query,
                params,
                headers,
                body,
                request.client_address[0],
            )
            try:
                response = route.function.invoke(event)
            except FunctionError as error:
                log.error("%s failed: %s", route.function.name, error.payload.get("errorMessage"))
                self._send(request, 500, {"message": "Internal Server Error"})
                return
            self._send_lambda_response(request, response)
            return
        self._send(request, 404, {"message": "Not Found"})

    def _send(self, request: BaseHTTPRequestHandler, status: int, reply: Any) -> None:
        data = b"" if reply is None else json.dumps(reply).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _send_lambda_response(
        self, request: BaseHTTPRequestHandler, response: dict[str, Any]
    ) -> None:
        status = int(response.get("statusCode", 200))
        body = response.get("body")
        data = b""
        if body is not None:
            data = (
                base64.b64decode(body)
                if response.get("isBase64Encoded")
                else str(body).encode("utf-8")
            )
        request.send_response(status)
        for key, value in (response.get("headers") or {}).items():
            request.send_header(key, str(value))
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
