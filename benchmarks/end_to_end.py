"""End to end through the local stack's HTTP API, with the Python client.

- **Writer throughput**: a ``DeltaStreamer`` is handed a realistic reply's parts
  as fast as an async producer can give them (it yields to the event loop after
  each part); parts per second from the first part to ``finish()`` returning,
  with the default throttle (250 ms) and with none. Median of the runs.
- **Delay to a follower**: a writer (throttle 250 ms) is given one text part
  every ``PART_INTERVAL_S``, like a model producing tokens, while a
  ``ThreadFollower`` (poll 100 ms) follows the thread; for each part, the time
  from it being given to the writer to the follower first yielding a message
  that contains it. p50 and p95 over all parts of the runs.

The bound on the delay follows from the two periods: a part waits for the next
write (at most the throttle), then for the next poll (at most the poll
interval); 100 ms more covers the requests and the materialisation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from agent_streams_client import DeltaStreamer, StreamsClient
from benchmarks.bench_materialize import realistic_chunks
from benchmarks.environment import Bench
from benchmarks.report import Row, check, info, median_of, percentile

SECTION = "end to end"
THROTTLE_MS = 250
POLL_S = 0.1
PART_INTERVAL_S = 0.01
SLACK_MS = 100


async def _produce(parts: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for part in parts:
        yield part
        await asyncio.sleep(0)


async def _write(url: str, parts: list[dict[str, Any]], throttle_ms: int, order: int) -> float:
    async with StreamsClient.http(url) as client:
        thread = await client.create_thread()
        streamer = DeltaStreamer(
            client,
            thread_id=thread["threadId"],
            order=order,
            step_order=0,
            throttle_ms=throttle_ms,
        )
        started = time.perf_counter()
        await streamer.consume(_produce(parts))
        elapsed = time.perf_counter() - started
        if not streamer.finished:
            raise RuntimeError(f"the writer did not finish: {streamer.error!r}")
        return elapsed


def writer_throughput(bench: Bench, parts: int, runs: int) -> dict[str, float]:
    assert bench.stack is not None
    chunks = realistic_chunks(parts)
    found = {}
    for throttle in (THROTTLE_MS, 0):
        seconds = [asyncio.run(_write(bench.stack.url, chunks, throttle, 0)) for _ in range(runs)]
        found[f"throttle_{throttle}"] = len(chunks) / median_of(seconds)
    return found


async def _follow_delays(url: str, parts: int) -> list[float]:
    given: list[float] = []
    seen_at: dict[int, float] = {}
    async with StreamsClient.http(url) as writer_client, StreamsClient.http(url) as reader_client:
        thread = (await writer_client.create_thread())["threadId"]
        done = asyncio.Event()

        async def follow() -> None:
            async for messages in reader_client.follow(thread, poll_interval=POLL_S, live=False):
                now = time.perf_counter()
                text = "".join(
                    p.get("text", "")
                    for m in messages
                    for p in m.get("parts", [])
                    if p.get("type") == "text"
                )
                visible = text.count(" ")
                for index in range(len(seen_at), min(visible, len(given))):
                    seen_at[index] = now
                if len(seen_at) >= parts:
                    done.set()
                    return

        follower = asyncio.ensure_future(follow())
        streamer = DeltaStreamer(
            writer_client, thread_id=thread, order=0, step_order=0, throttle_ms=THROTTLE_MS
        )
        await streamer.add_parts([{"type": "start"}, {"type": "text-start", "id": "t"}])
        for index in range(parts):
            given.append(time.perf_counter())
            await streamer.add_parts([{"type": "text-delta", "id": "t", "delta": f"w{index} "}])
            await asyncio.sleep(PART_INTERVAL_S)
        await asyncio.wait_for(done.wait(), timeout=60)
        await streamer.add_parts([{"type": "text-end", "id": "t"}, {"type": "finish"}])
        await streamer.finish()
        follower.cancel()
    return [seen_at[i] - given[i] for i in range(parts)]


def follower_delay(bench: Bench, parts: int, runs: int) -> dict[str, float]:
    assert bench.stack is not None
    delays: list[float] = []
    for _ in range(runs):
        delays += asyncio.run(_follow_delays(bench.stack.url, parts))
    return {"p50": percentile(delays, 0.5), "p95": percentile(delays, 0.95), "n": len(delays)}


def run(bench: Bench, parts: int, runs: int, follow_parts: int) -> list[Row]:
    rows: list[Row] = []
    throughput = writer_throughput(bench, parts, runs)
    for throttle in (THROTTLE_MS, 0):
        label = f"throttle {throttle} ms" if throttle else "no throttle"
        rows.append(
            info(
                SECTION,
                f"writer throughput, {label} ({parts:,} parts)",
                f"{throughput[f'throttle_{throttle}']:,.0f} parts/s",
            )
        )
    delay = follower_delay(bench, follow_parts, runs)
    bound_ms = THROTTLE_MS + POLL_S * 1000 + SLACK_MS
    rows.append(
        check(
            SECTION,
            f"writer -> follower delay p50 (throttle {THROTTLE_MS} ms, poll {POLL_S * 1000:.0f} ms)",
            f"{delay['p50'] * 1000:.0f} ms",
            f"<= {(THROTTLE_MS + POLL_S * 1000) / 2 + SLACK_MS:.0f} ms",
            delay["p50"] * 1000 <= (THROTTLE_MS + POLL_S * 1000) / 2 + SLACK_MS,
        )
    )
    rows.append(
        check(
            SECTION,
            f"writer -> follower delay p95 ({delay['n']:.0f} parts)",
            f"{delay['p95'] * 1000:.0f} ms",
            f"<= {bound_ms:.0f} ms",
            delay["p95"] * 1000 <= bound_ms,
        )
    )
    return rows
