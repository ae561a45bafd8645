"""Live reads over HTTP against the local stack: the SSE routes, their ids and resume.

Streams of both formats (taken from the reference's conformance cases, re-batched the
way a throttled writer batches them) and multi-step turns are written once; then a
reader cut after any event resumes with ``Last-Event-ID`` and must get exactly the
rest — 1,000 cut points — and readers cut while a reply is being written end with
exactly what was written.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import urllib3

from agent_streams.service.context import services
from agent_streams.service.ttl import aborted_stream_expiry
from agent_streams_dev.local.stack import LocalStack
from agent_streams_protocol.materialize.parts import get_parts
from agent_streams_protocol.materialize.ui_chunks import to_ui_message_chunks
from tests.unit.materialize.helpers import conformance_cases

from .conftest import LocalApi
from .sse_client import Read, read_sse

pytestmark = pytest.mark.e2e

SSE_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}
CUTS = 1000


def _sample_streams(rng: random.Random) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """(format, parts) of the reference's finished streams with enough parts."""
    found = []
    for case in conformance_cases():
        for stream in case["streamMessages"]:
            own = [d for d in case["deltas"] if d.get("streamId") == stream["streamId"]]
            parts, _ = get_parts(own)
            if len(parts) >= 6 and all(isinstance(p, dict) for p in parts):
                found.append((stream.get("format"), parts))
    rng.shuffle(found)
    return found


def batches(rng: random.Random, parts: list[dict[str, Any]]) -> list[tuple[int, int, list[Any]]]:
    """Deltas as a throttled writer makes them: a few parts each, some numbered as more
    parts than they hold (consecutive text deltas merged)."""
    out = []
    start = index = 0
    while index < len(parts):
        take = rng.randint(1, 6)
        chunk = parts[index : index + take]
        index += take
        end = start + len(chunk) + (rng.randint(1, 3) if rng.random() < 0.25 else 0)
        out.append((start, end, chunk))
        start = end
    return out


def write(
    api: LocalApi,
    thread_id: str,
    fmt: str | None,
    parts: list[dict[str, Any]],
    rng: random.Random,
    *,
    order: int = 0,
    step: int = 0,
    end: str = "finish",
) -> str:
    meta = {} if fmt is None else {"format": fmt}
    stream_id = api.stream(thread_id, order, step, **meta)
    deltas = batches(rng, parts)
    for start, stop, chunk in deltas[:-1]:
        status, body = api.post(
            f"/streams/{stream_id}/deltas", {"start": start, "end": stop, "parts": chunk}
        )
        assert status == 200, body
        assert body["accepted"], body
    start, stop, chunk = deltas[-1]
    final = {"streamId": stream_id, "start": start, "end": stop, "parts": chunk}
    if end == "finish":
        status, body = api.post(f"/streams/{stream_id}/finish", {"finalDelta": final})
    elif end == "abort":
        status, body = api.post(
            f"/streams/{stream_id}/abort", {"reason": "user", "finalDelta": final}
        )
    else:  # left streaming: a dead writer
        status, body = api.post(
            f"/streams/{stream_id}/deltas", {"start": start, "end": stop, "parts": chunk}
        )
    assert status == 200, body
    return stream_id


def chunks_of(fmt: str | None, parts: list[dict[str, Any]]) -> list[Any]:
    return parts if fmt == "UIMessageChunk" else to_ui_message_chunks(parts)


@dataclass
class Written:
    """What the fixture wrote, and what a reader must therefore get."""

    stream_urls: dict[str, list[Any]]  # path -> the chunks expected, tail included
    turn_urls: dict[str, list[Any]]


