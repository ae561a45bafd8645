"""One-shot EventBridge Scheduler schedules that invoke ``timeout_stream`` and
``cleanup_stream``, behind an adapter with an in-memory fake.

Schedules are ``at()`` expressions in UTC with ``ActionAfterCompletion: DELETE``,
so a fired schedule removes itself. Cancelling deletes by name; "not found"
means it already fired. Both targets check state first, so a late or duplicate
firing is harmless.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Literal, Protocol

from agent_streams.aws import client, error_code
from agent_streams.config import Settings
from agent_streams.retries import failure, retrying

SERVICE = "EventBridge Scheduler"

Target = Literal["timeout", "cleanup"]
NAME_PATTERN = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
#: How long Scheduler keeps retrying a failed invocation before the DLQ gets it.
RETRY_ATTEMPTS = 20
MAX_EVENT_AGE_SECONDS = 6 * 60 * 60


class Scheduler(Protocol):
    def schedule(self, name: str, at_ms: int, target: Target, stream_id: str) -> None:
        """Arm a one-shot schedule; arming an existing name again is a no-op."""
        ...

    def cancel(self, name: str) -> bool:
        """Delete a pending schedule; False if there was none (it fired or never existed)."""
        ...


def schedule_name(target: Target, stream_id: str, generation: int | str) -> str:
    name = f"{target}-{stream_id}-{generation}"
    if not NAME_PATTERN.match(name):
        raise ValueError(f"invalid schedule name {name!r}: at most 64 of [0-9A-Za-z-_.]")
    return name


def at_expression(at_ms: int) -> str:
    """``at(yyyy-mm-ddThh:mm:ss)`` in UTC, rounded up to the next whole second."""
    seconds = -(-at_ms // 1000)
    return f"at({datetime.fromtimestamp(seconds, UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def parse_at_expression(expression: str) -> int:
    """The epoch milliseconds an ``at()`` expression names (UTC)."""
    match = re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", expression)
    if match is None:
        raise ValueError(f"not a one-shot at() expression: {expression!r}")
    moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1000


class EventBridgeScheduler:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _target_arn(self, target: Target) -> str:
        name = "timeout_function_arn" if target == "timeout" else "cleanup_function_arn"
        return self._settings.require(name)

    def schedule(self, name: str, at_ms: int, target: Target, stream_id: str) -> None:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"invalid schedule name {name!r}")
        settings = self._settings
        target_spec: dict[str, object] = {
            "Arn": self._target_arn(target),
            "RoleArn": settings.require("scheduler_role_arn"),
            "Input": json.dumps({"streamId": stream_id}),
            "RetryPolicy": {
                "MaximumRetryAttempts": RETRY_ATTEMPTS,
                "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
            },
        }
        if settings.scheduler_dlq_arn:
            target_spec["DeadLetterConfig"] = {"Arn": settings.scheduler_dlq_arn}
        group = settings.require("schedule_group")
        what = f"create schedule {name}"
        try:
            retrying(
                lambda: client("scheduler", settings.region).create_schedule(
                    Name=name,
                    GroupName=group,
                    ScheduleExpression=at_expression(at_ms),
                    ScheduleExpressionTimezone="UTC",
                    FlexibleTimeWindow={"Mode": "OFF"},
                    ActionAfterCompletion="DELETE",
                    State="ENABLED",
                    Target=target_spec,
                ),
                what=what,
            )
        except Exception as exc:
            # Also what a retry meets after an attempt that created it and lost the reply.
            if error_code(exc) == "ConflictException":
                return
            raise failure(exc, SERVICE, what) from exc

    def cancel(self, name: str) -> bool:
        settings = self._settings
        group = settings.require("schedule_group")
        what = f"delete schedule {name}"
        try:
            retrying(
                lambda: client("scheduler", settings.region).delete_schedule(
                    Name=name, GroupName=group
                ),
                what=what,
            )
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise failure(exc, SERVICE, what) from exc
        return True
