"""The Python client end to end against the local stack: writers and readers as a
pipeline and an app would use them, over HTTP, direct Lambda invoke and in process.

What is checked is what users rely on: a reader rebuilds exactly what the writer
was given (``derive_ui_messages`` over the parts as written); the stored log is
contiguous from 0, with nothing lost or duplicated, whatever the network does; an
abort by someone else stops the writer, even one racing its finish; a writer that
dies is seen as timed out; each adapter's replies, the size limits and parts the
service cannot store are handled before anything is lost. Figures (parts, deltas,
time, polls, injected failures) are printed at the end of the module's run.

No timing is asserted: pacing only makes the runs realistic (many deltas, a
follower reading while the writer writes); the outcomes hold at any speed.
"""

from __future__ import annotations

import asyncio
import io
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import redirect_stdout
from typing import Any

import boto3
import pytest

from agent_streams_client import (
    DeltaStreamer,
    RetryPolicy,
    StreamsClient,
    SyncDeltaStreamer,
    SyncStreamsClient,
    ThreadFollower,
)
from agent_streams_client.adapters import (
    anthropic_chunks,
    bedrock_chunks,
    openai_chat_chunks,
    openai_responses_chunks,
)
from agent_streams_client.batching import MAX_JSON_DEPTH, json_size
from agent_streams_dev import cli
from agent_streams_dev.local.inprocess import invoke_local
from agent_streams_dev.local.stack import LocalStack
from agent_streams_protocol.errors import (
    DeltaConflict,
    StreamNotFound,
    ThreadNotFound,
    ValidationError,
)
from agent_streams_protocol.limits import MAX_PARTS_JSON_BYTES
from agent_streams_protocol.materialize import derive_ui_messages
from agent_streams_protocol.materialize import streaming_messages as message_docs
from tests.e2e.client_fixtures import (
    FlakyTransport,
    SourceProgress,
    agent_reply,
    collect,
    derived_from_log,
    expected_messages,
    paced,
    paced_sync,
    read_log,
    run,
    text_of,
    texts_only_grow,
)
from tests.e2e.figures import report_figures

pytestmark = pytest.mark.e2e

#: Figures of this module's runs, printed once at its end.
FIGURES: list[str] = []

#: Retries quick enough for a test, still with backoff and jitter.
FAST_RETRIES = RetryPolicy(max_retries=6, base_delay_s=0.005, max_delay_s=0.05)


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report_figures(request, "client end-to-end figures", FIGURES)


def figure(line: str) -> None:
    FIGURES.append(line)
    print(line)


async def _stream_message(client: StreamsClient, thread_id: str, status: str) -> dict[str, Any]:
    listed = await client.list_streams(thread_id, statuses=[status])
    assert len(listed) == 1, listed
    return dict(listed[0])


# -- a long reply, written and followed live ------------------------------------------


@pytest.mark.parametrize("throttle_ms", [None, 0], ids=["default-throttle", "throttle-0"])
def test_a_5000_part_reply_is_followed_live_and_rebuilt_exactly(
    local_stack: LocalStack, throttle_ms: int | None
) -> None:
    parts = agent_reply(5000)

    async def scenario() -> None:
        async with (
            StreamsClient.http(local_stack.url) as writer_client,
            StreamsClient.http(local_stack.url) as reader_client,
        ):
            thread_id = (await writer_client.create_thread(title="long reply"))["threadId"]
            options: dict[str, Any] = {} if throttle_ms is None else {"throttle_ms": throttle_ms}
            streamer = DeltaStreamer(
                writer_client,
                thread_id=thread_id,
                order=0,
                step_order=0,
                model="e2e-model",
                provider="e2e",
                **options,
            )
            started = time.monotonic()
            # The first part creates the stream, so the follower has it to follow.
            await streamer.add_parts(parts[:1])
            follower = ThreadFollower(
                reader_client, thread_id, poll_interval=0.05, stop_when_idle=True
            )
            following = asyncio.ensure_future(collect(follower.messages()))
            await streamer.consume(paced(parts[1:]))
            written_s = time.monotonic() - started
            snapshots = await following
            followed_s = time.monotonic() - started

            assert streamer.finished
            assert streamer.stream_id is not None
            stream = await _stream_message(reader_client, thread_id, "finished")
            expected = expected_messages(thread_id, stream, parts)
            assert snapshots[-1] == expected
            assert expected[0]["status"] == "success"
            assert [p["type"] for p in expected[0]["parts"]] == [
                "step-start",
                "reasoning",
                "text",
                "tool-search",
                "step-start",
                "source-url",
                "source-document",
                "text",
            ]
            assert texts_only_grow(snapshots)

            log = await read_log(reader_client, thread_id, streamer.stream_id)
            assert log[-1]["end"] == len(parts)
            # What is stored materialises to the same message as what was given.
            assert derived_from_log(thread_id, stream, log) == expected
            # A reader arriving afterwards (paging past the 100-delta cap) agrees.
            late = await collect(reader_client.follow(thread_id, stop_when_idle=True))
            assert late[-1] == expected
            # And the message docs to save, which the server builds from every delta.
            docs = await reader_client.streaming_messages(thread_id, order=0, step_order=0)
            state = dict(await reader_client.get_stream(streamer.stream_id))
            whole = {"streamId": streamer.stream_id, "start": 0, "end": len(parts), "parts": parts}
            assert docs == message_docs(thread_id, state, [whole], 0, {"status": "success"})

            figure(
                f"5,000-part reply, throttle {throttle_ms if throttle_ms is not None else 250} ms:"
                f" {len(parts)} parts -> {len(log)} deltas"
                f" ({sum(len(d['parts']) for d in log)} parts after merging),"
                f" written in {written_s:.2f} s, followed to the end in {followed_s:.2f} s,"
                f" follower {follower.polls} polls / {len(snapshots)} updates"
            )

    run(scenario())


