"""The HTTP server on localhost: HTTP/1.1 in, :class:`~.api_gateway.HttpApi` behind.

It enforces what API Gateway's HTTP API enforces before any route is looked at,
and answers every refusal as JSON ``{"message": ...}`` (never http.server's HTML):

- request line and header values together at most 10,240 bytes (an HTTP API
  quota): over it, 414 when the request line alone is over, else 431;
- a payload of at most 10 MB (quota): over it, 413 ``Request Entity Too Large``;
- a ``Content-Length`` that is not one non-negative integer: 400 ``Bad Request``;
- ``Transfer-Encoding: chunked`` bodies are read whole (up to 10 MB) and handed on
  with their length, as a front end that buffers the request does; malformed chunks,
  another transfer coding, or both a length and a coding: 400;
- a client that stops sending mid-request is dropped after 30 s of silence.
  (AWS documents the two quotas, not the statuses it answers them with: these are
  the local stack's.)

Dispatch, in order: a mounted path (:meth:`LocalHttpServer.mount` — e.g. another
AWS API served on the same port; :meth:`LocalHttpServer.mount_streaming` — a handler
that writes its response as it makes it, e.g. the live reads' Function URL), the local
stack's own endpoints (``/_local/...``, ``/openapi.json``), then the HTTP API's routes.

CORS is answered here, once for everything served: each mount may have its resource's
CORS rules (``cors.py``), the rest has the HTTP API's. A preflight is answered before
dispatch; every other response to a request with an ``Origin`` gets the headers.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from agent_streams_dev.local.api_gateway import (
    HttpApi,
    HttpRequest,
    HttpResponse,
    Route,
    build_event,
)
from agent_streams_dev.local.cors import CorsRules

log = logging.getLogger(__name__)

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "LocalEndpoints",
    "LocalHttpServer",
    "Route",
    "StreamingReply",
    "build_event",
]

#: API Gateway's own limit on a request payload.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
#: "Total combined size of request line and header values".
MAX_REQUEST_LINE_AND_HEADERS = 10_240
#: A connection silent this long mid-request (or idle between requests) is closed.
IDLE_TIMEOUT_S = 30.0
#: An over-long declared body is read and dropped up to this size (so the client can
#: read the 413 instead of a reset); beyond it the connection is simply closed.
MAX_DRAINED_BYTES = 64 * 1024 * 1024
#: How long a refused request's leftovers are read before the connection closes.
LINGER_S = 0.5

#: Extra endpoints of the local stack: (method, path) -> handler(body) -> (status, reply).
LocalEndpoints = dict[tuple[str, str], Callable[[Any], tuple[int, Any]]]
#: A mounted handler: the whole request in, the whole response out.
Mounted = Callable[[HttpRequest], HttpResponse]
#: How a mounted API answers a request the server refused (by its status), or None
#: for the server's own answer.
MountedRefusal = Callable[[int], HttpResponse | None]
#: A mounted streaming handler: the whole request in; it writes the response through
#: the reply as it goes.
Streamed = Callable[[HttpRequest, "StreamingReply"], None]

_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    431: "Request Header Fields Too Large",
}
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


class _Refusal(Exception):
    def __init__(self, status: int, close: bool = True) -> None:
        super().__init__(_REASONS.get(status, "Bad Request"))
        self.status = status
        self.close = close


@dataclass(frozen=True)
class _Mount:
    matches: Callable[[str], bool]
    handler: Mounted | None
    streamed: Streamed | None
    refusal: MountedRefusal | None
    cors: CorsRules | None


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
        api: HttpApi,
        endpoints: LocalEndpoints,
    ) -> None:
        self.api = api
        self.endpoints = endpoints
        self.requests = 0
        #: Called after each request is answered (the stack wakes its event sources).
        self.after_request: Callable[[], None] | None = None
        self._mounts: list[_Mount] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE_TIMEOUT_S
            # Headers and body go out in two writes: without this, Nagle holds the body
            # back until the client acknowledges the headers (a delayed ACK, ~40 ms).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(format, *args)

            def send_error(
                self, code: int, message: str | None = None, explain: str | None = None
            ) -> None:
                # http.server's own refusals (a bad request line, too many headers…), as JSON.
                server._write(
                    self,
                    HttpResponse.message(code, _REASONS.get(code, message or "Bad Request")),
                    close=True,
                )

            def __getattr__(self, name: str) -> Any:
                # Every method reaches the dispatcher: an unknown one is a 404 there, as
                # on an HTTP API, not http.server's 501.
                if name.startswith("do_"):
                    return lambda: server._handle(self)
                raise AttributeError(name)

        self._httpd = _Server((host, port), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="agent-streams-http",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def mount(
        self,
        prefix: str,
        handler: Mounted,
        refusal: MountedRefusal | None = None,
        *,
        cors: CorsRules | None = None,
    ) -> None:
        """Serve every request whose path starts with ``prefix`` by ``handler`` (after
        the server's own limits, before the HTTP API's routes); ``refusal`` answers the
        server's refusals under that prefix in the mounted API's own terms; ``cors``:
        the mounted resource's CORS rules (None: it answers no CORS)."""
        self._mounts.append(_Mount(lambda p: p.startswith(prefix), handler, None, refusal, cors))

    def mount_streaming(
        self,
        paths: re.Pattern[str],
        handler: Streamed,
        refusal: MountedRefusal | None = None,
        *,
        cors: CorsRules | None = None,
    ) -> None:
        """Serve every request whose whole path matches ``paths`` by ``handler``, which
        writes its response through a :class:`StreamingReply` as it makes it (the
        server's limits and CORS still apply, as for :meth:`mount`)."""
        self._mounts.append(
            _Mount(lambda p: paths.fullmatch(p) is not None, None, handler, refusal, cors)
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=2)

    # -- one request --------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        try:
            self._serve(request)
        finally:
            if self.after_request is not None:
                self.after_request()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        mounted = self._mount_for(urlsplit(request.path).path)
        gateway = mounted is None
        cors = self.api.cors if mounted is None else mounted.cors
        try:
            parsed = self._read(request)
        except _Refusal as refusal:
            self._write(
                request,
                self._refused(mounted, refusal.status),
                close=refusal.close,
                gateway=gateway,
            )
            return
        except (TimeoutError, ConnectionError, OSError):
            self._write(request, self._refused(mounted, 408), close=True, gateway=gateway)
            return
        if cors is not None and cors.is_preflight(parsed.method, parsed.headers):
            status, headers = cors.preflight(parsed.headers)
            self._write(request, HttpResponse(status, b"", headers), gateway=gateway)
            return
        if mounted is not None and mounted.streamed is not None:
            self._stream(request, parsed, mounted.streamed, cors)
            return
        try:
            if mounted is not None and mounted.handler is not None:
                response = mounted.handler(parsed)
            else:
                response = self._dispatch(parsed)
        except Exception:
            log.exception("the local stack failed on %s %s", parsed.method, parsed.path)
            response = HttpResponse.message(500, "Internal Server Error")
        if cors is not None:
            response.headers = cors.response_headers(parsed.headers, response.headers)
        self._write(request, response, head=parsed.method == "HEAD", gateway=gateway)

    def _stream(
        self,
        request: BaseHTTPRequestHandler,
        parsed: HttpRequest,
        handler: Streamed,
        cors: CorsRules | None,
    ) -> None:
        reply = StreamingReply(request, parsed, cors)
        try:
            handler(parsed, reply)
        except OSError:
            pass  # the client went away
        except Exception:
            log.exception("the local stack failed on %s %s", parsed.method, parsed.path)
            if not reply.started:
                reply.send(HttpResponse.message(500, "Internal Server Error"))
        finally:
            # Not reused: the handler may have looked at bytes of a next request, and a
            # response cut short cannot be told from a whole one on a kept connection.
            request.close_connection = True

    def _mount_for(self, path: str) -> _Mount | None:
        return next((mount for mount in self._mounts if mount.matches(path)), None)

    @staticmethod
    def _refused(mounted: _Mount | None, status: int) -> HttpResponse:
        own = mounted.refusal(status) if mounted is not None and mounted.refusal else None
        return own or HttpResponse.message(status, _REASONS.get(status, "Bad Request"))

    def _read(self, request: BaseHTTPRequestHandler) -> HttpRequest:
        values = [str(v) for v in request.headers.values()]
        if len(request.requestline.encode("latin-1", "replace")) > MAX_REQUEST_LINE_AND_HEADERS:
            raise _Refusal(414)
        if (
            len(request.requestline) + sum(len(v.encode("latin-1", "replace")) for v in values)
            > MAX_REQUEST_LINE_AND_HEADERS
        ):
            raise _Refusal(431)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else str(value)
        lengths = {v.strip() for v in request.headers.get_all("content-length") or ()}
        coding = headers.get("transfer-encoding", "").strip().lower()
        if coding:
            if lengths or coding != "chunked":
                raise _Refusal(400)
            body = _read_chunked(request.rfile)
        elif not lengths:
            body = b""
        else:
            if len(lengths) != 1 or not next(iter(lengths)).isdigit():
                raise _Refusal(400)
            length = int(next(iter(lengths)))
            if length > MAX_PAYLOAD_BYTES:
                if length > MAX_DRAINED_BYTES:
                    raise _Refusal(413)
                _drain(request.rfile, length)
                raise _Refusal(413, close=False)
            body = _read_exactly(request.rfile, length)
        split = urlsplit(request.path)
        return HttpRequest(
            method=request.command,
            path=split.path,
            query=split.query,
            headers=headers,
            body=body,
            source_ip=str(request.client_address[0]),
        )

    def _dispatch(self, request: HttpRequest) -> HttpResponse:
        endpoint = self.endpoints.get((request.method, request.path))
        if endpoint is not None:
            try:
                payload = json.loads(request.body) if request.body else {}
                status, reply = endpoint(payload)
            except (ValueError, TypeError) as exc:
                status, reply = 400, {"message": str(exc)}
            return HttpResponse.json(status, reply)
        return self.api.handle(request)

    def _write(
        self,
        request: BaseHTTPRequestHandler,
        response: HttpResponse,
        *,
        head: bool = False,
        close: bool = False,
        gateway: bool = True,
    ) -> None:
        try:
            request.send_response(response.status)
            for key, value in response.headers:
                if key.lower() not in _HOP_BY_HOP:
                    request.send_header(key, value)
            if gateway:  # API Gateway's header; a mounted API sends its own
                request.send_header("apigw-requestid", uuid.uuid4().hex[:16])
            request.send_header("Content-Length", str(len(response.body)))
            if close:
                request.send_header("Connection", "close")
                request.close_connection = True
            request.end_headers()
            if not head:
                request.wfile.write(response.body)
            if close:
                _linger(request.connection)
        except OSError:
            request.close_connection = True  # the client is gone


