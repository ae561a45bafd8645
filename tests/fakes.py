"""Fakes of the runtime's adapters (scheduler, workflows, clock) for unit and integration tests.

The storage is never faked: its rules run on moto.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from agent_streams.clock import SystemClock
from agent_streams.scheduling import NAME_PATTERN, Target
from agent_streams.workflows import execution_name


@dataclass(frozen=True)
class PendingSchedule:
    name: str
    at_ms: int
    target: Target
    stream_id: str


class InMemoryScheduler:
    """The fake: pending schedules in a dict; tests fire what is due."""

    def __init__(self) -> None:
        self.pending: dict[str, PendingSchedule] = {}
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def schedule(self, name: str, at_ms: int, target: Target, stream_id: str) -> None:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"invalid schedule name {name!r}")
        with self._lock:
            self.calls.append(("create", name))
            self.pending.setdefault(name, PendingSchedule(name, at_ms, target, stream_id))

    def cancel(self, name: str) -> bool:
        with self._lock:
            self.calls.append(("delete", name))
            return self.pending.pop(name, None) is not None

    def take_due(self, now_ms: int) -> list[PendingSchedule]:
        """Remove and return the schedules due at ``now_ms``, earliest first (as if they fired)."""
        with self._lock:
            due = sorted(
                (s for s in self.pending.values() if s.at_ms <= now_ms), key=lambda s: s.at_ms
            )
            for s in due:
                del self.pending[s.name]
            return due


class InMemoryWorkflows:
    """The fake: records started executions; tests run the deletion themselves."""

    def __init__(self) -> None:
        self.started: dict[str, str] = {}
        #: Executions finishing synchronous deletions: name -> input.
        self.scoped: dict[str, dict[str, Any]] = {}
        self.running: set[str] = set()

    def start_thread_deletion(self, thread_id: str, attempt: int) -> str:
        name = execution_name(thread_id, attempt)
        arn = f"arn:aws:states:us-east-1:000000000000:execution:fake:{name}"
        if name not in self.started:
            self.started[name] = thread_id
            self.running.add(arn)
        return arn

    def start_streams_deletion(self, name: str, scope: dict[str, Any]) -> str:
        arn = f"arn:aws:states:us-east-1:000000000000:execution:fake:{name}"
        if name not in self.scoped:
            self.scoped[name] = dict(scope)
            self.running.add(arn)
        return arn

    def is_running(self, execution_arn: str) -> bool:
        return execution_arn in self.running


class ManualClock:
    """A clock that moves only when told to (tests, the local stack's virtual time)."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = SystemClock().now_ms() if start_ms is None else start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._now += ms
            return self._now

    def set(self, now_ms: int) -> None:
        with self._lock:
            if now_ms < self._now:
                raise ValueError("a clock cannot go back")
            self._now = now_ms


class RecordingPublisher:
    """The fake of the lifecycle events' publisher: keeps what it is given, in order.

    ``publish_only`` makes the next call publish only that many of its first events (an
    EventBridge that failed the rest of the entries).
    """

    def __init__(self) -> None:
        self.published: list[Any] = []
        self.calls: list[int] = []
        self.publish_only: int | None = None

    def publish(self, events: Any) -> int:
        count = len(events) if self.publish_only is None else min(self.publish_only, len(events))
        self.publish_only = None
        self.calls.append(len(events))
        self.published.extend(events[:count])
        return count

    def kinds(self) -> list[str]:
        return [event.detail_type for event in self.published]
