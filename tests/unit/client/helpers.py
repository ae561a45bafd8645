"""Shared builders for the client tests."""

from __future__ import annotations

from typing import Any

from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.inprocess_transport import InProcessTransport
from agent_streams_client.streams_client import StreamsClient

from .fake_backend import FakeBackend
from .fake_clock import FakeClock


def td(text: str, id: str = "t0") -> dict[str, Any]:
    """A UIMessageChunk text delta."""
    return {"type": "text-delta", "id": id, "delta": text}


def rd(text: str, id: str = "r0") -> dict[str, Any]:
    return {"type": "reasoning-delta", "id": id, "delta": text}


def client_for(backend: FakeBackend) -> StreamsClient:
    # The async entry point is awaited on the test's loop: deterministic with a fake clock.
    return StreamsClient(InProcessTransport(backend.ainvoke))


def make_streamer(
    backend: FakeBackend | None = None,
    clock: FakeClock | None = None,
    **options: Any,
) -> tuple[FakeBackend, FakeClock, DeltaStreamer]:
    """A backend with thread ``t1``, a fake clock and a streamer on ``(t1, 0, 0)``."""
    backend = backend or FakeBackend()
    if "t1" not in backend.threads:
        backend.make_thread("t1")
    clock = clock or FakeClock()
    options.setdefault("rand", lambda: 0.5)
    streamer = DeltaStreamer(
        client_for(backend),
        thread_id="t1",
        order=0,
        step_order=0,
        clock=clock,
        sleep=clock.sleep,
        **options,
    )
    return backend, clock, streamer


def text_of(parts: list[dict[str, Any]], field: str = "delta") -> str:
    return "".join(p[field] for p in parts if p["type"] == "text-delta")
