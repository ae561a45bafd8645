"""Handler overhead: add_delta through its handler against a bare boto3 call.

Side by side against the same endpoint (through the same counting proxy):

- the add_delta function's handler, given the API Gateway event of
  ``POST /streams/{streamId}/deltas`` (parsing, validation, the service, PynamoDB,
  the reply), in this process as Lambda would call it;
- boto3's ``transact_write_items`` with the very items add_delta sends (the
  stream's conditional update and the delta's conditional put), from a
  ready-made client.

Each call appends the next delta of its own stream; calls alternate, and the
figure is the ratio of the medians.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agent_streams_dev.local.http_server import Route, build_event
from benchmarks.environment import Bench, text_parts
from benchmarks.report import Row, check, median_of

SECTION = "overhead"
BUDGET = 1.5
PARTS = 5


def _bare_items(settings: Any, stream_id: str, start: int, now_ms: int) -> list[dict[str, Any]]:
    end = start + PARTS
    parts = json.dumps(text_parts(start, PARTS), separators=(",", ":"), ensure_ascii=False)
    return [
        {
            "Put": {
                "TableName": settings.deltas_table,
                "Item": {
                    "streamId": {"S": stream_id},
                    "start": {"N": str(start)},
                    "end": {"N": str(end)},
                    "expiresAt": {"N": str(now_ms // 1000 + 31 * 86400)},
                    "parts": {"S": parts},
                },
                "ConditionExpression": "attribute_not_exists (#0)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                "ExpressionAttributeNames": {"#0": "streamId"},
            }
        },
        {
            "Update": {
                "TableName": settings.streams_table,
                "Key": {"streamId": {"S": stream_id}},
                "ConditionExpression": (
                    "((#0 = :0 AND #1 = :1) AND (attribute_not_exists (#2) OR #2 > :2))"
                ),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                "UpdateExpression": "SET #1 = :3, #3 = :4",
                "ExpressionAttributeNames": {
                    "#0": "status",
                    "#1": "nextStart",
                    "#2": "expiresAt",
                    "#3": "lastHeartbeat",
                },
                "ExpressionAttributeValues": {
                    ":0": {"S": "streaming"},
                    ":1": {"N": str(start)},
                    ":2": {"N": str(now_ms // 1000)},
                    ":3": {"N": str(end)},
                    ":4": {"N": str(now_ms)},
                },
            }
        },
    ]


def measure(bench: Bench, calls: int) -> dict[str, float]:
    assert bench.api is not None
    assert bench.stack is not None
    assert bench.stack.functions is not None
    assert bench.proxy is not None
    import boto3

    api, stack = bench.api, bench.stack
    function = stack.functions.by_operation["add_delta"]
    assert function.spec.method is not None
    assert function.spec.path is not None
    route = Route(function.spec.method, function.spec.path, function)
    thread = api.thread()
    handled, bare = api.stream(thread, order=0), api.stream(thread, order=1)
    client = boto3.session.Session(region_name="us-east-1").client(
        "dynamodb", endpoint_url=bench.proxy.url
    )
    settings = bench.settings
    next_handled = next_bare = 0

    def through_handler() -> float:
        nonlocal next_handled
        body = json.dumps(
            {
                "start": next_handled,
                "end": next_handled + PARTS,
                "parts": text_parts(next_handled, PARTS),
            }
        ).encode()
        path = function.spec.path.replace("{streamId}", handled)  # type: ignore[union-attr]
        event = build_event(
            route,
            "POST",
            path,
            "",
            {"streamId": handled},
            {"content-type": "application/json"},
            body,
            "127.0.0.1",
        )
        started = time.perf_counter()
        reply = function.invoke(event)
        elapsed = time.perf_counter() - started
        if reply.get("statusCode") != 200 or '"accepted":true' not in reply.get("body", ""):
            raise RuntimeError(f"add_delta failed: {reply}")
        next_handled += PARTS
        return elapsed

    def bare_boto3() -> float:
        nonlocal next_bare
        items = _bare_items(settings, bare, next_bare, stack.clock.now_ms())
        started = time.perf_counter()
        client.transact_write_items(TransactItems=items)
        elapsed = time.perf_counter() - started
        next_bare += PARTS
        return elapsed

    for _ in range(20):  # warm both paths: connections, caches
        through_handler()
        bare_boto3()
    handler_samples: list[float] = []
    bare_samples: list[float] = []
    for _ in range(calls):
        handler_samples.append(through_handler())
        bare_samples.append(bare_boto3())
    handler = median_of(handler_samples)
    boto = median_of(bare_samples)
    return {"handler_s": handler, "boto3_s": boto, "ratio": handler / boto}


def run(bench: Bench, calls: int) -> list[Row]:
    found = measure(bench, calls)
    ratio = found["ratio"]
    figure = f"{ratio:.2f}x ({found['handler_s'] * 1000:.2f} ms / {found['boto3_s'] * 1000:.2f} ms)"
    return [
        check(
            SECTION,
            "add_delta handler vs bare boto3 TransactWriteItems",
            figure,
            f"<= {BUDGET}x",
            ratio <= BUDGET,
        )
    ]
