"""A pipeline writes a reply with ``DeltaStreamer``; a reader follows it back.

Over HTTP only (urllib3): the live reads (Server-Sent Events) where the endpoint
serves them, polling otherwise. What the reader rebuilds is the message the AI
SDK would build from the parts the writer was given.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from support import run

from agent_streams_client import DeltaStreamer, StreamsClient
from agent_streams_client.adapters import openai_chat_chunks, tool_output_chunk

WORDS = [f"w{n} " for n in range(150)] + ["naïve ", "日本語 ", "🙂"]


def reply(words: list[str] = WORDS) -> list[dict[str, Any]]:
    return [
        {"type": "start"},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "r"},
        {"type": "reasoning-delta", "id": "r", "delta": "thinking"},
        {"type": "reasoning-end", "id": "r"},
        {"type": "text-start", "id": "t"},
        *({"type": "text-delta", "id": "t", "delta": word} for word in words),
        {"type": "text-end", "id": "t"},
        {"type": "finish-step"},
        {"type": "finish"},
    ]


def text_of(message: dict[str, Any]) -> str:
    return "".join(p["text"] for p in message["parts"] if p["type"] == "text")


@pytest.mark.parametrize("live", [None, False], ids=["live", "polling"])
def test_a_reply_written_is_read_back_whole(endpoint: str, title: str, live: bool | None) -> None:
    parts = reply()

    async def body() -> None:
        async with StreamsClient.http(endpoint) as client:
            thread_id = (await client.create_thread(title=title))["threadId"]
            async with client.streamer(
                thread_id=thread_id, order=0, step_order=0, throttle_ms=5, model="m"
            ) as streamer:
                for part in parts:
                    await streamer.add_parts([part])
            assert streamer.finished
            state = await client.get_stream(streamer.stream_id or "")
            assert (state["status"], state["nextStart"], state["model"]) == (
                "finished",
                len(parts),
                "m",
            )
            # The stored log: contiguous from 0, every part given, in order.
            deltas = await client.list_deltas(thread_id, {streamer.stream_id or "": 0})
            assert deltas[0]["start"] == 0
            for before, after in itertools.pairwise(deltas):
                assert after["start"] == before["end"]
            stored = "".join(
                p["delta"] for d in deltas for p in d["parts"] if p["type"] == "text-delta"
            )
            assert stored == "".join(WORDS)

            seen = [m async for m in client.follow(thread_id, stop_when_idle=True, live=live)]
            (message,) = seen[-1]
            assert message["role"] == "assistant"
            assert message["status"] == "success"
            assert text_of(message) == "".join(WORDS)
            assert [p["type"] for p in message["parts"]] == [
                "step-start",
                "reasoning",
                "text",
            ]

    run(body())


def test_a_reader_follows_while_the_writer_writes(endpoint: str, title: str) -> None:
    async def body() -> None:
        async with StreamsClient.http(endpoint) as client:
            thread_id = (await client.create_thread(title=title))["threadId"]
            started = asyncio.Event()

            async def write() -> None:
                async with DeltaStreamer(
                    client, thread_id=thread_id, order=0, step_order=0, throttle_ms=10
                ) as streamer:
                    for n, part in enumerate(reply()):
                        await streamer.add_parts([part])
                        if n == 10:
                            started.set()
                        await asyncio.sleep(0.002)

            writer = asyncio.ensure_future(write())
            await started.wait()
            texts: list[str] = []
            async for messages in client.follow(thread_id, discovery_interval=0.2):
                texts.append(text_of(messages[0]) if messages else "")
                if messages and messages[0]["status"] == "success":
                    break
            await writer
            # Seen growing, never shrinking, up to the whole reply.
            assert texts[-1] == "".join(WORDS)
            assert all(b.startswith(a) for a, b in itertools.pairwise(texts))

    run(body())


def test_an_sdk_stream_through_an_adapter_with_a_tool_result(endpoint: str, title: str) -> None:
    """An OpenAI Chat Completions stream (as plain dicts: no SDK installed) and a tool's
    result, in one message."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {"id": "c", "object": "chat.completion.chunk", "choices": [choice]}

    call = {"index": 0, "id": "call_1", "type": "function"}
    events = [
        chunk({"role": "assistant", "content": "Looking it up."}),
        chunk({"tool_calls": [{**call, "function": {"name": "weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Par'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'is"}'}}]}),
        chunk({}, "tool_calls"),
    ]

    async def body() -> None:
        async with StreamsClient.http(endpoint) as client:
            thread_id = (await client.create_thread(title=title))["threadId"]
            async with client.streamer(thread_id=thread_id, order=1, step_order=0) as streamer:
                async for part in openai_chat_chunks(events):
                    await streamer.add_parts([part])
                await streamer.add_parts([tool_output_chunk("call_1", {"temp": 21})])
            final = [m async for m in client.follow(thread_id, stop_when_idle=True)][-1]
            (message,) = final
            assert text_of(message) == "Looking it up."
            (tool,) = [p for p in message["parts"] if p["type"] == "tool-weather"]
            assert (tool["state"], tool["input"], tool["output"]) == (
                "output-available",
                {"city": "Paris"},
                {"temp": 21},
            )

    run(body())
