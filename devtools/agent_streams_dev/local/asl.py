"""Running the stack's state machine in this process, for endpoints that cannot.

With the embedded moto server, executions run on moto's own ASL interpreter and
reach the functions through a botocore hook. An endpoint in another process
(``--aws-endpoint``) cannot call back into this process, so there the local
stack runs its executions itself, with this interpreter of the ASL the template
uses: ``Task`` (``lambda:invoke`` and the DynamoDB ``updateItem``/``deleteItem``
integrations, with ``Retry``, ``Catch``, ``ResultSelector``, ``ResultPath``),
``Choice`` (boolean and string equality, ``IsPresent``), ``Wait``, ``Pass``, ``Succeed``,
``Fail``.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent_streams_dev.local.functions import FunctionError, LocalFunctions

log = logging.getLogger(__name__)

#: Keep retries short locally: the point is to show they happen, not to wait for AWS.
MAX_LOCAL_RETRY_SLEEP = 0.2


class StatesError(Exception):
    """An error a state raised, by ASL error name (``States.TaskFailed``, an errorType, …)."""

    def __init__(self, name: str, cause: str) -> None:
        super().__init__(f"{name}: {cause}")
        self.name = name
        self.cause = cause


def get_path(data: Any, path: str) -> Any:
    """A JSONPath of the simple form ASL uses here: ``$``, ``$.a.b``."""
    if path == "$":
        return data
    if not path.startswith("$."):
        raise StatesError("States.Runtime", f"unsupported path {path!r}")
    value = data
    for key in path[2:].split("."):
        if not isinstance(value, dict) or key not in value:
            raise StatesError("States.Runtime", f"path {path!r} not found")
        value = value[key]
    return value


def set_path(data: Any, path: str | None, value: Any) -> Any:
    if path is None:
        return data
    if path == "$":
        return value
    result = copy.deepcopy(data) if isinstance(data, dict) else {}
    target = result
    keys = path[2:].split(".")
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value
    return result


def fill(template: Any, data: Any) -> Any:
    """Apply ``"key.$": "$.path"`` substitutions in Parameters / ResultSelector."""
    if isinstance(template, dict):
        filled = {}
        for key, value in template.items():
            if key.endswith(".$"):
                filled[key[:-2]] = get_path(data, value)
            else:
                filled[key] = fill(value, data)
        return filled
    if isinstance(template, list):
        return [fill(item, data) for item in template]
    return template


def _matches(names: list[str], error: str) -> bool:
    return (
        "States.ALL" in names
        or error in names
        or (error.startswith("States.") is False and "States.TaskFailed" in names)
    )


@dataclass
class Execution:
    arn: str
    name: str
    input: dict[str, Any]
    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    transitions: int = 0
    done: threading.Event = field(default_factory=threading.Event)


class LocalStateMachine:
    def __init__(
        self,
        definition: dict[str, Any],
        functions: LocalFunctions,
        dynamodb: Callable[[], Any],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.definition = definition
        self.functions = functions
        self.dynamodb = dynamodb
        self.sleep = sleep

    def run(self, execution: Execution) -> None:
        data: Any = execution.input
        state_name = self.definition["StartAt"]
        try:
            while True:
                state = self.definition["States"][state_name]
                execution.transitions += 1
                kind = state["Type"]
                if kind == "Succeed":
                    break
                if kind == "Fail":
                    raise StatesError(state.get("Error", "States.Fail"), state.get("Cause", ""))
                if kind == "Pass":
                    data = set_path(data, state.get("ResultPath", "$"), state.get("Result", data))
                elif kind == "Wait":
                    self.sleep(min(float(state.get("Seconds", 0)), MAX_LOCAL_RETRY_SLEEP))
                elif kind == "Choice":
                    state_name = self._choose(state, data)
                    continue
                elif kind == "Task":
                    outcome = self._task(state, data)
                    if isinstance(outcome, tuple):  # caught: (next state, data)
                        state_name, data = outcome
                        continue
                    data = outcome
                else:
                    raise StatesError("States.Runtime", f"unsupported state type {kind}")
                if state.get("End"):
                    break
                state_name = state["Next"]
            execution.status, execution.output = "SUCCEEDED", data
        except StatesError as error:
            execution.status, execution.error = "FAILED", error.name
            log.error("execution %s failed: %s", execution.name, error)
        finally:
            execution.done.set()

    def _choose(self, state: dict[str, Any], data: Any) -> str:
        for rule in state.get("Choices", []):
            if "IsPresent" in rule:
                try:
                    get_path(data, rule["Variable"])
                    present = True
                except StatesError:
                    present = False
                if present is rule["IsPresent"]:
                    return str(rule["Next"])
                continue
            value = get_path(data, rule["Variable"])
            if "BooleanEquals" in rule and value is rule["BooleanEquals"]:
                return str(rule["Next"])
            if "StringEquals" in rule and value == rule["StringEquals"]:
                return str(rule["Next"])
        if "Default" not in state:
            raise StatesError("States.NoChoiceMatched", "no choice matched")
        return str(state["Default"])

    def _task(self, state: dict[str, Any], data: Any) -> Any:
        attempts: dict[int, int] = {}
        while True:
            try:
                result = self._call(state["Resource"], fill(state.get("Parameters", {}), data))
                if "ResultSelector" in state:
                    result = fill(state["ResultSelector"], result)
                return set_path(data, state.get("ResultPath", "$"), result)
            except StatesError as error:
                retry = self._retry_for(state, error.name)
                if retry is not None:
                    index, rule = retry
                    attempts[index] = attempts.get(index, 0) + 1
                    if attempts[index] <= int(rule.get("MaxAttempts", 3)):
                        delay = float(rule.get("IntervalSeconds", 1)) * float(
                            rule.get("BackoffRate", 2.0)
                        ) ** (attempts[index] - 1)
                        self.sleep(min(random.uniform(0, delay), MAX_LOCAL_RETRY_SLEEP))
                        continue
                for catcher in state.get("Catch", []):
                    if _matches(catcher["ErrorEquals"], error.name):
                        caught = {"Error": error.name, "Cause": error.cause}
                        return str(catcher["Next"]), set_path(
                            data, catcher.get("ResultPath", "$"), caught
                        )
                raise

    def _retry_for(self, state: dict[str, Any], error: str) -> tuple[int, dict[str, Any]] | None:
        for index, rule in enumerate(state.get("Retry", [])):
            if _matches(rule["ErrorEquals"], error):
                return index, rule
        return None

    def _call(self, resource: str, parameters: dict[str, Any]) -> Any:
        if resource == "arn:aws:states:::lambda:invoke":
            function = self.functions.find(str(parameters["FunctionName"]))
            if function is None:
                raise StatesError(
                    "Lambda.ResourceNotFoundException", str(parameters["FunctionName"])
                )
            try:
                payload = function.invoke(json.loads(json.dumps(parameters.get("Payload", {}))))
            except FunctionError as error:
                raise StatesError(
                    str(error.payload.get("errorType", "Exception")), json.dumps(error.payload)
                ) from None
            return {"StatusCode": 200, "Payload": payload}
        prefix = "arn:aws:states:::dynamodb:"
        if resource.startswith(prefix):
            action = resource[len(prefix) :]
            operation = {"updateItem": "update_item", "deleteItem": "delete_item", "putItem": "put_item",
                         "getItem": "get_item"}.get(action)  # fmt: skip
            if operation is None:
                raise StatesError("States.Runtime", f"unsupported DynamoDB action {action}")
            try:
                reply = getattr(self.dynamodb(), operation)(**parameters)
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                raise StatesError(f"DynamoDB.{code}", str(exc)) from None
            reply.pop("ResponseMetadata", None)
            return reply
        raise StatesError("States.Runtime", f"unsupported resource {resource}")


class LocalWorkflows:
    """The :class:`~agent_streams.workflows.Workflows` adapter running executions here."""

    def __init__(self, machine: LocalStateMachine, machine_arn: str) -> None:
        self._machine = machine
        self._machine_arn = machine_arn
        self._lock = threading.Lock()
        self.executions: dict[str, Execution] = {}

    def start_thread_deletion(self, thread_id: str, attempt: int) -> str:
        return self._start(f"{thread_id}-{attempt}", {"threadId": thread_id})

    def start_streams_deletion(self, name: str, scope: dict[str, Any]) -> str:
        return self._start(name, scope)

    def _start(self, name: str, execution_input: dict[str, Any]) -> str:
        arn = self._machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
        with self._lock:
            if arn in self.executions:
                return arn
            execution = Execution(arn, name, dict(execution_input))
            self.executions[arn] = execution
        threading.Thread(
            target=self._machine.run, args=(execution,), name=f"sfn-{name}", daemon=True
        ).start()
        return arn

    def is_running(self, execution_arn: str) -> bool:
        execution = self.executions.get(execution_arn)
        return execution is not None and execution.status == "RUNNING"

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for execution in list(self.executions.values()):
            if not execution.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True
