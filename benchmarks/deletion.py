"""Deleting a thread of 10 streams x 10,000 deltas: requests and state-machine transitions.

The thread and its streams are created through the API (4 left streaming, 3
finished, 3 aborted, so each kind of pending schedule is there); the deltas are
written straight to the Deltas table with BatchWriteItem (seeding is not what is
measured). Then ``DELETE /threads/{threadId}`` runs the DeleteThreadStreams
state machine to its end while the proxy counts what the functions send.

On the embedded moto the execution is moto's (its ASL interpreter, the Lambda
tasks served by this process's functions) and the transitions come from its
history. An endpoint in another process cannot call this process's functions,
so there the local stack runs the execution itself (``agent_streams_dev.local.asl``)
and counts its transitions. Either way the state machine's own DynamoDB tasks
(marking and deleting the thread) are counted apart, not at the proxy.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.environment import Bench
from benchmarks.report import Row, check, fmt_count, info

SECTION = "deletion"
BATCH = 25
QUERY_PAGE = 1000
STATUSES = ("streaming",) * 4 + ("finished",) * 3 + ("aborted",) * 3


def _parts_json(start: int) -> str:
    """One compressed text delta, as a throttled writer sends them (~100 characters)."""
    text = f"part {start}: " + "the quick brown fox jumps over the lazy dog " * 2
    return json.dumps([{"type": "text-delta", "id": "t0", "delta": text}], separators=(",", ":"))


def seed(bench: Bench, streams: int, deltas: int) -> tuple[str, list[str]]:
    """A thread with ``streams`` streams of ``deltas`` deltas each; (thread id, stream ids)."""
    assert bench.api is not None
    api = bench.api
    thread = api.thread()
    ids = [api.stream(thread, order=i) for i in range(streams)]
    for stream_id, status in zip(ids, (STATUSES * streams)[:streams], strict=True):
        if status == "finished":
            api.ok("POST", f"/streams/{stream_id}/finish", {})
        elif status == "aborted":
            api.ok("POST", f"/streams/{stream_id}/abort", {"reason": "bench"})
    table = bench.settings.deltas_table
    expires = int(time.time()) + 40 * 86400
    dynamodb = bench.direct("dynamodb")

    def write(stream_id: str, first: int) -> None:
        items = [
            {
                "PutRequest": {
                    "Item": {
                        "streamId": {"S": stream_id},
                        "start": {"N": str(start)},
                        "end": {"N": str(start + 1)},
                        "parts": {"S": _parts_json(start)},
                        "expiresAt": {"N": str(expires)},
                    }
                }
            }
            for start in range(first, min(first + BATCH, deltas))
        ]
        pending: dict[str, Any] = {table: items}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in pool.map(
            lambda job: write(*job),
            [(s, first) for s in ids for first in range(0, deltas, BATCH)],
        ):
            pass
    return thread, ids


def _definition(bench: Bench) -> dict[str, Any]:
    """The state machine's definition as the stack created it."""
    assert bench.stack is not None
    sfn = bench.direct("stepfunctions")
    assert bench.stack.resources is not None
    text = sfn.describe_state_machine(stateMachineArn=bench.stack.resources.state_machine_arn)
    return dict(json.loads(text["definition"]))


