"""``agent-streams demo`` (``make run``): the service's whole life on one machine.

Starts the local stack in process, streams a simulated agent reply into it with
the reference writer's throttling while a follower shows it growing, then lets
time pass on the stack's clock to show a finished stream cleaned up, a dead
writer's stream timing out, and a thread deleted by the state machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from agent_streams_dev.local.stack import LocalStack

Part = dict[str, Any]

ANSWER = (
    "It is 18 °C and partly cloudy in Paris right now, with a light westerly breeze. "
    "Rain is likely after 6 pm, so take an umbrella if you are out this evening; "
    "tomorrow looks dry and a little warmer, around 21 °C by the afternoon."
)


def simulated_reply() -> Iterator[tuple[Part, float]]:
    """A two-step agent reply as AI SDK 5 UI message chunks, each with a think time."""
    yield {"type": "start"}, 0.0
    yield {"type": "start-step"}, 0.05
    yield {"type": "reasoning-start", "id": "r1"}, 0.0
    for word in [
        "The",
        "user",
        "wants",
        "the",
        "weather",
        "in",
        "Paris;",
        "I",
        "should",
        "ask",
        "the",
        "weather",
        "tool.",
    ]:
        yield {"type": "reasoning-delta", "id": "r1", "delta": word + " "}, 0.02
    yield {"type": "reasoning-end", "id": "r1"}, 0.0
    yield {"type": "text-start", "id": "t1"}, 0.0
    for word in ["Let", "me", "check", "the", "current", "weather", "in", "Paris."]:
        yield {"type": "text-delta", "id": "t1", "delta": word + " "}, 0.03
    yield {"type": "text-end", "id": "t1"}, 0.0
    call = "call_weather_1"
    yield {"type": "tool-input-start", "toolCallId": call, "toolName": "get_weather"}, 0.0
    for piece in ['{"ci', 'ty": "Par', 'is", "un', 'it": "cel', 'sius"}']:
        yield {"type": "tool-input-delta", "toolCallId": call, "inputTextDelta": piece}, 0.05
    tool_input = {"city": "Paris", "unit": "celsius"}
    yield (
        {
            "type": "tool-input-available",
            "toolCallId": call,
            "toolName": "get_weather",
            "input": tool_input,
        },
        0.0,
    )
    output = {"temperatureC": 18, "conditions": "partly cloudy", "rainAfter": "18:00"}
    yield {"type": "tool-output-available", "toolCallId": call, "output": output}, 0.4
    yield {"type": "finish-step"}, 0.0
    yield {"type": "start-step"}, 0.0
    yield {"type": "text-start", "id": "t2"}, 0.0
    for word in ANSWER.split(" "):
        yield {"type": "text-delta", "id": "t2", "delta": word + " "}, random.uniform(0.015, 0.05)
    yield {"type": "text-end", "id": "t2"}, 0.0
    yield (
        {
            "type": "source-url",
            "sourceId": "src1",
            "url": "https://weather.example/paris",
            "title": "Paris forecast",
        },
        0.0,
    )
    yield {"type": "finish-step"}, 0.0
    yield {"type": "finish"}, 0.0


async def _paced(parts: Iterator[tuple[Part, float]], speed: float) -> AsyncIterator[Part]:
    for part, delay in parts:
        if delay and speed:
            await asyncio.sleep(delay / speed)
        yield part


class Narrator:
    """Says what happens, stamped with the stack's clock."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._start = stack.clock.now_ms()

    def say(self, text: str) -> None:
        elapsed = (self._stack.clock.now_ms() - self._start) / 1000
        minutes, seconds = divmod(elapsed, 60)
        print(f"[{int(minutes):02d}:{seconds:04.1f}] {text}", flush=True)


async def _stream_and_follow(
    stack: LocalStack, narrator: Narrator, thread_id: str, speed: float
) -> str:
    from agent_streams_client import StreamsClient
    from agent_streams_client.render import LiveRenderer

    async with StreamsClient.http(stack.url) as client:
        streamer = client.streamer(
            thread_id=thread_id, order=0, step_order=0, agent_name="weather-agent"
        )
        renderer = LiveRenderer(sys.stdout, tty=sys.stdout.isatty())
        started = time.monotonic()

        async def follow() -> int:
            updates = 0
            async for messages in client.follow(
                thread_id, poll_interval=0.1, stop_when_idle=True, timeout=120
            ):
                renderer.update(messages)
                updates += 1
            renderer.close()
            return updates

        writer = asyncio.create_task(streamer.consume(_paced(simulated_reply(), speed)))
        while streamer.stream_id is None and not writer.done():
            await asyncio.sleep(0.01)  # the writer creates its stream with its first parts
        follower = asyncio.create_task(follow())
        await writer
        updates = await follower
        stream_id = str(streamer.stream_id)
        state = await client.get_stream(stream_id)
        narrator.say(
            f"reply finished: {state['nextStart']} parts written by the throttled writer "
            f"in {time.monotonic() - started:.1f} s; the follower redrew it {updates} times"
        )
        return stream_id


