"""The in-memory backend behind the contract's HTTP routes (status codes, bodies).

Routes are matched from the client's own route table read backwards, so this
checks that the client's requests carry everything the operation needs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from agent_streams_protocol.errors import AgentStreamsError, ValidationError
from agent_streams_protocol.routes import ROUTES

from .fake_backend import FakeBackend

_PATTERNS = [
    (
        route.method,
        re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path) + "$"),
        operation,
    )
    for operation, route in ROUTES.items()
]

#: (success status, body of the direct value) per operation, as the contract says.
_REPLIES: dict[str, tuple[int, Any]] = {
    "create_thread": (201, lambda v, b: v),
    "get_thread": (200, lambda v, b: v),
    "delete_thread": (202, lambda v, b: v),
    "create_stream": (201, lambda v, b: {"streamId": v}),
    "list_streams": (200, lambda v, b: v),
    "list_deltas": (200, lambda v, b: v),
    "abort_streams_by_order": (200, lambda v, b: {"aborted": v}),
    "delete_thread_streams": (204, None),
    "streaming_messages": (200, lambda v, b: v),
    "get_stream": (200, lambda v, b: v),
    "add_delta": (200, lambda v, b: {"accepted": v, "status": b.status_of}),
    "heartbeat_stream": (204, None),
    "finish_stream": (200, lambda v, b: {"status": b.status_of}),
    "abort_stream": (200, lambda v, b: {"aborted": v}),
    "delete_stream": (204, None),
}


def _query_args(operation: str, query: dict[str, list[str]]) -> dict[str, Any]:
    q = {k: v[0] for k, v in query.items()}
    if operation == "list_streams":
        args: dict[str, Any] = {}
        if "startOrder" in q:
            args["startOrder"] = int(q["startOrder"])
        if "statuses" in q:
            args["statuses"] = q["statuses"].split(",")
        return args
    if operation == "list_deltas":
        cursors = []
        for item in filter(None, q.get("cursors", "").split(",")):
            stream_id, _, cursor = item.rpartition(":")
            cursors.append({"streamId": stream_id, "cursor": int(cursor)})
        return {"cursors": cursors}
    if operation == "streaming_messages":
        args = {"order": int(q["order"]), "stepOrder": int(q["stepOrder"]), "status": q["status"]}
        if "error" in q:
            args["error"] = q["error"]
        return args
    return {}


class _Status:
    """Lets a reply body read the stream's status after the call."""

    def __init__(self, backend: FakeBackend, stream_id: str | None) -> None:
        self.backend = backend
        self.stream_id = stream_id

    @property
    def status_of(self) -> str:
        stream = self.backend.streams.get(self.stream_id or "")
        return str(stream["status"]) if stream else "missing"


@contextmanager
def serve(backend: FakeBackend) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            parts = urlsplit(self.path)
            status, reply = self._dispatch(parts.path, parse_qs(parts.query), body)
            data = b"" if reply is None else json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(
            self, path: str, query: dict[str, list[str]], body: dict[str, Any]
        ) -> tuple[int, Any]:
            for method, pattern, operation in _PATTERNS:
                match = pattern.match(path)
                if method != self.command or match is None:
                    continue
                ids = {k: unquote(v) for k, v in match.groupdict().items()}
                try:
                    for key, value in ids.items():
                        if key in body and body[key] != value:
                            raise ValidationError(f"{key} in the body differs from the path")
                    args = {**body, **_query_args(operation, query), **ids}
                    value = backend.invoke(operation, args)
                except AgentStreamsError as exc:
                    if operation == "add_delta" and exc.status == 404:
                        return 404, exc.to_body()
                    return exc.status, exc.to_body()
                status, shape = _REPLIES[operation]
                if shape is None:
                    return status, None
                return status, shape(value, _Status(backend, ids.get("streamId")))
            return 404, {"message": "Not Found"}

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
