"""An ended stream's message in two DynamoDB requests whatever its length, counted at the
endpoint; and the lifecycle events with ``--aws-endpoint`` (an endpoint in another
process) on a bus of the stack's own (the ``EventBusName`` parameter).

The local stack runs in a subprocess against a moto server in another one, through a
:class:`CountingProxy` in this process: what reaches the endpoint is counted there.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import urllib3

from agent_streams_dev.local.counting import CountingProxy
from tests.e2e.proxied_stack import stack_behind_proxy

pytestmark = pytest.mark.e2e

BUS = "agent-streams-counted"
STACK = r"""
import sys
from agent_streams_dev.local.stack import LocalStack

with LocalStack(
    port=0, aws_endpoint=sys.argv[1], stack_name="counted", parameters={"EventBusName": sys.argv[2]}
) as stack:
    print("ready", stack.url, flush=True)
    sys.stdin.read()  # until the test closes it
"""
PARTS = 10_000
PER_DELTA = 1000


@dataclass
class Endpoint:
    proxy: CountingProxy
    url: str
    http: urllib3.PoolManager

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        reply = self.http.request(
            method,
            self.url + path,
            body=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            retries=False,
            timeout=120,
        )
        return reply.status, (json.loads(reply.data) if reply.data else None)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    with stack_behind_proxy(STACK, BUS) as (proxy, url):
        yield Endpoint(proxy, url, urllib3.PoolManager())


def _long_reply(endpoint: Endpoint, word: Any) -> tuple[str, str]:
    """A finished stream of 10,000 parts (one text part), in deltas of 1,000 parts."""
    status, thread = endpoint.call("POST", "/threads", {})
    thread_id = thread["threadId"]
    status, stream = endpoint.call(
        "POST",
        f"/threads/{thread_id}/streams",
        {"order": 0, "stepOrder": 0, "format": "UIMessageChunk"},
    )
    stream_id = stream["streamId"]
    parts: list[dict[str, Any]] = [{"type": "text-start", "id": "t"}]
    parts += [{"type": "text-delta", "id": "t", "delta": word(i)} for i in range(PARTS - 2)]
    parts.append({"type": "text-end", "id": "t"})
    for start in range(0, PARTS, PER_DELTA):
        body = {"start": start, "end": start + PER_DELTA, "parts": parts[start : start + PER_DELTA]}
        status, reply = endpoint.call("POST", f"/streams/{stream_id}/deltas", body)
        assert (status, reply["accepted"]) == (200, True), reply
    assert endpoint.call("POST", f"/streams/{stream_id}/finish", {})[0] == 200
    return thread_id, stream_id


def _finished_event(endpoint: Endpoint, stream_id: str) -> dict[str, Any]:
    """Wait for the stream's Stream Finished (its snapshot is written by then)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for event in endpoint.call("GET", "/_local/events")[1]:
            if event["detail"].get("streamId") == stream_id:
                return dict(event)
        time.sleep(0.05)
    raise AssertionError("no Stream Finished event")


@pytest.mark.parametrize(
    ("words", "several_items"),
    [
        pytest.param(lambda i: f"word{i} ", False, id="text"),
        # Random text hardly compresses: its snapshot takes several items.
        pytest.param(lambda i: secrets.token_urlsafe(48), True, id="incompressible"),
    ],
)
def test_an_ended_10000_part_stream_is_read_in_two_requests(
    endpoint: Endpoint, words: Any, several_items: bool
) -> None:
    _, stream_id = _long_reply(endpoint, words)
    event = _finished_event(endpoint, stream_id)
    assert (event["detailType"], event["detail"]["cursor"]) == ("Stream Finished", PARTS)

    with endpoint.proxy.window(keep_bodies=True) as tally:
        status, reply = endpoint.call("GET", f"/streams/{stream_id}/message")
    assert status == 200
    assert (reply["status"], reply["cursor"]) == ("finished", PARTS)
    assert reply["uiMessage"]["parts"][0]["state"] == "done"
    assert tally.by_operation() == Counter({"dynamodb:GetItem": 1, "dynamodb:BatchGetItem": 1})
    (batch,) = tally.select("dynamodb", "BatchGetItem")
    ((_table, spec),) = batch.body["RequestItems"].items()
    assert (len(spec["Keys"]) > 1) == several_items


def test_the_events_go_to_the_stacks_own_bus_through_the_endpoint(endpoint: Endpoint) -> None:
    """The same pipeline with --aws-endpoint: the stack's bus (EventBusName), a rule on it."""
    import boto3

    _, stream_id = _long_reply(endpoint, lambda i: "w ")
    _finished_event(endpoint, stream_id)
    events = boto3.client(
        "events",
        endpoint_url=endpoint.proxy.upstream,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    rules = events.list_rules(EventBusName=BUS)["Rules"]
    assert [json.loads(r["EventPattern"])["source"] for r in rules] == [["agent-streams"]]


def test_background_requests_count_only_when_asked(endpoint: Endpoint) -> None:
    """The event pipeline's requests (polling, publish_events) are made whatever the
    operations do; a window counts them only with ``background=True``."""
    with (
        endpoint.proxy.window() as operations,
        endpoint.proxy.window(background=True) as everything,
    ):
        _, stream_id = _long_reply(endpoint, lambda i: "w ")
        _finished_event(endpoint, stream_id)
    background = [r for r in everything.requests if r.background is not None]
    assert background
    assert all(r.background is None for r in operations.requests)
    assert {r.operation for r in background} >= {"GetRecords", "PutEvents"}


def test_add_delta_stays_one_dynamodb_request_and_nothing_else(endpoint: Endpoint) -> None:
    """The events cost the writer nothing: a delta is still one UpdateItem/transaction
    and no other request (the pipeline's own polling is background, counted apart)."""
    _, thread = endpoint.call("POST", "/threads", {})
    _, stream = endpoint.call(
        "POST", f"/threads/{thread['threadId']}/streams", {"order": 0, "stepOrder": 0}
    )
    parts = [{"type": "text-delta", "id": "t", "delta": "w"}]
    for start in range(3):
        with endpoint.proxy.window() as tally:
            status, reply = endpoint.call(
                "POST",
                f"/streams/{stream['streamId']}/deltas",
                {"start": start, "end": start + 1, "parts": parts},
            )
        assert (status, reply["accepted"]) == (200, True)
        assert len(tally.requests) == 1
        assert tally.requests[0].service == "dynamodb"
