"""AWS's limits on the local stack, over HTTP: synchronous deletions within their
function's time, replies within Lambda's 6 MB, streams within their lifetime, a
delta's span, and JavaScript writers' split characters."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
import urllib3

from agent_streams.json_text import lambda_json
from agent_streams.service.context import services
from agent_streams.service.ttl import delta_expiry
from agent_streams_dev.local.stack import LocalStack
from agent_streams_protocol.limits import MAX_DELTAS_REPLY_BYTES, MAX_STREAM_LIFETIME_MS
from tests.e2e.conftest import LocalApi

pytestmark = pytest.mark.e2e

MINUTE = 60
#: The template's Timeout of delete_stream and delete_thread_streams (API Gateway's own
#: integration limit is 30 s).
FUNCTION_TIMEOUT_S = 29


def seed_deltas(local_stack: LocalStack, stream_id: str, count: int) -> None:
    """``count`` one-part deltas straight into the table, 25 a BatchWriteItem (add_delta's
    path is tested elsewhere; thousands of them through it would take a while)."""
    assert local_stack.resources is not None
    settings = local_stack.resources.settings
    client = local_stack.client("dynamodb")
    expires = str(delta_expiry(local_stack.clock.now_ms(), settings))
    parts = '[{"type":"text-delta","id":"t","delta":"z"}]'

    def batch(offset: int) -> None:
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "streamId": {"S": stream_id},
                        "start": {"N": str(i)},
                        "end": {"N": str(i + 1)},
                        "parts": {"S": parts},
                        "expiresAt": {"N": expires},
                    }
                }
            }
            for i in range(offset, min(offset + 25, count))
        ]
        pending: dict[str, Any] = {settings.deltas_table: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, range(0, count, 25)))


def delta_count(local_stack: LocalStack, stream_id: str) -> int:
    assert local_stack.resources is not None
    client = local_stack.client("dynamodb")
    total = 0
    kwargs: dict[str, Any] = {
        "TableName": local_stack.resources.settings.deltas_table,
        "KeyConditionExpression": "streamId = :s",
        "ExpressionAttributeValues": {":s": {"S": stream_id}},
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_until_deleted(api: LocalApi, local_stack: LocalStack, streams: list[str]) -> float:
    """Wait for the state machine to finish what the call handed over; returns how long
    it took."""
    began = time.monotonic()
    local_stack.wait_for_executions(timeout=300)
    while any(api.state(s)[0] != 404 or delta_count(local_stack, s) for s in streams):
        assert time.monotonic() - began < 300, "the deletion never finished"
        time.sleep(0.1)
    return time.monotonic() - began


def first_page_starts(api: LocalApi, thread_id: str, stream_id: str) -> list[int]:
    status, deltas = api.get(f"/threads/{thread_id}/deltas?cursors={stream_id}:0")
    assert status == 200
    return [d["start"] for d in deltas]


#: The synchronous deletions' budget in these tests (``SYNC_DELETION_BUDGET_SECONDS``):
#: shorter than one page of 1,000 deltas takes, so the call deletes one page and hands
#: the rest over, as a call that runs out of its function's time does (``make bench``
#: shows that on 100,000 deltas with the function's own time).
SHORT_BUDGET_S = 0.05


@pytest.fixture
def short_sync_deletions(local_stack: LocalStack) -> Iterator[None]:
    ctx = services()
    saved = ctx.settings
    ctx.settings = replace(saved, sync_deletion_budget_seconds=SHORT_BUDGET_S)
    try:
        yield
    finally:
        ctx.settings = saved


@pytest.mark.usefixtures("short_sync_deletions")
class TestSyncDeletionWithinItsDeadline:
    def test_deleting_a_stream_answers_202_and_the_state_machine_finishes(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        thread = api.thread()
        stream = api.stream(thread)
        seed_deltas(local_stack, stream, 2_500)

        began = time.monotonic()
        status, body = api.delete(f"/streams/{stream}")
        took = time.monotonic() - began
        print(f"\nDELETE /streams/{{id}} of 2,500 deltas: {status} in {took:.1f} s")
        assert took < FUNCTION_TIMEOUT_S
        assert status == 202, body
        assert body["executionArn"].split(":")[-1].startswith(f"stream-{stream}-")
        # While the rest is deleted: aborted, the newest page gone, and what is left reads from 0.
        state = api.state(stream)[1]
        assert (state["status"], state["reason"]) == ("aborted", "deleted")
        assert delta_count(local_stack, stream) <= 1_500
        assert first_page_starts(api, thread, stream) == list(range(100))
        took = wait_until_deleted(api, local_stack, [stream])
        print(f"  ... the rest by the state machine in {took:.1f} s")
        assert api.state(stream)[0] == 404
        assert delta_count(local_stack, stream) == 0
        assert api.get(f"/threads/{thread}")[1]["status"] == "active"

    def test_deleting_a_threads_streams_answers_202_and_keeps_the_thread(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        thread = api.thread()
        streams = [api.stream(thread, order=n) for n in range(3)]
        for stream in streams:
            seed_deltas(local_stack, stream, 1_500)

        began = time.monotonic()
        status, body = api.delete(f"/threads/{thread}/streams")
        took = time.monotonic() - began
        print(f"\nDELETE /threads/{{id}}/streams of 4,500 deltas: {status} in {took:.1f} s")
        assert took < FUNCTION_TIMEOUT_S
        assert status == 202, body
        assert body["executionArn"].split(":")[-1].startswith(f"streams-{thread}-")
        took = wait_until_deleted(api, local_stack, streams)
        print(f"  ... the rest by the state machine in {took:.1f} s")
        for stream in streams:
            assert api.state(stream)[0] == 404
            assert delta_count(local_stack, stream) == 0
        assert api.get(f"/threads/{thread}")[1]["status"] == "active"
        # The thread goes on.
        assert api.append(api.stream(thread, order=3), 0)[1]["accepted"] is True


class TestRepliesFit:
    @staticmethod
    def envelope_bytes(body: bytes) -> int:
        """The reply's size as Lambda returned it: the body inside the proxy envelope."""
        envelope = {
            "statusCode": 200,
            "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json"},
            "body": body.decode("utf-8"),
        }
        return len(lambda_json(envelope).encode("utf-8"))

    def test_twenty_streams_of_four_byte_characters_are_read_in_replies_that_fit(
        self, api: LocalApi, local_stack: LocalStack
    ) -> None:
        thread = api.thread()
        streams = [api.stream(thread, order=n) for n in range(20)]
        pool = urllib3.PoolManager()
        text = "\U0001f600" * 99_000
        for stream in streams:
            for start in range(3):
                part = {"type": "text-delta", "id": "t", "delta": text}
                body = {"start": start, "end": start + 1, "parts": [part]}
                reply = pool.request(
                    "POST",
                    f"{api.url}/streams/{stream}/deltas",
                    # As writers send it (an escaped emoji is 12 bytes, past the body limit).
                    body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                    headers={"content-type": "application/json"},
                )
                assert reply.status == 200, reply.data[:200]
        cursors = dict.fromkeys(streams, 0)
        largest, replies = 0, 0
        while True:
            query = ",".join(f"{s}:{c}" for s, c in cursors.items())
            reply = pool.request("GET", f"{api.url}/threads/{thread}/deltas?cursors={query}")
            assert reply.status == 200
            largest = max(largest, self.envelope_bytes(reply.data))
            deltas = json.loads(reply.data)
            if not deltas:
                break
            replies += 1
            for delta in deltas:
                assert delta["start"] == cursors[delta["streamId"]]  # no gap, no overlap
                cursors[delta["streamId"]] = delta["end"]
        print(
            f"\n20 streams x 3 deltas of 4-byte characters: {replies} replies, largest {largest:,} bytes"
        )
        assert all(cursor == 3 for cursor in cursors.values())
        assert largest <= MAX_DELTAS_REPLY_BYTES

    def test_a_stream_too_large_to_materialise_is_a_413_naming_the_way_to_read_it(
        self, api: LocalApi
    ) -> None:
        thread = api.thread()
        stream = api.stream(thread, format="UIMessageChunk")
        api.post(
            f"/streams/{stream}/deltas",
            {"start": 0, "end": 1, "parts": [{"type": "text-start", "id": "t"}]},
        )
        for start in range(1, 25):
            part = {"type": "text-delta", "id": "t", "delta": "a" * 360_000}
            status, _ = api.post(
                f"/streams/{stream}/deltas", {"start": start, "end": start + 1, "parts": [part]}
            )
            assert status == 200
        api.post(f"/streams/{stream}/finish", {})
        status, body = api.get(
            f"/threads/{thread}/streams/messages?order=0&stepOrder=0&status=success"
        )
        assert (status, body["error"]) == (413, "ReplyTooLarge")
        assert "list_deltas" in body["message"]


