"""The DeleteThreadStreams state machine, behind an adapter with an in-memory fake."""

from __future__ import annotations

import json
from typing import Protocol

from agent_streams.aws import client, error_code
from agent_streams.config import Settings
from agent_streams_protocol.errors import ServiceUnavailable


class Workflows(Protocol):
    def start_thread_deletion(self, thread_id: str, attempt: int) -> str:
        """Start (or find, if already started) attempt ``attempt``; returns the execution ARN."""
        ...

    def is_running(self, execution_arn: str) -> bool: ...


def execution_name(thread_id: str, attempt: int) -> str:
    return f"{thread_id}-{attempt}"


class StepFunctionsWorkflows:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def start_thread_deletion(self, thread_id: str, attempt: int) -> str:
        machine = self._settings.require("delete_thread_state_machine_arn")
        name = execution_name(thread_id, attempt)
        try:
            reply = client("stepfunctions", self._settings.region).start_execution(
                stateMachineArn=machine, name=name, input=json.dumps({"threadId": thread_id})
            )
        except Exception as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                # The same name was started by a concurrent call (or a retry): it is ours.
                return machine.replace(":stateMachine:", ":execution:") + ":" + name
            raise ServiceUnavailable(f"Step Functions failed to start {name}: {exc}") from exc
        return str(reply["executionArn"])

    def is_running(self, execution_arn: str) -> bool:
        try:
            reply = client("stepfunctions", self._settings.region).describe_execution(
                executionArn=execution_arn
            )
        except Exception as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return False
            raise ServiceUnavailable(
                f"Step Functions failed to describe an execution: {exc}"
            ) from exc
        return str(reply["status"]) == "RUNNING"