async def _dying_writer(stack: LocalStack, narrator: Narrator, thread_id: str) -> str:
    from agent_streams_client import StreamsClient

    async with StreamsClient.http(stack.url) as client:
        streamer = client.streamer(thread_id=thread_id, order=1, step_order=0, throttle_ms=0)
        words = ["Working", "on", "the", "second", "question"]
        await streamer.add_parts(
            [{"type": "start"}, {"type": "start-step"}, {"type": "text-start", "id": "t"}]
            + [{"type": "text-delta", "id": "t", "delta": w + " "} for w in words]
        )
        stream_id = str(streamer.stream_id)
        while (await client.get_stream(stream_id))["nextStart"] < 3 + len(words):
            await asyncio.sleep(0.05)
    # Leaving asyncio.run cancels the writer's tasks: it "crashed" without finishing,
    # aborting or sending another heartbeat.
    narrator.say(
        f"a second writer sent {3 + len(words)} parts to stream {stream_id[:12]}… and died"
    )
    return stream_id


def _state(stack: LocalStack, stream_id: str) -> dict[str, Any] | None:
    from agent_streams_client import SyncStreamsClient
    from agent_streams_protocol.errors import StreamNotFound

    with SyncStreamsClient.http(stack.url) as client:
        try:
            return dict(client.get_stream(stream_id))
        except StreamNotFound:
            return None


def run_demo(speed: float = 1.0) -> int:
    print(
        "agent-streams demo: starting the local stack (embedded moto, functions in process)…",
        flush=True,
    )
    started = time.monotonic()
    with LocalStack(port=0, real_time=True) as stack:
        narrator = Narrator(stack)
        narrator.say(f"local stack ready on {stack.url} in {time.monotonic() - started:.1f} s")
        from agent_streams_client import SyncStreamsClient

        with SyncStreamsClient.http(stack.url) as client:
            thread_id = client.create_thread(title="weather chat")["threadId"]
        narrator.say(
            f"thread {thread_id} created; streaming the agent's reply while a follower reads it:"
        )
        narrator.say(
            f"  watch it live (SSE, as useChat resumes it): curl -N {stack.url}/threads/{thread_id}/stream"
        )
        print()
        reply_stream = asyncio.run(_stream_and_follow(stack, narrator, thread_id, speed))
        print()

        narrator.say(
            "the finished reply is cleaned up 5 minutes after it finished; skipping 4 minutes…"
        )
        stack.advance(4 * 60)
        narrator.say(f"  still there: status {_state(stack, reply_stream)['status']}")  # type: ignore[index]
        # Scheduler fires within the minute after a schedule's time; so does the local one.
        fired = stack.advance(61)["fired"]
        gone = _state(stack, reply_stream) is None
        narrator.say(
            f"  at 5 minutes the cleanup schedule fired ({len(fired)} schedule); stream gone: {gone}"
        )

        dead = asyncio.run(_dying_writer(stack, narrator, thread_id))
        narrator.say(
            "a stream with no write or heartbeat for 10 minutes times out; skipping 9 minutes…"
        )
        stack.advance(9 * 60)
        narrator.say(f"  still streaming: status {_state(stack, dead)['status']}")  # type: ignore[index]
        stack.advance(61)
        state = _state(stack, dead) or {}
        narrator.say(
            f"  at 10 minutes: status {state.get('status')}, reason {state.get('reason')!r}; "
            f"its {state.get('nextStart')} parts stay readable until it is deleted"
        )

        with SyncStreamsClient.http(stack.url) as client:
            execution = client.delete_thread(thread_id)["executionArn"]
            narrator.say(
                f"DELETE /threads/{thread_id}: the state machine deletes its streams, then the thread"
            )
            stack.wait_for_executions()
            sfn = stack.client("stepfunctions")
            described = sfn.describe_execution(executionArn=execution)
            events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
            try:
                client.get_thread(thread_id)
                deleted = False
            except Exception:
                deleted = True
        narrator.say(
            f"  execution {described['status']} after {len(events)} history events; thread deleted: {deleted}"
        )
        ok = (
            gone
            and state.get("reason") == "timeout"
            and deleted
            and described["status"] == "SUCCEEDED"
        )
        narrator.say(
            "demo complete" if ok else "demo FAILED: something did not happen as described"
        )
        return 0 if ok else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="how fast the simulated model talks (2 = twice as fast; 0 = no pauses)",
    )


def run(args: argparse.Namespace) -> int:
    return run_demo(speed=args.speed)
