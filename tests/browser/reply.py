"""The reply the browser tests stream, the Python writer that streams it, and what the
page must show for it (the message ``derive_ui_messages`` builds, rendered as the
test page renders parts)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agent_streams_client import StreamsClient
from agent_streams_protocol.materialize.derive import derive_ui_messages
from agent_streams_protocol.materialize.js_compat import json_stringify

#: The reference's writer throttle.
THROTTLE_MS = 250

CITY = "Saint-Rémy-de-Provence"


def reply_parts(
    reasoning: int, text: int, tool_input: int, text_after: int
) -> list[dict[str, Any]]:
    """One assistant reply as AI SDK 5 UI message chunks: reasoning, text, a tool call
    whose input streams, its output, then a second step of text. Every word is numbered,
    so a lost or repeated piece cannot go unnoticed."""
    parts: list[dict[str, Any]] = [{"type": "start"}, {"type": "start-step"}]
    parts.append({"type": "reasoning-start", "id": "r1"})
    parts += [
        {"type": "reasoning-delta", "id": "r1", "delta": f"thought{i} "} for i in range(reasoning)
    ]
    parts += [{"type": "reasoning-end", "id": "r1"}, {"type": "text-start", "id": "t1"}]
    parts += [{"type": "text-delta", "id": "t1", "delta": f"word{i} "} for i in range(text)]
    parts.append({"type": "text-end", "id": "t1"})
    call = {"toolCallId": "call-1"}
    tool_args = {"city": CITY, "days": list(range(tool_input))}
    raw = json_stringify(tool_args)
    assert isinstance(raw, str)
    size = -(-len(raw) // max(1, tool_input))
    parts.append({"type": "tool-input-start", **call, "toolName": "weather"})
    parts += [
        {"type": "tool-input-delta", **call, "inputTextDelta": raw[i : i + size]}
        for i in range(0, len(raw), size)
    ]
    parts.append(
        {"type": "tool-input-available", **call, "toolName": "weather", "input": tool_args}
    )
    parts.append({"type": "tool-output-available", **call, "output": {"tempC": 21, "sky": "clear"}})
    parts += [{"type": "finish-step"}, {"type": "start-step"}, {"type": "text-start", "id": "t2"}]
    parts += [{"type": "text-delta", "id": "t2", "delta": f"after{i} "} for i in range(text_after)]
    parts += [{"type": "text-end", "id": "t2"}, {"type": "finish-step"}]
    parts.append({"type": "finish", "finishReason": "stop"})
    return parts


@dataclass
class Writer:
    """A pipeline writing ``parts`` into ``thread_id`` with ``DeltaStreamer`` over HTTP, one
    part every ``pace_s``, on a thread of its own. Records every ``add_delta`` answer."""

    url: str
    thread_id: str
    parts: list[dict[str, Any]]
    pace_s: float
    throttle_ms: float = THROTTLE_MS
    accepted: list[bool] = field(default_factory=list)
    given: int = 0
    stream_id: str | None = None
    async_abort: str | None = None
    error: BaseException | None = None
    aborted: bool = False
    finished: bool = False
    started_at: float = 0.0
    ended_at: float = 0.0
    first_delta: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, name="browser-test-writer", daemon=True)
        self.started_at = time.monotonic()
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the writer did not end within {timeout} s")
        if self.error is not None:
            raise AssertionError(f"the writer failed: {self.error!r}") from self.error

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def _run(self) -> None:
        try:
            asyncio.run(self._write())
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    async def _write(self) -> None:
        async with StreamsClient.http(self.url) as client:
            add_delta = client.add_delta

            async def recorded(*args: Any, **kwargs: Any) -> bool:
                ok = await add_delta(*args, **kwargs)
                self.accepted.append(ok)
                if ok:
                    self.first_delta.set()
                return ok

            client.add_delta = recorded  # type: ignore[method-assign]

            def on_async_abort(reason: str) -> None:
                self.async_abort = reason

            streamer = client.streamer(
                thread_id=self.thread_id,
                order=0,
                step_order=0,
                throttle_ms=self.throttle_ms,
                on_async_abort=on_async_abort,
            )

            async def paced() -> AsyncIterator[dict[str, Any]]:
                for part in self.parts:
                    yield part
                    self.given += 1
                    await asyncio.sleep(self.pace_s)

            await streamer.consume(paced())
            self.stream_id = streamer.stream_id
            self.aborted = streamer.aborted
            self.finished = streamer.finished


async def _stored(url: str, thread_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The thread's streams and every delta of them, read back over HTTP."""
    async with StreamsClient.http(url) as client:
        listed = await client.list_streams(thread_id, statuses=["streaming", "finished", "aborted"])
        cursors = {s["streamId"]: 0 for s in listed}
        deltas: list[dict[str, Any]] = []
        while True:
            page = await client.list_deltas(thread_id, cursors)
            if not page:
                return [dict(s) for s in listed], deltas
            deltas += [dict(d) for d in page]
            for delta in page:
                cursors[delta["streamId"]] = max(cursors[delta["streamId"]], delta["end"])


def stored_message(url: str, thread_id: str) -> dict[str, Any]:
    """The one UI message ``derive_ui_messages`` builds from the thread's stored deltas."""
    streams, deltas = asyncio.run(_stored(url, thread_id))
    messages = derive_ui_messages(thread_id, streams, deltas)
    assert len(messages) == 1, messages
    return messages[0]


def stream_status(url: str, stream_id: str) -> str:
    async def get() -> str:
        async with StreamsClient.http(url) as client:
            return str((await client.get_stream(stream_id))["status"])

    return asyncio.run(get())


def rendered(message: dict[str, Any]) -> list[dict[str, str]]:
    """A UI message's parts as the test page renders them (``browser-test/page.tsx``:
    ``Part``): type, state and text content."""
    out = []
    for part in message["parts"]:
        kind = str(part["type"])
        if kind in ("text", "reasoning"):
            out.append({"type": kind, "state": part.get("state", ""), "text": part["text"]})
        elif kind.startswith("tool-") or kind == "dynamic-tool":
            name = part["toolName"] if kind == "dynamic-tool" else kind[len("tool-") :]
            text = f"{name}({json_stringify(part.get('input'))})"
            if part["state"] == "output-available":
                text += f" → {json_stringify(part['output'])}"
            if part["state"] == "output-error":
                text += f" ✗ {part['errorText']}"
            out.append({"type": "tool", "state": part["state"], "text": text})
        else:
            out.append({"type": kind, "state": "", "text": f"[{kind}]"})
    return out


def text_of(parts: list[dict[str, Any]]) -> str:
    """Everything the parts show, one after the other."""
    return "".join(p["text"] for p in parts)


def create_thread(url: str, title: str) -> str:
    async def create() -> str:
        async with StreamsClient.http(url) as client:
            return str((await client.create_thread(title=title))["threadId"])

    return asyncio.run(create())