class StreamingReply:
    """A response written as its handler makes it: the status and headers once, then
    each body chunk as it comes (chunked, unless the handler gave a length); the
    connection is closed after it."""

    def __init__(
        self, request: BaseHTTPRequestHandler, parsed: HttpRequest, cors: CorsRules | None
    ) -> None:
        self._request = request
        self._parsed = parsed
        self._cors = cors
        self._chunked = False
        self._head = parsed.method == "HEAD"
        self.started = False
        self.ended = False

    @property
    def connection(self) -> socket.socket:
        """The client's socket, to notice it going away (read nothing from it)."""
        connection: socket.socket = self._request.connection
        return connection

    @property
    def client(self) -> tuple[str, int]:
        address: Any = self._request.client_address
        return str(address[0]), int(address[1])

    @property
    def server(self) -> tuple[str, int]:
        address: Any = self._request.server.server_address
        return str(address[0]), int(address[1])

    def start(self, status: int, headers: Sequence[tuple[str, str]]) -> None:
        if self.started:
            raise RuntimeError("the response has started already")
        request = self._request
        if self._cors is not None:
            headers = self._cors.response_headers(self._parsed.headers, headers)
        names = {name.lower() for name, _ in headers}
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "keep-alive"):
                request.send_header(name, value)
        if status not in (204, 304) and "content-length" not in names:
            self._chunked = True
            request.send_header("Transfer-Encoding", "chunked")
        request.send_header("Connection", "close")
        request.close_connection = True
        request.end_headers()
        request.wfile.flush()
        self.started = True

    def write(self, data: bytes, *, more: bool = True) -> None:
        """Send ``data`` now; ``more=False`` ends the body."""
        if not self.started:
            raise RuntimeError("start the response first")
        if self.ended:
            raise RuntimeError("the response has ended already")
        wfile = self._request.wfile
        if not self._head:
            if self._chunked:
                if data:
                    wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                if not more:
                    wfile.write(b"0\r\n\r\n")
            elif data:
                wfile.write(data)
        wfile.flush()
        self.ended = not more

    def send(self, response: HttpResponse) -> None:
        """A whole response at once."""
        self.start(
            response.status, [*response.headers, ("Content-Length", str(len(response.body)))]
        )
        self.write(response.body, more=False)


