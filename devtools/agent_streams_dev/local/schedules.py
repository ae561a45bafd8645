"""Firing EventBridge Scheduler schedules at their time, as the real service does.

moto stores schedules but never fires them: this reads the stack's group,
invokes each due schedule's target with its input, and then deletes it
(``ActionAfterCompletion: DELETE``), in time order, against the stack's clock.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from agent_streams.scheduling import parse_at_expression
from agent_streams_dev.local.clock import VirtualClock
from agent_streams_dev.local.functions import FunctionError, LocalFunctions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    at_ms: int
    name: str
    target_arn: str
    input: str
    delete_after: bool


class ScheduleRunner:
    def __init__(
        self, client: Any, group: str, functions: LocalFunctions, clock: VirtualClock
    ) -> None:
        self._client = client
        self._group = group
        self._functions = functions
        self._clock = clock
        self.fired: list[str] = []
        self.failures: list[tuple[str, dict[str, Any]]] = []

    def pending(self) -> list[Due]:
        found = []
        for page in self._client.get_paginator("list_schedules").paginate(GroupName=self._group):
            for summary in page.get("Schedules", []):
                try:
                    schedule = self._client.get_schedule(
                        GroupName=self._group, Name=summary["Name"]
                    )
                except Exception:  # deleted between the listing and the read
                    continue
                if schedule.get("State", "ENABLED") != "ENABLED":
                    continue
                target = schedule["Target"]
                found.append(
                    Due(
                        at_ms=parse_at_expression(schedule["ScheduleExpression"]),
                        name=schedule["Name"],
                        target_arn=target["Arn"],
                        input=target.get("Input", "{}"),
                        delete_after=schedule.get("ActionAfterCompletion") == "DELETE",
                    )
                )
        return sorted(found, key=lambda due: (due.at_ms, due.name))

    def next_due_ms(self) -> int | None:
        pending = self.pending()
        return pending[0].at_ms if pending else None

    def fire_due(self) -> list[str]:
        """Fire every schedule due now, and those their targets arm for now; returns names."""
        fired: list[str] = []
        for _ in range(1000):
            due = [d for d in self.pending() if d.at_ms <= self._clock.now_ms()]
            if not due:
                break
            for schedule in due:
                self._fire(schedule)
                fired.append(schedule.name)
        self.fired.extend(fired)
        return fired

    def _fire(self, schedule: Due) -> None:
        function = self._functions.find(schedule.target_arn)
        if function is None:
            log.error(
                "schedule %s targets an unknown function %s", schedule.name, schedule.target_arn
            )
        else:
            try:
                function.invoke(json.loads(schedule.input))
            except FunctionError as error:
                # Scheduler would retry and then send it to the DLQ; both targets are
                # idempotent, so a failure here is recorded and the schedule is done.
                self.failures.append((schedule.name, error.payload))
                log.error(
                    "schedule %s failed: %s", schedule.name, error.payload.get("errorMessage")
                )
        if schedule.delete_after:
            try:
                self._client.delete_schedule(GroupName=self._group, Name=schedule.name)
            except Exception as exc:
                if (
                    getattr(exc, "response", {}).get("Error", {}).get("Code")
                    != "ResourceNotFoundException"
                ):
                    raise