# -- the network fails during writes ------------------------------------------------------


def test_transient_failures_during_writes_lose_and_duplicate_nothing(
    local_stack: LocalStack,
) -> None:
    parts = agent_reply(2000, seed=11)

    async def scenario() -> None:
        flaky = FlakyTransport(
            StreamsClient.http(local_stack.url).transport,
            # add_delta: a fifth of the calls never arrive, a fifth are carried out
            # and their reply lost — the retry then replays an accepted delta.
            {"add_delta": (0.2, 0.2)},
            # create_stream is retried only when surely not processed; finish after
            # processing: its retry meets a finished stream.
            first={"create_stream": "before", "finish_stream": "after"},
            seed=5,
        )
        flaky_reads = FlakyTransport(
            StreamsClient.http(local_stack.url).transport,
            {"list_streams": (0.15, 0.0), "list_deltas": (0.1, 0.1)},
            seed=9,
        )
        async with StreamsClient(flaky) as writer_client, StreamsClient(flaky_reads) as reader:
            thread_id = (await writer_client.create_thread(title="flaky"))["threadId"]
            streamer = DeltaStreamer(
                writer_client,
                thread_id=thread_id,
                order=0,
                step_order=0,
                throttle_ms=0,
                retry_policy=FAST_RETRIES,
            )
            started = time.monotonic()
            await streamer.add_parts(parts[:1])
            follower = ThreadFollower(
                reader,
                thread_id,
                poll_interval=0.05,
                stop_when_idle=True,
                retry_policy=FAST_RETRIES,
            )
            following = asyncio.ensure_future(collect(follower.messages()))
            await streamer.consume(paced(parts[1:], every=10))
            snapshots = await following
            elapsed = time.monotonic() - started

            assert streamer.finished
            assert streamer.stream_id is not None
            async with StreamsClient.http(local_stack.url) as clean:
                stream = await _stream_message(clean, thread_id, "finished")
                # One stream: the retried create did not make a second one.
                everything = await clean.list_streams(
                    thread_id, statuses=["streaming", "finished", "aborted"]
                )
                assert len(everything) == 1
                log = await read_log(clean, thread_id, streamer.stream_id)
            assert log[-1]["end"] == len(parts)
            expected = expected_messages(thread_id, stream, parts)
            assert derived_from_log(thread_id, stream, log) == expected
            assert snapshots[-1] == expected

            injected = flaky.injected
            assert injected.after.get("add_delta", 0) > 0
            assert injected.before.get("add_delta", 0) > 0
            figure(
                f"transient failures, {len(parts)} parts -> {len(log)} deltas in {elapsed:.2f} s:"
                f" add_delta {injected.calls['add_delta']} calls,"
                f" {injected.before['add_delta']} failed before sending,"
                f" {injected.after['add_delta']} failed after the server accepted;"
                f" create_stream {injected.before.get('create_stream', 0)} and finish_stream"
                f" {injected.after.get('finish_stream', 0)} injected; reader"
                f" {flaky_reads.injected.total('before') + flaky_reads.injected.total('after')}"
                f" read failures in {follower.polls} polls; all survived, log contiguous"
            )

    run(scenario())


