"""A small Server-Sent Events reader for the tests: events with their ids, ``[DONE]``,
and a disconnect after any number of events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import urllib3


@dataclass
class Read:
    status: int
    headers: dict[str, str]
    #: (id, chunk) of every event read.
    events: list[tuple[str, Any]] = field(default_factory=list)
    done: bool = False
    pings: int = 0
    body: Any = None


def read_sse(
    pool: urllib3.PoolManager,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    stop_after: int | None = None,
    timeout: float = 60,
    method: str = "GET",
) -> Read:
    """Read ``url`` until ``[DONE]``, the end of the body, or ``stop_after`` events
    (then the connection is dropped, as a reader that goes away)."""
    reply = pool.request(
        method,
        url,
        headers=headers or {},
        preload_content=False,
        retries=False,
        timeout=urllib3.Timeout(connect=5, read=timeout),
    )
    read = Read(reply.status, {k.lower(): v for k, v in reply.headers.items()})
    if reply.status != 200 or not read.headers.get("content-type", "").startswith(
        "text/event-stream"
    ):
        data = reply.read()
        read.body = json.loads(data) if data else None
        reply.release_conn()
        return read
    buffer = b""
    event_id: str | None = None
    try:
        for chunk in reply.stream(1024):
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                data = None
                for line in block.decode("utf-8").split("\n"):
                    if line.startswith(":"):
                        read.pings += 1
                    elif line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("data: "):
                        data = line[6:]
                if data is None:
                    continue
                if data == "[DONE]":
                    read.done = True
                    return read
                assert event_id is not None, "an event without an id"
                read.events.append((event_id, json.loads(data)))
                event_id = None
                if stop_after is not None and len(read.events) >= stop_after:
                    return read
    finally:
        reply.drain_conn() if read.done else reply.close()
    return read