def _linger(connection: socket.socket) -> None:
    """Close our side, then read what the client still sends for a moment: closing a
    socket with unread input resets the connection, and the client could lose the
    answer it was about to read."""
    connection.shutdown(socket.SHUT_WR)
    connection.settimeout(LINGER_S)
    drained = 0
    while drained < MAX_DRAINED_BYTES:
        chunk = connection.recv(1 << 16)
        if not chunk:
            return
        drained += len(chunk)


def _read_exactly(stream: Any, length: int) -> bytes:
    data = stream.read(length)
    if len(data) != length:
        raise _Refusal(400)  # the client closed before sending what it declared
    return bytes(data)


def _drain(stream: Any, length: int) -> None:
    while length > 0:
        chunk = stream.read(min(length, 1 << 20))
        if not chunk:
            raise _Refusal(413)
        length -= len(chunk)


def _read_chunked(stream: Any) -> bytes:
    body = bytearray()
    while True:
        line = stream.readline(1026)
        if not line.endswith(b"\n"):
            raise _Refusal(400)
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
            raise _Refusal(400)
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > MAX_PAYLOAD_BYTES:
            raise _Refusal(413)
        body += _read_exactly(stream, size)
        if stream.readline(3) not in (b"\r\n", b"\n"):
            raise _Refusal(400)
    for _ in range(100):  # trailers, up to the empty line
        line = stream.readline(8192)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            raise _Refusal(400)
    raise _Refusal(400)
