"""Typed settings, read from the environment on first use, never at import time.

The template passes table names, the schedule group and the state machine to
every function through environment variables; tests and the local stack build a
``Settings`` directly or call :func:`reset_settings` after changing the env.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from agent_streams_protocol.errors import AgentStreamsError

DAY_SECONDS = 24 * 60 * 60


class ConfigurationError(AgentStreamsError):
    """A required setting is missing or malformed: a deployment problem, not a caller's."""


@dataclass(frozen=True)
class Settings:
    threads_table: str = ""
    streams_table: str = ""
    deltas_table: str = ""
    #: EventBridge Scheduler wiring (the group, the role it assumes, the targets, the DLQ).
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    scheduler_dlq_arn: str = ""
    timeout_function_arn: str = ""
    cleanup_function_arn: str = ""
    #: The DeleteThreadStreams state machine.
    delete_thread_state_machine_arn: str = ""
    #: TTL backstop: aborted streams expire this long after they ended; deltas outlive them
    #: (``service.ttl``). A stream's own ``retentionSeconds`` may not exceed it.
    retention_days: int = 30
    #: Where the lifecycle events go (``lifecycle_events``): an EventBridge bus name or ARN.
    event_bus_name: str = "default"
    #: Log the parts of deltas at DEBUG (off by default: LLM output is user content).
    log_parts: bool = False
    #: The S3 bucket holding parts too large for a delta item (``storage.spill``).
    spill_bucket: str = ""
    #: Days after which the bucket's lifecycle rule removes a spilled part's object; it
    #: must outlive the part's delta (``service.ttl.min_spill_expiration_days``).
    spill_expiration_days: int = 33
    #: The CloudFormation stack: the ``stack`` dimension of the service's metrics and in
    #: every lifecycle event's detail, so that two stacks in one account and region do not
    #: add up on one dashboard, and can share a bus.
    stack_name: str = ""
    #: At most this many seconds of a synchronous deletion (``DELETE /streams/{id}``,
    #: ``DELETE /threads/{id}/streams``) go to deleting before the rest is handed to the
    #: state machine (HTTP 202). None: all the function's time but a safety margin.
    sync_deletion_budget_seconds: float | None = None
    region: str | None = field(default=None)

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * DAY_SECONDS

    def require(self, name: str) -> str:
        """The value of a string setting that this operation cannot work without."""
        value = getattr(self, name)
        if not value:
            env = _ENV_NAMES.get(name, name.upper())
            raise ConfigurationError(
                f"setting {name} is not configured (environment variable {env})"
            )
        return str(value)


_ENV_NAMES = {
    "threads_table": "THREADS_TABLE",
    "streams_table": "STREAMS_TABLE",
    "deltas_table": "DELTAS_TABLE",
    "schedule_group": "SCHEDULE_GROUP",
    "scheduler_role_arn": "SCHEDULER_ROLE_ARN",
    "scheduler_dlq_arn": "SCHEDULER_DLQ_ARN",
    "timeout_function_arn": "TIMEOUT_FUNCTION_ARN",
    "cleanup_function_arn": "CLEANUP_FUNCTION_ARN",
    "delete_thread_state_machine_arn": "DELETE_THREAD_STATE_MACHINE_ARN",
    "retention_days": "RETENTION_DAYS",
    "event_bus_name": "EVENT_BUS_NAME",
    "log_parts": "LOG_PARTS",
    "spill_bucket": "SPILL_BUCKET",
    "spill_expiration_days": "SPILL_EXPIRATION_DAYS",
    "stack_name": "STACK_NAME",
    "sync_deletion_budget_seconds": "SYNC_DELETION_BUDGET_SECONDS",
    "region": "AWS_REGION",
}


def _parse_bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _parse_seconds(var: str, raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigurationError(f"{var} must be a number of seconds, not {raw!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigurationError(f"{var} must be a positive number of seconds, not {raw!r}")
    return seconds


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for name, var in _ENV_NAMES.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        if name in ("retention_days", "spill_expiration_days"):
            try:
                days = int(raw)
            except ValueError:
                raise ConfigurationError(
                    f"{var} must be a whole number of days, not {raw!r}"
                ) from None
            if days < 1:
                raise ConfigurationError(f"{var} must be at least 1, not {days}")
            values[name] = days
        elif name == "sync_deletion_budget_seconds":
            values[name] = _parse_seconds(var, raw)
        elif name == "log_parts":
            values[name] = _parse_bool(raw)
        else:
            values[name] = raw
    if "region" not in values and env.get("AWS_DEFAULT_REGION"):
        values["region"] = env["AWS_DEFAULT_REGION"]
    return Settings(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return settings_from_env()


def reset_settings() -> None:
    """Forget the cached settings (after the environment changed)."""
    get_settings.cache_clear()
