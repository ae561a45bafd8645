"""The sync facades (a loop on a private thread) and the in-process transport."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agent_streams_client.inprocess_transport import InProcessTransport
from agent_streams_client.streams_client import StreamsClient
from agent_streams_client.sync import LoopThread, SyncDeltaStreamer, SyncStreamsClient
from agent_streams_protocol.errors import StreamNotFound

from .fake_backend import FakeBackend
from .fake_clock import run
from .helpers import td, text_of
from .standin_materializer import STANDIN


def backend_with_thread() -> FakeBackend:
    backend = FakeBackend()
    backend.make_thread("t1")
    return backend


def test_sync_client_runs_every_call_on_its_loop_thread() -> None:
    backend = backend_with_thread()
    with SyncStreamsClient.in_process(backend.invoke) as c:
        thread = c.create_thread(title="hello")
        assert thread["title"] == "hello"
        assert c.get_thread(thread["threadId"]) == thread
        sid = c.create_stream("t1", order=0, step_order=0, agent_name="a")
        assert c.add_delta(sid, start=0, end=1, parts=[td("x")]) is True
        c.heartbeat_stream(sid)
        assert c.list_streams("t1")[0]["streamId"] == sid
        assert c.list_deltas("t1", {sid: 0})[0]["parts"] == [td("x")]
        assert c.get_stream(sid)["nextStart"] == 1
        c.finish_stream(sid, final_delta={"start": 1, "end": 2, "parts": [td("y")]})
        assert c.get_stream(sid)["status"] == "finished"
        followed = list(c.follow("t1", stop_when_idle=True, statuses=["finished"], **STANDIN))
        assert followed[-1][0]["text"] == "xy"
        assert c.abort_stream(sid, reason="r") is False
        assert c.abort_streams_by_order("t1", order=0, reason="r") is False
        assert c.streaming_messages("t1", order=0, step_order=0) == []
        c.delete_stream(sid)
        with pytest.raises(StreamNotFound):
            c.get_stream(sid)
        c.delete_thread_streams("t1")
        assert c.delete_thread("t1")["executionArn"]


def test_sync_streamer_writes_finishes_and_aborts() -> None:
    backend = backend_with_thread()
    with SyncStreamsClient.in_process(backend.invoke) as c:
        with c.streamer(thread_id="t1", order=0, step_order=0, throttle_ms=0) as s:
            s.add_parts([td("a"), td("b")])
            s.add_parts([td("c")])
        assert s.finished
        assert s.stream_id is not None
        assert text_of(backend.parts(s.stream_id)) == "abc"

        def failing() -> None:
            with c.streamer(thread_id="t1", order=1, step_order=0) as s2:
                s2.add_parts([td("partial")])
                raise RuntimeError("tool crashed")

        with pytest.raises(RuntimeError):
            failing()
        aborted = next(v for v in backend.streams.values() if v["order"] == 1)
        assert (aborted["status"], aborted["reason"]) == ("aborted", "tool crashed")
        assert text_of(backend.parts(aborted["streamId"])) == "partial"


def test_sync_streamer_consumes_sync_and_async_iterables() -> None:
    backend = backend_with_thread()

    async def source() -> AsyncIterator[dict[str, Any]]:
        for ch in "async":
            yield td(ch)

    with SyncStreamsClient.in_process(backend.invoke) as c:
        s1 = SyncDeltaStreamer(c, thread_id="t1", order=0, step_order=0)
        s1.consume([td(ch) for ch in "sync"])
        s2 = SyncDeltaStreamer(c, thread_id="t1", order=1, step_order=0)
        s2.consume(source())
    assert text_of(backend.parts(s1.stream_id or "")) == "sync"
    assert text_of(backend.parts(s2.stream_id or "")) == "async"
    assert backend.streams[s2.stream_id or ""]["status"] == "finished"


def test_sync_streamer_abort_from_another_thread() -> None:
    backend = backend_with_thread()
    client = StreamsClient.in_process(backend.invoke)
    s = SyncDeltaStreamer(client, thread_id="t1", order=0, step_order=0, throttle_ms=10_000)
    s.add_parts([td("a")])
    s.add_parts([td("b")])
    worker = threading.Thread(target=s.abort)
    worker.start()
    worker.join(5)
    assert s.aborted
    stream = backend.streams[s.stream_id or ""]
    assert (stream["status"], stream["reason"]) == ("aborted", "abortSignal")
    assert text_of(backend.parts(s.stream_id or "")) == "ab"
    s.add_parts([td("ignored")])
    s.close()


def test_loop_thread_refuses_reentry_and_use_after_close() -> None:
    loop_thread = LoopThread()

    async def reenter() -> None:
        coro = asyncio.sleep(0)
        loop_thread.run(coro)

    with pytest.raises(RuntimeError, match="deadlock"):
        loop_thread.run(reenter())
    loop_thread.close()
    loop_thread.close()
    with pytest.raises(RuntimeError, match="closed"):
        loop_thread.run(asyncio.sleep(0))


def test_in_process_transport_isolates_and_passes_exceptions_through() -> None:
    backend = backend_with_thread()
    seen_threads: list[str] = []

    def invoke(operation: str, args: dict[str, Any]) -> Any:
        seen_threads.append(threading.current_thread().name)
        return backend.invoke(operation, args)

    async def body() -> None:
        transport = InProcessTransport(invoke)
        parts = [td("x")]
        sid = await transport.call("create_stream", {"threadId": "t1", "order": 0, "stepOrder": 0})
        await transport.call("add_delta", {"streamId": sid, "start": 0, "end": 1, "parts": parts})
        parts[0]["delta"] = "mutated"  # the server kept its own copy
        assert backend.parts(sid) == [td("x")]
        with pytest.raises(StreamNotFound):
            await transport.call("get_stream", {"streamId": "nope"})
        with pytest.raises(TypeError):
            await transport.call("add_delta", {"streamId": sid, "parts": [object()]})
        await transport.close()

    run(body())
    assert all(name != threading.main_thread().name for name in seen_threads)


def test_in_process_transport_without_a_thread_or_json() -> None:
    calls: list[dict[str, Any]] = []

    def invoke(operation: str, args: dict[str, Any]) -> Any:
        calls.append(args)
        return {"ok": True}

    async def body() -> None:
        transport = InProcessTransport(invoke, in_thread=False, json_round_trip=False)
        args = {"streamId": "s"}
        assert await transport.call("get_stream", args) == {"ok": True}
        assert calls[0] is args

    run(body())
