"""The live reads on the local stack: the function's own ASGI app (``functions/stream_events``)
run for a request of the local HTTP server, each body chunk written to the socket as
the app sends it (chunked), the client's disconnect passed to the app.

The deployed function runs the same app under uvicorn behind the Lambda Web Adapter;
here one event loop per request runs in the HTTP server's request thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import re
import select
import socket
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from agent_streams_dev.local.template import PROJECT_ROOT

#: The paths the app serves (any method: it answers CORS preflights and 404s itself).
LIVE_PATHS = re.compile(r"^/(streams/[^/]+/events|threads/[^/]+/stream)$")
APP_FILE = PROJECT_ROOT / "functions" / "stream_events" / "app.py"


def load_app_module() -> Any:
    """``functions/stream_events/app.py``, loaded once under a name of its own."""
    name = "agent_streams_local_fn_stream_events"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, APP_FILE)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {APP_FILE}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


class AsgiBridge:
    """Serves the live routes of the local HTTP server with an ASGI app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @classmethod
    def live_reads(
        cls,
        *,
        jwt_issuer: str | None = None,
        jwt_audiences: Sequence[str] = (),
        allowed_origins: Sequence[str] = ("*",),
        options: Any = None,
    ) -> AsgiBridge:
        """The function's app as the local stack configures it (no IAM here: with a JWT
        issuer, the JWT mode; otherwise open, like the local HTTP API)."""
        module = load_app_module()
        auth = (
            module.LiveAuth("jwt", jwt_issuer, tuple(jwt_audiences))
            if jwt_issuer
            else module.LiveAuth("none")
        )
        return cls(module.create_app(auth=auth, options=options, allowed_origins=allowed_origins))

    def handles(self, path: str) -> bool:
        return LIVE_PATHS.match(path) is not None

    def serve(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        # The connection is not reused after a live read: the watcher below may have
        # looked at bytes of a next request.
        request.close_connection = True
        with contextlib.suppress(OSError):  # the client went away
            asyncio.run(_Exchange(request, body).run(self.app))


class _Exchange:
    """One request/response between the HTTP server's handler and the app."""

    def __init__(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        self.request = request
        self.body = body
        self.chunked = False
        self.started = False
        self.stop = threading.Event()

    def scope(self) -> dict[str, Any]:
        request = self.request
        split = urlsplit(request.path)
        address: Any = request.server.server_address
        host, port = address[0], address[1]
        return {
            "type": "http",
            # 2.3: the app listens for the disconnect instead of waiting for a failed write.
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.command,
            "scheme": "http",
            "path": split.path,
            "raw_path": split.path.encode(),
            "query_string": split.query.encode(),
            "root_path": "",
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in request.headers.items()
            ],
            "client": request.client_address[:2],
            "server": (str(host), int(port)),
        }

    async def run(self, app: Any) -> None:
        loop = asyncio.get_running_loop()
        gone = asyncio.Event()
        watcher = threading.Thread(
            target=self._watch, args=(loop, gone), name="agent-streams-sse-watch", daemon=True
        )
        watcher.start()
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            try:
                self._send(message)
            except OSError:
                gone.set()
                raise

        try:
            await app(self.scope(), receive, send)
        finally:
            self.stop.set()

    def _watch(self, loop: asyncio.AbstractEventLoop, gone: asyncio.Event) -> None:
        """Wait for the client to close its side (a read of 0 bytes), then say so."""
        connection: socket.socket = self.request.connection
        while not self.stop.is_set():
            try:
                readable, _, _ = select.select([connection], [], [], 0.2)
                if readable and connection.recv(1, socket.MSG_PEEK) == b"":
                    break
                if readable:
                    self.stop.wait(0.2)  # bytes of a next request: not ours to read
            except (OSError, ValueError):
                break
        if not self.stop.is_set():
            loop.call_soon_threadsafe(gone.set)

    def _send(self, message: dict[str, Any]) -> None:
        request = self.request
        wfile = request.wfile
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
            names = {k.lower() for k, _ in headers}
            request.send_response(status)
            for key, value in headers:
                request.send_header(key, value)
            if status not in (204, 304) and "content-length" not in names:
                self.chunked = True
                request.send_header("Transfer-Encoding", "chunked")
            request.send_header("Connection", "close")
            request.end_headers()
            wfile.flush()
            self.started = True
        elif message["type"] == "http.response.body":
            data = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if self.chunked:
                if data:
                    wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                if not more:
                    wfile.write(b"0\r\n\r\n")
            elif data:
                wfile.write(data)
            wfile.flush()
