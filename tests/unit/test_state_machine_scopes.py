"""The deletion state machine's three inputs, run by the local ASL interpreter.

``{threadId}`` deletes a thread (marked first, deleted last); ``{streamId}`` and
``{threadId, createdBefore}`` finish a synchronous deletion that ran out of time and
leave the thread alone. The same definition runs on moto's interpreter in the
end-to-end tests; here each input's path through it is checked step by step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from agent_streams_dev.local.asl import Execution, LocalStateMachine
from agent_streams_dev.local.template import load_template, substitute

PAGE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:s-delete_thread_streams_page"


def definition() -> dict[str, Any]:
    path, values = load_template().state_machine()
    names = {
        "ThreadsTable": "threads",
        "DeletePageFunctionArn": PAGE_ARN,
        "IndexSettleSeconds": "0",
    }
    assert set(values) == set(names)
    return dict(json.loads(substitute(path.read_text(encoding="utf-8"), names)))


@dataclass
class PageFunction:
    """The page task: records its payloads, done after ``pages`` calls."""

    pages: int
    payloads: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.payloads.append(event)
        return {"isDone": len(self.payloads) >= self.pages}


@dataclass
class Functions:
    page: PageFunction

    def find(self, name: str) -> PageFunction | None:
        return self.page if name == PAGE_ARN else None


class Threads:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def update_item(self, **_: Any) -> dict[str, Any]:
        self.calls.append("update_item")
        return {}

    def delete_item(self, **_: Any) -> dict[str, Any]:
        self.calls.append("delete_item")
        return {}


def run(execution_input: dict[str, Any], pages: int) -> tuple[Execution, PageFunction, Threads]:
    page, threads = PageFunction(pages), Threads()
    machine = LocalStateMachine(
        definition(),
        Functions(page),  # type: ignore[arg-type]
        lambda: threads,
        sleep=lambda _: None,
    )
    execution = Execution("arn", "name", execution_input)
    machine.run(execution)
    return execution, page, threads


def test_a_thread_is_marked_deleted_page_by_page_and_then_deleted() -> None:
    execution, page, threads = run({"threadId": "t"}, pages=3)
    assert execution.status == "SUCCEEDED", execution.error
    assert threads.calls == ["update_item", "delete_item"]
    assert page.payloads[:3] == [{"threadId": "t"}] * 3  # then the check after the settle
    assert len(page.payloads) == 4


def test_one_stream_is_deleted_page_by_page_and_the_thread_left_alone() -> None:
    execution, page, threads = run({"streamId": "s"}, pages=3)
    assert execution.status == "SUCCEEDED", execution.error
    assert page.payloads == [{"streamId": "s"}] * 3
    assert threads.calls == []


@pytest.mark.parametrize("pages", [1, 4])
def test_a_threads_streams_by_creation_time_leave_the_thread_alone(pages: int) -> None:
    execution, page, threads = run({"threadId": "t", "createdBefore": 1234}, pages=pages)
    assert execution.status == "SUCCEEDED", execution.error
    assert page.payloads == [{"threadId": "t", "createdBefore": 1234}] * pages
    assert threads.calls == []