@pytest.fixture(scope="module")
def written(local_stack: LocalStack) -> Written:
    api = LocalApi(local_stack.url)
    rng = random.Random(11)
    sample = _sample_streams(rng)
    expected_streams: dict[str, list[Any]] = {}
    expected_turns: dict[str, list[Any]] = {}

    # A writer that died: timed out once the clock passes 10 minutes.
    fmt, parts = sample.pop()
    thread_id = api.thread()
    dead = write(api, thread_id, fmt, parts, rng, end="none")
    api.advance(601)
    tail = [{"type": "error", "errorText": "stream timed out"}, {"type": "abort"}]
    expected_streams[f"/streams/{dead}/events"] = chunks_of(fmt, parts) + tail

    # Single streams, finished or aborted by the user, both formats.
    for n in range(16):
        fmt, parts = sample.pop()
        end = "abort" if n % 4 == 3 else "finish"
        stream_id = write(api, api.thread(), fmt, parts, rng, end=end)
        chunks = chunks_of(fmt, parts)
        if end == "abort" and chunks and chunks[-1].get("type") != "abort":
            chunks = [*chunks, {"type": "abort"}]
        expected_streams[f"/streams/{stream_id}/events"] = chunks

    # Turns of 2-3 streams (steps), formats mixed.
    for _ in range(8):
        thread_id = api.thread()
        steps = [sample.pop() for _ in range(rng.randint(2, 3))]
        ids = []
        merged: list[Any] = []
        reason: Any = None
        for step, (fmt, parts) in enumerate(steps):
            ids.append(write(api, thread_id, fmt, parts, rng, order=3, step=step))
            for chunk in chunks_of(fmt, parts):
                kind = chunk.get("type")
                if kind in ("start", "finish"):
                    if kind == "finish":
                        reason = chunk.get("finishReason")
                    if chunk.get("messageMetadata") is not None:
                        merged.append(
                            {
                                "type": "message-metadata",
                                "messageMetadata": chunk["messageMetadata"],
                            }
                        )
                    continue
                merged.append(chunk)
        finish = (
            {"type": "finish"} if reason is None else {"type": "finish", "finishReason": reason}
        )
        start = {"type": "start", "messageId": f"stream:{ids[0]}"}
        # The turn has ended: a reader continues it with a Last-Event-ID naming it.
        expected_turns[f"/threads/{thread_id}/stream"] = [start, *merged, finish]
    # Past the turn's settle time, on the service's clock.
    api.advance(2)
    return Written(expected_streams, expected_turns)


@pytest.fixture(scope="module")
def pool() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(maxsize=8)
    yield pool
    pool.clear()


def full_read(pool: urllib3.PoolManager, url: str, last_event_id: str | None = None) -> Read:
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    read = read_sse(pool, url, headers)
    assert read.status == 200, read.body
    assert read.done, f"{url}: no [DONE]"
    return read


def test_the_headers_are_the_ui_message_stream_protocols(
    local_stack: LocalStack, written: Written, pool: urllib3.PoolManager
) -> None:
    path = next(iter(written.stream_urls))
    read = full_read(pool, local_stack.url + path)
    for name, value in SSE_HEADERS.items():
        assert read.headers[name] == value


def test_a_stream_reads_as_its_parts_then_its_end(
    local_stack: LocalStack, written: Written, pool: urllib3.PoolManager
) -> None:
    for path, expected in written.stream_urls.items():
        read = full_read(pool, local_stack.url + path)
        assert [chunk for _, chunk in read.events] == expected, path
        assert len({event_id for event_id, _ in read.events}) == len(read.events)


def test_a_turn_reads_as_one_message_stream(
    local_stack: LocalStack, written: Written, pool: urllib3.PoolManager
) -> None:
    for path, expected in written.turn_urls.items():
        # The turn has ended, so nothing is live: 204 for a new reader.
        status = pool.request("GET", local_stack.url + path, retries=False).status
        assert status == 204
        # A reader that saw only the start continues it to the end.
        order = "3"
        read = full_read(pool, local_stack.url + path, order)
        assert [chunk for _, chunk in read.events] == expected[1:], path


