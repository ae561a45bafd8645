"""Reading a finished 10,000-part reply as its final message, before and after snapshots,
and how long a lifecycle event takes to arrive after its transition.

Before: what a late reader had to do — list_deltas from cursor 0, a page of 100 deltas
per request, then ``derive_ui_messages`` on its own side. After: one
``GET /streams/{streamId}/message``, answered from the snapshot publish_events wrote
when the stream finished. Both over the local stack's HTTP API, requests counted at
the endpoint, time from the first request to the message in hand, runs interleaved.

The reply is seeded as a throttled writer leaves one: 10,000 one-part deltas (a text
part, word by word), written straight to the Deltas table (seeding is not what is
measured); the stream is then finished through the API, so the snapshot is made the
way it always is. Event delay: from the HTTP reply of a finish (or abort) to the event
in the queue a rule on the bus fills (``GET /_local/events``).

The times are moto's: a query of a partition costs it time in proportion to the whole
table (100-200 ms once the table holds 10,000 other items, 0.3-0.9 s on the
10,000-delta partition itself), where DynamoDB answers in milliseconds whatever the
table. The request counts are what AWS would see.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent_streams_dev.local.counting import Tally
from agent_streams_protocol.materialize import derive_ui_messages
from benchmarks.environment import Bench
from benchmarks.report import Row, check, info, interleaved, median_of

SECTION = "messages"
EVENTS = "events"
BATCH = 25
PAGE = 100


def _part(i: int, parts: int) -> dict[str, Any]:
    if i == 0:
        return {"type": "text-start", "id": "t"}
    if i == parts - 1:
        return {"type": "text-end", "id": "t"}
    return {"type": "text-delta", "id": "t", "delta": f"word{i} "}


def seed_reply(bench: Bench, parts: int, *, finish: bool) -> tuple[str, str]:
    """A stream of ``parts`` one-part deltas (text word by word); finished through the API
    if asked. (thread id, stream id)."""
    assert bench.api is not None
    api = bench.api
    thread = api.thread()
    stream = api.stream(thread)
    dynamodb = bench.direct("dynamodb")
    table = bench.settings.deltas_table
    expires = int(time.time()) + 40 * 86400

    def write(first: int) -> None:
        items = [
            {
                "PutRequest": {
                    "Item": {
                        "streamId": {"S": stream},
                        "start": {"N": str(i)},
                        "end": {"N": str(i + 1)},
                        "parts": {"S": json.dumps([_part(i, parts)], separators=(",", ":"))},
                        "expiresAt": {"N": str(expires)},
                    }
                }
            }
            for i in range(first, min(first + BATCH, parts))
        ]
        pending: dict[str, Any] = {table: items}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(0, parts, BATCH)))
    dynamodb.update_item(
        TableName=bench.settings.streams_table,
        Key={"streamId": {"S": stream}},
        UpdateExpression="SET nextStart = :n",
        ExpressionAttributeValues={":n": {"N": str(parts)}},
    )
    if finish:
        api.ok("POST", f"/streams/{stream}/finish", {})
    return thread, stream


def read_page_by_page(bench: Bench, thread: str, stream: str) -> dict[str, Any]:
    """The late reader before snapshots: every page of deltas, then derive_ui_messages."""
    assert bench.api is not None
    api = bench.api
    public = [
        s
        for s in api.ok("GET", f"/threads/{thread}/streams?statuses=finished,streaming")
        if s["streamId"] == stream
    ]
    deltas: list[dict[str, Any]] = []
    cursor = 0
    while page := api.ok("GET", f"/threads/{thread}/deltas?cursors={stream}:{cursor}"):
        deltas += page
        cursor = page[-1]["end"]
    (message,) = derive_ui_messages(thread, public, deltas)
    return dict(message)


def read_message(bench: Bench, stream: str) -> dict[str, Any]:
    assert bench.api is not None
    return dict(bench.api.ok("GET", f"/streams/{stream}/message")["uiMessage"])


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _figure(tally: Tally, seconds: float) -> str:
    counts = tally.by_operation()
    ops = ", ".join(f"{n} {op.split(':', 1)[1]}" for op, n in sorted(counts.items()))
    return f"{len(tally)} requests ({ops}), {seconds * 1000:,.0f} ms"


def wait_for_event(bench: Bench, stream: str, kind: str, timeout: float = 60.0) -> float:
    """Seconds until the stream's event of ``kind`` is seen on the bus."""
    assert bench.stack is not None
    observer = bench.stack.event_observer
    assert observer is not None
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        for event in observer.events():
            if event["detailType"] == kind and event["detail"].get("streamId") == stream:
                return time.perf_counter() - started
        time.sleep(0.001)
    raise TimeoutError(f"no {kind} for {stream}")


