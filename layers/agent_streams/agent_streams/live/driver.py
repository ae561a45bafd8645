"""The body of a live read: rounds of reads, paced, turned into SSE bytes.

Plain asyncio: the function's ASGI app and the local stack run it as the body of
a streaming response. Each round's storage reads run in a worker thread (botocore
blocks), the pauses between rounds follow :class:`~agent_streams.live.polling.PollSchedule`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from agent_streams.live.options import LiveOptions
from agent_streams.live.polling import PollSchedule
from agent_streams.live.sse import DONE, PING
from agent_streams.live.stream_feed import Round


class Rounds(Protocol):
    def round(self, probe: bool) -> Round: ...


async def _in_thread(rounds: Rounds, probe: bool) -> Round:
    return await asyncio.to_thread(rounds.round, probe)


async def sse_body(
    rounds: Rounds,
    first: Round,
    options: LiveOptions,
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    run: Callable[[Rounds, bool], Awaitable[Round]] = _in_thread,
) -> AsyncIterator[bytes]:
    """The response body: events as they come, ``[DONE]`` at the end, pings when idle.

    ``deadline`` (on ``clock``): end before it without ``[DONE]``; by default
    ``options.max_seconds`` from now.
    """
    started = clock()
    end_by = started + options.max_seconds if deadline is None else deadline
    schedule = PollSchedule(options.polling)
    last_sent = started
    step = first
    while True:
        if step.frames:
            yield b"".join(step.frames)
            last_sent = clock()
        if step.done:
            yield DONE
            return
        if step.gone:
            return
        schedule.record(step.found_parts)
        delay = 0.0 if step.more else schedule.delay
        now = clock()
        if now + delay >= end_by:
            return
        if now - last_sent >= options.ping_seconds:
            yield PING
            last_sent = now
        if delay:
            await sleep(delay)
        step = await run(rounds, schedule.probe and not step.more)
