"""The side effects the service uses, built lazily from settings and swappable.

Handlers never build clients: the first operation that needs storage or the
scheduler asks :func:`services`, which builds the AWS adapters from the
environment once. Tests and the local stack install their own with
:func:`use_services`.
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field

from agent_streams.clock import Clock, SystemClock
from agent_streams.config import Settings, get_settings
from agent_streams.lifecycle_events import EventPublisher
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
    #: Where lifecycle events go (None: EventBridge, as the settings say).
    events: EventPublisher | None = None

    def now(self) -> int:
        return self.clock.now_ms()

    def publisher(self) -> EventPublisher:
        if self.events is None:
            from agent_streams.lifecycle_events import EventBridgePublisher

            self.events = EventBridgePublisher(self.settings)
        return self.events


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
    from agent_streams.lifecycle_events import EventBridgePublisher
    from agent_streams.scheduling import EventBridgeScheduler
    from agent_streams.storage.dynamo import DynamoRepository
    from agent_streams.workflows import StepFunctionsWorkflows

    return Services(
        settings=settings,
        repository=DynamoRepository(settings),
        scheduler=EventBridgeScheduler(settings),
        workflows=StepFunctionsWorkflows(settings),
        events=EventBridgePublisher(settings),
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
