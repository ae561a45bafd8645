"""Bounded retries with exponential backoff and full jitter.

Full jitter (sleep a random time in ``[0, min(cap, base * 2**attempt)]``) spreads
the retries of many writers that failed together (a throttling burst) instead of
having them hit the service again in lockstep.

What is retried: :class:`TransientError` (throttling, 5xx, broken connections) and
the contract's ``ServiceUnavailable`` (503: AWS kept throttling the service past its
own retries; the request wrote nothing and is safe to repeat as it was). A
``Retry-After`` the server sent is honoured, up to ``max_retry_after_s``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from agent_streams_client.errors import TransientError
from agent_streams_protocol.errors import ServiceUnavailable

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    #: Retries after the first attempt (so at most ``max_retries + 1`` attempts).
    max_retries: int = 6
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0
    #: No retry starts when it would begin more than this long after the first attempt.
    max_total_s: float = 60.0
    #: The longest ``Retry-After`` honoured (a longer one is waited this long).
    max_retry_after_s: float = 30.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Sleep before retry number ``attempt`` (0-based): full jitter."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2.0**attempt))
        return rand() * ceiling

    def wait(
        self, error: BaseException, attempt: int, rand: Callable[[], float] = random.random
    ) -> float:
        """Sleep before retry number ``attempt`` after ``error``: the backoff, or the
        server's ``Retry-After`` (bounded) when that is longer."""
        delay = self.delay(attempt, rand)
        asked = retry_after(error)
        if asked is not None:
            delay = max(delay, min(asked, self.max_retry_after_s))
        return delay


def retry_after(error: BaseException) -> float | None:
    """The seconds the server asked to wait before a retry, if it said."""
    if isinstance(error, TransientError):
        return error.retry_after
    if isinstance(error, ServiceUnavailable):
        return float(error.retry_after)
    return None


def is_retryable(error: BaseException) -> bool:
    """Any transient failure: right for idempotent operations (appends, finish, reads…)."""
    return isinstance(error, TransientError | ServiceUnavailable)


def is_retryable_unprocessed(error: BaseException) -> bool:
    """Transient *and* certainly not processed: the only safe retry for ``create_*``.

    ``ServiceUnavailable`` is the contract's "nothing was written": retry it too.
    """
    if isinstance(error, ServiceUnavailable):
        return True
    return isinstance(error, TransientError) and not error.maybe_processed


async def call_with_retry(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    retry_if: Callable[[BaseException], bool] = is_retryable,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.monotonic,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> T:
    """Run ``attempt()``, retrying what ``retry_if`` accepts within ``policy``'s bounds.

    The last error is raised once the retries or the time budget run out.
    """
    started = clock()
    retries = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            if not retry_if(error) or retries >= policy.max_retries:
                raise
            delay = policy.wait(error, retries, rand)
            if clock() + delay - started > policy.max_total_s:
                raise
            if on_retry is not None:
                on_retry(error, retries, delay)
            retries += 1
            await sleep(delay)