# -- someone else aborts -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["abort_stream", "abort_streams_by_order"])
def test_an_abort_by_another_party_stops_the_writer(local_stack: LocalStack, how: str) -> None:
    parts = agent_reply(5000, seed=3)

    async def scenario() -> None:
        async with (
            StreamsClient.http(local_stack.url) as writer_client,
            StreamsClient.http(local_stack.url) as other,
        ):
            thread_id = (await writer_client.create_thread(title="stopped"))["threadId"]
            notified: list[str] = []
            streamer = DeltaStreamer(
                writer_client,
                thread_id=thread_id,
                order=2,
                step_order=0,
                throttle_ms=20,
                on_async_abort=notified.append,
            )
            source = SourceProgress()
            # Held here, as a caller holding its LLM stream would: not collected,
            # so only an explicit close ends it.
            generator = paced(parts, every=10, pause_s=0.01, progress=source)
            writing = asyncio.ensure_future(streamer.consume(generator))
            while streamer.stream_id is None:
                await asyncio.sleep(0.01)
            stream_id = streamer.stream_id
            while (await other.get_stream(stream_id))["nextStart"] < 300:
                await asyncio.sleep(0.02)

            reason = "user pressed stop"
            if how == "abort_stream":
                assert await other.abort_stream(stream_id, reason=reason) is True
            else:
                assert await other.abort_streams_by_order(thread_id, order=2, reason=reason)
            # Nothing can be appended once aborted: this is the log's final length.
            stored = (await other.get_stream(stream_id))["nextStart"]

            await writing  # consume() returns: the writer stopped by itself
            assert streamer.aborted
            assert not streamer.finished
            assert notified == ["async abort"]  # the reference's on_async_abort, once
            # It stopped reading its source, and closed it (an LLM call stops too).
            assert source.taken < len(parts)
            assert source.closed

            await streamer.add_parts(parts[-3:])  # ignored, no error
            await streamer.finish()  # a no-op on an aborted streamer
            state = await other.get_stream(stream_id)
            assert (state["status"], state.get("reason")) == ("aborted", reason)
            log = await read_log(other, thread_id, stream_id)
            assert log[-1]["end"] == stored == state["nextStart"]
            # What was stored before the abort is the start of the reply, exactly.
            stream = await _stream_message(other, thread_id, "aborted")
            assert derived_from_log(thread_id, stream, log) == expected_messages(
                thread_id, stream, parts[:stored]
            )
            figure(
                f"abort by another party ({how}): writer stopped after {stored} of"
                f" {len(parts)} parts stored ({source.taken} taken from the source)"
            )

    run(scenario())


# -- the writer dies ----------------------------------------------------------------------


def test_a_writer_that_dies_is_seen_timed_out_by_the_follower(local_stack: LocalStack) -> None:
    parts = agent_reply(600, seed=4)
    written = parts[:300]

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread(title="crash"))["threadId"]
            streamer = DeltaStreamer(
                client,
                thread_id=thread_id,
                order=0,
                step_order=0,
                throttle_ms=0,
                # A dead process sends nothing, heartbeats included.
                heartbeat_interval_s=math.inf,
            )
            await streamer.add_parts(written)
            stream_id = streamer.stream_id
            assert stream_id is not None
            while (await client.get_stream(stream_id))["nextStart"] < len(written):
                await asyncio.sleep(0.01)
            # The writer "dies" here: it never finishes, aborts or heartbeats again.

            follower = ThreadFollower(client, thread_id, poll_interval=0.05, stop_when_idle=True)
            following = asyncio.ensure_future(collect(follower.messages()))
            await asyncio.to_thread(local_stack.advance, 599)
            assert (await client.get_stream(stream_id))["status"] == "streaming"
            assert not following.done()  # a quiet stream is not yet a dead one
            await asyncio.to_thread(local_stack.advance, 1)

            snapshots = await following  # stop_when_idle: ends once it sees the abort
            state = await client.get_stream(stream_id)
            assert (state["status"], state.get("reason")) == ("aborted", "timeout")
            stream = await _stream_message(client, thread_id, "aborted")
            assert snapshots[-1] == expected_messages(thread_id, stream, written)
            assert snapshots[-1][0]["status"] == "failed"
            figure(
                f"dead writer: {len(written)} parts stored, aborted with reason 'timeout' after"
                f" 600 virtual seconds; follower ended after {follower.polls} polls"
            )

    run(scenario())


# -- sync code: a Lambda handler ------------------------------------------------------------


def test_the_sync_streamer_writes_from_a_thread_while_an_async_reader_follows(
    local_stack: LocalStack,
) -> None:
    parts = agent_reply(1200, seed=5)

    def handler(thread_id: str, created: Callable[[], None]) -> str | None:
        # What a sync Lambda handler does: a module-level client, a streamer per
        # invocation, a blocking SDK stream read in this thread.
        client = SyncStreamsClient.http(local_stack.url)
        try:
            with client.streamer(thread_id=thread_id, order=1, step_order=0) as streamer:
                streamer.add_parts(parts[:1])
                created()
                streamer.consume(paced_sync(parts[1:]))
            return streamer.stream_id
        finally:
            client.close()

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as reader:
            thread_id = (await reader.create_thread(title="sync"))["threadId"]
            loop = asyncio.get_running_loop()
            stream_created = asyncio.Event()

            def created() -> None:  # called on the handler's thread
                loop.call_soon_threadsafe(stream_created.set)

            writing = asyncio.ensure_future(asyncio.to_thread(handler, thread_id, created))
            await stream_created.wait()
            snapshots = await collect(reader.follow(thread_id, stop_when_idle=True))
            stream_id = await writing
            assert stream_id is not None
            stream = await _stream_message(reader, thread_id, "finished")
            assert snapshots[-1] == expected_messages(thread_id, stream, parts)
            log = await read_log(reader, thread_id, stream_id)
            assert log[-1]["end"] == len(parts)
            figure(f"sync streamer in a thread: {len(parts)} parts -> {len(log)} deltas")

    run(scenario())


