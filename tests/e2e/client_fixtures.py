"""Helpers for the client's end-to-end tests: a realistic reply, a paced source,
a transport that fails on purpose, and a reader of a stream's whole log."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent_streams_client import StreamsClient, TransientError, Transport
from agent_streams_client.types import Part, StreamDelta, UIMessage
from agent_streams_protocol.materialize import derive_ui_messages

T = TypeVar("T")

#: No scenario may hang the suite: each is bounded as a whole.
SCENARIO_TIMEOUT_S = 90.0

#: The parts that are not text/reasoning/tool-input deltas (see agent_reply).
_FIXED_PARTS = 17

_WORDS = (
    "the", "stream", "writer", "batches", "parts", "into", "deltas", "naïve", "café",
    "—", "résumé", "🙂", "“quoted”", "tab\tstop", "line\n", "back\\slash", "日本語",
    "readers", "follow", "with", "cursors", "and", "rebuild", "it", "exactly", "\"json\"",
)  # fmt: skip


def run(coro: Coroutine[Any, Any, T], timeout: float = SCENARIO_TIMEOUT_S) -> T:
    """Run one async scenario to the end (or fail after ``timeout`` instead of hanging)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _tokens(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" " + rng.choice(_WORDS) for _ in range(count)]


def _slices(text: str, count: int) -> list[str]:
    """``text`` cut into ``count`` non-empty pieces, wherever the cut falls (mid-escape too)."""
    bounds = [round(i * len(text) / count) for i in range(count + 1)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


TOOL_INPUT: dict[str, Any] = {
    "query": "exactly-once appends on DynamoDB — “transactions” ✓",
    "filters": {"years": [2021, 2022, 2023], "lang": "en", "strict": True, "score": 0.75},
    "limit": 10,
    "notes": 'partial JSON: braces {in strings}, "escaped quotes", back\\slash, tab\tand 🙂',
}


def agent_reply(total: int = 5000, *, seed: int = 7) -> list[Part]:
    """A realistic ``UIMessageChunk`` reply of exactly ``total`` parts.

    Two steps in one message: reasoning, text, a tool call whose JSON input streams
    in slices (cut mid-token and mid-escape, as models do), then the pipeline's
    tool output; the second step cites two sources and answers at length.
    """
    variable = total - _FIXED_PARTS
    if variable < 40:
        raise ValueError(f"a reply needs at least {_FIXED_PARTS + 40} parts")
    tool_slices = max(4, min(80, variable // 20))
    reasoning = variable // 8
    first_text = variable // 10
    second_text = variable - tool_slices - reasoning - first_text
    input_json = json.dumps(TOOL_INPUT, ensure_ascii=False)
    parts: list[Part] = [
        {"type": "start", "messageMetadata": {"model": "e2e-model", "attempt": 1}},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "reasoning-0"},
        *(
            {"type": "reasoning-delta", "id": "reasoning-0", "delta": t}
            for t in _tokens(reasoning, seed)
        ),
        {"type": "reasoning-end", "id": "reasoning-0"},
        {"type": "text-start", "id": "text-0"},
        *(
            {"type": "text-delta", "id": "text-0", "delta": t}
            for t in _tokens(first_text, seed + 1)
        ),
        {"type": "text-end", "id": "text-0"},
        {"type": "tool-input-start", "toolCallId": "call_1", "toolName": "search"},
        *(
            {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": piece}
            for piece in _slices(input_json, tool_slices)
        ),
        {
            "type": "tool-input-available",
            "toolCallId": "call_1",
            "toolName": "search",
            "input": TOOL_INPUT,
        },
        {"type": "finish-step"},
        {
            "type": "tool-output-available",
            "toolCallId": "call_1",
            "output": {"hits": [{"id": 1, "title": "Transactions"}, {"id": 2, "title": "TTL"}]},
        },
        {"type": "start-step"},
        {
            "type": "source-url",
            "sourceId": "source-0",
            "url": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transactions.html",
            "title": "DynamoDB transactions",
        },
        {
            "type": "source-document",
            "sourceId": "source-1",
            "mediaType": "application/pdf",
            "title": "design.pdf",
            "filename": "design.pdf",
        },
        {"type": "text-start", "id": "text-1"},
        *(
            {"type": "text-delta", "id": "text-1", "delta": t}
            for t in _tokens(second_text, seed + 2)
        ),
        {"type": "text-end", "id": "text-1"},
        {"type": "finish-step"},
        {
            "type": "finish",
            "messageMetadata": {"usage": {"inputTokens": 812, "outputTokens": total}},
        },
    ]
    assert len(parts) == total
    return parts


@dataclass
class SourceProgress:
    """How far a consumer read a source, and whether it closed it."""

    taken: int = 0
    closed: bool = False


async def paced(
    parts: Sequence[Part],
    *,
    every: int = 25,
    pause_s: float = 0.01,
    progress: SourceProgress | None = None,
) -> AsyncIterator[Part]:
    """``parts`` as a model would yield them: in bursts, with short pauses between."""
    try:
        for index, part in enumerate(parts):
            if progress is not None:
                progress.taken += 1
            yield part
            if (index + 1) % every == 0:
                await asyncio.sleep(pause_s)
    finally:
        if progress is not None:
            progress.closed = True


def paced_sync(parts: Sequence[Part], *, every: int = 25, pause_s: float = 0.01) -> Iterator[Part]:
    """The blocking counterpart of :func:`paced` (a sync SDK's stream)."""
    for index, part in enumerate(parts):
        yield part
        if (index + 1) % every == 0:
            time.sleep(pause_s)


@dataclass
class Injected:
    """What a :class:`FlakyTransport` did, per operation."""

    calls: dict[str, int] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    def total(self, kind: str) -> int:
        return sum(getattr(self, kind).values())


class FlakyTransport:
    """Wraps a transport and fails some calls on purpose, as a network would.

    * ``before``: the request never reaches the server (``maybe_processed=False``);
    * ``after``: the server carries the request out, then the reply is lost (a
      timeout: ``maybe_processed=True``).

    ``plan[operation]`` = (probability of ``before``, probability of ``after``).
    ``first[operation]`` forces the kind of failure of that operation's first call.
    At most ``max_in_a_row`` failures in a row per operation, so the caller's
    bounded retries always get through: the test is about what survives, not
    about giving up.
    """

    def __init__(
        self,
        inner: Transport,
        plan: dict[str, tuple[float, float]],
        *,
        first: dict[str, str] | None = None,
        seed: int = 1,
        max_in_a_row: int = 3,
    ) -> None:
        self.inner = inner
        self.plan = plan
        self.first = dict(first or {})
        self.max_in_a_row = max_in_a_row
        self.injected = Injected()
        self._rng = random.Random(seed)
        self._in_a_row: dict[str, int] = {}

    def _pick(self, operation: str) -> str | None:
        calls = self.injected.calls
        calls[operation] = calls.get(operation, 0) + 1
        if calls[operation] == 1 and operation in self.first:
            return self.first[operation]
        if self._in_a_row.get(operation, 0) >= self.max_in_a_row:
            return None
        p_before, p_after = self.plan.get(operation, (0.0, 0.0))
        draw = self._rng.random()
        if draw < p_before:
            return "before"
        if draw < p_before + p_after:
            return "after"
        return None

    async def call(self, operation: str, args: dict[str, Any]) -> Any:
        kind = self._pick(operation)
        if kind is None:
            self._in_a_row[operation] = 0
            return await self.inner.call(operation, args)
        self._in_a_row[operation] = self._in_a_row.get(operation, 0) + 1
        record = getattr(self.injected, kind)
        record[operation] = record.get(operation, 0) + 1
        if kind == "before":
            raise TransientError(
                "injected: connection refused", maybe_processed=False, operation=operation
            )
        await self.inner.call(operation, args)  # the server does it…
        raise TransientError(  # …and the reply never arrives
            "injected: read timed out", maybe_processed=True, operation=operation
        )

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            await close()


async def read_log(client: StreamsClient, thread_id: str, stream_id: str) -> list[StreamDelta]:
    """Every stored delta of a stream, paging ``list_deltas`` from cursor 0.

    Asserts what readers rely on: the log starts at 0 and each delta starts
    exactly where the previous one ended — no gap, no overlap, no duplicate.
    """
    log: list[StreamDelta] = []
    cursor = 0
    while True:
        page = await client.list_deltas(thread_id, {stream_id: cursor})
        if not page:
            return log
        for delta in page:
            assert delta["streamId"] == stream_id
            assert delta["start"] == cursor, f"gap or overlap at {cursor}: {delta['start']}"
            assert delta["end"] > delta["start"]
            assert 0 < len(delta["parts"]) <= delta["end"] - delta["start"]
            cursor = delta["end"]
            log.append(delta)


def expected_messages(
    thread_id: str, stream_message: dict[str, Any], parts: Sequence[Part]
) -> list[UIMessage]:
    """What the reference derives from ``parts`` as the pipeline wrote them, uncompressed."""
    delta = {
        "streamId": stream_message["streamId"],
        "start": 0,
        "end": len(parts),
        "parts": list(parts),
    }
    return derive_ui_messages(thread_id, [stream_message], [delta])


def derived_from_log(
    thread_id: str, stream_message: dict[str, Any], log: Sequence[StreamDelta]
) -> list[UIMessage]:
    """What the reference derives from the deltas as stored (merged, split)."""
    return derive_ui_messages(thread_id, [stream_message], [dict(delta) for delta in log])


async def collect(messages: AsyncIterator[list[UIMessage]]) -> list[list[UIMessage]]:
    return [snapshot async for snapshot in messages]


def text_of(message: UIMessage) -> str:
    return "".join(str(p.get("text", "")) for p in message["parts"] if p.get("type") == "text")


def texts_only_grow(snapshots: Iterable[list[UIMessage]]) -> bool:
    """Each snapshot's text extends the previous one's: readers never see text go back."""
    previous = ""
    for snapshot in snapshots:
        if not snapshot:
            continue
        current = text_of(snapshot[-1])
        if not current.startswith(previous):
            return False
        previous = current
    return True
