"""Settings of the live reads, read from the environment on first use."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from agent_streams.config import ConfigurationError
from agent_streams.live.polling import PollingOptions


@dataclass(frozen=True)
class LiveOptions:
    polling: PollingOptions = field(default_factory=PollingOptions)
    #: A comment ping after this long without an event.
    ping_seconds: float = 15.0
    #: A connection ends (without ``[DONE]``) after this long, before the platform's
    #: limit cuts it; the reader reconnects with its last event id.
    max_seconds: float = 840.0
    #: How long after a turn's last stream ended a later stream is still waited for.
    turn_settle_ms: int = 1000


_ENV = {
    "LIVE_FAST_MS": "fast",
    "LIVE_IDLE_MS": "idle",
    "LIVE_PING_SECONDS": "ping",
    "LIVE_MAX_SECONDS": "max",
    "LIVE_TURN_SETTLE_MS": "settle",
}


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None
    if not value >= 0:
        raise ConfigurationError(f"{name} must not be negative, not {raw!r}")
    return value


def live_options_from_env(environ: dict[str, str] | None = None) -> LiveOptions:
    env = os.environ if environ is None else environ
    found = {key: _number(name, env[name]) for name, key in _ENV.items() if env.get(name)}
    defaults = LiveOptions()
    polling = PollingOptions(
        fast_seconds=found["fast"] / 1000 if "fast" in found else defaults.polling.fast_seconds,
        idle_seconds=found["idle"] / 1000 if "idle" in found else defaults.polling.idle_seconds,
    )
    if polling.idle_seconds < 0.5:
        raise ConfigurationError("LIVE_IDLE_MS must be at least 500 (2 reads a second while idle)")
    return LiveOptions(
        polling=polling,
        ping_seconds=found.get("ping", defaults.ping_seconds),
        max_seconds=found.get("max", defaults.max_seconds),
        turn_settle_ms=int(found.get("settle", defaults.turn_settle_ms)),
    )


@lru_cache(maxsize=1)
def get_live_options() -> LiveOptions:
    return live_options_from_env()
