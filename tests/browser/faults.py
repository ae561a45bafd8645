"""The test's own seam in front of the live reads: an ASGI wrapper around the
``stream_events`` app that logs every connection of the thread route and, when armed,
drops or repeats one event of one connection — the kind of bug a resume can have
(a server resuming one event late or one event early). The runtime has no such switch;
the local stack serves this wrapper in place of the bare app (``LocalStack(live=...)``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

THREAD_ROUTE = re.compile(r"^/threads/([^/]+)/stream$")
#: The chunks a fault may hit: their loss or repetition changes the text the page shows.
FAULTABLE = ("text-delta", "reasoning-delta")

Action = Literal["drop", "repeat"]
#: "reload": the page's first connection after it reloaded (no Last-Event-ID: the turn
#: from its start); "resume": the first connection with a Last-Event-ID after that.
When = Literal["reload", "resume"]


@dataclass(frozen=True)
class Fault:
    action: Action
    on: When

    def __str__(self) -> str:
        return f"{self.action}-after-{self.on}"


@dataclass
class Connection:
    """One request of the thread route, as the server answered it."""

    thread_id: str
    last_event_id: str | None
    opened_at: float
    status: int | None = None
    events: int = 0
    done: bool = False


@dataclass
class Applied:
    """What a fault did: the event it dropped or repeated."""

    fault: Fault
    connection: Connection
    event_id: str
    chunk: dict[str, Any]


@dataclass
class SseFaults:
    """ASGI middleware: passes everything to ``app``; on the thread route, logs the
    connection and applies an armed fault, once, to the first faultable event of a
    connection of the kind it waits for."""

    app: Any
    connections: list[Connection] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    _armed: dict[str, Fault] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, thread_id: str, fault: Fault) -> None:
        with self._lock:
            self._armed[thread_id] = fault

    def of(self, thread_id: str) -> list[Connection]:
        with self._lock:
            return [c for c in self.connections if c.thread_id == thread_id]

    def _open(self, connection: Connection) -> Fault | None:
        """Logs the connection; the fault armed for it, if any (``on`` says which kind of
        connection it waits for)."""
        with self._lock:
            self.connections.append(connection)
            fault = self._armed.get(connection.thread_id)
            if fault is None or (fault.on == "resume") != (connection.last_event_id is not None):
                return None
            return fault

    def _claim(self, connection: Connection, fault: Fault) -> bool:
        """Whether ``fault`` is still armed (then it is used now): a connection that ended
        before a faultable event leaves it to the next one of its kind."""
        with self._lock:
            if self._armed.get(connection.thread_id) is not fault:
                return False
            del self._armed[connection.thread_id]
            return True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = THREAD_ROUTE.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        connection = Connection(match.group(1), headers.get("last-event-id"), time.monotonic())
        fault = self._open(connection)
        pending = b""

        def frames(body: bytes) -> list[bytes]:
            nonlocal pending, fault
            *complete, pending = (pending + body).split(b"\n\n")
            out = []
            for raw in complete:
                frame = raw + b"\n\n"
                fields = dict(
                    line.split(": ", 1) for line in raw.decode().split("\n") if ": " in line
                )
                data = fields.get("data")
                if data == "[DONE]":
                    connection.done = True
                elif data is not None:
                    connection.events += 1
                    chunk = json.loads(data)
                    if (
                        fault is not None
                        and chunk.get("type") in FAULTABLE
                        and self._claim(connection, fault)
                    ):
                        self.applied.append(Applied(fault, connection, fields.get("id", ""), chunk))
                        copies = 0 if fault.action == "drop" else 2
                        fault = None
                        out += [frame] * copies
                        continue
                out.append(frame)
            return out

        async def faulty_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                connection.status = int(message["status"])
            elif message["type"] == "http.response.body" and connection.status == 200:
                more = bool(message.get("more_body", False))
                body = b"".join(frames(bytes(message.get("body", b""))))
                if not more:
                    body += pending
                message = {"type": "http.response.body", "body": body, "more_body": more}
            await send(message)

        await self.app(scope, receive, faulty_send)
