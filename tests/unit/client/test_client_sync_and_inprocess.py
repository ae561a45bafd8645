"""The sync facades (a loop on a private thread) and the in-process transport, on the real handlers."""

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

from .fake_clock import run
from .helpers import td, text_of
from .service import Service
from .standin_materializer import STANDIN


def test_sync_client_runs_every_call_on_its_loop_thread(service: Service) -> None:
    thread_id = service.thread()
    with SyncStreamsClient.in_process(service.invoke) as c:
        thread = c.create_thread(title="hello")
        assert thread["title"] == "hello"
        assert c.get_thread(thread["threadId"]) == thread
        sid = c.create_stream(thread_id, order=0, step_order=0, agent_name="a")
        assert c.add_delta(sid, start=0, end=1, parts=[td("x")]) is True
        c.heartbeat_stream(sid)
        assert c.list_streams(thread_id)[0]["streamId"] == sid
        assert c.list_deltas(thread_id, {sid: 0})[0]["parts"] == [td("x")]
        assert c.get_stream(sid)["nextStart"] == 1
        c.finish_stream(sid, final_delta={"start": 1, "end": 2, "parts": [td("y")]})
        assert c.get_stream(sid)["status"] == "finished"
        followed = list(c.follow(thread_id, stop_when_idle=True, statuses=["finished"], **STANDIN))
        assert followed[-1][0]["text"] == "xy"
        assert c.abort_stream(sid, reason="r") is False
        assert c.abort_streams_by_order(thread_id, order=0, reason="r") is False
        messages = c.streaming_messages(thread_id, order=0, step_order=0)
        assert [m["status"] for m in messages] == ["success"]
        c.delete_stream(sid)
        with pytest.raises(StreamNotFound):
            c.get_stream(sid)
        c.delete_thread_streams(thread_id)
        assert c.delete_thread(thread_id)["executionArn"]


def test_sync_streamer_writes_finishes_and_aborts(service: Service) -> None:
    thread_id = service.thread()
    with SyncStreamsClient.in_process(service.invoke) as c:
        with c.streamer(thread_id=thread_id, order=0, step_order=0, throttle_ms=0) as s:
            s.add_parts([td("a"), td("b")])
            s.add_parts([td("c")])
        assert s.finished
        assert s.stream_id is not None
        assert text_of(service.parts(s.stream_id)) == "abc"

        def failing() -> None:
            with c.streamer(thread_id=thread_id, order=1, step_order=0) as s2:
                s2.add_parts([td("partial")])
                raise RuntimeError("tool crashed")

        with pytest.raises(RuntimeError):
            failing()
        aborted = next(v for v in service.streams(thread_id) if v["order"] == 1)
        aborted = service.stream(aborted["streamId"])
        assert (aborted["status"], aborted["reason"]) == ("aborted", "tool crashed")
        assert text_of(service.parts(aborted["streamId"])) == "partial"


def test_sync_streamer_consumes_sync_and_async_iterables(service: Service) -> None:
    thread_id = service.thread()

    async def source() -> AsyncIterator[dict[str, Any]]:
        for ch in "async":
            yield td(ch)

    with SyncStreamsClient.in_process(service.invoke) as c:
        s1 = SyncDeltaStreamer(c, thread_id=thread_id, order=0, step_order=0)
        s1.consume([td(ch) for ch in "sync"])
        s2 = SyncDeltaStreamer(c, thread_id=thread_id, order=1, step_order=0)
        s2.consume(source())
    assert text_of(service.parts(s1.stream_id or "")) == "sync"
    assert text_of(service.parts(s2.stream_id or "")) == "async"
    assert service.stream(s2.stream_id or "")["status"] == "finished"


def test_sync_streamer_abort_from_another_thread(service: Service) -> None:
    thread_id = service.thread()
    client = StreamsClient.in_process(service.invoke)
    s = SyncDeltaStreamer(client, thread_id=thread_id, order=0, step_order=0, throttle_ms=10_000)
    s.add_parts([td("a")])
    s.add_parts([td("b")])
    worker = threading.Thread(target=s.abort)
    worker.start()
    worker.join(5)
    assert s.aborted
    stream = service.stream(s.stream_id or "")
    assert (stream["status"], stream["reason"]) == ("aborted", "abortSignal")
    assert text_of(service.parts(s.stream_id or "")) == "ab"
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


def test_in_process_transport_isolates_and_passes_exceptions_through(service: Service) -> None:
    thread_id = service.thread()
    seen_threads: list[str] = []

    def invoke(operation: str, args: dict[str, Any]) -> Any:
        seen_threads.append(threading.current_thread().name)
        return service.invoke(operation, args)

    async def body() -> None:
        transport = InProcessTransport(invoke)
        parts = [td("x")]
        sid = await transport.call(
            "create_stream", {"threadId": thread_id, "order": 0, "stepOrder": 0}
        )
        await transport.call("add_delta", {"streamId": sid, "start": 0, "end": 1, "parts": parts})
        parts[0]["delta"] = "mutated"  # the server kept its own copy
        assert service.parts(sid) == [td("x")]
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
