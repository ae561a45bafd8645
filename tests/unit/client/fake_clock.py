"""A fake monotonic clock with an awaitable ``sleep``, for timing without waiting.

Manual mode: sleepers wake only when the test calls ``advance``. Autojump mode:
a sleep moves the clock forward at once (for retries/backoff, where only the
order of events matters).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class FakeClock:
    def __init__(self, *, autojump: bool = False, start: float = 1000.0) -> None:
        self.now = start
        self.autojump = autojump
        self.slept: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        if self.autojump:
            self.now += max(0.0, delay)
            await asyncio.sleep(0)
            return
        if delay <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._seq), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking sleepers in deadline order and letting tasks run."""
        target = self.now + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, deadline)
            if not future.done():
                future.set_result(None)
            await settle()
        self.now = target
        await settle()


async def settle(rounds: int = 50) -> None:
    """Let every ready task run until things are quiet (no real time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run an async test body (no pytest-asyncio here), with a safety timeout."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_until(predicate: Callable[[], bool], rounds: int = 2000) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")
