"""Time, behind an adapter so tests and the local stack can run a virtual clock.

Times are epoch milliseconds, as the reference's ``Date.now()``.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000
