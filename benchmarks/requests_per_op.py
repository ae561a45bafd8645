"""Requests per operation, counted at the AWS endpoint (the budgets table of DESIGN.md).

Each operation is called once over the local stack's HTTP API while the proxy
records what reaches the endpoint. For list_deltas and list_streams, the proxy
also holds the queries back until k of them wait (or a second passes): k
queries in flight together prove they were issued concurrently, whatever the
endpoint's speed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from agent_streams_dev.local.counting import Tally
from benchmarks.environment import Bench, delta
from benchmarks.report import Row, check

SECTION = "requests"
NINE_MINUTES_MS = 9 * 60 * 1000


def _ops(tally: Tally, service: str) -> str:
    found: Counter[str] = Counter(r.operation for r in tally.requests if r.service == service)
    if not found:
        return "0"
    total = sum(found.values())
    return f"{total} (" + ", ".join(f"{n} {op}" for op, n in sorted(found.items())) + ")"


def _figure(tally: Tally) -> str:
    figure = f"DynamoDB {_ops(tally, 'dynamodb')}; Scheduler {_ops(tally, 'scheduler')}"
    return figure + (f"; S3 {_ops(tally, 's3')}" if tally.count("s3") else "")


def _unexpected(tally: Tally) -> int:
    """Requests to any service but DynamoDB and Scheduler (none of these operations needs
    one: no part here is large enough to spill to S3, ``benchmarks/spill.py``)."""
    return sum(1 for r in tally.requests if r.service not in ("dynamodb", "scheduler"))


def _row(
    name: str,
    tally: Tally,
    budget: str,
    dynamodb_ok: Callable[[Counter[str]], bool],
    scheduler_max: int,
    scheduler_min: int = 0,
) -> Row:
    dynamodb = Counter(r.operation for r in tally.requests if r.service == "dynamodb")
    scheduler = tally.count("scheduler")
    ok = (
        dynamodb_ok(dynamodb)
        and scheduler_min <= scheduler <= scheduler_max
        and not _unexpected(tally)
    )
    return check(SECTION, name, _figure(tally), budget, ok)


def _concurrent_row(bench: Bench, name: str, k: int, call: Callable[[], Any]) -> Row:
    assert bench.proxy is not None
    with (
        bench.proxy.window() as tally,
        bench.proxy.gather(
            k, timeout=1.0, match=lambda service, op: service == "dynamodb" and op == "Query"
        ) as gate,
    ):
        call()
    queries = tally.count("dynamodb", "Query")
    others = len(tally) - queries
    figure = f"{queries} Query, {tally.max_in_flight} in flight together"
    if others:
        figure += f", {others} other"
    ok = queries == k and tally.max_in_flight == k and not gate.timed_out and others == 0
    return check(SECTION, name, figure, f"{k} Query, issued concurrently", ok)


def run(bench: Bench) -> list[Row]:
    assert bench.api is not None
    assert bench.proxy is not None
    assert bench.stack is not None
    api, proxy = bench.api, bench.proxy
    rows: list[Row] = []
    thread = api.thread()

    with proxy.window() as tally:
        stream = api.stream(thread, order=0)
    rows.append(
        _row(
            "create_stream",
            tally,
            "DynamoDB <= 2; Scheduler 1",
            lambda d: sum(d.values()) <= 2,
            scheduler_max=1,
            scheduler_min=1,
        )
    )

    def one_transaction(d: Counter[str]) -> bool:
        return d == Counter({"TransactWriteItems": 1})

    with proxy.window() as tally:
        api.append(stream, 0)
    rows.append(
        _row("add_delta", tally, "DynamoDB 1 (TransactWriteItems); Scheduler 0", one_transaction, 0)
    )

    # Nine silent minutes: the reference would heartbeat (and re-schedule) here.
    bench.stack.clock.advance(NINE_MINUTES_MS)
    with proxy.window() as tally:
        api.append(stream, 3)
    rows.append(
        _row(
            "add_delta, heartbeat due",
            tally,
            "DynamoDB 1 (TransactWriteItems); Scheduler 0",
            one_transaction,
            0,
        )
    )

    with proxy.window() as tally:
        api.ok("POST", f"/streams/{stream}/heartbeat", {})
    rows.append(
        _row(
            "heartbeat_stream",
            tally,
            "DynamoDB <= 1; Scheduler 0",
            lambda d: sum(d.values()) <= 1,
            0,
        )
    )

    final = {"streamId": stream, **delta(6, 2)}
    with proxy.window() as tally:
        api.ok("POST", f"/streams/{stream}/finish", {"finalDelta": final})
    rows.append(
        _row(
            "finish_stream (with finalDelta)",
            tally,
            "DynamoDB <= 2; Scheduler <= 2",
            lambda d: sum(d.values()) <= 2,
            2,
        )
    )

    second = api.stream(thread, order=1)
    with proxy.window() as tally:
        api.ok("POST", f"/streams/{second}/finish", {})
    rows.append(
        _row(
            "finish_stream",
            tally,
            "DynamoDB <= 2; Scheduler <= 2",
            lambda d: sum(d.values()) <= 2,
            2,
        )
    )

    third = api.stream(thread, order=2)
    final = {"streamId": third, **delta(0, 2)}
    with proxy.window() as tally:
        api.ok("POST", f"/streams/{third}/abort", {"reason": "bench", "finalDelta": final})
    rows.append(
        _row(
            "abort_stream (with finalDelta)",
            tally,
            "DynamoDB <= 2; Scheduler <= 2",
            lambda d: sum(d.values()) <= 2,
            2,
        )
    )

    # An abort that arms its stream's cleanup (created with retentionSeconds).
    kept = str(
        api.ok(
            "POST",
            f"/threads/{thread}/streams",
            {"order": 3, "stepOrder": 0, "retentionSeconds": 600},
        )["streamId"]
    )
    with proxy.window() as tally:
        api.ok("POST", f"/streams/{kept}/abort", {"reason": "bench"})
    rows.append(
        _row(
            "abort_stream (retentionSeconds: cleanup armed)",
            tally,
            "DynamoDB <= 2; Scheduler <= 2",
            lambda d: sum(d.values()) <= 2,
            2,
            scheduler_min=2,
        )
    )

    # Readers: ten streams with a few deltas each.
    reader_thread = api.thread()
    streams = [api.stream(reader_thread, order=i) for i in range(10)]
    for stream_id in streams:
        for start in range(0, 9, 3):
            api.append(stream_id, start)
    for k in (1, 10):
        cursors = ",".join(f"{s}:0" for s in streams[:k])
        path = f"/threads/{reader_thread}/deltas?cursors={cursors}"
        rows.append(
            _concurrent_row(
                bench,
                f"list_deltas, {k} cursor{'s' if k > 1 else ''}",
                k,
                lambda path=path: api.ok("GET", path),
            )
        )
    for statuses in (("streaming",), ("streaming", "finished", "aborted")):
        s = len(statuses)
        path = f"/threads/{reader_thread}/streams?statuses={','.join(statuses)}"
        rows.append(
            _concurrent_row(
                bench,
                f"list_streams, {s} status{'es' if s > 1 else ''}",
                s,
                lambda path=path: api.ok("GET", path),
            )
        )
    return rows
