"""Shared builders for the client tests."""

from __future__ import annotations

from typing import Any

from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.streams_client import StreamsClient

from .fake_clock import FakeClock
from .flaky_transport import FlakyTransport
from .service import Service


def td(text: str, id: str = "t0") -> dict[str, Any]:
    """A UIMessageChunk text delta."""
    return {"type": "text-delta", "id": id, "delta": text}


def rd(text: str, id: str = "r0") -> dict[str, Any]:
    return {"type": "reasoning-delta", "id": id, "delta": text}


def wire_to(service: Service) -> tuple[FlakyTransport, StreamsClient]:
    """A client of the real handlers, through a wire the test can break."""
    wire = FlakyTransport(service.transport())
    return wire, StreamsClient(wire)


def make_streamer(
    service: Service,
    clock: FakeClock | None = None,
    *,
    thread_id: str | None = None,
    **options: Any,
) -> tuple[FlakyTransport, FakeClock, DeltaStreamer]:
    """A streamer on ``(thread, 0, 0)`` (a new thread unless given), on a fake clock."""
    wire, client = wire_to(service)
    clock = clock or FakeClock()
    options.setdefault("rand", lambda: 0.5)
    streamer = DeltaStreamer(
        client,
        thread_id=thread_id or service.thread(),
        order=0,
        step_order=0,
        clock=clock,
        sleep=clock.sleep,
        **options,
    )
    return wire, clock, streamer


def text_of(parts: list[dict[str, Any]], field: str = "delta") -> str:
    return "".join(p[field] for p in parts if p["type"] == "text-delta")