# -- the other transports -----------------------------------------------------------------


async def _write_and_read_back(client: StreamsClient, parts: list[dict[str, Any]]) -> int:
    """A pipeline writes ``parts``, a reader follows them; both on ``client``'s transport."""
    thread_id = (await client.create_thread(user_id="u1", title="transport"))["threadId"]
    async with DeltaStreamer(
        client, thread_id=thread_id, order=0, step_order=0, throttle_ms=10
    ) as streamer:
        async for part in paced(parts):
            await streamer.add_parts([part])
    assert streamer.finished
    assert streamer.stream_id is not None
    snapshots = await collect(client.follow(thread_id, stop_when_idle=True))
    stream = await _stream_message(client, thread_id, "finished")
    assert snapshots[-1] == expected_messages(thread_id, stream, parts)
    assert (await client.get_thread(thread_id))["title"] == "transport"
    log = await read_log(client, thread_id, streamer.stream_id)
    assert log[-1]["end"] == len(parts)
    return len(log)


async def _contract_errors(client: StreamsClient) -> None:
    """The contract's errors arrive as their own classes, with their details."""
    thread_id = (await client.create_thread())["threadId"]
    stream_id = await client.create_stream(thread_id, order=0, step_order=0)
    part = [{"type": "text-delta", "id": "t", "delta": "x"}]
    assert await client.add_delta(stream_id, start=0, end=1, parts=part) is True
    assert await client.add_delta(stream_id, start=0, end=1, parts=part) is True  # a replay
    with pytest.raises(DeltaConflict) as conflict:
        await client.add_delta(stream_id, start=5, end=6, parts=part)
    assert conflict.value.expected_start == 1
    with pytest.raises(StreamNotFound):
        await client.get_stream("s_missing")
    with pytest.raises(ThreadNotFound):
        await client.create_stream("t_missing", order=0, step_order=0)
    with pytest.raises(ValidationError):
        await client.add_delta(stream_id, start=1, end=2, parts=[])
    # A missing stream is False for add_delta, as in the reference.
    assert await client.add_delta("s_missing", start=0, end=1, parts=part) is False


def test_the_lambda_transport_through_the_stacks_invoke_hook(local_stack: LocalStack) -> None:
    assert local_stack.functions is not None
    lambda_client = boto3.session.Session(region_name=local_stack.region).client(
        "lambda", endpoint_url=local_stack.endpoint
    )
    lambda_client.meta.events.register(
        "before-call.lambda.Invoke", local_stack.functions.lambda_invoke_hook()
    )
    closed: list[bool] = []
    lambda_client.close = lambda: closed.append(True)  # type: ignore[method-assign]
    parts = agent_reply(400, seed=6)

    async def scenario() -> None:
        client = StreamsClient.lambda_(stack_name=local_stack.stack_name, client=lambda_client)
        async with client:
            deltas = await _write_and_read_back(client, parts)
            await _contract_errors(client)
        assert closed == []  # the caller's client is the caller's: left open
        figure(f"Lambda transport (invoke hook): {len(parts)} parts -> {deltas} deltas")

    run(scenario())


def test_the_in_process_transport_on_the_stacks_functions(local_stack: LocalStack) -> None:
    parts = agent_reply(400, seed=8)

    async def scenario() -> None:
        async with StreamsClient.in_process(invoke_local(local_stack)) as client:
            deltas = await _write_and_read_back(client, parts)
            await _contract_errors(client)
            with pytest.raises(ValueError, match="no function"):
                await client.transport.call("no_such_operation", {})
        figure(f"in-process transport (invoke_local): {len(parts)} parts -> {deltas} deltas")

    run(scenario())


# -- the terminal -------------------------------------------------------------------------


def test_cli_follow_once_prints_a_finished_reply(local_stack: LocalStack) -> None:
    parts = agent_reply(300, seed=9)

    async def write() -> tuple[str, list[dict[str, Any]]]:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread())["threadId"]
            await client.streamer(thread_id=thread_id, order=0, step_order=0).consume(parts)
            stream = await _stream_message(client, thread_id, "finished")
            return thread_id, expected_messages(thread_id, stream, parts)

    thread_id, expected = run(write())
    out = io.StringIO()
    with redirect_stdout(out):
        status = cli.main(["follow", "--url", local_stack.url, "--once", "--", thread_id])
    printed = out.getvalue()
    assert status == 0
    assert printed.startswith("── assistant\n")
    assert printed.endswith("\n")
    # Every text part, verbatim, and one line for each of the rest.
    for part in expected[0]["parts"]:
        if part["type"] == "text":
            assert part["text"] in printed
    assert "[reasoning] " in printed
    assert "[tool] search(" in printed
    assert "→" in printed
    assert "[source] DynamoDB transactions <https://docs.aws.amazon.com/" in printed
    assert "[document] design.pdf" in printed
    assert text_of(expected[0])  # the reply had text to print


