"""A stand-in API Gateway (HTTP API, payload 2.0) in front of the real handlers, on localhost.

It routes each request by the protocol's route table, builds the event API Gateway
would (path parameters split out, query string decoded), calls the operation's
handler and answers with its reply. Routing only: every rule is the handler's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agent_streams_protocol.routes import ROUTES
from tests.helpers import Api, load_function

_ROUTES = [(route.method, route.path, operation) for operation, route in ROUTES.items()]


def _match(method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    for route_method, template, operation in _ROUTES:
        if route_method != method:
            continue
        want = template.strip("/").split("/")
        got = path.strip("/").split("/")
        if len(want) != len(got):
            continue
        params: dict[str, str] = {}
        for w, g in zip(want, got, strict=True):
            if w.startswith("{"):
                params[w[1:-1]] = g
            elif w != g:
                break
        else:
            return operation, template, params
    return None


@contextmanager
def gateway(api: Api) -> Iterator[str]:
    """A stand-in API Gateway in front of the handlers."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else None
            parts = urlsplit(self.path)
            found = _match(self.command, parts.path)
            headers: dict[str, str] = {}
            if found is None:
                status, body = 404, json.dumps({"message": "Not Found"})
            else:
                operation, template, params = found
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                event = {
                    "version": "2.0",
                    "routeKey": f"{self.command} {template}",
                    "rawPath": parts.path,
                    "rawQueryString": parts.query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "queryStringParameters": query or None,
                    "pathParameters": params or None,
                    "requestContext": {
                        "http": {"method": self.command, "path": parts.path},
                        "requestId": "r",
                        "routeKey": f"{self.command} {template}",
                    },
                    "body": raw,
                    "isBase64Encoded": False,
                }
                response = load_function(operation).handler(event, api.context)
                status, body = response["statusCode"], response.get("body")
                headers = response.get("headers") or {}
            data = (body or "").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if "Retry-After" in headers:
                self.send_header("Retry-After", headers["Retry-After"])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
