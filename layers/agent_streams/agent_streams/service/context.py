"""The side effects the service uses, built lazily from settings and swappable.

Handlers never build clients: the first operation that needs storage or the
scheduler asks :func:`services`, which builds the AWS adapters from the
environment once. Tests and the local stack install their own with
:func:`use_services`.
"""

from __future__ import annotations

import contextvars
import threading
import time
from dataclasses import dataclass, field

from agent_streams.clock import Clock, SystemClock
from agent_streams.config import Settings, get_settings
from agent_streams.scheduling import Scheduler
from agent_streams.storage.repository import Repository
from agent_streams.workflows import Workflows


@dataclass
class Services:
    settings: Settings
    repository: Repository
    scheduler: Scheduler
    workflows: Workflows
    clock: Clock = field(default_factory=SystemClock)

    def now(self) -> int:
        return self.clock.now_ms()


_current: Services | None = None
_lock = threading.Lock()


def services() -> Services:
    global _current
    found = _current
    if found is not None:
        return found
    with _lock:
        if _current is None:
            _current = _from_settings(get_settings())
        return _current


def _from_settings(settings: Settings) -> Services:
    from agent_streams.scheduling import EventBridgeScheduler
    from agent_streams.storage.dynamo import DynamoRepository
    from agent_streams.workflows import StepFunctionsWorkflows

    return Services(
        settings=settings,
        repository=DynamoRepository(settings),
        scheduler=EventBridgeScheduler(settings),
        workflows=StepFunctionsWorkflows(settings),
    )


def aws_services(settings: Settings, clock: Clock | None = None) -> Services:
    """The AWS adapters for ``settings`` (what a deployed function uses)."""
    built = _from_settings(settings)
    if clock is not None:
        built.clock = clock
    return built


def use_services(new: Services | None) -> None:
    """Install the side effects every operation will use (None: back to the environment's)."""
    global _current
    with _lock:
        _current = new


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


_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agent_streams_caller", default=None
)


def set_caller(subject: str | None) -> contextvars.Token[str | None]:
    """The JWT subject of the HTTP caller (None: IAM, direct invoke, or no authorizer)."""
    return _caller.set(subject)


def current_caller() -> str | None:
    return _caller.get()


def reset_caller(token: contextvars.Token[str | None]) -> None:
    _caller.reset(token)
