"""Lifecycle events on EventBridge, behind an adapter with an in-memory fake.

Every terminal transition of a stream and every deletion is an event on the stack's
bus (``EventBusName``, the account's default bus unless set), from source
:data:`SOURCE`:

- ``Stream Finished``, ``Stream Aborted`` (``reason``: the caller's, ``timeout``,
  ``expired``, ``deleted``, ``thread deleted``, an order-abort's…),
- ``Stream Deleted`` (delete_stream, delete_thread_streams, cleanup, thread deletion,
  and the TTL backstop, then with ``expired: true``),
- ``Thread Deleted``.

A stream event's ``detail`` is the stream as the transition left it:
``{stack, threadId, streamId, order, stepOrder, status, reason?, cursor, userId?,
format?}`` (``cursor``: its ``nextStart``, the end of its log); a thread's is
``{stack, threadId, userId?}``. ``stack`` tells two stacks on one bus apart; absent
optional fields are omitted, as everywhere in the contract. The event's ``time`` is
when the transition happened (``endedAt``), or when DynamoDB recorded the deletion.

They are published by ``publish_events`` from the tables' DynamoDB streams, so each is
delivered at least once (``docs/events.md``): a duplicate is possible, a loss is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agent_streams.aws import client
from agent_streams.config import Settings
from agent_streams.json_text import compact_json
from agent_streams.retries import TRANSIENT_CODES, failure, is_transient, retrying
from agent_streams.types import Stream

SERVICE = "EventBridge"
#: Every event's ``source``.
SOURCE = "agent-streams"
STREAM_FINISHED = "Stream Finished"
STREAM_ABORTED = "Stream Aborted"
STREAM_DELETED = "Stream Deleted"
THREAD_DELETED = "Thread Deleted"
DETAIL_TYPES = (STREAM_FINISHED, STREAM_ABORTED, STREAM_DELETED, THREAD_DELETED)
#: Entries one PutEvents call takes.
MAX_ENTRIES = 10


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    detail_type: str
    detail: dict[str, Any]
    #: When it happened (epoch milliseconds).
    time_ms: int


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


def stream_event(
    detail_type: str, stream: Stream, stack: str, time_ms: int, *, expired: bool = False
) -> LifecycleEvent:
    detail: dict[str, Any] = {"stack": stack, "threadId": stream.thread_id}
    detail["streamId"] = stream.stream_id
    detail["order"] = stream.order
    detail["stepOrder"] = stream.step_order
    detail["status"] = stream.status
    _put(detail, "reason", stream.reason)
    detail["cursor"] = stream.next_start
    _put(detail, "userId", stream.meta.get("userId"))
    _put(detail, "format", stream.meta.get("format"))
    if expired:
        detail["expired"] = True
    return LifecycleEvent(detail_type, detail, time_ms)


def thread_event(thread_id: str, user_id: str | None, stack: str, time_ms: int) -> LifecycleEvent:
    detail: dict[str, Any] = {"stack": stack, "threadId": thread_id}
    _put(detail, "userId", user_id)
    return LifecycleEvent(THREAD_DELETED, detail, time_ms)


class EventPublisher(Protocol):
    def publish(self, events: Sequence[LifecycleEvent]) -> int:
        """Publish ``events`` in order; how many of the first ones are surely published
        (all of them, or the index of the first that is not). Later ones may have been."""
        ...


class _EntriesFailed(Exception):
    def __init__(self, codes: list[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes


class EventBridgePublisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def entry(self, event: LifecycleEvent) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": event.detail_type,
            "Detail": compact_json(event.detail),
            "EventBusName": self._settings.event_bus_name,
            "Time": datetime.fromtimestamp(event.time_ms / 1000, UTC),
        }

    def publish(self, events: Sequence[LifecycleEvent]) -> int:
        for offset in range(0, len(events), MAX_ENTRIES):
            group = events[offset : offset + MAX_ENTRIES]
            published = self._put_events(group)
            if published < len(group):
                return offset + published
        return len(events)

    def _put_events(self, group: Sequence[LifecycleEvent]) -> int:
        """Send one PutEvents of up to 10 entries, again with the entries that failed
        transiently; how many of the first entries are published."""
        pending = list(range(len(group)))
        done = [False] * len(group)
        what = f"publish {len(group)} lifecycle events"

        def attempt() -> None:
            reply = client("events", self._settings.region).put_events(
                Entries=[self.entry(group[i]) for i in pending]
            )
            failed: list[int] = []
            codes: list[str] = []
            for index, result in zip(list(pending), reply.get("Entries", []), strict=False):
                if result.get("EventId"):
                    done[index] = True
                else:
                    failed.append(index)
                    codes.append(str(result.get("ErrorCode", "unknown")))
            pending[:] = [i for i in pending if not done[i]]
            if pending:
                raise _EntriesFailed(codes)

        def transient(exc: BaseException) -> bool:
            if isinstance(exc, _EntriesFailed):
                return all(code in TRANSIENT_CODES for code in exc.codes)
            return is_transient(exc)

        try:
            retrying(attempt, what=what, transient=transient)
        except _EntriesFailed:
            pass
        except Exception as exc:
            if not any(done):
                raise failure(exc, SERVICE, what) from exc
        return done.index(False) if False in done else len(group)
