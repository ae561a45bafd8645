"""Writer, reader and CLI together over real HTTP, with the real materialiser.

Behind the HTTP server are the real handlers on moto (``gateway.py``); the
materialiser is ``agent_streams_protocol.materialize``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
from typing import Any

import pytest

from agent_streams_client import follow_cli
from agent_streams_client import follower as follower_module
from agent_streams_client.adapters import openai_chat_chunks, tool_output_chunk
from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.render import LiveRenderer, Style, render_messages
from agent_streams_client.retry import RetryPolicy
from agent_streams_client.streams_client import StreamsClient

from . import adapter_events as E
from .fake_clock import run
from .gateway import gateway
from .helpers import td
from .service import Service

pytest.importorskip("agent_streams_protocol.materialize")


def _text_of(message: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in message["parts"] if p.get("type") == "text")


def test_a_pipeline_writes_over_http_and_a_reader_follows_it(service: Service) -> None:
    thread_id = service.thread()

    async def pipeline(client: StreamsClient) -> None:
        async with DeltaStreamer(
            client, thread_id=thread_id, order=0, step_order=0, throttle_ms=5
        ) as streamer:
            converter_opts: dict[str, Any] = {"send_finish": False}
            async for chunk in openai_chat_chunks(E.CHAT_TOOLS, **converter_opts):
                await streamer.add_parts([chunk])
                await asyncio.sleep(0.001)
            await streamer.add_parts(
                [
                    tool_output_chunk("call_a", {"temp": 21}),
                    tool_output_chunk("call_b", {"time": "12:00"}),
                ]
            )
            async for chunk in openai_chat_chunks(E.CHAT_TEXT, send_start=False):
                await streamer.add_parts([chunk])

    async def body() -> list[list[dict[str, Any]]]:
        with gateway(service.api) as url:
            async with StreamsClient.http(url) as client:
                writer = asyncio.ensure_future(pipeline(client))
                seen = []
                async for messages in client.follow(
                    thread_id, poll_interval=0.005, stop_when_idle=False
                ):
                    seen.append(messages)
                    if writer.done() and messages[0].get("status") == "success":
                        break
                await writer
                # A fresh reader after the fact sees the same final message.
                final = [m async for m in client.follow(thread_id, stop_when_idle=True)]
                seen.append(final[-1])
                return seen

    seen = run(body())
    final = seen[-1]
    assert len(final) == 1
    message = final[0]
    assert message["role"] == "assistant"
    assert _text_of(message) == "Checking.Hello"
    tools = [p for p in message["parts"] if str(p.get("type", "")).startswith("tool-")]
    assert [(p["toolCallId"], p["state"], p.get("output")) for p in tools] == [
        ("call_a", "output-available", {"temp": 21}),
        ("call_b", "output-available", {"time": "12:00"}),
    ]
    assert seen[-2] == seen[-1]


def test_follow_cli_once_prints_the_thread(service: Service) -> None:
    thread_id = service.thread()
    sid = str(
        service.invoke(
            "create_stream",
            {"threadId": thread_id, "order": 0, "stepOrder": 0, "format": "UIMessageChunk"},
        )
    )
    parts = [
        {"type": "start"},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "r"},
        {"type": "reasoning-delta", "id": "r", "delta": "pondering"},
        {"type": "reasoning-end", "id": "r"},
        {"type": "text-start", "id": "t0"},
        td("Hello\nworld"),
        {"type": "text-end", "id": "t0"},
        {"type": "source-url", "sourceId": "s", "url": "https://example.com", "title": "Ex"},
        {"type": "finish-step"},
        {"type": "finish"},
    ]
    service.finish(sid, {"start": 0, "end": len(parts), "parts": parts})
    out = io.StringIO()
    parser = argparse.ArgumentParser()
    follow_cli.add_arguments(parser)
    with gateway(service.api) as url:
        # After "--": a generated id may start with "-".
        args = parser.parse_args(
            ["--url", url, "--once", "--poll-interval", "0.01", "--", thread_id]
        )
        assert follow_cli.run(args, out) == 0
    text = out.getvalue()
    assert "Hello\nworld" in text
    assert "[reasoning] pondering" in text
    assert "[source] Ex <https://example.com>" in text
    assert "\x1b" not in text  # plain output when not a TTY


def test_follow_cli_reports_an_unreachable_endpoint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No retries here: the point is the message, not the (real-time) backoff.
    monkeypatch.setattr(follower_module, "RetryPolicy", lambda: RetryPolicy(max_retries=0))
    parser = argparse.ArgumentParser()
    follow_cli.add_arguments(parser)
    args = parser.parse_args(["t1", "--url", "http://127.0.0.1:9", "--once"])
    assert follow_cli.run(args, io.StringIO()) == 2
    assert "cannot connect" in capsys.readouterr().err


def test_live_renderer_appends_on_pipes_and_redraws_on_ttys() -> None:
    def message(text: str, tool_state: str | None = None) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if tool_state:
            parts.append(
                {"type": "tool-lookup", "toolCallId": "c", "state": tool_state, "input": {"q": 1}}
            )
        return [{"id": "m", "role": "assistant", "parts": parts}]

    pipe = io.StringIO()
    renderer = LiveRenderer(pipe, tty=False)
    renderer.update(message("Hel"))
    renderer.update(message("Hello"))
    renderer.update(message("Hello there"))
    renderer.close()
    assert pipe.getvalue() == "── assistant\nHello there\n"

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    renderer = LiveRenderer(tty, tty=True)
    renderer.update(message("Hi", "input-available"))
    renderer.update(message("Hi!", "input-available"))  # not the last line: redraw
    assert "\x1b[J" in tty.getvalue()
    lines = render_messages(message("x", "output-error"), Style(color=False))
    assert lines[-1].startswith("[tool] lookup(")
