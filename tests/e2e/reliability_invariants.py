"""The invariants every race against the local stack is checked against.

What a stream promises, whatever interleaving its writers, enders, timeouts and
cleanups took:

- its log (what readers get, and what DynamoDB holds) is contiguous from 0, with
  no duplicate and no overlapping delta, and ends where the stream says
  (``nextStart``);
- every acknowledged delta is in it, exactly as acknowledged; no refused delta is;
- nothing is accepted after a terminal state, and a terminal state never changes;
- every read a reader made while the race ran was a clean prefix of the log that
  held every delta acknowledged before the read was sent;
- a deleted stream, or a deleted thread, leaves nothing behind: no item in any
  table and no schedule.

Writers here send, for part ``i``, always the same part (``part(i)``), so every
stored delta's parts are known from its numbers alone.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent_streams import ids
from agent_streams_dev.local.stack import LocalStack
from tests.e2e.conftest import LocalApi

TERMINAL = ("finished", "aborted")
_clients: dict[tuple[int, str], Any] = {}
_clients_lock = threading.Lock()


def aws(stack: LocalStack, service: str) -> Any:
    """A boto3 client for the stack's AWS endpoint, made once (making one takes ~0.3 s)."""
    key = (id(stack), service)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = stack.client(service)
        return _clients[key]


def part(i: int) -> dict[str, Any]:
    """Part number ``i`` of every stream the races write."""
    return {"type": "text-delta", "id": "t", "delta": f"<{i}>"}


def delta_body(start: int, end: int) -> dict[str, Any]:
    return {"start": start, "end": end, "parts": [part(i) for i in range(start, end)]}


@dataclass(frozen=True)
class Reply:
    """One append-like request of a race and what came back."""

    start: int
    end: int
    status: int
    body: Any
    sent: float
    done: float

    @property
    def accepted(self) -> bool:
        return self.status == 200 and bool(self.body.get("accepted"))


@dataclass(frozen=True)
class Read:
    sent: float
    done: float
    status: int
    deltas: list[dict[str, Any]]


