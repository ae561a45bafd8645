"""A 2 MB part on the local stack: written over HTTP and by the Python client, stored in the
stack's bucket (moto's S3, made from the template), read back byte-exact by list_deltas,
the live reads, streaming_messages and the client's followers, and gone after cleanup —
objects listed at the endpoint before and after."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3

from agent_streams.api.http import MAX_BODY_BYTES
from agent_streams.storage.spill import stream_prefix
from agent_streams_client import StreamsClient
from agent_streams_dev.local.stack import LocalStack
from agent_streams_protocol.limits import (
    LAMBDA_REQUEST_LIMIT_BYTES,
    MAX_PART_BYTES,
    MAX_PARTS_JSON_BYTES,
)
from tests.e2e.client_fixtures import collect, read_log, run
from tests.e2e.conftest import LocalApi
from tests.e2e.sse_client import read_sse

pytestmark = pytest.mark.e2e

MB = 1_000_000
CLEANUP_SECONDS = 5 * 60


def objects(stack: LocalStack, stream_id: str) -> list[str]:
    """The stream's objects, listed at the stack's AWS endpoint."""
    assert stack.resources is not None
    bucket = stack.resources.settings.spill_bucket
    listed = stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=stream_prefix(stream_id))
    return [entry["Key"] for entry in listed.get("Contents", [])]


def big_output(size: int) -> dict[str, Any]:
    """A tool output of about ``size`` bytes that escapes every way: quotes, backslashes,
    control and line-separator characters, 2- and 4-byte characters, an image data URL."""
    unit = 'é"\\🙂\x01\u2028ab'
    return {
        "type": "tool-output-available",
        "toolCallId": "call-1",
        "output": {
            "log": unit * (size // 32),
            "image": "data:image/png;base64," + "QUJD" * (size // 8),
        },
    }


def reply_parts(output: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "start"},
        {"type": "start-step"},
        {"type": "tool-input-available", "toolCallId": "call-1", "toolName": "render", "input": {}},
        output,
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "Here it is."},
        {"type": "text-end", "id": "t"},
        {"type": "finish-step"},
        {"type": "finish"},
    ]


def test_a_2_mb_part_round_trips_over_http_and_is_gone_after_cleanup(
    local_stack: LocalStack, api: LocalApi
) -> None:
    output = big_output(2 * MB)
    encoded = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
    assert len(encoded.encode()) > 2 * MB
    parts = reply_parts(output)
    thread = api.thread()
    stream = api.stream(thread, format="UIMessageChunk")
    for start, batch in ((0, parts[:3]), (3, [output]), (4, parts[4:])):
        # Compact UTF-8, as the Python client sends it (escaped as ASCII, this body would
        # be over the 3,112,960 bytes a request body may be).
        body = {"start": start, "end": start + len(batch), "parts": batch}
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        status, reply = api.request("POST", f"/streams/{stream}/deltas", raw=raw)
        assert (status, reply) == (200, {"accepted": True, "status": "streaming"})
    assert len(objects(local_stack, stream)) == 1

    # list_deltas, byte-exact: the reply's text holds the part as it was encoded.
    pool = urllib3.PoolManager()
    reply = pool.request("GET", f"{local_stack.url}/threads/{thread}/deltas?cursors={stream}:0")
    assert reply.status == 200
    assert encoded.encode() in reply.data
    deltas = json.loads(reply.data)
    assert [p for d in deltas for p in d["parts"]] == parts

    # The live read, as the AI SDK reads it.
    assert api.post(f"/streams/{stream}/finish")[0] == 200
    read = read_sse(pool, f"{local_stack.url}/streams/{stream}/events")
    assert read.done
    assert [chunk for _, chunk in read.events] == parts

    # streaming_messages: materialised, the output in the tool call's result.
    status, docs = api.get(f"/threads/{thread}/streams/messages?order=0&stepOrder=0&status=success")
    assert status == 200
    assert output["output"] in [
        c.get("output", {}).get("value")
        for doc in docs
        for c in doc["message"]["content"]
        if isinstance(c, dict)
    ]

    fired = api.advance(CLEANUP_SECONDS)
    assert any(name.startswith("cleanup") for name in fired)
    assert api.state(stream)[0] == 404
    assert objects(local_stack, stream) == []


@pytest.mark.parametrize("live", [True, False], ids=["live-follower", "polling-follower"])
def test_the_client_writes_a_2_mb_part_alone_and_a_follower_reads_it(
    local_stack: LocalStack, api: LocalApi, live: bool
) -> None:
    output = big_output(2 * MB)
    parts = reply_parts(output)

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread())["threadId"]
            streamer = client.streamer(thread_id=thread_id, order=0, step_order=0)
            await streamer.add_parts(parts)  # one buffer: the big part must go alone
            await streamer.finish()
            assert streamer.stream_id is not None
            stream_id = streamer.stream_id
            log = await read_log(client, thread_id, stream_id)
            assert [p for d in log for p in d["parts"]] == parts
            sizes = [len(json.dumps(d["parts"], separators=(",", ":")).encode()) for d in log]
            assert [d["parts"] for d in log if len(d["parts"]) == 1 and d["parts"][0] == output]
            assert sorted(sizes)[-2] <= MAX_PARTS_JSON_BYTES  # the others stay inline
            assert len(objects(local_stack, stream_id)) == 1

            snapshots = await collect(
                client.follow(thread_id, stop_when_idle=True, live=live, poll_interval=0.05)
            )
            (message,) = snapshots[-1]
            tool = next(p for p in message["parts"] if p.get("toolCallId") == "call-1")
            assert tool["output"] == output["output"]
            assert tool["state"] == "output-available"

            with pytest.raises(ValueError, match=f"{MAX_PART_BYTES + 2}-byte limit"):
                await client.streamer(thread_id=thread_id, order=1, step_order=0).add_parts(
                    [{"type": "data-x", "data": "x" * MAX_PART_BYTES}]
                )
        api.advance(CLEANUP_SECONDS)
        assert objects(local_stack, stream_id) == []

    run(scenario())


def test_the_largest_part_round_trips_and_one_byte_more_is_413_naming_the_maximum(
    local_stack: LocalStack, api: LocalApi
) -> None:
    """At the documented maximum, in the worst case (quotes: escaped once in the part's
    JSON, twice over in the event Lambda is invoked with and in the HTTP reply's
    envelope), the body, the event and the list_deltas reply all fit AWS's limits (the
    local stack's gateway and invocations hold them); one byte more is refused before
    anything is stored."""
    thread = api.thread()
    stream = api.stream(thread)

    def part(size: int) -> dict[str, Any]:
        """A part of ``size`` bytes of compact JSON, nearly all of it escaped quotes."""
        overhead = len(json.dumps({"type": "data-x", "data": ""}, separators=(",", ":")))
        quotes, odd = divmod(size - overhead, 2)
        return {"type": "data-x", "data": '"' * quotes + "x" * odd}

    def send(start: int, value: dict[str, Any]) -> tuple[int, Any]:
        body = {"start": start, "end": start + 1, "parts": [value]}
        raw = json.dumps(body, separators=(",", ":")).encode()
        return api.request("POST", f"/streams/{stream}/deltas", raw=raw)

    status, reply = send(0, part(MAX_PART_BYTES + 1))
    assert status == 413, reply
    assert reply["error"] == "DeltaTooLarge"
    assert f"at most {MAX_PART_BYTES} bytes" in reply["message"]
    assert objects(local_stack, stream) == []

    largest = part(MAX_PART_BYTES)
    assert send(0, largest) == (200, {"accepted": True, "status": "streaming"})
    status, deltas = api.get(f"/threads/{thread}/deltas?cursors={stream}:0")
    assert status == 200
    assert [d["parts"] for d in deltas] == [[largest]]
    assert len(objects(local_stack, stream)) == 1


def test_bodies_past_the_limit_are_413_from_the_function_or_the_gateway(
    local_stack: LocalStack, api: LocalApi
) -> None:
    """Past the 3,112,960 bytes a body may be, the function refuses it (413 naming the
    limit); a body of quotes that size makes an event over Lambda's 6 MB request limit,
    which API Gateway refuses before any function runs."""
    stream = api.stream(api.thread())
    size = LAMBDA_REQUEST_LIMIT_BYTES // 2 + 10_000  # an event of quotes twice that
    for fill, expected in (("x", "DeltaTooLarge"), ('"', None)):
        data = fill * (size // (len(json.dumps(fill)) - 2))
        raw = json.dumps({"start": 0, "end": 1, "parts": [{"type": "data-x", "data": data}]})
        assert MAX_BODY_BYTES < len(raw) < 10 * 1024 * 1024
        status, reply = api.request("POST", f"/streams/{stream}/deltas", raw=raw.encode())
        assert status == 413, reply
        if expected:
            assert reply["error"] == expected
            assert f"{MAX_BODY_BYTES}-byte limit" in reply["message"]
        else:
            assert reply == {"message": "Request Too Long"}
    assert objects(local_stack, stream) == []
