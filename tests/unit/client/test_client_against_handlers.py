"""The client against the real Lambda handlers (moto-backed stack from tests/conftest.py).

Direct invoke through ``InProcessTransport``, and HTTP through ``gateway.py`` (API
Gateway's events in front of the handlers). This checks the client's routes, query
formats and reply mapping against the server itself, not a fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.errors import PartTooLarge
from agent_streams_client.inprocess_transport import InProcessTransport
from agent_streams_client.streams_client import StreamsClient
from agent_streams_protocol.errors import (
    DeltaConflict,
    StreamNotFound,
    ThreadNotFound,
    ValidationError,
)
from agent_streams_protocol.limits import MAX_PART_BYTES
from agent_streams_protocol.materialize import derive_ui_messages

from .fake_clock import run
from .gateway import gateway
from .helpers import td


@contextmanager
def clients(api: Any) -> Iterator[dict[str, StreamsClient]]:
    with gateway(api) as url:
        yield {
            "direct": StreamsClient(InProcessTransport(api.direct)),
            "http": StreamsClient.http(url),
        }


@pytest.mark.parametrize("way", ["direct", "http"])
def test_every_operation_against_the_handlers(api: Any, way: str) -> None:
    async def body(c: StreamsClient) -> None:
        thread = await c.create_thread(title="t", user_id="u")
        tid = thread["threadId"]
        assert await c.get_thread(tid) == thread
        sid = await c.create_stream(tid, order=2, step_order=1, agent_name="a", model="m")
        listed = await c.list_streams(tid, start_order=0, statuses=["streaming", "finished"])
        assert [s["streamId"] for s in listed] == [sid]
        assert listed[0]["agentName"] == "a"
        assert await c.add_delta(sid, start=0, end=2, parts=[td("a"), td("b")]) is True
        assert await c.add_delta(sid, start=0, end=2, parts=[td("a"), td("b")]) is True  # retry
        with pytest.raises(DeltaConflict) as conflict:
            await c.add_delta(sid, start=5, end=6, parts=[td("x")])
        assert conflict.value.expected_start == 2
        other = await c.create_stream(tid, order=3, step_order=0)
        deltas = await c.list_deltas(tid, {sid: 1, other: 0})
        assert deltas == []  # start >= cursor: the delta [0, 2) is before cursor 1
        deltas = await c.list_deltas(tid, [(sid, 0), (other, 0)])
        assert [(d["streamId"], d["start"], d["end"]) for d in deltas] == [(sid, 0, 2)]
        await c.heartbeat_stream(sid)
        state = await c.get_stream(sid)
        assert (state["status"], state["nextStart"], state["threadId"]) == ("streaming", 2, tid)
        await c.finish_stream(sid, final_delta={"start": 2, "end": 3, "parts": [td("c")]})
        assert (await c.get_stream(sid))["status"] == "finished"
        message = await c.get_stream_message(sid)
        assert (message["status"], message["cursor"]) == ("finished", 3)
        public = await c.list_streams(tid, statuses=["finished"])
        deltas = await c.list_deltas(tid, {sid: 0})
        assert message["uiMessage"] == derive_ui_messages(tid, public, deltas)[0]
        kept = await c.create_stream(tid, order=4, step_order=0, retention_seconds=60)
        assert (await c.get_stream(kept))["retentionSeconds"] == 60
        assert await c.add_delta(sid, start=3, end=4, parts=[td("late")]) is False
        assert await c.abort_stream(sid, reason="r") is False
        messages = await c.streaming_messages(tid, order=2, step_order=1, status="success")
        assert isinstance(messages, list)
        assert await c.abort_streams_by_order(tid, order=3, reason="stop") is True
        assert (await c.get_stream(other))["reason"] == "stop"
        await c.delete_stream(sid)
        with pytest.raises(StreamNotFound):
            await c.get_stream(sid)
        assert await c.add_delta(sid, start=3, end=4, parts=[td("x")]) is False
        await c.delete_thread_streams(tid)
        assert await c.list_streams(tid, statuses=["aborted"]) == []
        with pytest.raises(ValidationError):
            await c.list_deltas(tid, [("", 0)])
        with pytest.raises(ThreadNotFound):
            await c.create_stream("no-such-thread", order=0, step_order=0)

    with clients(api) as c:
        run(body(c[way]))


@pytest.mark.parametrize("way", ["direct", "http"])
def test_heartbeat_against_the_handlers(api: Any, way: str) -> None:
    async def body(c: StreamsClient) -> None:
        tid = (await c.create_thread())["threadId"]
        sid = await c.create_stream(tid, order=0, step_order=0)
        await c.heartbeat_stream(sid)
        await c.delete_stream(sid)
        with pytest.raises(StreamNotFound):
            await c.heartbeat_stream(sid)

    with clients(api) as c:
        run(body(c[way]))


@pytest.mark.parametrize("way", ["direct", "http"])
def test_streamer_and_follower_against_the_handlers(api: Any, way: str) -> None:
    async def body(c: StreamsClient) -> None:
        tid = (await c.create_thread())["threadId"]
        words = [f"w{i} " for i in range(120)]
        async with DeltaStreamer(c, thread_id=tid, order=0, step_order=0, throttle_ms=1) as s:
            await s.add_parts([{"type": "start"}, {"type": "text-start", "id": "t"}])
            for w in words:
                await s.add_parts([td(w, "t")])
                await asyncio.sleep(0)
            with pytest.raises(PartTooLarge):
                await s.add_parts([td("x" * MAX_PART_BYTES, "t")])
            await s.add_parts([{"type": "text-end", "id": "t"}, {"type": "finish"}])
        final = [m async for m in c.follow(tid, stop_when_idle=True, poll_interval=0.01)][-1]
        text = "".join(p["text"] for p in final[0]["parts"] if p["type"] == "text")
        assert text == "".join(words)
        assert (await c.get_stream(s.stream_id or ""))["nextStart"] == len(words) + 4

    with clients(api) as c:
        run(body(c[way]))


@pytest.mark.parametrize("way", ["direct", "http"])
def test_a_writer_throttled_past_the_servers_retries_loses_nothing(
    api: Any, way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every transaction after the stream's creation is cancelled for a throttled stream
    item until the server's retries run out twice (503 ``ServiceUnavailable``,
    ``Retry-After: 1``): the writer sends the same delta again after waiting, and the
    reply arrives whole."""
    from agent_streams import retries
    from tests.integration.conftest import dynamodb_client
    from tests.integration.reliability_faults import Faults, cancelled

    monkeypatch.setattr(retries, "sleep", lambda seconds: None)
    faults = Faults()
    fault = faults.inject(
        dynamodb_client(),
        "TransactWriteItems",
        cancelled("None", "ThrottlingError"),
        times=2 * retries.BACKOFF.attempts,
        skip=1,
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    async def body(c: StreamsClient) -> None:
        tid = (await c.create_thread())["threadId"]
        aborted: list[str] = []
        words = [f"w{i} " for i in range(30)]
        async with DeltaStreamer(
            c,
            thread_id=tid,
            order=0,
            step_order=0,
            throttle_ms=0,
            compress=False,
            sleep=sleep,
            on_async_abort=aborted.append,
        ) as s:
            await s.add_parts([{"type": "start"}, {"type": "text-start", "id": "t"}])
            for w in words:
                await s.add_parts([td(w, "t")])
                await asyncio.sleep(0)
            await s.add_parts([{"type": "text-end", "id": "t"}, {"type": "finish"}])
        assert aborted == []
        assert s.finished
        sid = s.stream_id or ""
        state = await c.get_stream(sid)
        assert (state["status"], state["nextStart"]) == ("finished", len(words) + 4)
        deltas = await c.list_deltas(tid, {sid: 0})
        starts = [(d["start"], d["end"]) for d in deltas]
        assert [start for start, _ in starts] == [0, *[end for _, end in starts[:-1]]]
        text = "".join(p["delta"] for d in deltas for p in d["parts"] if p["type"] == "text-delta")
        assert text == "".join(words)

    try:
        with clients(api) as c:
            run(body(c[way]))
    finally:
        faults.remove_all()
    assert fault.injected == 2 * retries.BACKOFF.attempts
    # Twice the server gave up and said when to come back; the writer waited that long.
    assert sum(1 for seconds in slept if seconds >= 1) >= 2