@dataclass
class Journal:
    """What the participants of one race did, thread-safe."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    reads: dict[str, list[Read]] = field(default_factory=dict)
    #: Other calls: (what, stream or thread, status, body).
    calls: list[tuple[str, str, int, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reply(self, stream_id: str, reply: Reply) -> None:
        with self._lock:
            self.replies.setdefault(stream_id, []).append(reply)

    def read(self, stream_id: str, read: Read) -> None:
        with self._lock:
            self.reads.setdefault(stream_id, []).append(read)

    def call(self, what: str, target: str, status: int, body: Any) -> None:
        with self._lock:
            self.calls.append((what, target, status, body))

    def of(self, what: str, target: str | None = None) -> list[tuple[int, Any]]:
        return [
            (status, body)
            for w, t, status, body in self.calls
            if w == what and (target is None or t == target)
        ]


def append(api: LocalApi, journal: Journal, stream_id: str, start: int, end: int) -> Reply:
    sent = time.monotonic()
    status, body = api.post(f"/streams/{stream_id}/deltas", delta_body(start, end))
    reply = Reply(start, end, status, body, sent, time.monotonic())
    journal.reply(stream_id, reply)
    return reply


def read_once(api: LocalApi, journal: Journal, thread_id: str, stream_id: str) -> Read:
    sent = time.monotonic()
    status, body = api.get(f"/threads/{thread_id}/deltas?cursors={stream_id}:0")
    read = Read(sent, time.monotonic(), status, body if status == 200 else [])
    journal.read(stream_id, read)
    return read


def full_log(api: LocalApi, thread_id: str, stream_id: str) -> list[dict[str, Any]]:
    """Every delta a reader gets, page by page from cursor 0."""
    log: list[dict[str, Any]] = []
    cursor = 0
    while True:
        status, page = api.get(f"/threads/{thread_id}/deltas?cursors={stream_id}:{cursor}")
        assert status == 200, page
        if not page:
            return log
        log += page
        cursor = page[-1]["end"]


def stored_log(stack: LocalStack, stream_id: str) -> list[dict[str, Any]]:
    """Every delta item DynamoDB holds for the stream (expired or not), not its snapshot."""
    assert stack.resources is not None
    dynamodb = aws(stack, "dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": stack.resources.settings.deltas_table,
        "KeyConditionExpression": "streamId = :s",
        "ExpressionAttributeValues": {":s": {"S": stream_id}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [
        {
            "streamId": stream_id,
            "start": int(item["start"]["N"]),
            "end": int(item["end"]["N"]),
            "parts": json.loads(item["parts"]["S"]),
        }
        for item in items
        # An ended stream's snapshot shares the partition, below start 0 (storage.keys).
        if int(item["start"]["N"]) >= 0
    ]


def stored_stream(stack: LocalStack, stream_id: str) -> dict[str, Any] | None:
    assert stack.resources is not None
    found = aws(stack, "dynamodb").get_item(
        TableName=stack.resources.settings.streams_table,
        Key={"streamId": {"S": stream_id}},
        ConsistentRead=True,
    )
    item = found.get("Item")
    return None if item is None else dict(item)


def schedules_of(stack: LocalStack, stream_id: str) -> list[str]:
    assert stack.resources is not None
    scheduler = aws(stack, "scheduler")
    names = []
    pages = scheduler.get_paginator("list_schedules").paginate(
        GroupName=stack.resources.settings.schedule_group
    )
    for page in pages:
        names += [s["Name"] for s in page.get("Schedules", []) if stream_id in s["Name"]]
    return names


def check_prefix(deltas: list[dict[str, Any]], stream_id: str, where: str) -> int:
    """The deltas are contiguous from 0, ordered, without overlap, with the known parts;
    returns where they end."""
    expected_start = 0
    for delta in deltas:
        assert delta["streamId"] == stream_id, (where, delta)
        assert delta["start"] == expected_start, f"{where}: gap or overlap at {delta['start']} (expected {expected_start}): {spans(deltas)}"  # fmt: skip
        assert delta["end"] > delta["start"], (where, delta)
        assert delta["parts"] == [part(i) for i in range(delta["start"], delta["end"])], (
            where,
            delta,
        )
        expected_start = delta["end"]
    return expected_start


def spans(deltas: Iterable[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(d["start"], d["end"]) for d in deltas]


def check_stream(
    api: LocalApi,
    stack: LocalStack,
    journal: Journal,
    thread_id: str,
    stream_id: str,
    *,
    terminal: bool | None = None,
) -> dict[str, Any]:
    """Check one stream after a race; returns its state (``get_stream``).

    ``terminal``: whether the stream must have ended (None: either).
    """
    status, state = api.state(stream_id)
    assert status == 200, (stream_id, state)
    log = full_log(api, thread_id, stream_id)
    end = check_prefix(log, stream_id, "reader's log")
    stored = sorted(stored_log(stack, stream_id), key=lambda d: d["start"])
    assert check_prefix(stored, stream_id, "stored log") == end
    assert spans(stored) == spans(log), "readers see exactly what is stored"
    assert state["nextStart"] == end, (state, spans(log))
    if terminal is not None:
        assert (state["status"] in TERMINAL) == terminal, state

    in_log = set(spans(log))
    for reply in journal.replies.get(stream_id, []):
        assert reply.status in (200, 409), reply
        if reply.accepted:
            assert (reply.start, reply.end) in in_log, f"acknowledged {reply} is not in the log {sorted(in_log)}"  # fmt: skip
        elif reply.status == 200:
            # Refused: only because the stream ended, and then nothing of it was stored.
            assert reply.body["status"] in TERMINAL, reply
            assert (reply.start, reply.end) not in in_log, reply
            assert state["status"] in TERMINAL, (state, reply)
        else:
            assert reply.body["error"] == "DeltaConflict", reply
            assert reply.body["expectedStart"] != reply.start, reply
    check_reads(journal, stream_id, log)
    return dict(state)


def check_reads(journal: Journal, stream_id: str, log: list[dict[str, Any]]) -> None:
    """Each read during the race was a clean prefix of the final log holding every delta
    acknowledged before the read was sent (deltas are readable once acknowledged)."""
    final = spans(log)
    acks = [r for r in journal.replies.get(stream_id, []) if r.accepted]
    for read in journal.reads.get(stream_id, []):
        assert read.status == 200, read
        check_prefix(read.deltas, stream_id, "a read during the race")
        seen = spans(read.deltas)
        assert seen == final[: len(seen)], (seen, final)
        if len(read.deltas) >= 100:
            continue  # one page: later deltas are on the next one
        for ack in acks:
            if ack.done < read.sent:
                assert (ack.start, ack.end) in seen, f"{ack} acknowledged before a read that missed it: {seen}"  # fmt: skip


def check_terminal_is_final(
    api: LocalApi, stack: LocalStack, thread_id: str, stream_id: str, state: dict[str, Any]
) -> None:
    """Poke an ended stream every way there is; nothing about it may change."""
    assert state["status"] in TERMINAL, state
    log = spans(full_log(api, thread_id, stream_id))
    end = state["nextStart"]
    status, body = api.post(f"/streams/{stream_id}/deltas", delta_body(end, end + 1))
    assert (status, body) == (200, {"accepted": False, "status": state["status"]})
    status, body = api.post(
        f"/streams/{stream_id}/finish",
        {"finalDelta": {"streamId": stream_id, **delta_body(end, end + 2)}},
    )
    assert (status, body) == (200, {"status": state["status"]})
    status, body = api.post(
        f"/streams/{stream_id}/abort",
        {"reason": "late", "finalDelta": {"streamId": stream_id, **delta_body(end, end + 1)}},
    )
    assert (status, body) == (200, {"aborted": False})
    assert api.post(f"/streams/{stream_id}/heartbeat")[0] == 204
    functions = stack.functions
    assert functions is not None
    functions.by_operation["timeout_stream"].invoke({"streamId": stream_id})
    if state["status"] == "aborted":
        functions.by_operation["cleanup_stream"].invoke({"streamId": stream_id})
    assert api.state(stream_id) == (200, state)
    assert spans(full_log(api, thread_id, stream_id)) == log


def check_gone(api: LocalApi, stack: LocalStack, thread_id: str, stream_id: str) -> None:
    """Nothing of the stream is left: not to readers, not in storage, not in Scheduler."""
    assert api.state(stream_id)[0] == 404
    assert full_log(api, thread_id, stream_id) == []
    assert stored_stream(stack, stream_id) is None
    assert stored_log(stack, stream_id) == []
    assert schedules_of(stack, stream_id) == []


def thread_leftovers(stack: LocalStack, thread_id: str) -> dict[str, list[Any]]:
    """Everything storage still holds for a thread (by index, by scan, and in Scheduler)."""
    assert stack.resources is not None
    settings = stack.resources.settings
    dynamodb = aws(stack, "dynamodb")
    left: dict[str, list[Any]] = {}
    thread = dynamodb.get_item(
        TableName=settings.threads_table, Key={"threadId": {"S": thread_id}}, ConsistentRead=True
    ).get("Item")
    if thread is not None:
        left["thread"] = [thread]
    tag = ids.thread_tag(thread_id)
    for table, key in ((settings.streams_table, "streamId"), (settings.deltas_table, "streamId")):
        kwargs: dict[str, Any] = {
            "TableName": table,
            "FilterExpression": "begins_with(#k, :tag)",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":tag": {"S": tag}},
            "ConsistentRead": True,
        }
        items: list[Any] = []
        while True:
            page = dynamodb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if items:
            left[table] = items
    indexed = dynamodb.query(
        TableName=settings.streams_table,
        IndexName="threadId-status-order-stepOrder",
        KeyConditionExpression="threadId = :t",
        ExpressionAttributeValues={":t": {"S": thread_id}},
    )["Items"]
    if indexed:
        left["index"] = indexed
    schedules = schedules_of(stack, tag)
    if schedules:
        left["schedules"] = schedules
    return left
