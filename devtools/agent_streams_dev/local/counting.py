"""A counting HTTP proxy in front of an AWS endpoint: what the service costs, in requests.

AWS bills (and throttles) per request, so the budgets in DESIGN.md are counted
where requests arrive: at the endpoint. Point a client (or the local stack,
``LocalStack(aws_endpoint=proxy.url)``) at :class:`CountingProxy` and every
request is forwarded unchanged to the endpoint behind it and recorded:

- the service, from the SigV4 credential scope of the ``Authorization`` header
  (``dynamodb``, ``scheduler``, ``states``, ...);
- the operation: ``X-Amz-Target`` for the JSON protocols (DynamoDB, Step
  Functions, SQS), the method and path for Scheduler's and S3's REST APIs;
- for DynamoDB, the table and index it names and, on request, its parsed body;
- when it started and ended, and how many requests were in flight then.

It works with any endpoint that does not check the ``Host`` the request was
signed for (moto, LocalStack, DynamoDB Local...): requests are forwarded as
they were signed, so real AWS endpoints, which do check, are out of its reach.
:meth:`CountingProxy.window` collects what arrives while a block runs;
:meth:`CountingProxy.gather` holds requests back until a given number are in
flight (or a timeout passes), which shows whether a client issues them
concurrently without depending on how fast the endpoint answers;
:meth:`CountingProxy.intercepting` answers chosen requests itself instead of
forwarding them (an AWS that throttles, say), so a whole stack can be tried
against faults over the wire.

Requests the stack makes in the background of the operations — the local event
source mappings polling the tables' DynamoDB streams and the function they invoke
(``event_sources.py``) — carry the :data:`BACKGROUND_HEADER`; a window counts them
only when asked (``window(background=True)``), so an operation's count is its own
whenever the background runs.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
#: Scheduler's REST API (the only REST-protocol service the stack uses), by method and path.
_SCHEDULER_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), operation)
    for method, pattern, operation in (
        ("POST", r"^/schedules/[^/]+$", "CreateSchedule"),
        ("PUT", r"^/schedules/[^/]+$", "UpdateSchedule"),
        ("DELETE", r"^/schedules/[^/]+$", "DeleteSchedule"),
        ("GET", r"^/schedules/[^/]+$", "GetSchedule"),
        ("GET", r"^/schedules/?$", "ListSchedules"),
        ("POST", r"^/schedule-groups/[^/]+$", "CreateScheduleGroup"),
        ("DELETE", r"^/schedule-groups/[^/]+$", "DeleteScheduleGroup"),
        ("GET", r"^/schedule-groups/[^/]+$", "GetScheduleGroup"),
        ("GET", r"^/schedule-groups/?$", "ListScheduleGroups"),
        ("POST", r"^/tags/.+$", "TagResource"),
        ("DELETE", r"^/tags/.+$", "UntagResource"),
        ("GET", r"^/tags/.+$", "ListTagsForResource"),
    )
)
_TARGET_SERVICES = {
    "DynamoDB": "dynamodb",
    "AWSStepFunctions": "states",
    "AmazonSQS": "sqs",
}


#: Marks a request made in the background of the operations (its value says by whom).
BACKGROUND_HEADER = "x-agent-streams-local-background"

#: An answer in place of the endpoint's: (status, headers, body).
Answer = tuple[int, dict[str, str], bytes]
#: Decides, per request (service, operation, body), whether to answer it here (None: forward).
Interceptor = Callable[[str, str, bytes], Answer | None]


@dataclass(frozen=True)
class Request:
    """One request as it arrived at the endpoint."""

    service: str
    operation: str
    method: str
    path: str
    status: int
    started: float
    ended: float
    #: Requests in flight (this one included) when it started.
    in_flight: int
    table: str | None = None
    index: str | None = None
    #: For DynamoDB BatchWriteItem: write requests per table.
    batch_items: dict[str, int] = field(default_factory=dict)
    #: The parsed JSON body, when the window asked for bodies.
    body: Any = None
    #: Who made it in the background of the operations (None: an operation did).
    background: str | None = None

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}"


class Tally:
    """What arrived during one :meth:`CountingProxy.window`."""

    def __init__(self, keep_bodies: bool, background: bool = False) -> None:
        self.keep_bodies = keep_bodies
        #: Whether background requests (:data:`BACKGROUND_HEADER`) are counted too.
        self.background = background
        self.requests: list[Request] = []
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def _add(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _saw_in_flight(self, n: int) -> None:
        with self._lock:
            self.max_in_flight = max(self.max_in_flight, n)

    def count(
        self,
        service: str | None = None,
        operation: str | None = None,
        *,
        table: str | None = None,
        index: str | bool | None = False,
    ) -> int:
        """Requests matching every filter given (``index=None``: on the table, not an index)."""
        return len(self.select(service, operation, table=table, index=index))

    def select(
        self,
        service: str | None = None,
        operation: str | None = None,
        *,
        table: str | None = None,
        index: str | bool | None = False,
    ) -> list[Request]:
        return [
            r
            for r in list(self.requests)
            if (service is None or r.service == service)
            and (operation is None or r.operation == operation)
            and (table is None or r.table == table)
            and (index is False or r.index == index)
        ]

    def by_operation(self, service: str | None = None) -> Counter[str]:
        return Counter(r.key for r in self.requests if service is None or r.service == service)

    def __len__(self) -> int:
        return len(self.requests)


class _Gate:
    """Holds matching requests until ``parties`` are waiting or ``timeout`` passes; then opens."""

    def __init__(self, parties: int, timeout: float, match: Callable[[str, str], bool]) -> None:
        self.parties = parties
        self.timeout = timeout
        self.match = match
        self.arrived = 0
        self.opened = False
        self.timed_out = False
        self._cond = threading.Condition()

    def wait(self, service: str, operation: str) -> None:
        if not self.match(service, operation):
            return
        with self._cond:
            if self.opened:
                return
            self.arrived += 1
            if self.arrived >= self.parties:
                self.opened = True
                self._cond.notify_all()
                return
            deadline = time.monotonic() + self.timeout
            while not self.opened:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.opened = True
                    self.timed_out = True
                    self._cond.notify_all()
                    return
                self._cond.wait(left)


class CountingProxy:
    """Forwards every request to ``upstream`` and records it."""

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._base_path = parts.path.rstrip("/")
        self._tallies: list[Tally] = []
        self._gate: _Gate | None = None
        self._interceptor: Interceptor | None = None
        #: Seconds added before forwarding each request (a modelled network round trip).
        self.latency = 0.0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._in_flight_foreground = 0
        self._local = threading.local()
        self.total = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle holds the body
            # back until the client acknowledges the headers (a delayed ACK, ~40 ms).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                proxy._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- life -----------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CountingProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="counting-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- observing ------------------------------------------------------------

    @contextmanager
    def window(self, *, keep_bodies: bool = False, background: bool = False) -> Iterator[Tally]:
        """Record the requests that arrive while the block runs (with ``background``, those
        made in the background of the operations too)."""
        tally = Tally(keep_bodies, background)
        with self._lock:
            self._tallies.append(tally)
        try:
            yield tally
        finally:
            with self._lock:
                self._tallies.remove(tally)

    @contextmanager
    def delayed(self, seconds: float) -> Iterator[None]:
        """Add ``seconds`` to every request while the block runs, as a network would."""
        self.latency = seconds
        try:
            yield
        finally:
            self.latency = 0.0

    @contextmanager
    def gather(
        self,
        parties: int,
        *,
        timeout: float = 1.0,
        match: Callable[[str, str], bool] = lambda service, operation: True,
    ) -> Iterator[_Gate]:
        """Hold matching requests until ``parties`` of them wait (or ``timeout`` passes).

        A client that issues ``parties`` requests concurrently has them all in
        flight together; one that issues them one after another waits ``timeout``
        once and then has one at a time.
        """
        gate = _Gate(parties, timeout, match)
        with self._lock:
            self._gate = gate
        try:
            yield gate
        finally:
            with self._lock:
                self._gate = None

    @contextmanager
    def intercepting(self, interceptor: Interceptor) -> Iterator[None]:
        """Let ``interceptor`` answer requests in place of the endpoint while the block runs.

        An answered request never reaches the endpoint; it is recorded with the status
        it was answered with.
        """
        with self._lock:
            self._interceptor = interceptor
        try:
            yield
        finally:
            with self._lock:
                self._interceptor = None

    # -- forwarding -----------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self._netloc, timeout=300)
            self._local.conn = conn
        return conn

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, self._base_path + path, body=body or None, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                return reply.status, reply.getheaders(), data
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        service, operation = identify(handler.command, handler.path, handler.headers, body)
        background = handler.headers.get(BACKGROUND_HEADER)
        # In flight from its arrival: requests held together at a gate are counted
        # together, whichever of them the gate lets go first. Background requests are
        # neither held nor intercepted, and count only in windows that ask for them.
        with self._lock:
            gate = self._gate if background is None else None
            interceptor = self._interceptor if background is None else None
            tallies = [t for t in self._tallies if background is None or t.background]
            self._in_flight += 1
            if background is None:
                self._in_flight_foreground += 1
            in_flight = self._in_flight
            in_flight_foreground = self._in_flight_foreground
            self.total += 1
        for tally in tallies:
            tally._saw_in_flight(in_flight if tally.background else in_flight_foreground)
        if gate is not None:
            gate.wait(service, operation)
            with self._lock:
                in_flight = self._in_flight
                in_flight_foreground = self._in_flight_foreground
            for tally in tallies:
                tally._saw_in_flight(in_flight if tally.background else in_flight_foreground)
        started = time.monotonic()
        if self.latency:
            time.sleep(self.latency)
        answer = None if interceptor is None else interceptor(service, operation, body)
        try:
            if answer is not None:
                status, data = answer[0], answer[2]
                reply_headers = list(answer[1].items())
            else:
                status, reply_headers, data = self._forward(
                    handler.command, handler.path, headers, body
                )
        except Exception as exc:
            status, reply_headers, data = 502, [], f"proxy: {exc}".encode()
        finally:
            with self._lock:
                self._in_flight -= 1
                if background is None:
                    self._in_flight_foreground -= 1
        ended = time.monotonic()
        if tallies:
            parsed = _json(body) if service == "dynamodb" else None
            for tally in tallies:
                tally._add(
                    Request(
                        service=service,
                        operation=operation,
                        method=handler.command,
                        path=handler.path,
                        status=status,
                        started=started,
                        ended=ended,
                        in_flight=in_flight if tally.background else in_flight_foreground,
                        table=parsed.get("TableName") if isinstance(parsed, dict) else None,
                        index=parsed.get("IndexName") if isinstance(parsed, dict) else None,
                        batch_items=_batch_items(operation, parsed),
                        body=parsed if tally.keep_bodies else None,
                        background=background,
                    )
                )
        handler.send_response_only(status)
        for name, value in reply_headers:
            if name.lower() not in _HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)


def identify(method: str, path: str, headers: Any, body: bytes) -> tuple[str, str]:
    """(service, operation) of an AWS request, from what any endpoint receives."""
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target")
    scope = _SCOPE.search(headers.get("Authorization") or headers.get("authorization") or "")
    service = scope.group(1) if scope else None
    if target:
        prefix, _, operation = target.partition(".")
        if service is None:
            service = _TARGET_SERVICES.get(prefix.split("_")[0], prefix.lower())
        return service, operation
    bare = unquote(urlsplit(path).path)
    if service in (None, "scheduler"):
        for route_method, pattern, operation in _SCHEDULER_ROUTES:
            if method == route_method and pattern.match(bare):
                return "scheduler", operation
    if body.startswith(b"Action="):  # the query protocol
        action = body.split(b"&", 1)[0].split(b"=", 1)[1].decode(errors="replace")
        return service or "unknown", unquote(action)
    if service == "lambda" and bare.endswith("/invocations"):
        return service, "Invoke"
    if service == "s3":
        return service, _s3_operation(method, path)
    return service or "unknown", f"{method} {bare}"


def _s3_operation(method: str, path: str) -> str:
    """S3's operation (path-style addressing: ``/bucket`` or ``/bucket/key``), for the
    operations the stack uses; others as method and path."""
    split = urlsplit(path)
    has_key = "/" in split.path.strip("/")
    query = {item.split("=", 1)[0] for item in split.query.split("&") if item}
    if has_key:
        found = {"PUT": "PutObject", "GET": "GetObject", "DELETE": "DeleteObject",
                 "HEAD": "HeadObject"}.get(method)  # fmt: skip
    elif method == "POST" and "delete" in query:
        found = "DeleteObjects"
    elif method == "GET" and "list-type" in query:
        found = "ListObjectsV2"
    else:
        found = None
    return found or f"{method} {unquote(split.path)}"


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    length = handler.headers.get("Content-Length")
    if length is not None:
        return handler.rfile.read(int(length))
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    return b""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _batch_items(operation: str, parsed: Any) -> dict[str, int]:
    if operation != "BatchWriteItem" or not isinstance(parsed, dict):
        return {}
    return {table: len(items) for table, items in (parsed.get("RequestItems") or {}).items()}
