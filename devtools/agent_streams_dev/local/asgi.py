"""The live reads on the local stack: the function's own ASGI app (``functions/stream_events``)
run for a request of the local HTTP server, each body chunk written to the socket as
the app sends it (chunked), the client's disconnect passed to the app.

The deployed function runs the same app under uvicorn behind the Lambda Web Adapter,
at a Function URL; here it is mounted on the local HTTP server
(:meth:`~.http_server.LocalHttpServer.mount_streaming`), after the server's request
limits and with the Function URL's CORS answered by the server (``cors.py``), and one
event loop per request runs in the server's request thread.
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
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from agent_streams_dev.local.api_gateway import HttpRequest
from agent_streams_dev.local.cors import CorsRules
from agent_streams_dev.local.http_server import LocalHttpServer, StreamingReply
from agent_streams_dev.local.template import PROJECT_ROOT

#: The paths the app serves (any method: the app routes it and 404s what it does not serve).
LIVE_PATHS = re.compile(r"/(streams/[^/]+/events|threads/[^/]+/stream)")
APP_DIR = PROJECT_ROOT / "functions" / "stream_events"
APP_FILE = APP_DIR / "app.py"


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
    def deployed(cls, environment: Mapping[str, str], *, options: Any = None) -> AsgiBridge:
        """The function's app configured by its environment as the template deploys it
        (``LIVE_AUTH``, ``JWT_ISSUER``, ``JWT_AUDIENCE``), read by the app's own code.
        ``iam`` trusts the Function URL's SigV4 check, which the local stack does not
        make (as it does not on the HTTP API's IAM routes): the app runs open then."""
        module = load_app_module()
        auth = module.LiveAuth.from_env(environment)
        if auth.mode == "iam":
            auth = module.LiveAuth("none")
        return cls(module.create_app(auth=auth, options=options))

    @classmethod
    def live_reads(
        cls,
        *,
        jwt_issuer: str | None = None,
        jwt_audiences: Sequence[str] = (),
        options: Any = None,
    ) -> AsgiBridge:
        """The app as the template deploys it with ``JwtIssuer``/``JwtAudience`` (JWT mode),
        or without (open locally)."""
        environment = (
            {"LIVE_AUTH": "jwt", "JWT_ISSUER": jwt_issuer, "JWT_AUDIENCE": ",".join(jwt_audiences)}
            if jwt_issuer
            else {"LIVE_AUTH": "none"}
        )
        return cls.deployed(environment, options=options)

    def mount(self, server: LocalHttpServer, *, cors: CorsRules | None = None) -> None:
        """Serve the live routes on ``server`` (``cors``: the Function URL's)."""
        server.mount_streaming(LIVE_PATHS, self.serve, cors=cors)

    def serve(self, request: HttpRequest, reply: StreamingReply) -> None:
        with contextlib.suppress(OSError):  # the client went away
            asyncio.run(_Exchange(request, reply).run(self.app))


class _Exchange:
    """One request/response between the HTTP server and the app."""

    def __init__(self, request: HttpRequest, reply: StreamingReply) -> None:
        self.request = request
        self.reply = reply
        self.stop = threading.Event()

    def scope(self) -> dict[str, Any]:
        request = self.request
        return {
            "type": "http",
            # 2.3: the app listens for the disconnect instead of waiting for a failed write.
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": unquote(request.path),
            "raw_path": request.path.encode("latin-1", "replace"),
            "query_string": request.query.encode("latin-1", "replace"),
            "root_path": "",
            "headers": [
                (name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
                for name, value in request.headers.items()
            ],
            "client": self.reply.client,
            "server": self.reply.server,
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
                return {"type": "http.request", "body": self.request.body, "more_body": False}
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
        connection: socket.socket = self.reply.connection
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
        if message["type"] == "http.response.start":
            self.reply.start(
                int(message["status"]),
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]],
            )
        elif message["type"] == "http.response.body":
            self.reply.write(
                bytes(message.get("body", b"")), more=bool(message.get("more_body", False))
            )
