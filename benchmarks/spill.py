"""Parts spilled to S3: what a large part costs, in requests at the endpoint and in time.

A 2 MB part (a tool output, as compact UTF-8 JSON) is appended over the local stack's
HTTP API and read back with list_deltas, while the proxy counts what reaches the
endpoint: the append is its one transaction and one ``PutObject``; the read one query
and one ``GetObject``; the stream's cleanup one ``ListObjectsV2`` and one
``DeleteObjects`` besides its DynamoDB deletes. The times are the HTTP round trips on
this machine (moto's S3 and DynamoDB in process), median of the runs.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any
from urllib.parse import unquote

import urllib3

from agent_streams_dev.local.counting import Tally
from benchmarks.environment import Bench
from benchmarks.report import Row, check, info, median_of

SECTION = "spill"
PART_BYTES = 2_000_000
CLEANUP_SECONDS = 5 * 60


def big_part(size: int, seed: int) -> dict[str, Any]:
    text = (f'{seed:08d} é🙂"\\ log line\n' * (size // 28 + 1))[: size // 2]
    return {"type": "tool-output-available", "toolCallId": f"c{seed}", "output": text}


def _by_service(tally: Tally) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for request in tally.requests:
        found.setdefault(request.service, Counter())[request.operation] += 1
    return found


_NAMES = {"dynamodb": "DynamoDB", "s3": "S3"}


def _figure(counts: dict[str, Counter[str]]) -> str:
    return "; ".join(
        f"{_NAMES.get(service, service)} " + ", ".join(f"{n} {op}" for op, n in sorted(ops.items()))
        for service, ops in sorted(counts.items())
    )


def run(bench: Bench, runs: int) -> list[Row]:
    assert bench.api is not None
    assert bench.proxy is not None
    assert bench.stack is not None
    api, proxy = bench.api, bench.proxy
    pool = urllib3.PoolManager()
    rows: list[Row] = []
    thread = api.thread()

    writes: list[float] = []
    reads: list[float] = []
    counted: dict[str, dict[str, Counter[str]]] = {}
    streams: list[str] = []
    for n in range(runs):
        stream = api.stream(thread, order=n)
        streams.append(stream)
        part = big_part(PART_BYTES, n)
        body = json.dumps(
            {"start": 0, "end": 1, "parts": [part]}, separators=(",", ":"), ensure_ascii=False
        ).encode()
        with proxy.window() as tally:
            began = time.perf_counter()
            reply = pool.request(
                "POST",
                f"{api.url}/streams/{stream}/deltas",
                body=body,
                headers={"content-type": "application/json"},
            )
            writes.append(time.perf_counter() - began)
        assert reply.status == 200, reply.data[:300]
        counted["write"] = _by_service(tally)
        with proxy.window() as tally:
            began = time.perf_counter()
            reply = pool.request("GET", f"{api.url}/threads/{thread}/deltas?cursors={stream}:0")
            reads.append(time.perf_counter() - began)
        assert reply.status == 200
        assert json.loads(reply.data)[0]["parts"] == [part]
        counted["read"] = _by_service(tally)
        api.ok("POST", f"/streams/{stream}/finish", {})

    with proxy.window() as tally:
        bench.stack.advance(CLEANUP_SECONDS)
    # Other sections' streams may be cleaned up in the same window: their listings name
    # their own prefixes (and they spilled nothing to delete).
    counted["cleanup"] = {
        "s3": Counter(
            r.operation
            for r in tally.requests
            if r.service == "s3"
            and (r.operation != "ListObjectsV2" or any(s in unquote(r.path) for s in streams))
        )
    }

    write = counted["write"]
    rows.append(
        check(
            SECTION,
            "add_delta, a 2 MB part",
            _figure(write),
            "DynamoDB 1 (TransactWriteItems); S3 1 (PutObject)",
            write
            == {"dynamodb": Counter({"TransactWriteItems": 1}), "s3": Counter({"PutObject": 1})},
        )
    )
    read = counted["read"]
    rows.append(
        check(
            SECTION,
            "list_deltas, a spilled delta",
            _figure(read),
            "DynamoDB 1 (Query); S3 1 (GetObject)",
            read == {"dynamodb": Counter({"Query": 1}), "s3": Counter({"GetObject": 1})},
        )
    )
    s3 = counted["cleanup"].get("s3", Counter())
    rows.append(
        check(
            SECTION,
            f"cleanup of {runs} streams with a spilled part each",
            "S3 " + ", ".join(f"{n} {op}" for op, n in sorted(s3.items())),
            "S3: per stream 1 ListObjectsV2 + 1 DeleteObjects",
            s3 == Counter({"ListObjectsV2": runs, "DeleteObjects": runs}),
        )
    )
    rows.append(
        info(SECTION, "write a 2 MB part (HTTP round trip)", f"{median_of(writes) * 1000:.0f} ms")
    )
    rows.append(info(SECTION, "read it back (list_deltas)", f"{median_of(reads) * 1000:.0f} ms"))
    return rows