def test_any_cut_resumes_exactly(
    local_stack: LocalStack, written: Written, pool: urllib3.PoolManager
) -> None:
    rng = random.Random(7)
    reads: list[tuple[str, list[tuple[str, Any]]]] = []
    for path in written.stream_urls:
        reads.append((path, full_read(pool, local_stack.url + path).events))
    for path in written.turn_urls:
        rest = full_read(pool, local_stack.url + path, "3").events
        reads.append((path, rest))
    cuts = []
    for n in range(CUTS):
        path, events = reads[n % len(reads)]
        cuts.append((n, path, events, rng.randrange(len(events))))

    def check(cut: tuple[int, str, list[tuple[str, Any]], int]) -> None:
        n, path, events, at = cut
        last_id = events[at][0]
        resumed = full_read(pool, local_stack.url + path, last_id)
        assert resumed.events == events[at + 1 :], (path, last_id)
        if n % 10 == 0 and "/streams/" in path:
            # ?cursor= is the same position as Last-Event-ID.
            again = full_read(pool, f"{local_stack.url}{path}?cursor={last_id}")
            assert again.events == resumed.events

    with ThreadPoolExecutor(4) as executor:
        list(executor.map(check, cuts))


def test_a_reader_cut_while_the_reply_is_written_ends_with_exactly_the_parts_written(
    local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager
) -> None:
    rng = random.Random(5)
    parts: list[dict[str, Any]] = [{"type": "start"}, {"type": "start-step"}]
    parts += [{"type": "text-start", "id": "t"}]
    parts += [{"type": "text-delta", "id": "t", "delta": f"w{i} "} for i in range(150)]
    parts += [{"type": "text-end", "id": "t"}, {"type": "finish-step"}, {"type": "finish"}]
    thread_id = api.thread()
    stream_id = api.stream(thread_id, 0, 0, format="UIMessageChunk")
    deltas = batches(rng, parts)

    def writer() -> None:
        for start, stop, chunk in deltas[:-1]:
            api.post(f"/streams/{stream_id}/deltas", {"start": start, "end": stop, "parts": chunk})
            time.sleep(0.02)
        start, stop, chunk = deltas[-1]
        api.post(
            f"/streams/{stream_id}/finish",
            {"finalDelta": {"streamId": stream_id, "start": start, "end": stop, "parts": chunk}},
        )

    thread = threading.Thread(target=writer)
    thread.start()
    got: list[Any] = []
    last: str | None = None
    reconnects = 0
    while True:
        headers = {} if last is None else {"Last-Event-ID": last}
        read = read_sse(
            pool, f"{local_stack.url}/streams/{stream_id}/events", headers,
            stop_after=rng.randint(1, 12),
        )  # fmt: skip
        assert read.status == 200
        got += [chunk for _, chunk in read.events]
        if read.events:
            last = read.events[-1][0]
        if read.done:
            break
        reconnects += 1
    thread.join()
    assert got == parts
    assert reconnects > 5
    # And the thread's route, cut the same way, reads the same turn.
    merged = [{"type": "start", "messageId": f"stream:{stream_id}"}]
    merged += [p for p in parts if p["type"] not in ("start", "finish")] + [{"type": "finish"}]
    got, last = [], "0"
    while True:
        read = read_sse(
            pool, f"{local_stack.url}/threads/{thread_id}/stream", {"Last-Event-ID": last},
            stop_after=rng.randint(5, 40),
        )  # fmt: skip
        got += [chunk for _, chunk in read.events]
        if read.events:
            last = read.events[-1][0]
        if read.done:
            break
    assert [merged[0], *got] == merged


