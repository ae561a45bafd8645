"""What the service refuses, as the client raises it; and a writer stopped by someone else."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest
from support import run

from agent_streams_client import (
    PartTooLarge,
    RetryPolicy,
    StreamerClosed,
    StreamsClient,
    TransientError,
)
from agent_streams_protocol.errors import (
    DeltaConflict,
    StreamNotFound,
    ThreadNotFound,
    ValidationError,
)
from agent_streams_protocol.limits import MAX_PART_BYTES


def td(text: str) -> dict[str, Any]:
    return {"type": "text-delta", "id": "t", "delta": text}


def test_the_contracts_errors_arrive_as_their_classes(endpoint: str, title: str) -> None:
    async def body() -> None:
        async with StreamsClient.http(endpoint) as client:
            with pytest.raises(ThreadNotFound):
                await client.create_stream("no-such-thread", order=0, step_order=0)
            with pytest.raises(StreamNotFound):
                await client.get_stream("no-such-stream")
            thread_id = (await client.create_thread(title=title))["threadId"]
            stream_id = await client.create_stream(thread_id, order=0, step_order=0)
            assert await client.add_delta(stream_id, start=0, end=2, parts=[td("a"), td("b")])
            # The same delta again is accepted once, not written twice.
            assert await client.add_delta(stream_id, start=0, end=2, parts=[td("a"), td("b")])
            with pytest.raises(DeltaConflict) as conflict:
                await client.add_delta(stream_id, start=5, end=6, parts=[td("x")])
            assert conflict.value.expected_start == 2
            with pytest.raises(ValidationError):
                await client.add_delta(stream_id, start=3, end=2, parts=[td("x")])
            assert (await client.get_stream(stream_id))["nextStart"] == 2
            assert await client.finish_stream(stream_id) == "finished"
            # A stream that is no longer streaming takes no more parts.
            assert await client.add_delta(stream_id, start=2, end=3, parts=[td("c")]) is False

    run(body())


def test_a_writer_stops_when_someone_else_aborts_its_stream(endpoint: str, title: str) -> None:
    async def body() -> None:
        async with StreamsClient.http(endpoint) as client:
            thread_id = (await client.create_thread(title=title))["threadId"]
            reasons: list[str] = []
            streamer = client.streamer(
                thread_id=thread_id,
                order=0,
                step_order=0,
                throttle_ms=0,
                on_async_abort=reasons.append,
            )
            await streamer.add_parts([td("kept")])
            while (await client.get_stream(streamer.stream_id or ""))["nextStart"] < 1:
                await asyncio.sleep(0.01)
            assert await client.abort_streams_by_order(thread_id, order=0, reason="user stop")
            for _ in range(500):
                await streamer.add_parts([td(".")])
                if streamer.aborted:
                    break
                await asyncio.sleep(0.01)
            assert streamer.aborted
            assert reasons == ["async abort"]
            await streamer.finish()  # a no-op once aborted
            state = await client.get_stream(streamer.stream_id or "")
            assert (state["status"], state["reason"]) == ("aborted", "user stop")

    run(body())


def test_what_cannot_be_sent_is_refused_before_anything_is_sent(endpoint: str, title: str) -> None:
    async def body() -> None:
        async with StreamsClient.http(endpoint) as client:
            thread_id = (await client.create_thread(title=title))["threadId"]
            streamer = client.streamer(thread_id=thread_id, order=0, step_order=0)
            with pytest.raises(PartTooLarge):
                # Larger parts go to S3; past what one reply can return, nothing takes them.
                await streamer.add_parts([td("x" * MAX_PART_BYTES)])
            assert streamer.stream_id is None  # nothing was created for it
            await streamer.add_parts([td("fine")])
            await streamer.finish()
            with pytest.raises(StreamerClosed):
                await streamer.add_parts([td("late")])
            assert (await client.get_stream(streamer.stream_id or ""))["status"] == "finished"

    run(body())


def test_an_unreachable_endpoint_is_a_transient_error() -> None:
    async def body() -> None:
        async with StreamsClient.http("http://127.0.0.1:9") as client:
            with pytest.raises(TransientError) as raised:
                await client.create_thread()
            assert raised.value.maybe_processed is False
            follower = client.follow("t", live=False, retry_policy=RetryPolicy(max_retries=0))
            with pytest.raises(TransientError):
                await anext(follower)

    run(body())


@pytest.mark.skipif(
    importlib.util.find_spec("botocore") is not None, reason="botocore is installed here"
)
def test_direct_lambda_invoke_without_the_aws_extra_says_what_to_install() -> None:
    with pytest.raises(ImportError, match=r"agent-streams-client\[aws\]"):
        StreamsClient.lambda_(stack_name="agent-streams-local")