# -- what the service stores, and refuses --------------------------------------------------


def test_a_reply_at_the_size_limits_is_split_and_every_delta_accepted(
    local_stack: LocalStack,
) -> None:
    # Emoji: 4 bytes of UTF-8 each, so the batches press on the item limit, and a
    # body escaped as ASCII (12 bytes an emoji) would be three times the plan.
    emoji_run = [
        {"type": "text-delta", "id": "text-0", "delta": "🙂" * 1000 + f" {n}"} for n in range(300)
    ]
    big_output = {
        "type": "tool-output-available",
        "toolCallId": "call_1",
        "output": "日本語🙂" * 30_000,  # one part of ~390 KB: alone in its delta
    }
    parts: list[dict[str, Any]] = [
        {"type": "start"},
        {"type": "start-step"},
        {"type": "tool-input-available", "toolCallId": "call_1", "toolName": "dump", "input": {}},
        big_output,
        {"type": "text-start", "id": "text-0"},
        *emoji_run,
        {"type": "text-end", "id": "text-0"},
        {"type": "finish-step"},
        {"type": "finish"},
    ]

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread())["threadId"]
            streamer = client.streamer(thread_id=thread_id, order=0, step_order=0)
            # All at once: one buffer the streamer must split by size.
            await streamer.add_parts(parts)
            await streamer.finish()
            assert streamer.stream_id is not None
            log = await read_log(client, thread_id, streamer.stream_id)
            assert log[-1]["end"] == len(parts)
            sizes = [json_size(d["parts"]) for d in log]
            assert max(sizes) <= MAX_PARTS_JSON_BYTES
            assert max(sizes) > MAX_PARTS_JSON_BYTES * 0.9  # the limit was really pressed
            stream = await _stream_message(client, thread_id, "finished")
            assert derived_from_log(thread_id, stream, log) == expected_messages(
                thread_id, stream, parts
            )
            figure(
                f"size limits: {len(parts)} parts, {sum(sizes) / 1e6:.1f} MB as JSON ->"
                f" {len(log)} deltas, largest {max(sizes):,} bytes (limit {MAX_PARTS_JSON_BYTES:,})"
            )

    run(scenario())


def _nested(levels: int) -> dict[str, Any]:
    """A part whose deepest value sits ``levels`` levels below the part itself."""
    value: Any = "bottom"
    for _ in range(levels - 1):
        value = [value]
    return {"type": "data-deep", "data": value}


#: name -> (part, what add_parts says about it)
UNSTORABLE: dict[str, tuple[dict[str, Any], str]] = {
    "nan": ({"type": "data-score", "data": {"score": float("nan")}}, "not JSON serialisable"),
    "infinity": ({"type": "data-score", "data": {"score": -float("inf")}}, "not JSON"),
    "too deep": (_nested(MAX_JSON_DEPTH + 1), "nested deeper than 64"),
}


@pytest.mark.parametrize("name", list(UNSTORABLE))
def test_a_part_the_service_would_refuse_is_refused_by_add_parts_alone(
    local_stack: LocalStack, name: str
) -> None:
    bad, says = UNSTORABLE[name]
    good = [{"type": "text-delta", "id": "t", "delta": "kept"}]

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread())["threadId"]
            # The service refuses it…
            stream_id = await client.create_stream(thread_id, order=9, step_order=0)
            with pytest.raises(ValidationError):
                await client.add_delta(stream_id, start=0, end=1, parts=[bad])
            # …so the streamer refuses it up front: only that call fails, the reply goes on.
            streamer = client.streamer(thread_id=thread_id, order=0, step_order=0)
            await streamer.add_parts(good)
            with pytest.raises(ValueError, match=says):
                await streamer.add_parts([*good, bad])  # nothing of this call is buffered
            await streamer.add_parts(good)
            await streamer.finish()
            assert streamer.finished
            assert streamer.stream_id is not None
            log = await read_log(client, thread_id, streamer.stream_id)
            assert log[-1]["end"] == 2

    run(scenario())


def test_the_deepest_part_the_service_takes_is_taken_by_the_client(
    local_stack: LocalStack,
) -> None:
    from agent_streams.service import arguments

    assert MAX_JSON_DEPTH == arguments.MAX_JSON_DEPTH  # one limit, on both sides

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread())["threadId"]
            async with client.streamer(thread_id=thread_id, order=0, step_order=0) as streamer:
                await streamer.add_parts([_nested(MAX_JSON_DEPTH)])
            assert streamer.finished

    run(scenario())


# -- someone else ends the stream while the writer still holds parts -----------------------


def _transport_client(local_stack: LocalStack, transport: str) -> StreamsClient:
    if transport == "http":
        return StreamsClient.http(local_stack.url)
    # Direct invoke: finish_stream's value is null, so the writer must ask.
    return StreamsClient.in_process(invoke_local(local_stack))