def test_a_live_turn_and_then_nothing_live(
    local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager
) -> None:
    thread_id = api.thread()
    assert pool.request("GET", f"{local_stack.url}/threads/{thread_id}/stream").status == 204
    stream_id = api.stream(thread_id, 2, 0, format="UIMessageChunk")
    api.post(
        f"/streams/{stream_id}/deltas",
        {"start": 0, "end": 2, "parts": [{"type": "start"}, {"type": "text-start", "id": "a"}]},
    )
    read = read_sse(pool, f"{local_stack.url}/threads/{thread_id}/stream", stop_after=2)
    assert read.status == 200
    assert [c for _, c in read.events] == [
        {"type": "start", "messageId": f"stream:{stream_id}"},
        {"type": "text-start", "id": "a"},
    ]
    assert read.events[0][0] == "2"
    assert read.events[1][0] == f"2.0.{stream_id}.2"
    api.post(f"/streams/{stream_id}/abort", {"reason": "stop button"})
    rest = full_read(pool, f"{local_stack.url}/threads/{thread_id}/stream", read.events[1][0])
    assert [c for _, c in rest.events] == [{"type": "abort"}]
    assert pool.request("GET", f"{local_stack.url}/threads/{thread_id}/stream").status == 204


@pytest.mark.parametrize(
    ("path", "header", "status", "code"),
    [
        ("/streams/{s}/events", "x", 422, "ValidationError"),
        ("/streams/{s}/events", "1.2.3", 422, "ValidationError"),
        ("/streams/{s}/events", "99999", 422, "ValidationError"),
        ("/streams/{s}/events", "1", 422, "ValidationError"),  # not a delta boundary
        ("/streams/nope/events", None, 404, "StreamNotFound"),
        ("/streams/bad%20id/events", None, 422, "ValidationError"),
        ("/threads/{t}/stream", "0.0.x", 422, "ValidationError"),
        ("/threads/nope/stream", None, 404, "ThreadNotFound"),
        ("/streams/{s}/events?since=1", None, 422, "ValidationError"),
    ],
)
def test_errors_are_json(
    local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager,
    path: str, header: str | None, status: int, code: str,
) -> None:  # fmt: skip
    thread_id = api.thread()
    stream_id = api.stream(thread_id, format="UIMessageChunk")
    api.post(
        f"/streams/{stream_id}/deltas",
        {"start": 0, "end": 3, "parts": [{"type": "start"}, {"type": "start-step"}]},
    )
    url = local_stack.url + path.format(s=stream_id, t=thread_id)
    read = read_sse(pool, url, {} if header is None else {"Last-Event-ID": header})
    assert read.status == status
    assert read.body["error"] == code, read.body
    assert read.headers["content-type"] == "application/json"


def test_cors_preflight(local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager) -> None:
    thread_id = api.thread()
    reply = pool.request(
        "OPTIONS",
        f"{local_stack.url}/threads/{thread_id}/stream",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization,last-event-id",
        },
        retries=False,
    )
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] in ("*", "https://app.example.com")
    allowed = reply.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "last-event-id", "content-type"):
        assert header in allowed
    assert "GET" in reply.headers["access-control-allow-methods"]
    # The event stream itself carries the origin header too.
    read = read_sse(
        pool, f"{local_stack.url}/threads/{thread_id}/stream", {"Origin": "https://app.example.com"}
    )
    assert read.status == 204


def test_a_deleted_stream_ends_without_done(
    local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager
) -> None:
    stream_id = api.stream(api.thread(), format="UIMessageChunk")
    api.post(f"/streams/{stream_id}/deltas", {"start": 0, "end": 1, "parts": [{"type": "start"}]})
    result: dict[str, Read] = {}
    reader = threading.Thread(
        target=lambda: result.update(
            read=read_sse(pool, f"{local_stack.url}/streams/{stream_id}/events")
        )
    )
    reader.start()
    time.sleep(0.5)
    assert api.delete(f"/streams/{stream_id}")[0] == 204
    reader.join(timeout=20)
    assert not reader.is_alive()
    read = result["read"]
    assert [c for _, c in read.events] == [{"type": "start"}]
    assert not read.done
    assert json.loads(json.dumps(read.events))  # plain JSON all along


