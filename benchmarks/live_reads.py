"""Live reads: SSE viewers against polling followers, on the same kind of reply.

Two phases in one run, each with its own reply: a ``DeltaStreamer`` (the reference's
250 ms throttle) is given one text part every 10 ms for ``seconds`` seconds, then
nothing for ``idle_seconds`` (still streaming), then finishes. In the first phase
``viewers`` SSE viewers read ``GET /threads/{threadId}/stream`` (what ``useChat``'s
resume calls), in the second as many Python followers poll (``follow(live=False)``,
poll 100 ms). Each phase alone, so neither slows the other on the shared CPUs.

- **AWS requests per viewer-minute** while the reply is written: HTTP requests the
  viewers made (an SSE viewer's connection counts once), and DynamoDB requests they
  caused, counted at the endpoint by the counting proxy (reads: GetItem and Query;
  the writer makes TransactWriteItems and one GetItem, subtracted).
- **DynamoDB reads a second per viewer while idle**: the idle window's reads.
- **Delay** from a delta's acknowledgement (``add_delta`` returned) to each of its
  words reaching a viewer; p50 and p95 over every word and viewer.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import urllib3

from agent_streams_client import DeltaStreamer, StreamsClient
from agent_streams_dev.local.counting import Tally
from benchmarks.environment import Bench
from benchmarks.report import Row, check, info, percentile

SECTION = "live reads"
THROTTLE_MS = 250
PART_INTERVAL_S = 0.01
POLL_S = 0.1
_WORD = re.compile(r"w(\d+) ")


class Arrivals:
    """When each word ("w<i> ") reached each viewer."""

    def __init__(self) -> None:
        self.at: dict[tuple[int, int], float] = {}
        self._lock = threading.Lock()

    def saw(self, viewer: int, text: str, now: float) -> None:
        with self._lock:
            for match in _WORD.finditer(text):
                self.at.setdefault((viewer, int(match.group(1))), now)


def _sse_viewer(url: str, viewer: int, arrivals: Arrivals, connections: list[int]) -> None:
    pool = urllib3.PoolManager()
    connections[viewer] += 1
    reply = pool.request(
        "GET", url, preload_content=False, retries=False, timeout=urllib3.Timeout(read=120)
    )
    assert reply.status == 200, reply.status
    buffer = b""
    for chunk in reply.stream(4096):
        now = time.perf_counter()
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            for line in block.decode().split("\n"):
                if line == "data: [DONE]":
                    reply.release_conn()
                    return
                if line.startswith("data: "):
                    chunk_json = json.loads(line[6:])
                    if chunk_json.get("type") == "text-delta":
                        arrivals.saw(viewer, chunk_json["delta"], now)


async def _poll_viewer(
    url: str, thread_id: str, viewer: int, arrivals: Arrivals, calls: list[int], stop: asyncio.Event
) -> None:
    async with StreamsClient.http(url) as client:
        call = client.transport.call

        async def counted(operation: str, args: dict[str, Any]) -> Any:
            calls[viewer] += 1
            return await call(operation, args)

        client.transport.call = counted  # type: ignore[method-assign]
        async for messages in client.follow(thread_id, poll_interval=POLL_S, live=False):
            now = time.perf_counter()
            for message in messages:
                arrivals.saw(viewer, str(message.get("text", "")), now)
            if stop.is_set():
                return


def _reads(tally: Tally) -> int:
    return tally.count("dynamodb", "GetItem") + tally.count("dynamodb", "Query")


async def _phase(
    bench: Bench, mode: str, viewers: int, seconds: float, idle_seconds: float
) -> dict[str, Any]:
    assert bench.stack is not None
    assert bench.proxy is not None
    url = bench.stack.url
    arrivals = Arrivals()
    acked: dict[int, float] = {}
    async with StreamsClient.http(url) as writer:
        add_delta = writer.add_delta

        async def acknowledged(stream_id: str, *, start: int, end: int, parts: list[Any]) -> bool:
            accepted = await add_delta(stream_id, start=start, end=end, parts=parts)
            now = time.perf_counter()
            for part in parts:
                for match in _WORD.finditer(str(part.get("delta", ""))):
                    acked[int(match.group(1))] = now
            return accepted

        writer.add_delta = acknowledged  # type: ignore[method-assign]
        thread_id = (await writer.create_thread())["threadId"]
        streamer = DeltaStreamer(
            writer, thread_id=thread_id, order=0, step_order=0, throttle_ms=THROTTLE_MS
        )
        await streamer.add_parts([{"type": "start"}, {"type": "text-start", "id": "t"}])
        while streamer.stream_id is None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        counts = [0] * viewers
        stop = asyncio.Event()
        threads: list[threading.Thread] = []
        tasks: list[asyncio.Future[None]] = []
        if mode == "sse":
            for n in range(viewers):
                thread = threading.Thread(
                    target=_sse_viewer,
                    args=(f"{url}/threads/{thread_id}/stream", n, arrivals, counts),
                    daemon=True,
                )
                thread.start()
                threads.append(thread)
        else:
            tasks = [
                asyncio.ensure_future(_poll_viewer(url, thread_id, n, arrivals, counts, stop))
                for n in range(viewers)
            ]
        await asyncio.sleep(0.5)
        connected = list(counts)
        with bench.proxy.window() as active:
            started = time.perf_counter()
            index = 0
            while time.perf_counter() - started < seconds:
                await streamer.add_parts([{"type": "text-delta", "id": "t", "delta": f"w{index} "}])
                index += 1
                await asyncio.sleep(PART_INTERVAL_S)
            await asyncio.sleep(2 * THROTTLE_MS / 1000)
            active_seconds = time.perf_counter() - started
            after_connect = [c - k for c, k in zip(counts, connected, strict=True)]
        await asyncio.sleep(2.0)  # let the readers back off
        with bench.proxy.window() as idle:
            await asyncio.sleep(idle_seconds)
        await streamer.add_parts([{"type": "text-end", "id": "t"}, {"type": "finish"}])
        await streamer.finish()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        for task in tasks:
            await asyncio.wait_for(task, timeout=30)
    delays = [at - acked[word] for (_, word), at in arrivals.at.items() if word in acked]
    missing = viewers * index - len(arrivals.at)
    return {
        "http_per_viewer_minute": sum(after_connect) / viewers / (active_seconds / 60),
        "http_to_connect": sum(connected) / viewers,
        "ddb_per_viewer_minute": _reads(active) / viewers / (active_seconds / 60),
        "idle_reads_per_viewer_second": _reads(idle) / viewers / idle_seconds,
        "p50": percentile(delays, 0.5),
        "p95": percentile(delays, 0.95),
        "words": index,
        "missing": missing,
    }


def run(bench: Bench, seconds: float, viewers: int = 10, idle_seconds: float = 10.0) -> list[Row]:
    results = {
        mode: asyncio.run(_phase(bench, mode, viewers, seconds, idle_seconds))
        for mode in ("sse", "poll")
    }
    sse, poll = results["sse"], results["poll"]
    setup = f"{viewers} viewers, {seconds:.0f} s reply at a {THROTTLE_MS} ms throttle"
    rows: list[Row] = [
        info(
            SECTION, f"setup: {setup}", f"{sse['words']:,} words (SSE) / {poll['words']:,} (poll)"
        ),
        check(
            SECTION,
            "SSE viewer: HTTP requests per viewer-minute after connecting",
            f"{sse['http_per_viewer_minute']:.1f} (connecting: {sse['http_to_connect']:.0f})",
            "0",
            sse["http_per_viewer_minute"] == 0,
        ),
        info(
            SECTION,
            "polling follower: HTTP requests per viewer-minute",
            f"{poll['http_per_viewer_minute']:,.0f}",
        ),
        info(
            SECTION,
            "SSE viewer: DynamoDB requests per viewer-minute (writing)",
            f"{sse['ddb_per_viewer_minute']:,.0f}",
        ),
        info(
            SECTION,
            "polling follower: DynamoDB requests per viewer-minute (writing)",
            f"{poll['ddb_per_viewer_minute']:,.0f}",
        ),
        check(
            SECTION,
            "SSE viewer: DynamoDB reads a second while idle",
            f"{sse['idle_reads_per_viewer_second']:.2f}",
            "<= 2",
            sse["idle_reads_per_viewer_second"] <= 2,
        ),
        info(
            SECTION,
            "polling follower: DynamoDB reads a second while idle",
            f"{poll['idle_reads_per_viewer_second']:.2f}",
        ),
        check(
            SECTION,
            "SSE viewer: delay acknowledged -> viewer p50",
            f"{sse['p50'] * 1000:.0f} ms (p95 {sse['p95'] * 1000:.0f} ms)",
            "<= 150 ms",
            sse["p50"] <= 0.150,
        ),
        info(
            SECTION,
            "polling follower: delay acknowledged -> viewer p50",
            f"{poll['p50'] * 1000:.0f} ms (p95 {poll['p95'] * 1000:.0f} ms)",
        ),
        check(
            SECTION,
            "every word reached every viewer",
            f"{sse['missing']} missing (SSE), {poll['missing']} (poll)",
            "0",
            sse["missing"] == 0 and poll["missing"] == 0,
        ),
    ]
    return rows