def test_a_stream_lives_a_day_then_its_whole_log_stays_readable(
    api: LocalApi, local_stack: LocalStack
) -> None:
    thread = api.thread()
    stream = api.stream(thread)
    created = local_stack.clock.now_ms()
    assert api.append(stream, 0, "first")[1]["accepted"] is True
    # A writer that never goes quiet: a heartbeat every 9 minutes, for a day.
    while local_stack.clock.now_ms() < created + MAX_STREAM_LIFETIME_MS:
        assert api.post(f"/streams/{stream}/heartbeat")[0] == 204
        api.advance(9 * MINUTE)
    state = api.state(stream)[1]
    assert (state["status"], state["reason"]) == ("aborted", "expired")
    assert state["endedAt"] == created + MAX_STREAM_LIFETIME_MS
    # Until the aborted stream expires (RetentionDays after it ended), its log starts at 0.
    assert local_stack.resources is not None
    retention_s = local_stack.resources.settings.retention_seconds
    api.advance(retention_s - 2 * MINUTE)
    assert api.state(stream)[0] == 200
    assert first_page_starts(api, thread, stream) == [0]
    api.advance(4 * MINUTE)
    assert api.state(stream)[0] == 404


def test_a_delta_that_would_wedge_its_stream_is_422(api: LocalApi) -> None:
    stream = api.stream(api.thread())
    part = {"type": "text-delta", "id": "t", "delta": "x"}
    status, body = api.post(
        f"/streams/{stream}/deltas", {"start": 0, "end": 2**53 - 1, "parts": [part]}
    )
    assert (status, body["error"]) == (422, "ValidationError")
    assert api.append(stream, 0)[1]["accepted"] is True  # nothing was written


def test_a_javascript_writers_split_character_is_kept_and_joined(
    api: LocalApi,
) -> None:
    thread = api.thread()
    stream = api.stream(thread, format="UIMessageChunk")
    pool = urllib3.PoolManager()
    for body in (
        b'{"start":0,"end":2,"parts":[{"type":"text-start","id":"t"},'
        b'{"type":"text-delta","id":"t","delta":"hi \\ud83d"}]}',
        b'{"start":2,"end":3,"parts":[{"type":"text-delta","id":"t","delta":"\\ude00"}]}',
    ):
        reply = pool.request(
            "POST",
            f"{api.url}/streams/{stream}/deltas",
            body=body,
            headers={"content-type": "application/json"},
        )
        assert reply.status == 200, reply.data
    reply = pool.request("GET", f"{api.url}/threads/{thread}/deltas?cursors={stream}:0")
    assert b'"hi \\ud83d"' in reply.data
    assert b'"\\ude00"' in reply.data
    api.post(f"/streams/{stream}/finish", {})
    status, messages = api.get(
        f"/threads/{thread}/streams/messages?order=0&stepOrder=0&status=success"
    )
    assert status == 200
    assert messages[0]["message"]["content"][0]["text"] == "hi \U0001f600"