def test_a_stream_aborted_by_its_deletion_ends_as_deleted_not_as_aborted(
    local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager
) -> None:
    """The race of issue 11: a deletion first aborts a streaming stream (reason
    ``deleted``), then purges it. A reader that looks in between must end as for a
    deleted stream — no abort chunk, no ``[DONE]`` — and a reconnect is a 404, not the
    parts being deleted."""
    thread_id = api.thread()
    stream_id = api.stream(thread_id, format="UIMessageChunk")
    api.post(f"/streams/{stream_id}/deltas", {"start": 0, "end": 1, "parts": [{"type": "start"}]})
    result: dict[str, Read] = {}
    reader = threading.Thread(
        target=lambda: result.update(
            read=read_sse(pool, f"{local_stack.url}/streams/{stream_id}/events")
        )
    )
    reader.start()
    time.sleep(0.5)
    # What purge_stream does first; the stream item and its deltas are still there.
    ctx = services()
    now = ctx.now()
    ctx.repository.abort(stream_id, "deleted", now, None, aborted_stream_expiry(now, ctx.settings))
    reader.join(timeout=20)
    assert not reader.is_alive()
    read = result["read"]
    assert [c for _, c in read.events] == [{"type": "start"}]
    assert not read.done
    again = read_sse(pool, f"{local_stack.url}/streams/{stream_id}/events")
    assert again.status == 404
    # The thread's live route has no live turn left (its only stream is no longer streaming).
    assert read_sse(pool, f"{local_stack.url}/threads/{thread_id}/stream").status == 204
    # An abort for any other reason still ends with the abort chunk and [DONE].
    other = api.stream(thread_id, order=1, format="UIMessageChunk")
    api.post(f"/streams/{other}/deltas", {"start": 0, "end": 1, "parts": [{"type": "start"}]})
    api.post(f"/streams/{other}/abort", {"reason": "user stopped"})
    ended = read_sse(pool, f"{local_stack.url}/streams/{other}/events")
    assert [c for _, c in ended.events] == [{"type": "start"}, {"type": "abort"}]
    assert ended.done
    assert api.delete(f"/streams/{stream_id}")[0] == 204


def test_the_python_follower_reads_live_events_not_list_deltas(
    local_stack: LocalStack, api: LocalApi
) -> None:
    import asyncio

    from agent_streams_client import StreamsClient
    from agent_streams_client.http_transport import HttpTransport
    from agent_streams_client.live_follower import LiveThreadFollower
    from agent_streams_protocol.materialize import derive_ui_messages

    rng = random.Random(3)
    thread_id = api.thread()
    fmt, parts = _sample_streams(rng)[0]
    stream_id = write(api, thread_id, fmt, parts, rng)
    status, deltas = api.get(f"/threads/{thread_id}/deltas?cursors={stream_id}:0")
    assert status == 200
    stream = api.state(stream_id)[1]

    async def follow() -> tuple[list[Any], LiveThreadFollower, int]:
        async with StreamsClient.http(local_stack.url) as client:
            assert isinstance(client.transport, HttpTransport)
            calls = 0
            list_deltas = client.list_deltas

            async def counted(*args: Any) -> Any:
                nonlocal calls
                calls += 1
                return await list_deltas(*args)

            client.list_deltas = counted  # type: ignore[method-assign]
            follower = LiveThreadFollower(
                client, thread_id, transport=client.transport, stop_when_idle=True
            )
            seen = [m async for m in follower.messages()]
            return seen, follower, calls

    seen, follower, calls = asyncio.run(follow())
    assert follower.live is True
    assert calls == 0
    message = {
        k: v
        for k, v in stream.items()
        if k not in ("threadId", "lastHeartbeat", "endedAt", "nextStart", "reason")
    }
    assert seen[-1] == derive_ui_messages(thread_id, [message], deltas)