async def _writer_holding_parts(
    client: StreamsClient, notified: list[str], **options: Any
) -> tuple[DeltaStreamer, str, str]:
    """A streamer with 5 parts stored and 5 more buffered (its throttle holds them)."""
    parts = agent_reply(100, seed=12)
    thread_id = (await client.create_thread())["threadId"]
    streamer = DeltaStreamer(
        client,
        thread_id=thread_id,
        order=0,
        step_order=0,
        throttle_ms=60_000,
        on_async_abort=notified.append,
        **options,
    )
    await streamer.add_parts(parts[:5])  # the first write goes out at once
    assert streamer.stream_id is not None
    while (await client.get_stream(streamer.stream_id))["nextStart"] < 5:
        await asyncio.sleep(0.01)
    await streamer.add_parts(parts[5:10])  # held back by the throttle
    return streamer, thread_id, streamer.stream_id


@pytest.mark.parametrize("transport", ["http", "in-process"])
def test_an_abort_just_before_finish_is_not_taken_for_a_finish(
    local_stack: LocalStack, transport: str
) -> None:
    async def scenario() -> None:
        async with (
            _transport_client(local_stack, transport) as client,
            StreamsClient.http(local_stack.url) as other,
        ):
            notified: list[str] = []
            streamer, thread_id, stream_id = await _writer_holding_parts(client, notified)
            assert await other.abort_stream(stream_id, reason="user pressed stop")
            await streamer.finish()  # the finish is a no-op on the server: not a success
            assert not streamer.finished
            assert streamer.aborted
            assert notified == ["async abort"]
            state = await other.get_stream(stream_id)
            assert (state["status"], state.get("reason")) == ("aborted", "user pressed stop")
            assert (await read_log(other, thread_id, stream_id))[-1]["end"] == 5

    run(scenario())


@pytest.mark.parametrize("transport", ["http", "in-process"])
def test_a_stream_deleted_under_the_writer_ends_it_without_an_error(
    local_stack: LocalStack, transport: str
) -> None:
    async def scenario() -> None:
        async with (
            _transport_client(local_stack, transport) as client,
            StreamsClient.http(local_stack.url) as other,
        ):
            notified: list[str] = []
            streamer, _, stream_id = await _writer_holding_parts(client, notified)
            await other.delete_stream(stream_id)
            await streamer.finish()  # as add_delta's False: stopped, not an error
            assert streamer.aborted
            assert not streamer.finished
            assert notified == ["stream deleted"]
            await streamer.add_parts([{"type": "text-delta", "id": "t", "delta": "late"}])

    run(scenario())


def test_a_failing_source_reports_its_own_error_even_if_the_stream_was_deleted(
    local_stack: LocalStack,
) -> None:
    class ModelError(Exception):
        pass

    async def scenario() -> None:
        async with (
            StreamsClient.http(local_stack.url) as client,
            StreamsClient.http(local_stack.url) as other,
        ):
            notified: list[str] = []
            streamer, _, stream_id = await _writer_holding_parts(client, notified)
            await other.delete_stream(stream_id)

            async def source() -> AsyncIterator[dict[str, Any]]:
                yield {"type": "text-delta", "id": "t", "delta": "more"}
                raise ModelError("the model's connection dropped")

            # consume() aborts the stream on the source's error and re-raises it:
            # the caller must see the model's error, not the abort's StreamNotFound.
            with pytest.raises(ModelError):
                await streamer.consume(source())
            assert streamer.aborted

    run(scenario())


# -- a thread of several replies ------------------------------------------------------------


