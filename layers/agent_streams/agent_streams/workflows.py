"""The DeleteThreadStreams state machine, behind an adapter with an in-memory fake."""

from __future__ import annotations

import json
from typing import Any, Protocol

from agent_streams.aws import client, error_code
from agent_streams.config import Settings
from agent_streams.retries import failure, retrying

SERVICE = "Step Functions"


class Workflows(Protocol):
    def start_thread_deletion(self, thread_id: str, attempt: int) -> str:
        """Start (or find, if already started) attempt ``attempt``; returns the execution ARN."""
        ...

    def start_streams_deletion(self, name: str, scope: dict[str, Any]) -> str:
        """Start (or find, if already started) the execution ``name`` deleting what
        ``scope`` names (``{streamId}`` or ``{threadId, createdBefore}``; the thread
        stays); returns its ARN."""
        ...

    def is_running(self, execution_arn: str) -> bool: ...


def execution_name(thread_id: str, attempt: int) -> str:
    return f"{thread_id}-{attempt}"


def stream_deletion_name(stream_id: str, now_ms: int) -> str:
    """The execution finishing a ``delete_stream`` call made at ``now_ms``."""
    return f"stream-{stream_id}-{now_ms}"


def thread_streams_deletion_name(thread_id: str, now_ms: int) -> str:
    """The execution finishing a ``delete_thread_streams`` call made at ``now_ms``."""
    return f"streams-{thread_id}-{now_ms}"


class StepFunctionsWorkflows:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def start_thread_deletion(self, thread_id: str, attempt: int) -> str:
        return self._start(execution_name(thread_id, attempt), {"threadId": thread_id})

    def start_streams_deletion(self, name: str, scope: dict[str, Any]) -> str:
        return self._start(name, scope)

    def _start(self, name: str, execution_input: dict[str, Any]) -> str:
        machine = self._settings.require("delete_thread_state_machine_arn")
        region = self._settings.region
        what = f"start execution {name}"
        try:
            reply = retrying(
                lambda: client("stepfunctions", region).start_execution(
                    stateMachineArn=machine, name=name, input=json.dumps(execution_input)
                ),
                what=what,
            )
        except Exception as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                # The same name was started by a concurrent call (or a retry): it is ours.
                return machine.replace(":stateMachine:", ":execution:") + ":" + name
            raise failure(exc, SERVICE, what) from exc
        return str(reply["executionArn"])

    def is_running(self, execution_arn: str) -> bool:
        region = self._settings.region
        what = "describe an execution"
        try:
            reply = retrying(
                lambda: client("stepfunctions", region).describe_execution(
                    executionArn=execution_arn
                ),
                what=what,
            )
        except Exception as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return False
            raise failure(exc, SERVICE, what) from exc
        return str(reply["status"]) == "RUNNING"