def run(bench: Bench, parts: int, runs: int) -> list[Row]:
    assert bench.api is not None
    assert bench.proxy is not None
    assert bench.stack is not None
    api, proxy = bench.api, bench.proxy
    rows: list[Row] = []
    label = f"finished {parts:,}-part reply"

    # -- event delay after small transitions ---------------------------------------------------
    delays: list[float] = []
    thread = api.thread()
    for i in range(max(runs * 4, 10)):
        small = api.stream(thread, order=i)
        api.append(small, 0)
        if i % 2:
            api.ok("POST", f"/streams/{small}/abort", {"reason": "bench"})
            kind = "Stream Aborted"
        else:
            api.ok("POST", f"/streams/{small}/finish", {})
            kind = "Stream Finished"
        delays.append(wait_for_event(bench, small, kind))
    delays.sort()
    p95 = delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))]
    rows.append(
        info(
            EVENTS,
            f"delay after a finish or abort reply, {len(delays)} small streams",
            f"p50 {median_of(delays) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms",
        )
    )
    # -- the snapshot, written when the stream finishes ---------------------------------
    thread, stream = seed_reply(bench, parts, finish=False)
    with proxy.window(background=True) as everything:
        api.ok("POST", f"/streams/{stream}/finish", {})
        delay = wait_for_event(bench, stream, "Stream Finished")
    publisher = f"{bench.stack.stack_name}-publish_events"
    consumer = Counter(r.key for r in everything.requests if r.background == publisher)
    ops = ", ".join(f"{n} {key.split(':', 1)[1]}" for key, n in sorted(consumer.items()))
    rows.append(
        info(
            EVENTS,
            f"Stream Finished delay, {label} (its snapshot first)",
            f"{delay * 1000:,.0f} ms",
        )
    )
    rows.append(info(SECTION, f"the snapshot of a {label}: publish_events sends", ops or "nothing"))

    # -- before and after, side by side ------------------------------------------------------
    before_message = read_page_by_page(bench, thread, stream)
    after_message = read_message(bench, stream)
    same = before_message == after_message
    with proxy.window() as before:
        read_page_by_page(bench, thread, stream)
    with proxy.window() as after:
        read_message(bench, stream)
    slow, fast = interleaved(
        runs,
        lambda: _timed(lambda: read_page_by_page(bench, thread, stream)),
        lambda: _timed(lambda: read_message(bench, stream)),
    )
    rows.append(
        info(
            SECTION,
            f"before: list_deltas pages + derive, {label}",
            _figure(before, median_of(slow)),
        )
    )
    rows.append(
        check(
            SECTION,
            f"after: GET /message (snapshot), {label}",
            _figure(after, median_of(fast)) + ("" if same else ", NOT the same message"),
            "DynamoDB <= 2, the same message",
            same and after.count("dynamodb") <= 2 and len(after) == after.count("dynamodb"),
        )
    )
    rows.append(
        info(
            SECTION,
            "speed-up, requests and time",
            f"{len(before) / max(1, len(after)):,.0f}x fewer requests, "
            f"{median_of(slow) / median_of(fast):,.0f}x faster",
        )
    )
    stored = bench.direct("dynamodb").query(
        TableName=bench.settings.deltas_table,
        KeyConditionExpression="streamId = :s AND #start < :zero",
        ExpressionAttributeNames={"#start": "start"},
        ExpressionAttributeValues={":s": {"S": stream}, ":zero": {"N": "0"}},
    )["Items"]
    compressed = sum(len(item["data"]["B"]) for item in stored)
    message_bytes = len(json.dumps(after_message, ensure_ascii=False).encode())
    rows.append(
        info(
            SECTION,
            f"snapshot of a {label}",
            f"{len(stored)} item(s), {compressed:,} bytes for a {message_bytes:,}-byte message",
        )
    )

    # -- a live stream of the same length: materialised from its deltas -----------------
    _, live = seed_reply(bench, parts, finish=False)
    with proxy.window() as live_reads:
        live_time = _timed(lambda: read_message(bench, live))
    rows.append(
        info(
            SECTION,
            f"GET /message, live {parts:,}-part stream (from its deltas)",
            _figure(live_reads, live_time),
        )
    )

    return rows