def test_a_thread_of_several_replies_and_steps_is_followed_exactly(local_stack: LocalStack) -> None:
    # Replies at orders 0..2, the first with two steps, written concurrently (a
    # pipeline's tool loop and the next turns overlapping), TextStreamPart included.
    layout = [(0, 0, 300), (0, 1, 250), (1, 0, 400), (2, 0, 200)]
    replies = {(o, s): agent_reply(n, seed=20 + o * 10 + s) for o, s, n in layout}
    text_stream_parts: list[dict[str, Any]] = [
        {"type": "start"},
        {"type": "start-step"},
        {"type": "text-start", "id": "1"},
        *({"type": "text-delta", "id": "1", "text": f"w{n} "} for n in range(150)),
        {"type": "text-end", "id": "1"},
        {"type": "finish-step", "finishReason": "stop"},
        {"type": "finish", "finishReason": "stop"},
    ]

    async def scenario() -> None:
        async with (
            StreamsClient.http(local_stack.url) as writer_client,
            StreamsClient.http(local_stack.url) as reader,
        ):
            thread_id = (await writer_client.create_thread())["threadId"]

            async def write(order: int, step: int, parts: list[dict[str, Any]], **kw: Any) -> str:
                streamer = DeltaStreamer(
                    writer_client,
                    thread_id=thread_id,
                    order=order,
                    step_order=step,
                    throttle_ms=30,
                    **kw,
                )
                await streamer.consume(paced(parts, every=20, pause_s=0.01))
                assert streamer.stream_id is not None
                return streamer.stream_id

            # A reply stopped early, already there when the follower starts. (Not at
            # the same (order, stepOrder) as another: such ties have no defined order.)
            first = await writer_client.create_stream(thread_id, order=4, step_order=0)
            await writer_client.add_delta(first, start=0, end=1, parts=[{"type": "start"}])
            await writer_client.abort_stream(first, reason="stopped")
            follower = ThreadFollower(reader, thread_id, poll_interval=0.05)
            following = asyncio.ensure_future(collect(follower.messages()))
            ids = await asyncio.gather(
                *(write(o, s, replies[(o, s)]) for o, s, _ in layout),
                write(3, 0, text_stream_parts, format="TextStreamPart"),
            )
            # Not stop_when_idle: the follower may have polled before any writer
            # started. Once every writer is done, one more complete round is enough.
            while not (follower.idle and len(follower.streams) == len(ids) + 1):
                await asyncio.sleep(0.05)
            following.cancel()

            listed = await reader.list_streams(
                thread_id, statuses=["streaming", "finished", "aborted"]
            )
            log = [d for sid in (first, *ids) for d in await read_log(reader, thread_id, sid)]
            expected = derive_ui_messages(
                thread_id, [dict(m) for m in listed], [dict(d) for d in log]
            )
            assert follower.ui_messages() == expected
            assert [(m["order"], m["stepOrder"], m["status"]) for m in expected] == [
                (0, 0, "success"),
                (0, 1, "success"),
                (1, 0, "success"),
                (2, 0, "success"),
                (3, 0, "success"),
                (4, 0, "failed"),
            ]
            figure(
                f"thread of {len(ids) + 1} streams written concurrently:"
                f" {len(log)} deltas, follower {follower.polls} polls"
            )

    run(scenario())


def test_a_follower_keeps_a_reply_that_is_cleaned_up_under_it(local_stack: LocalStack) -> None:
    parts = agent_reply(200, seed=30)

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread())["threadId"]
            streamer = client.streamer(thread_id=thread_id, order=0, step_order=0)
            await streamer.add_parts(parts[:100])
            # A follower told to stop when idle stops after a first poll that sees no
            # stream: start it once the stream is listed (the streamer creates it in the
            # background, and the index is eventually consistent).
            for _ in range(500):
                if await client.list_streams(thread_id):
                    break
                await asyncio.sleep(0.01)
            follower = ThreadFollower(client, thread_id, poll_interval=0.05, stop_when_idle=True)
            following = asyncio.ensure_future(collect(follower.messages()))
            await streamer.add_parts(parts[100:])
            await streamer.finish()
            stream = await _stream_message(client, thread_id, "finished")
            snapshots = await following
            assert snapshots[-1] == expected_messages(thread_id, stream, parts)
            await asyncio.to_thread(local_stack.advance, 300)  # the cleanup deletes it
            assert await client.list_streams(thread_id, statuses=["finished"]) == []
            # The reader still has the whole reply it followed.
            assert follower.ui_messages() == snapshots[-1]

    run(scenario())


def test_the_sync_streamer_can_be_aborted_from_another_thread(local_stack: LocalStack) -> None:
    parts = agent_reply(3000, seed=31)

    def handler(thread_id: str, streamers: list[SyncDeltaStreamer]) -> None:
        with SyncStreamsClient.http(local_stack.url) as client:
            streamer = client.streamer(thread_id=thread_id, order=0, step_order=0, throttle_ms=20)
            streamers.append(streamer)
            with streamer:
                streamer.consume(paced_sync(parts, every=10))

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as other:
            thread_id = (await other.create_thread())["threadId"]
            streamers: list[SyncDeltaStreamer] = []
            writing = asyncio.ensure_future(asyncio.to_thread(handler, thread_id, streamers))
            while not streamers or streamers[0].stream_id is None:
                await asyncio.sleep(0.01)
            streamer = streamers[0]
            assert streamer.stream_id is not None
            while (await other.get_stream(streamer.stream_id))["nextStart"] < 100:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(streamer.abort)  # e.g. the user's "stop" button
            await writing  # the handler returns: consume() stopped reading
            state = await other.get_stream(streamer.stream_id)
            assert (state["status"], state.get("reason")) == ("aborted", "abortSignal")
            assert streamer.aborted
            assert not streamer.finished
            log = await read_log(other, thread_id, streamer.stream_id)
            assert log[-1]["end"] == state["nextStart"] < len(parts)

    run(scenario())


