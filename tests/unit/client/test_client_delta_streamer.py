"""DeltaStreamer against the real handlers (moto), through a wire that can fail, on a fake clock."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest

from agent_streams_client.errors import PartTooLarge, StreamerClosed, TransientError
from agent_streams_client.retry import RetryPolicy
from agent_streams_protocol.errors import DeltaConflict, ThreadNotFound

from .fake_clock import FakeClock, run, settle, wait_until
from .helpers import make_streamer, rd, td, text_of
from .service import Service

# -- creation -------------------------------------------------------------------


def test_stream_is_created_lazily_and_once_under_concurrent_calls(service: Service) -> None:
    async def body() -> None:
        thread_id = service.thread()
        wire, _clock, s = make_streamer(service, thread_id=thread_id, throttle_ms=0)
        await asyncio.gather(*(s.add_parts([td(str(i))]) for i in range(5)))
        assert wire.count("create_stream") == 1
        assert len(service.streams(thread_id)) == 1
        assert s.stream_id is not None
        await s.finish()
        assert text_of(service.parts(s.stream_id)) == "01234"
        created = wire.args_of("create_stream")[0]
        assert created == {
            "threadId": thread_id,
            "order": 0,
            "stepOrder": 0,
            "format": "UIMessageChunk",
        }

    run(body())


def test_metadata_is_sent_on_creation(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(
            service,
            user_id="u1",
            agent_name="helper",
            model="gpt-x",
            provider="openai",
            provider_options={"openai": {"reasoningEffort": "low"}},
            format="TextStreamPart",
        )
        await s.add_parts([{"type": "text-delta", "id": "a", "text": "hi"}])
        await s.finish()
        stream = service.stream(s.stream_id or "")
        assert stream["userId"] == "u1"
        assert stream["agentName"] == "helper"
        assert stream["providerOptions"] == {"openai": {"reasoningEffort": "low"}}
        assert stream["format"] == "TextStreamPart"
        assert stream["status"] == "finished"

    run(body())


def test_a_streamer_without_parts_creates_nothing(service: Service) -> None:
    async def body() -> None:
        wire, _, s = make_streamer(service)
        await s.finish()
        assert s.finished
        assert wire.calls == []

    run(body())


def test_creation_failure_is_raised_to_every_caller(service: Service) -> None:
    async def body() -> None:
        wire, _, s = make_streamer(service, thread_id="no-such-thread")
        with pytest.raises(ThreadNotFound):
            await s.add_parts([td("a")])
        with pytest.raises(ThreadNotFound):
            await s.add_parts([td("b")])
        with pytest.raises(ThreadNotFound):
            await s.finish()
        await s.fail("x")  # nothing to abort
        assert wire.count("create_stream") == 1

    run(body())


def test_create_stream_is_not_retried_when_it_may_have_been_processed(service: Service) -> None:
    async def body() -> None:
        wire, _, s = make_streamer(service)
        wire.transient("create_stream", after=True)  # processed, reply lost
        with pytest.raises(TransientError) as info:
            await s.add_parts([td("a")])
        assert info.value.maybe_processed
        assert wire.count("create_stream") == 1
        # The server did create it; a retry would have made a second one.
        assert len(service.streams(s.thread_id)) == 1

    run(body())


def test_create_stream_is_retried_when_it_was_not_processed(service: Service) -> None:
    async def body() -> None:
        wire, _clock, s = make_streamer(
            service, clock=FakeClock(autojump=True), heartbeat_interval_s=math.inf
        )
        wire.transient("create_stream", after=False, times=2)
        await s.add_parts([td("a")])
        await s.finish()
        assert wire.count("create_stream") == 3
        assert len(service.streams(s.thread_id)) == 1

    run(body())


# -- batching and throttling --------------------------------------------------------


def test_single_flight_throttled_batching_and_part_numbering(service: Service) -> None:
    async def body() -> None:
        wire, clock, s = make_streamer(service, throttle_ms=250)
        await s.add_parts([td("a")])
        await settle()
        # The first parts go at once.
        assert [(d["start"], d["end"]) for d in wire.args_of("add_delta")] == [(0, 1)]
        await s.add_parts([td("b")])
        await s.add_parts([td("c"), {"type": "text-end", "id": "t0"}])
        await clock.advance(0.1)
        assert wire.count("add_delta") == 1  # still inside the throttle window
        await clock.advance(0.15)
        deltas = wire.args_of("add_delta")
        assert [(d["start"], d["end"]) for d in deltas] == [(0, 1), (1, 4)]
        # b and c merged into one part, but the delta covers three part numbers.
        assert deltas[1]["parts"] == [td("bc"), {"type": "text-end", "id": "t0"}]
        await s.finish()
        assert service.stream(s.stream_id or "")["status"] == "finished"

    run(body())


def test_buffered_parts_are_sent_when_the_window_ends_without_new_parts(service: Service) -> None:
    async def body() -> None:
        wire, clock, s = make_streamer(service, throttle_ms=250)
        await s.add_parts([td("a")])
        await settle()
        await s.add_parts([td("b")])
        await settle()
        assert wire.count("add_delta") == 1
        await clock.advance(0.3)  # no new part arrives: the timer sends "b"
        assert wire.count("add_delta") == 2
        assert text_of(service.parts(s.stream_id or "")) == "ab"

    run(body())


def test_at_most_one_add_delta_in_flight(service: Service) -> None:
    async def body() -> None:
        wire, _clock, s = make_streamer(service, throttle_ms=0)
        gate = asyncio.Event()
        in_flight = 0
        peak = 0

        async def hook(op: str, args: dict[str, Any]) -> None:
            nonlocal in_flight, peak
            if op == "add_delta":
                in_flight += 1
                peak = max(peak, in_flight)
                await gate.wait()
                in_flight -= 1

        wire.hook = hook
        await s.add_parts([td("a")])
        await settle()
        for ch in "bcdef":
            await s.add_parts([td(ch)])
            await settle()
        assert wire.count("add_delta") == 0  # the first one is held in the hook
        gate.set()
        await s.finish()
        assert peak == 1
        deltas = service.deltas(s.stream_id or "")
        # a alone, then everything that piled up behind it in one delta (with finish).
        assert [(d["start"], d["end"]) for d in deltas] == [(0, 1), (1, 6)]
        assert wire.count("add_delta") == 1
        assert wire.args_of("finish_stream")[0]["finalDelta"]["parts"] == [td("bcdef")]

    run(body())


# -- compression ------------------------------------------------------------------------


def test_compression_merges_same_id_text_and_reasoning_runs_only(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(service, throttle_ms=1000)
        given = [
            {"type": "start"},
            rd("th"),
            rd("ink"),
            td("a", "x"),
            td("b", "x"),
            td("c", "y"),
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{"},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "}"},
            td("d", "y"),
        ]
        snapshot = json.loads(json.dumps(given))
        await s.add_parts(given[:1])
        await s.add_parts(given[1:])
        await s.finish()
        assert given == snapshot  # the caller's dicts are untouched
        assert service.parts(s.stream_id or "") == [
            {"type": "start"},
            rd("think"),
            td("ab", "x"),
            td("c", "y"),
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{"},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "}"},
            td("d", "y"),
        ]
        assert service.stream(s.stream_id or "")["nextStart"] == len(given)

    run(body())


def test_compress_false_sends_parts_as_given(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(service, throttle_ms=1000, compress=False)
        await s.add_parts([td("a"), td("b")])
        await s.add_parts([td("c")])
        await s.finish()
        assert service.parts(s.stream_id or "") == [td("a"), td("b"), td("c")]

    run(body())


# -- size limits --------------------------------------------------------------------------


def test_oversized_batches_are_split_under_the_limit(service: Service) -> None:
    async def body() -> None:
        limit = 300
        _wire, _, s = make_streamer(
            service, throttle_ms=1000, max_parts_bytes=limit, compress=False
        )
        parts = [{"type": "data-x", "data": "é" * 40, "n": i} for i in range(20)]
        await s.add_parts(parts[:1])
        await s.add_parts(parts[1:])
        await s.finish()
        stored = service.deltas(s.stream_id or "")
        assert len(stored) > 2
        for delta in stored:
            size = len(
                json.dumps(delta["parts"], separators=(",", ":"), ensure_ascii=False).encode()
            )
            assert size <= limit
        assert service.parts(s.stream_id or "") == parts

    run(body())


def test_merged_text_never_grows_past_the_limit(service: Service) -> None:
    async def body() -> None:
        limit = 200
        _wire, _, s = make_streamer(service, throttle_ms=1000, max_parts_bytes=limit)
        await s.add_parts([td("x")])
        await s.add_parts([td('"\\' * 5 + "ü" * 10) for _ in range(30)])
        await s.finish()
        stored = service.deltas(s.stream_id or "")
        for delta in stored:
            size = len(
                json.dumps(delta["parts"], separators=(",", ":"), ensure_ascii=False).encode()
            )
            assert size <= limit
        assert text_of(service.parts(s.stream_id or "")) == "x" + ('"\\' * 5 + "ü" * 10) * 30
        assert stored[-1]["end"] == 31

    run(body())


def test_a_part_over_the_batch_limit_goes_alone_in_its_delta(service: Service) -> None:
    async def body() -> None:
        _, _, s = make_streamer(
            service, throttle_ms=1000, max_parts_bytes=100, max_delta_bytes=400, compress=False
        )
        await s.add_parts([td("a"), td("b"), td("y" * 200), td("c"), td("d")])
        await s.finish()
        stored = service.deltas(s.stream_id or "")
        assert [(d["start"], d["end"]) for d in stored] == [(0, 2), (2, 3), (3, 5)]
        assert stored[1]["parts"] == [td("y" * 200)]
        assert text_of(service.parts(s.stream_id or "")) == "ab" + "y" * 200 + "cd"

    run(body())


def test_text_is_never_merged_into_a_part_that_must_go_alone(service: Service) -> None:
    async def body() -> None:
        _, _, s = make_streamer(service, throttle_ms=1000, max_parts_bytes=100, max_delta_bytes=400)
        await s.add_parts([td("x" * 30) for _ in range(10)])
        await s.finish()
        for delta in service.deltas(s.stream_id or ""):
            size = len(
                json.dumps(delta["parts"], separators=(",", ":"), ensure_ascii=False).encode()
            )
            assert size <= 100
        assert text_of(service.parts(s.stream_id or "")) == "x" * 300

    run(body())


def test_a_part_too_large_alone_is_refused_and_nothing_is_sent(service: Service) -> None:
    async def body() -> None:
        wire, _, s = make_streamer(service, throttle_ms=0, max_parts_bytes=100, max_delta_bytes=150)
        with pytest.raises(PartTooLarge, match="150-byte limit"):
            await s.add_parts([td("ok"), td("y" * 200)])
        assert wire.calls == []
        # The streamer is still usable.
        await s.add_parts([td("fine")])
        await s.finish()
        assert text_of(service.parts(s.stream_id or "")) == "fine"

    run(body())


def test_non_json_parts_are_refused(service: Service) -> None:
    async def body() -> None:
        _, _, s = make_streamer(service)
        with pytest.raises(ValueError, match="JSON"):
            await s.add_parts([{"type": "data-x", "data": object()}])
        with pytest.raises(ValueError, match="type"):
            await s.add_parts([{"no": "type"}])

    run(body())


# -- finishing -------------------------------------------------------------------------------


def test_finish_drains_everything_a_fast_reply_produced(service: Service) -> None:
    async def body() -> None:
        wire, _clock, s = make_streamer(service, throttle_ms=250)
        words = [f"w{i} " for i in range(200)]
        await s.add_parts([{"type": "start"}, {"type": "text-start", "id": "t0"}])
        for w in words:
            await s.add_parts([td(w)])
        await s.add_parts([{"type": "text-end", "id": "t0"}, {"type": "finish"}])
        await s.finish()  # no time passed at all: the tail would be lost without draining
        parts = service.parts(s.stream_id or "")
        assert text_of(parts) == "".join(words)
        assert parts[-1] == {"type": "finish"}
        stream = service.stream(s.stream_id or "")
        assert stream["status"] == "finished"
        assert stream["nextStart"] == len(words) + 4
        # The tail went atomically with the finish.
        assert "finalDelta" in wire.args_of("finish_stream")[0]

    run(body())


def test_finish_waits_for_the_write_in_flight(service: Service) -> None:
    async def body() -> None:
        wire, _, s = make_streamer(service, throttle_ms=0)
        gate = asyncio.Event()

        async def hook(op: str, args: dict[str, Any]) -> None:
            if op == "add_delta":
                await gate.wait()

        wire.hook = hook
        await s.add_parts([td("a")])
        await s.add_parts([td("b")])
        finishing = asyncio.ensure_future(s.finish())
        await settle()
        assert not finishing.done()
        assert wire.count("finish_stream") == 0
        gate.set()
        await finishing
        assert text_of(service.parts(s.stream_id or "")) == "ab"
        # The finish comes after the write it waited for; a direct-invoke finish returns
        # null, so the streamer reads the status it left once.
        assert wire.ops()[-2:] == ["finish_stream", "get_stream"]

    run(body())


def test_parts_after_finish_are_an_error(service: Service) -> None:
    async def body() -> None:
        _, _, s = make_streamer(service)
        await s.add_parts([td("a")])
        await s.finish()
        await s.finish()  # idempotent
        with pytest.raises(StreamerClosed):
            await s.add_parts([td("b")])

    run(body())


def test_fail_keeps_the_buffered_parts_with_the_abort(service: Service) -> None:
    async def body() -> None:
        wire, _, s = make_streamer(service, throttle_ms=1000)
        await s.add_parts([td("a")])
        await s.add_parts([td("b"), td("c")])
        await s.fail("model error")
        stream = service.stream(s.stream_id or "")
        assert stream["status"] == "aborted"
        assert stream["reason"] == "model error"
        assert text_of(service.parts(s.stream_id or "")) == "abc"
        assert s.aborted
        assert s.abort_reason == "model error"
        await s.add_parts([td("ignored")])
        await s.finish()  # no-op once aborted
        assert wire.count("finish_stream") == 0

    run(body())


# -- retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("after", [False, True])
def test_transient_failures_lose_and_duplicate_nothing(service: Service, after: bool) -> None:
    async def body() -> None:
        wire, _clock, s = make_streamer(
            service, clock=FakeClock(autojump=True), throttle_ms=10, heartbeat_interval_s=math.inf
        )
        wire.flaky("add_delta", every=2, after=after)  # every other attempt fails
        for i in range(40):
            await s.add_parts([td(f"{i},")])
            await asyncio.sleep(0)
        wire.transient("finish_stream", after=after, times=2)
        await s.finish()
        assert text_of(service.parts(s.stream_id or "")) == "".join(f"{i}," for i in range(40))
        assert service.stream(s.stream_id or "")["status"] == "finished"
        assert service.stream(s.stream_id or "")["nextStart"] == 40
        # Retries really happened: more attempts than stored deltas.
        assert wire.count("add_delta") > len(service.deltas(s.stream_id or ""))

    run(body())


def test_retries_are_bounded_and_the_failure_is_reported(service: Service) -> None:
    async def body() -> None:
        reasons: list[str] = []
        wire, clock, s = make_streamer(
            service,
            clock=FakeClock(autojump=True),
            throttle_ms=0,
            retry_policy=RetryPolicy(max_retries=3, base_delay_s=0.1),
            heartbeat_interval_s=math.inf,
            on_async_abort=reasons.append,
        )
        wire.transient("add_delta", times=100)
        await s.add_parts([td("a")])
        await wait_until(lambda: s.aborted)
        assert wire.count("add_delta") == 4  # 1 + 3 retries
        assert isinstance(s.error, TransientError)
        assert reasons
        assert "injected" in reasons[0]
        # The stream was aborted on the server (best effort), so readers know now.
        assert service.stream(s.stream_id or "")["status"] == "aborted"
        with pytest.raises(TransientError):
            await s.add_parts([td("b")])
        with pytest.raises(TransientError):
            await s.finish()
        # Backoff: full jitter under an exponential ceiling (rand() = 0.5 here).
        assert clock.slept[:3] == [0.05, 0.1, 0.2]

    run(body())


def test_retries_stop_at_the_total_time_cap(service: Service) -> None:
    async def body() -> None:
        wire, clock, s = make_streamer(
            service,
            clock=FakeClock(autojump=True),
            throttle_ms=0,
            rand=lambda: 1.0,
            retry_policy=RetryPolicy(
                max_retries=100, base_delay_s=1, max_delay_s=4, max_total_s=10
            ),
            heartbeat_interval_s=math.inf,
        )
        wire.transient("add_delta", times=1000)
        await s.add_parts([td("a")])
        await wait_until(lambda: s.aborted)
        assert sum(clock.slept) <= 10
        assert wire.count("add_delta") < 10

    run(body())


# -- aborts ------------------------------------------------------------------------------------------


def test_add_delta_false_stops_the_streamer_and_calls_on_async_abort(service: Service) -> None:
    async def body() -> None:
        reasons: list[str] = []

        async def on_abort(reason: str) -> None:
            reasons.append(reason)

        wire, clock, s = make_streamer(service, throttle_ms=100, on_async_abort=on_abort)
        await s.add_parts([td("a")])
        await settle()
        service.abort(s.stream_id or "", "user stop")
        await s.add_parts([td("b")])
        await clock.advance(0.2)
        assert reasons == ["async abort"]
        assert s.aborted
        calls = wire.count("add_delta")
        await s.add_parts([td("c")])  # ignored
        await clock.advance(1)
        await s.finish()  # no-op
        assert wire.count("add_delta") == calls
        assert wire.count("finish_stream") == 0
        assert service.stream(s.stream_id or "")["reason"] == "user stop"

    run(body())


def test_a_deleted_stream_also_stops_the_streamer(service: Service) -> None:
    async def body() -> None:
        reasons: list[str] = []
        _wire, _clock, s = make_streamer(service, throttle_ms=0, on_async_abort=reasons.append)
        await s.add_parts([td("a")])
        await settle()
        service.delete(s.stream_id or "")
        await s.add_parts([td("b")])
        await settle()
        assert reasons == ["async abort"]
        assert s.aborted

    run(body())


def test_consume_stops_reading_the_source_once_aborted(service: Service) -> None:
    async def body() -> None:
        _wire, _clock, s = make_streamer(service, throttle_ms=0)
        produced = 0

        async def source() -> Any:
            nonlocal produced
            for i in range(1000):
                produced += 1
                if i == 5:
                    service.abort(s.stream_id or "", "stop")
                yield td(str(i))
                await asyncio.sleep(0)

        await s.consume(source())
        assert s.aborted
        assert produced < 50

    run(body())


def test_delta_conflict_aborts_locally_and_is_raised(service: Service) -> None:
    async def body() -> None:
        reasons: list[str] = []
        wire, _clock, s = make_streamer(service, throttle_ms=0, on_async_abort=reasons.append)
        await s.add_parts([td("a")])
        await settle()
        # Someone else appends to our stream: our next start no longer fits.
        assert service.invoke(
            "add_delta", {"streamId": s.stream_id, "start": 1, "end": 2, "parts": [td("X")]}
        )
        await s.add_parts([td("b")])
        await settle()
        assert s.aborted
        assert isinstance(s.error, DeltaConflict)
        assert s.error.expected_start == 2
        with pytest.raises(DeltaConflict):
            await s.add_parts([td("c")])
        with pytest.raises(DeltaConflict):
            await s.finish()
        assert len(reasons) == 1
        assert wire.count("add_delta") == 2  # "a", then "b" once: a conflict is not retried

    run(body())


def test_abort_event_aborts_with_abort_signal(service: Service) -> None:
    async def body() -> None:
        event = asyncio.Event()
        wire, _clock, s = make_streamer(service, throttle_ms=1000, abort_event=event)
        await s.add_parts([td("a")])
        await s.add_parts([td("b")])
        event.set()
        await settle()
        stream = service.stream(s.stream_id or "")
        assert stream["status"] == "aborted"
        assert stream["reason"] == "abortSignal"
        assert s.aborted
        assert s.abort_reason == "abortSignal"
        assert text_of(service.parts(s.stream_id or "")) == "ab"
        await s.add_parts([td("c")])
        assert wire.count("add_delta") == 1

    run(body())


def test_abort_event_set_before_any_part(service: Service) -> None:
    async def body() -> None:
        event = asyncio.Event()
        event.set()
        wire, _, s = make_streamer(service, abort_event=event)
        await s.add_parts([td("a")])
        assert s.aborted
        assert wire.calls == []

    run(body())


# -- heartbeats ------------------------------------------------------------------------------------


def test_heartbeats_only_while_idle_and_open(service: Service) -> None:
    async def body() -> None:
        wire, clock, s = make_streamer(service, throttle_ms=0, heartbeat_interval_s=10)
        await s.add_parts([td("a")])
        await clock.advance(9)
        assert wire.count("heartbeat_stream") == 0
        await s.add_parts([td("b")])  # a write is a heartbeat: the idle time restarts
        await clock.advance(9)
        assert wire.count("heartbeat_stream") == 0
        await clock.advance(1.5)
        assert wire.count("heartbeat_stream") == 1
        await clock.advance(10)
        assert wire.count("heartbeat_stream") == 2
        await s.finish()
        await clock.advance(100)
        assert wire.count("heartbeat_stream") == 2

    run(body())


def test_heartbeat_on_a_deleted_stream_stops_the_streamer(service: Service) -> None:
    async def body() -> None:
        reasons: list[str] = []
        _wire, clock, s = make_streamer(
            service, throttle_ms=0, heartbeat_interval_s=5, on_async_abort=reasons.append
        )
        await s.add_parts([td("a")])
        await settle()
        service.delete(s.stream_id or "")
        await clock.advance(6)
        assert s.aborted
        assert reasons == ["stream deleted"]

    run(body())


def test_heartbeats_can_be_disabled(service: Service) -> None:
    async def body() -> None:
        wire, clock, s = make_streamer(service, heartbeat_interval_s=math.inf)
        await s.add_parts([td("a")])
        await clock.advance(10_000)
        assert wire.count("heartbeat_stream") == 0
        await s.finish()

    run(body())


# -- context manager and consume -----------------------------------------------------------------


def test_context_manager_finishes_on_success(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(service)
        async with s:
            await s.add_parts([td("a")])
        assert service.stream(s.stream_id or "")["status"] == "finished"

    run(body())


def test_context_manager_aborts_with_the_exception_message(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(service, throttle_ms=1000)

        async def work() -> None:
            async with s:
                await s.add_parts([td("a")])
                await s.add_parts([td("b")])
                raise RuntimeError("model blew up")

        with pytest.raises(RuntimeError, match="model blew up"):
            await work()
        stream = service.stream(s.stream_id or "")
        assert stream["status"] == "aborted"
        assert stream["reason"] == "model blew up"
        assert text_of(service.parts(s.stream_id or "")) == "ab"

    run(body())


def test_consume_finishes_and_fails_on_source_errors(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(service)

        async def good() -> Any:
            for ch in "hello":
                yield td(ch)

        await s.consume(good())
        assert text_of(service.parts(s.stream_id or "")) == "hello"
        assert service.stream(s.stream_id or "")["status"] == "finished"

        _wire2, _, s2 = make_streamer(service)

        async def bad() -> Any:
            yield td("x")
            raise ValueError("rate limited")

        with pytest.raises(ValueError, match="rate limited"):
            await s2.consume(bad())
        stream = service.stream(s2.stream_id or "")
        assert (stream["status"], stream["reason"]) == ("aborted", "rate limited")

        _wire3, _, s3 = make_streamer(service)
        await s3.consume([td("s"), td("y")])  # a plain iterable works too
        assert text_of(service.parts(s3.stream_id or "")) == "sy"

    run(body())


def test_cancelling_consume_aborts_the_stream(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(service, throttle_ms=0)

        async def forever() -> Any:
            while True:
                yield td(".")
                await asyncio.sleep(0.001)

        task = asyncio.ensure_future(s.consume(forever()))
        await wait_until(lambda: s.stream_id is not None)
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle()
        stream = service.stream(s.stream_id or "")
        assert (stream["status"], stream["reason"]) == ("aborted", "cancelled")

    run(body())


def test_text_stream_part_format(service: Service) -> None:
    async def body() -> None:
        _wire, _, s = make_streamer(service, format="TextStreamPart", throttle_ms=1000)
        file_part = {
            "type": "file",
            "file": {
                "base64": "aGk=",
                "uint8Array": {"0": 104, "1": 105},
                "mediaType": "text/plain",
            },
        }
        await s.add_parts([{"type": "text-delta", "id": "1", "text": "a"}])
        await settle()
        await s.add_parts(
            [
                {"type": "text-delta", "id": "1", "text": "b"},
                {"type": "text-delta", "id": "1", "text": "c"},
                file_part,
            ]
        )
        await s.finish()
        assert service.parts(s.stream_id or "") == [
            {"type": "text-delta", "id": "1", "text": "a"},
            {"type": "text-delta", "id": "1", "text": "bc"},
            # Once, without the duplicate bytes (the reference pushes it twice).
            {"type": "file", "file": {"base64": "aGk=", "mediaType": "text/plain"}},
        ]
        assert "uint8Array" in file_part["file"]

    run(body())


def test_invalid_options(service: Service) -> None:
    with pytest.raises(ValueError, match="format"):
        make_streamer(service, thread_id="t", format="Other")
    with pytest.raises(ValueError, match="heartbeat"):
        make_streamer(service, thread_id="t", heartbeat_interval_s=0)
