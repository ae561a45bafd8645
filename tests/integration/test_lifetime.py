"""No acknowledged delta disappears while its stream is readable.

A stream lives at most ``MAX_STREAM_LIFETIME_MS`` (24 hours): its timeout
schedule aborts it then with reason ``expired``, however recently it was
written; deltas expire ``RetentionDays`` + 2 days after they were written, so
they outlive every state in which their stream can be read. Driven here on the
fake scheduler and a manual clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent_streams_protocol.limits import MAX_STREAM_LIFETIME_MS, MINUTE_MS
from tests.conftest import Stack, snapshot
from tests.helpers import Api
from tests.integration.test_lifecycle import advance, fire_due

DAY_MS = 24 * 60 * MINUTE_MS


def part(start: int) -> dict[str, Any]:
    return {"type": "text-delta", "id": "t", "delta": f"{start} "}


def log_starts(api: Api, thread_id: str, stream_id: str) -> list[int]:
    found: list[int] = []
    cursor = 0
    while True:
        page = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": cursor}]},
        )
        if not page:
            return found
        found += [d["start"] for d in page]
        cursor = page[-1]["end"]


@pytest.fixture
def armed(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every time a schedule was armed for."""
    times: list[int] = []
    schedule = stack.scheduler.schedule

    def recording(name: str, at_ms: int, target: Any, stream_id: str) -> None:
        times.append(at_ms)
        schedule(name, at_ms, target, stream_id)

    monkeypatch.setattr(stack.scheduler, "schedule", recording)
    return times


def test_a_stream_written_for_a_day_is_aborted_expired_with_its_log_whole(
    api: Api, stack: Stack, thread_id: str, armed: list[int]
) -> None:
    created = stack.clock.now_ms()
    stream = api.direct(
        "create_stream",
        {"threadId": thread_id, "order": 0, "stepOrder": 0, "format": "UIMessageChunk"},
    )
    api.direct(
        "add_delta",
        {"streamId": stream, "start": 0, "end": 1, "parts": [{"type": "text-start", "id": "t"}]},
    )
    start = 1
    # A delta every 5 minutes, for a day and a bit: the writer never goes quiet.
    while stack.clock.now_ms() < created + MAX_STREAM_LIFETIME_MS + 30 * MINUTE_MS:
        accepted = api.direct(
            "add_delta",
            {"streamId": stream, "start": start, "end": start + 1, "parts": [part(start)]},
        )
        if not accepted:
            break
        start += 1
        advance(api, stack, 5 * MINUTE_MS, step=5 * MINUTE_MS)

    state = api.direct("get_stream", {"streamId": stream})
    assert (state["status"], state["reason"]) == ("aborted", "expired")
    assert state["endedAt"] == created + MAX_STREAM_LIFETIME_MS
    assert max(armed) == created + MAX_STREAM_LIFETIME_MS  # never armed past it
    assert state["nextStart"] == start  # everything acknowledged is in the log

    # Every delta outlives the stream: none can expire while the stream can be read.
    tables = snapshot(stack.settings)
    (item,) = tables[stack.settings.streams_table]
    stream_expires = int(item["expiresAt"]["N"])
    deltas = tables[stack.settings.deltas_table]
    assert len(deltas) == start
    assert min(int(d["expiresAt"]["N"]) for d in deltas) > stream_expires

    # The last moment the aborted stream can be read, its log is whole from 0.
    stack.clock.set(stream_expires * 1000 - 1000)
    fire_due(api, stack)
    assert api.direct("get_stream", {"streamId": stream})["status"] == "aborted"
    assert log_starts(api, thread_id, stream) == list(range(start))
    # From then on the stream is gone for readers, while its deltas have a day left.
    stack.clock.set(stream_expires * 1000)
    assert api.http("get_stream", {"streamId": stream})[0] == 404


def test_a_stream_created_a_while_ago_expires_on_time_even_while_heartbeating(
    api: Api, stack: Stack, stream_id: str
) -> None:
    created = stack.clock.now_ms()
    while stack.clock.now_ms() < created + MAX_STREAM_LIFETIME_MS - 9 * MINUTE_MS:
        api.direct("heartbeat_stream", {"streamId": stream_id})
        advance(api, stack, 9 * MINUTE_MS, step=9 * MINUTE_MS)
    assert api.direct("get_stream", {"streamId": stream_id})["status"] == "streaming"
    api.direct("heartbeat_stream", {"streamId": stream_id})
    advance(api, stack, 9 * MINUTE_MS, step=MINUTE_MS)
    state = api.direct("get_stream", {"streamId": stream_id})
    assert (state["status"], state["reason"]) == ("aborted", "expired")
    assert stack.scheduler.pending == {}


def test_a_lost_timeout_schedule_still_ends_readability_before_any_delta_expires(
    api: Api, stack: Stack, thread_id: str, stream_id: str
) -> None:
    """With every schedule lost, the stream item's own TTL ends it (an hour after its last
    armed timeout), long before its first delta expires."""
    api.direct(
        "add_delta",
        {"streamId": stream_id, "start": 0, "end": 1, "parts": [part(0)]},
    )
    stack.scheduler.pending.clear()  # lost
    tables = snapshot(stack.settings)
    (item,) = tables[stack.settings.streams_table]
    (delta,) = tables[stack.settings.deltas_table]
    assert int(item["expiresAt"]["N"]) * 1000 <= stack.clock.now_ms() + MAX_STREAM_LIFETIME_MS
    assert int(delta["expiresAt"]["N"]) > int(item["expiresAt"]["N"]) + (
        stack.settings.retention_seconds
    )
