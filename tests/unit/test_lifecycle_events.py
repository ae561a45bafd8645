"""The EventBridge publisher: entries in calls of ten, the failed ones sent again while
EventBridge fails them transiently, and how many of the first are surely published."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_streams import lifecycle_events, retries
from agent_streams.config import Settings
from agent_streams.lifecycle_events import (
    EventBridgePublisher,
    LifecycleEvent,
    stream_event,
    thread_event,
)
from agent_streams.types import Stream
from agent_streams_protocol.errors import InternalError


class FakeEventBridge:
    """put_events answering each call from a script: per entry, None (published) or a code."""

    def __init__(self, *script: list[str | None]) -> None:
        self.script = list(script)
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        codes = self.script.pop(0) if self.script else [None] * len(Entries)
        return {
            "FailedEntryCount": sum(c is not None for c in codes),
            "Entries": [
                {"EventId": f"id-{i}"} if c is None else {"ErrorCode": c, "ErrorMessage": "no"}
                for i, c in enumerate(codes)
            ],
        }


@pytest.fixture
def bridge(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(*script: list[str | None]) -> FakeEventBridge:
        fake = FakeEventBridge(*script)
        monkeypatch.setattr(lifecycle_events, "client", lambda service, region=None: fake)
        monkeypatch.setattr(retries, "sleep", lambda seconds: None)
        return fake

    return install


def events(n: int) -> list[LifecycleEvent]:
    return [thread_event(f"t{i}", None, "stack", 1_767_225_600_000) for i in range(n)]


PUBLISHER = EventBridgePublisher(Settings(event_bus_name="my-bus", stack_name="stack"))


def test_entries_name_the_bus_the_source_and_the_time(bridge: Any) -> None:
    fake = bridge()
    assert PUBLISHER.publish(events(1)) == 1
    ((entry,),) = fake.calls
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "agent-streams",
        "Thread Deleted",
        "my-bus",
    )
    assert json.loads(entry["Detail"]) == {"stack": "stack", "threadId": "t0"}
    assert entry["Time"].isoformat() == "2026-01-01T00:00:00+00:00"


def test_calls_of_ten(bridge: Any) -> None:
    fake = bridge()
    assert PUBLISHER.publish(events(23)) == 23
    assert [len(c) for c in fake.calls] == [10, 10, 3]


def test_transiently_failed_entries_are_sent_again_alone(bridge: Any) -> None:
    fake = bridge([None, "ThrottlingException", None], ["InternalFailure"])
    assert PUBLISHER.publish(events(3)) == 3
    assert [len(c) for c in fake.calls] == [3, 1, 1]
    assert json.loads(fake.calls[1][0]["Detail"])["threadId"] == "t1"


def test_a_permanent_failure_says_how_many_came_first(bridge: Any) -> None:
    fake = bridge([None, None, "AccessDeniedException", None] + [None] * 6)
    assert PUBLISHER.publish(events(15)) == 2
    assert len(fake.calls) == 1  # the next ten are not sent past a failure


def test_a_refused_call_is_the_contracts_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    class Refusing:
        def put_events(self, Entries: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutEvents")

    monkeypatch.setattr(lifecycle_events, "client", lambda service, region=None: Refusing())
    with pytest.raises(InternalError):
        PUBLISHER.publish(events(1))


def test_a_stream_events_detail_omits_what_is_absent() -> None:
    stream = Stream("s", "t", 2, 1, "aborted", 0, 0, next_start=7, reason="timeout")
    event = stream_event("Stream Aborted", stream, "st", 5)
    assert event.detail == {
        "stack": "st",
        "threadId": "t",
        "streamId": "s",
        "order": 2,
        "stepOrder": 1,
        "status": "aborted",
        "reason": "timeout",
        "cursor": 7,
    }
    full = Stream(
        "s", "t", 0, 0, "finished", 0, 0, meta={"format": "UIMessageChunk", "userId": "u"}
    )
    detail = stream_event("Stream Deleted", full, "st", 5, expired=True).detail
    assert (detail["userId"], detail["format"], detail["expired"]) == ("u", "UIMessageChunk", True)
