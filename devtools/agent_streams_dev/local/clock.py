"""The local stack's virtual clock."""

from __future__ import annotations

import threading
import time

from agent_streams.clock import SystemClock


class VirtualClock:
    """The local stack's clock: real time (or a frozen start) plus whatever it was
    told to skip, so ten minutes of timeout can pass in an instant."""

    def __init__(self, *, real_time: bool, start_ms: int | None = None) -> None:
        self._real_time = real_time
        # A whole second, so that schedules (at() has second precision) line up
        # exactly with times reached by advancing whole seconds.
        self._base = SystemClock().now_ms() // 1000 * 1000 if start_ms is None else start_ms
        self._started = time.monotonic_ns() // 1_000_000
        self._offset = 0
        self._lock = threading.Lock()

    @property
    def real_time(self) -> bool:
        return self._real_time

    def now_ms(self) -> int:
        with self._lock:
            elapsed = time.monotonic_ns() // 1_000_000 - self._started if self._real_time else 0
            return self._base + elapsed + self._offset

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._offset += ms
        return self.now_ms()

    def advance_to(self, now_ms: int) -> int:
        """Skip forward to ``now_ms`` (no-op if already past it)."""
        with self._lock:
            elapsed = time.monotonic_ns() // 1_000_000 - self._started if self._real_time else 0
            current = self._base + elapsed + self._offset
            if now_ms > current:
                self._offset += now_ms - current
        return self.now_ms()
