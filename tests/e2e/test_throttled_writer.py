"""A writer through an AWS endpoint that throttles one ``TransactWriteItems`` in four.

The local stack runs in another process against a proxy in front of a moto server
(as with ``--aws-endpoint``, see ``test_external_endpoint``). The proxy answers every
fourth ``TransactWriteItems`` itself, never forwarding it: HTTP 400
``TransactionCanceledException`` whose ``CancellationReasons`` put ``ThrottlingError``
(or ``ProvisionedThroughputExceeded``) on one item — the stream's update and the
delta's put in turn. A ``DeltaStreamer`` writes a reply of 300+ deltas over HTTP: it
finishes, the stored log is exactly what was written (contiguous from 0, no
duplicates), and no call is answered ``false``, 404 or any other error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from agent_streams_client.batching import json_size
from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.http_transport import HttpTransport
from agent_streams_client.streams_client import StreamsClient
from agent_streams_dev.local.counting import Answer, CountingProxy
from tests.e2e.figures import report_figures
from tests.e2e.proxied_stack import stack_behind_proxy
from tests.reliability_report import record

pytestmark = pytest.mark.e2e

#: One TransactWriteItems in this many is throttled.
EVERY = 4
WORDS = 320
FIGURES: list[str] = []

STACK = r"""
import sys
from agent_streams_dev.local.stack import LocalStack

with LocalStack(port=0, aws_endpoint=sys.argv[1], stack_name="throttled") as stack:
    print("ready", stack.url, flush=True)
    sys.stdin.read()  # until the test closes it
"""


class ThrottleEvery:
    """Answers every ``every``-th TransactWriteItems with a throttled cancellation."""

    def __init__(self, every: int, reason: str) -> None:
        self.every = every
        self.reason = reason
        self.transactions = 0
        self.injected = 0
        #: Throttled items by kind: "Update" (the stream), "Put" (the delta), ...
        self.items: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, service: str, operation: str, body: bytes) -> Answer | None:
        if (service, operation) != ("dynamodb", "TransactWriteItems"):
            return None
        with self._lock:
            self.transactions += 1
            if self.transactions % self.every:
                return None
            self.injected += 1
            turn = self.injected
        kinds = [next(iter(item)) for item in json.loads(body)["TransactItems"]]
        hit = turn % len(kinds)  # each item of the transaction in turn
        with self._lock:
            self.items[kinds[hit]] += 1
        codes = ["None"] * len(kinds)
        codes[hit] = self.reason
        reply = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": "Transaction cancelled, please refer cancellation reasons for "
            f"specific reasons [{', '.join(codes)}]",
            "CancellationReasons": [
                {"Code": c} if c == "None" else {"Code": c, "Message": "throughput exceeded"}
                for c in codes
            ],
        }
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "throttle"}
        return 400, headers, json.dumps(reply).encode()


class Recording:
    """A transport that keeps every call's outcome (its value or its error)."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.outcomes: list[tuple[str, Any]] = []

    async def call(self, operation: str, args: dict[str, Any]) -> Any:
        try:
            result = await self.inner.call(operation, args)
        except Exception as exc:
            self.outcomes.append((operation, exc))
            raise
        self.outcomes.append((operation, result))
        return result

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Endpoint:
    proxy: CountingProxy
    stack_url: str


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    with stack_behind_proxy(STACK) as (proxy, url):
        yield Endpoint(proxy, url)


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report_figures(request, "throttled writer figures", FIGURES)


def word(i: int) -> dict[str, Any]:
    return {"type": "text-delta", "id": "t", "delta": f"w{i:03d} "}


async def stored_log(client: StreamsClient, thread_id: str, stream_id: str) -> list[Any]:
    """Every stored delta of the stream, read from cursor 0 page by page."""
    found: list[Any] = []
    cursor = 0
    while True:
        page = await client.list_deltas(thread_id, {stream_id: cursor})
        if not page:
            return found
        found += page
        cursor = page[-1]["end"]


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_writer_loses_nothing_and_is_never_told_its_stream_is_gone(
    endpoint: Endpoint, reason: str
) -> None:
    parts = [
        {"type": "start"},
        {"type": "text-start", "id": "t"},
        *(word(i) for i in range(WORDS)),
        {"type": "text-end", "id": "t"},
        {"type": "finish"},
    ]
    throttle = ThrottleEvery(EVERY, reason)
    transport = Recording(HttpTransport(endpoint.stack_url))

    async def write() -> tuple[str, str, list[Any], dict[str, Any]]:
        async with StreamsClient(transport) as client:
            thread_id = (await client.create_thread(title="throttled"))["threadId"]
            aborted: list[str] = []
            # One word a delta: each delta holds at most one word's bytes.
            async with DeltaStreamer(
                client,
                thread_id=thread_id,
                order=0,
                step_order=0,
                throttle_ms=0,
                compress=False,
                max_parts_bytes=json_size([word(0)]),
                on_async_abort=aborted.append,
            ) as streamer:
                for part in parts:
                    await streamer.add_parts([part])
                    await asyncio.sleep(0)
            assert aborted == []
            assert streamer.finished
            stream_id = streamer.stream_id or ""
            log = await stored_log(client, thread_id, stream_id)
            state = await client.get_stream(stream_id)
        return thread_id, stream_id, log, state

    with endpoint.proxy.intercepting(throttle):
        _, _, log, state = asyncio.run(asyncio.wait_for(write(), 300))

    # Stored: exactly what was written, contiguous from 0, each delta once.
    spans = [(d["start"], d["end"]) for d in log]
    assert spans[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans)), spans
    assert len({start for start, _ in spans}) == len(spans)
    assert [p for d in log for p in d["parts"]] == parts
    assert (state["status"], state["nextStart"]) == ("finished", len(parts))
    assert len(log) >= 300
    # Never told false, 404 or anything but success: the throttles stayed in the server.
    failures = [(op, out) for op, out in transport.outcomes if isinstance(out, Exception)]
    assert failures == []
    appends = [out for op, out in transport.outcomes if op == "add_delta"]
    assert appends
    assert all(out is True for out in appends)
    assert throttle.injected >= len(log) // EVERY
    assert throttle.items["Update"] > 0
    assert throttle.items["Put"] > 0
    record("fault", injected=throttle.injected, survived=throttle.injected, tests=1)
    FIGURES.append(
        f"{reason}: {len(log)} deltas over HTTP, {throttle.transactions} TransactWriteItems "
        f"reached the proxy, {throttle.injected} throttled (stream item "
        f"{throttle.items['Update']}, delta item {throttle.items['Put']}, thread check "
        f"{throttle.items['ConditionCheck']}), {throttle.injected} survived; "
        f"{len(appends)} add_delta calls, 0 answered false/404/5xx"
    )