def _history(bench: Bench, execution_arn: str) -> dict[str, int]:
    sfn = bench.direct("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events += page["events"]
    definition = _definition(bench)
    dynamodb_states = {
        name for name, s in definition["States"].items()
        if s["Type"] == "Task" and ":dynamodb:" in s.get("Resource", "")
    }  # fmt: skip
    entered = [e for e in events if e["type"].endswith("StateEntered")]
    return {
        "transitions": len(entered),
        "events": len(events),
        "dynamodb_tasks": sum(
            1 for e in entered if e["stateEnteredEventDetails"]["name"] in dynamodb_states
        ),
    }


def _run_in_process(bench: Bench) -> dict[str, int]:
    """With an endpoint in another process, the local stack runs the executions itself
    (``agent_streams_dev.local.asl``). Its DynamoDB tasks stand for Step Functions' own:
    sent straight to the endpoint, as the embedded moto's interpreter sends them, and
    counted here rather than at the proxy."""
    assert bench.stack is not None
    assert bench.stack.local_workflows is not None
    machine: Any = bench.stack.local_workflows._machine
    tasks = {"dynamodb_tasks": 0}
    direct = bench.direct("dynamodb")

    def dynamodb() -> Any:
        tasks["dynamodb_tasks"] += 1
        return direct

    machine.dynamodb = dynamodb
    return tasks


def measure(bench: Bench, streams: int, deltas: int) -> dict[str, Any]:
    assert bench.api is not None
    assert bench.proxy is not None
    assert bench.stack is not None
    local = bench.stack.local_workflows
    seeded_at = time.perf_counter()
    thread, ids = seed(bench, streams, deltas)
    seed_s = time.perf_counter() - seeded_at
    tasks = _run_in_process(bench) if local is not None else {}
    started = time.perf_counter()
    with bench.proxy.window() as tally:
        execution_arn = bench.api.ok("DELETE", f"/threads/{thread}")["executionArn"]
        if local is None:
            status = bench.wait_for_execution(execution_arn)["status"]
        else:
            local.wait(900)
            status = local.executions[execution_arn].status
        if status != "SUCCEEDED":
            raise RuntimeError(f"the deletion ended {status}")
    elapsed = time.perf_counter() - started
    if local is None:
        machine = _history(bench, execution_arn)
    else:
        machine = {**tasks, "transitions": local.executions[execution_arn].transitions}
    deltas_table = bench.settings.deltas_table
    streams_table = bench.settings.streams_table
    leftovers = sum(
        bench.direct("dynamodb").query(
            TableName=deltas_table,
            KeyConditionExpression="streamId = :s",
            ExpressionAttributeValues={":s": {"S": stream_id}},
            Select="COUNT",
        )["Count"]
        for stream_id in ids
    )
    return {
        "streams": streams,
        "deltas": deltas,
        "seed_s": seed_s,
        "elapsed_s": elapsed,
        "left": leftovers,
        "tally": tally,
        "machine": machine,
        "deltas_table": deltas_table,
        "streams_table": streams_table,
        "in_process": local is not None,
        "thread_gone": "Item"
        not in bench.direct("dynamodb").get_item(
            TableName=bench.settings.threads_table, Key={"threadId": {"S": thread}}
        ),
    }


def run(bench: Bench, streams: int, deltas: int) -> list[Row]:
    found = measure(bench, streams, deltas)
    tally = found["tally"]
    machine = found["machine"]
    n = streams * deltas
    per_10k = n / 10_000
    label = f"{streams} x {deltas:,} deltas"
    batches = tally.count("dynamodb", "BatchWriteItem")
    items = sum(sum(r.batch_items.values()) for r in tally.select("dynamodb", "BatchWriteItem"))
    delta_items = sum(
        r.batch_items.get(found["deltas_table"], 0)
        for r in tally.select("dynamodb", "BatchWriteItem")
    )
    # The budget: ceil(N/25) for a stream's deltas; its own item rides in the last batch,
    # which needs one more when the deltas fill whole batches.
    batch_budget = streams * math.ceil((deltas + 1) / BATCH)
    delta_queries = tally.count("dynamodb", "Query", table=found["deltas_table"])
    query_budget = streams * math.ceil(deltas / QUERY_PAGE)
    index_queries = len([r for r in tally.select("dynamodb", "Query") if r.index is not None])
    scheduler = tally.count("scheduler")
    dynamodb = tally.count("dynamodb")
    other = dynamodb - batches - delta_queries - index_queries
    others = ", ".join(
        f"{n} {op.split(':', 1)[1]}"
        for op, n in sorted(tally.by_operation("dynamodb").items())
        if op not in ("dynamodb:BatchWriteItem", "dynamodb:Query")
    )
    states = tally.count("states")
    in_process = " (the execution ran in this process)" if found["in_process"] else ""
    total = len(tally) + machine["dynamodb_tasks"]
    done = found["left"] == 0 and found["thread_gone"]
    rows = [
        check(
            SECTION,
            f"{label}: batch writes",
            f"{fmt_count(batches)} ({fmt_count(delta_items)} deltas + {items - delta_items} streams)",
            f"<= {fmt_count(batch_budget)} (ceil(N/25) per stream + its item)",
            batches <= batch_budget and done,
        ),
        check(
            SECTION,
            f"{label}: queries of deltas",
            fmt_count(delta_queries),
            f"<= {fmt_count(query_budget)} (ceil(N/1000) per stream)",
            delta_queries <= query_budget,
        ),
        check(
            SECTION,
            f"{label}: Scheduler requests",
            f"{scheduler} ({scheduler / streams:.1f} per stream)",
            f"<= {2 * streams} (2 per stream)",
            scheduler <= 2 * streams,
        ),
        info(
            SECTION,
            f"{label}: other requests",
            f"{index_queries} index queries, {others or 'no other DynamoDB'} "
            f"({other} DynamoDB); {states} Step Functions{in_process}; "
            f"+{machine['dynamodb_tasks']} DynamoDB by the state machine",
        ),
        info(
            SECTION,
            f"{label}: all requests per 10,000 deltas",
            f"{total / per_10k:,.1f} ({fmt_count(total)} in all)",
        ),
        info(
            SECTION,
            f"{label}: state-machine transitions",
            f"{machine['transitions']} ({machine['transitions'] / per_10k:.2f} per 10,000 deltas)",
        ),
        info(
            SECTION,
            f"{label}: time",
            f"{found['elapsed_s']:.1f} s ({n / found['elapsed_s']:,.0f} deltas/s; seeding "
            f"{found['seed_s']:.1f} s)",
        ),
    ]
    if not done:
        rows.append(
            check(
                SECTION, f"{label}: everything deleted", f"{found['left']} deltas left", "0", False
            )
        )
    return rows


#: The Timeout of delete_stream in the template (API Gateway ends an integration at 30 s).
SYNC_TIMEOUT_S = 29


def run_sync(bench: Bench, deltas: int) -> list[Row]:
    """``DELETE /streams/{id}`` of one stream of ``deltas`` deltas with the function's own
    time (no ``SYNC_DELETION_BUDGET_SECONDS``): it answers within its Timeout, handing over
    what did not fit, and the state machine deletes the rest."""
    assert bench.api is not None
    assert bench.stack is not None
    local = bench.stack.local_workflows
    _, (stream_id,) = seed(bench, 1, deltas)
    started = time.perf_counter()
    status, reply = bench.api.request("DELETE", f"/streams/{stream_id}")
    answered_s = time.perf_counter() - started
    if status not in (202, 204):
        raise RuntimeError(f"DELETE /streams/{stream_id}: {status} {reply}")
    if status == 202:
        if local is None:
            outcome = bench.wait_for_execution(reply["executionArn"])["status"]
        else:
            local.wait(900)
            outcome = local.executions[reply["executionArn"]].status
        if outcome != "SUCCEEDED":
            raise RuntimeError(f"the handed-over deletion ended {outcome}")
    total_s = time.perf_counter() - started
    left = bench.direct("dynamodb").query(
        TableName=bench.settings.deltas_table,
        KeyConditionExpression="streamId = :s",
        ExpressionAttributeValues={":s": {"S": stream_id}},
        Select="COUNT",
        ConsistentRead=True,
    )["Count"]
    label = f"DELETE /streams/{{id}} of {deltas:,} deltas"
    return [
        check(
            SECTION,
            f"{label}: answer",
            f"{status} in {answered_s:.1f} s",
            f"< {SYNC_TIMEOUT_S} s (the function's Timeout)",
            answered_s < SYNC_TIMEOUT_S,
        ),
        check(
            SECTION,
            f"{label}: everything deleted",
            f"{left} deltas left, {total_s:.1f} s in all"
            + (" (the rest by the state machine)" if status == 202 else ""),
            "0",
            left == 0,
        ),
    ]
