"""list_deltas with 10 cursors: its queries concurrently (as deployed) against one by one.

The list_deltas handler is given the same direct-invoke event twice per round:
once with the service as configured (a ``DynamoRepository`` issuing a stream's
query per cursor on its thread pool), once with a repository limited to one
worker (the same queries, one after another). Rounds alternate; the figure is
the ratio of the medians (sequential / concurrent: above 1 means concurrency pays).

Against the local endpoint every request is CPU work in this very process (moto
included), so threads gain little there. The second figure adds 5 ms to each
request at the proxy, a modelled in-region round trip to DynamoDB, which is what
the queries mostly wait for on AWS.
"""

from __future__ import annotations

import time
from dataclasses import replace

from agent_streams.service.context import services, use_services
from agent_streams.storage.dynamo import DynamoRepository
from benchmarks.environment import Bench
from benchmarks.report import Row, info, median_of

SECTION = "concurrency"
CURSORS = 10
DELTAS_PER_STREAM = 20


#: A modelled round trip to DynamoDB in the same region.
ROUND_TRIP_S = 0.005


def _arrange(bench: Bench) -> dict[str, object]:
    assert bench.api is not None
    api = bench.api
    thread = api.thread()
    streams = [api.stream(thread, order=i) for i in range(CURSORS)]
    for stream_id in streams:
        for start in range(0, DELTAS_PER_STREAM * 3, 3):
            api.append(stream_id, start)
    return {"threadId": thread, "cursors": [{"streamId": s, "cursor": 0} for s in streams]}


def measure(bench: Bench, rounds: int, latency: float = 0.0) -> dict[str, float]:
    assert bench.stack is not None
    assert bench.stack.functions is not None
    assert bench.proxy is not None
    function = bench.stack.functions.by_operation["list_deltas"]
    event = _arrange(bench)
    concurrent = services()
    sequential = replace(
        concurrent, repository=DynamoRepository(concurrent.settings, max_workers=1)
    )

    def timed() -> float:
        started = time.perf_counter()
        deltas = function.invoke(event)
        elapsed = time.perf_counter() - started
        if len(deltas) != CURSORS * DELTAS_PER_STREAM:
            raise RuntimeError(f"list_deltas returned {len(deltas)} deltas")
        return elapsed

    with_pool: list[float] = []
    one_by_one: list[float] = []
    with bench.proxy.delayed(latency):
        try:
            for _ in range(3):
                use_services(sequential)
                timed()
                use_services(concurrent)
                timed()
            for _ in range(rounds):
                use_services(sequential)
                one_by_one.append(timed())
                use_services(concurrent)
                with_pool.append(timed())
        finally:
            use_services(concurrent)
    conc, seq = median_of(with_pool), median_of(one_by_one)
    return {"concurrent_s": conc, "sequential_s": seq, "speedup": seq / conc}


def run(bench: Bench, rounds: int) -> list[Row]:
    rows = []
    for latency, label in ((0.0, "local endpoint"), (ROUND_TRIP_S, "+5 ms per request")):
        found = measure(bench, rounds, latency)
        rows.append(
            info(
                SECTION,
                f"list_deltas, {CURSORS} cursors, concurrent vs sequential ({label})",
                f"{found['speedup']:.2f}x faster ({found['sequential_s'] * 1000:.1f} ms "
                f"sequential / {found['concurrent_s'] * 1000:.1f} ms concurrent)",
            )
        )
    return rows
