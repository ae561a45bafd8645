"""The invocation's time budget: what paging work and AWS retries must finish within.

Its own module, below everything that uses it: the retries of every AWS adapter
read it, and the service's context (which builds those adapters) sets it per call.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """A time budget in wall-clock seconds, for work that pages until it runs out."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0


_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "agent_streams_deadline", default=None
)
#: Work that pages (deletion, cleanup) stops this long before the Lambda would be killed.
SAFETY_MARGIN_SECONDS = 10.0
#: The budget when there is no Lambda context (direct calls in tests and tools).
DEFAULT_BUDGET_SECONDS = 60.0


def set_deadline(deadline: Deadline | None) -> contextvars.Token[Deadline | None]:
    return _deadline.set(deadline)


def current_deadline() -> Deadline:
    found = _deadline.get()
    return found if found is not None else Deadline.after(DEFAULT_BUDGET_SECONDS)