@pytest.mark.parametrize("lost_reply", [False, True], ids=["abort-ok", "abort-reply-lost"])
def test_fail_keeps_the_buffered_parts_with_the_abort(
    local_stack: LocalStack, lost_reply: bool
) -> None:
    async def scenario() -> None:
        inner = StreamsClient.http(local_stack.url).transport
        # The abort is carried out, then its reply lost: the retry must neither
        # fail nor store the final delta twice.
        flaky = FlakyTransport(inner, {}, first={"abort_stream": "after"} if lost_reply else {})
        async with StreamsClient(flaky) as client:
            notified: list[str] = []
            streamer, thread_id, stream_id = await _writer_holding_parts(
                client, notified, retry_policy=FAST_RETRIES
            )
            await streamer.fail("model overloaded")
            assert streamer.aborted
            assert notified == []  # our own abort: nobody else's
            state = await client.get_stream(stream_id)
            assert (state["status"], state.get("reason")) == ("aborted", "model overloaded")
            log = await read_log(client, thread_id, stream_id)
            assert log[-1]["end"] == 10  # the 5 held back went with the abort
            assert flaky.injected.after.get("abort_stream", 0) == int(lost_reply)

    run(scenario())


# -- each adapter, as a pipeline writes with it ---------------------------------------------


def _blocking(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A sync SDK stream (Bedrock's, OpenAI's sync client): read in a worker thread."""
    yield from events


Adapter = Callable[..., AsyncIterator[dict[str, Any]]]

#: adapter -> (its function, event sequences from the adapters' unit tests)
ADAPTED: dict[str, tuple[Adapter, list[str]]] = {
    "openai-chat": (openai_chat_chunks, ["CHAT_TOOLS", "CHAT_REASONING", "CHAT_BAD_TOOL"]),
    "openai-responses": (
        openai_responses_chunks,
        ["RESPONSES_FUNCTION", "RESPONSES_WEB_SEARCH", "RESPONSES_FAILED"],
    ),
    "anthropic": (anthropic_chunks, ["ANTHROPIC_TOOL", "ANTHROPIC_WEB_SEARCH", "ANTHROPIC_ERROR"]),
    "bedrock": (bedrock_chunks, ["BEDROCK_TOOL", "BEDROCK_THROTTLED"]),
}


@pytest.mark.parametrize("sdk", list(ADAPTED))
def test_each_adapter_writes_replies_a_reader_rebuilds(local_stack: LocalStack, sdk: str) -> None:
    from tests.unit.client import adapter_events

    adapter, sequences = ADAPTED[sdk]

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread(title=sdk))["threadId"]
            written: list[list[dict[str, Any]]] = []
            for order, name in enumerate(sequences):
                events = getattr(adapter_events, name)
                written.append([chunk async for chunk in adapter(list(events))])
                streamer = client.streamer(
                    thread_id=thread_id, order=order, step_order=0, throttle_ms=10
                )
                # Sync events: the streamer writes while a worker thread reads them.
                await streamer.consume(adapter(_blocking(events)))
            snapshots = await collect(client.follow(thread_id, stop_when_idle=True))
            listed = await client.list_streams(thread_id, statuses=["finished", "aborted"])
            by_order = {m["order"]: dict(m) for m in listed}
            expected = [
                expected_messages(thread_id, by_order[order], chunks)[0]
                for order, chunks in enumerate(written)
            ]
            assert snapshots[-1] == expected
            for message, chunks in zip(expected, written, strict=True):
                failed = any(c["type"] == "error" for c in chunks)
                assert message["status"] == ("failed" if failed else "success")
            if sdk in ("anthropic", "bedrock"):
                # The thinking block's signature (needed to send it back to the model)
                # arrives on a delta after its text, and survives the merging.
                reasoning = [p for p in snapshots[-1][0]["parts"] if p["type"] == "reasoning"]
                assert reasoning[0]["providerMetadata"][sdk]["signature"]

    run(scenario())


@pytest.mark.parametrize("ending", ["finish", "abort"])
def test_a_reader_of_streaming_replies_sees_them_end_not_vanish(
    local_stack: LocalStack, ending: str
) -> None:
    # A stream that leaves list_streams' reply has not necessarily gone: it may
    # have moved to a status the reader does not list (here), or be between two
    # index entries while its status changes. The reader must show how it ended.
    parts = agent_reply(200, seed=40)

    async def scenario() -> None:
        async with StreamsClient.http(local_stack.url) as client:
            thread_id = (await client.create_thread())["threadId"]
            streamer = client.streamer(thread_id=thread_id, order=0, step_order=0)
            await streamer.add_parts(parts[:100])
            follower = ThreadFollower(
                client,
                thread_id,
                statuses=("streaming",),
                poll_interval=0.05,
                stop_when_idle=True,
            )
            following = asyncio.ensure_future(collect(follower.messages()))
            await streamer.add_parts(parts[100:])
            if ending == "finish":
                await streamer.finish()
            else:
                await streamer.fail("model error")
            snapshots = await following
            assert streamer.stream_id is not None
            state = await client.get_stream(streamer.stream_id)
            assert snapshots[-1][0]["status"] == ("success" if ending == "finish" else "failed")
            stream = {k: v for k, v in state.items() if k not in STATE_ONLY}
            assert snapshots[-1] == expected_messages(thread_id, stream, parts)

    run(scenario())


#: Fields of get_stream's reply that list_streams' StreamMessage does not have.
STATE_ONLY = frozenset({"threadId", "reason", "lastHeartbeat", "endedAt", "nextStart"})
