"""Deleting streams: one (``delete_stream``), all of a thread's now
(``delete_thread_streams``), or page by page under the state machine
(``delete_thread_streams_page``).

Deletion needs no cursor to be correct: deleted items are gone, so every page
starts again from what remains. A stream that is still streaming is aborted
first, so no writer can add a delta behind the deleter's back; its deltas go
newest first, so a stream deleted part-way still shows a clean prefix; the
stream item goes in the last batch, so a deletion cut short is found again; then
the parts the stream spilled to S3 go (every object under its prefix).

The synchronous deletions answer within their function's time: they delete
until the invocation's deadline is near (``deadline.current_deadline``, or sooner
with the ``SYNC_DELETION_BUDGET_SECONDS`` setting) and hand
what is left to the DeleteThreadStreams state machine, scoped to the one stream
(``{streamId}``) or to the thread's streams that existed when the call came
(``{threadId, createdBefore}``: the thread stays, and streams created since are
not touched). The caller then gets the execution (HTTP 202) instead of "done"
(204). Readers see what they would see if the call had simply been slower: a
deleted stream's log shrinks from its end, never with a hole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agent_streams.deadline import Deadline, current_deadline
from agent_streams.observability import count, logger
from agent_streams.service.access import ensure_stream_writable, ensure_thread_writable
from agent_streams.service.arguments import DeleteThreadStreamsPageArgs
from agent_streams.service.context import Services, services
from agent_streams.service.streams import cancel_quietly
from agent_streams.service.ttl import aborted_stream_expiry
from agent_streams.types import DELETED_REASON, THREAD_DELETED_REASON, Stream
from agent_streams.workflows import stream_deletion_name, thread_streams_deletion_name
from agent_streams_protocol.shapes import StreamRequest, ThreadRequest

#: Deltas read per query when deleting (each page then takes 40 batch writes).
DELETE_PAGE = 1000
#: Streams looked up per index query when deleting a thread's.
STREAMS_PAGE = 25
#: A page of deletions is begun only while the deadline leaves this many times the
#: slowest page so far (throttling slows pages down; the reply must not be late).
PAGE_TIME_FACTOR = 1.5


@dataclass
class Budget:
    """An invocation's time for deleting, and how long its pages have taken so far."""

    deadline: Deadline
    slowest_page: float = field(default=0.0)

    def another_page_fits(self) -> bool:
        return self.deadline.remaining() >= self.slowest_page * PAGE_TIME_FACTOR

    def record_page(self, seconds: float) -> None:
        self.slowest_page = max(self.slowest_page, seconds)


@dataclass(frozen=True, slots=True)
class PageResult:
    """``delete_thread_streams_page``'s reply: progress, for the state machine's loop."""

    is_done: bool
    stream_order: int | None = None
    delta_cursor: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"isDone": self.is_done}
        if self.stream_order is not None:
            wire["streamOrder"] = self.stream_order
        if self.delta_cursor is not None:
            wire["deltaCursor"] = self.delta_cursor
        return wire


def purge_stream(
    ctx: Services,
    stream_id: str,
    stream: Stream | None,
    budget: Budget | None,
    reason: str,
) -> int | None:
    """Delete a stream and its deltas; returns None when done, else the start to resume below."""
    now = ctx.now()
    if stream is not None and stream.status == "streaming":
        outcome = ctx.repository.abort(
            stream_id,
            reason,
            now,
            None,
            aborted_stream_expiry(now, ctx.settings),
            deleting=True,
        )
        if outcome.changed:
            count("StreamsAborted")
        # Now, not once the deltas are gone: a deletion cut short leaves an aborted
        # stream, and the next attempt cannot tell it still had a timeout armed.
        cancel_quietly(ctx, stream.timeout_schedule)
    before: int | None = None
    while True:
        began = time.monotonic()
        starts, last = ctx.repository.delta_starts(stream_id, before, DELETE_PAGE)
        ctx.repository.delete_deltas(stream_id, starts, with_stream=last)
        if budget is not None:
            budget.record_page(time.monotonic() - began)
        if last:
            break
        before = starts[-1]
        if budget is not None and not budget.another_page_fits():
            return before
    # After the deltas: a reader never finds a delta whose spilled parts are gone. The
    # stream's prefix, not its deltas, says what to delete, so parts whose deltas are
    # already gone go too, and those of appends that failed after storing them.
    ctx.repository.delete_spilled_parts(stream_id)
    if stream is not None:
        # A finished stream (or an aborted one kept for its retentionSeconds) has one.
        cancel_quietly(ctx, stream.cleanup_schedule if stream.status != "streaming" else None)
    return None


def delete_stream(args: StreamRequest) -> str | None:
    """Delete a stream and all its deltas. Idempotent: a missing stream's leftovers go too.

    Returns None when done, or the ARN of the execution finishing the job when the
    invocation's time ran out first.
    """
    ctx = services()
    now = ctx.now()
    stream = ensure_stream_writable(ctx, args["streamId"], now)
    if stream is None:
        stream = ctx.repository.get_stream(args["streamId"], now)
    if purge_stream(ctx, args["streamId"], stream, _sync_budget(ctx), DELETED_REASON) is None:
        return None
    return _hand_over(
        ctx, stream_deletion_name(args["streamId"], now), {"streamId": args["streamId"]}
    )


def delete_thread_streams(args: ThreadRequest) -> str | None:
    """Delete the thread's streams (those that exist when the call comes); the thread stays.

    Returns None when done, or the ARN of the execution finishing the job when the
    invocation's time ran out first.
    """
    ctx = services()
    ensure_thread_writable(ctx, args["threadId"])
    now = ctx.now()
    if _delete_thread_streams(ctx, args["threadId"], _sync_budget(ctx), now).is_done:
        return None
    name = thread_streams_deletion_name(args["threadId"], now)
    return _hand_over(ctx, name, {"threadId": args["threadId"], "createdBefore": now})


def delete_thread_streams_page(args: DeleteThreadStreamsPageArgs) -> PageResult:
    """Delete the thread's streams (or the one stream) until done or the invocation's
    time budget is near."""
    ctx = services()
    stream_id = args.get("streamId")
    if stream_id is None:
        thread_id = args.get("threadId")
        assert thread_id is not None  # the arguments name one of the two
        budget = Budget(current_deadline())
        return _delete_thread_streams(ctx, thread_id, budget, args.get("createdBefore"))
    stream = ctx.repository.get_stream(stream_id, ctx.now())
    resume = purge_stream(ctx, stream_id, stream, Budget(current_deadline()), DELETED_REASON)
    if resume is None:
        return PageResult(is_done=True)
    return PageResult(False, None if stream is None else stream.order, f"{stream_id}:{resume}")


def _sync_budget(ctx: Services) -> Budget:
    """A synchronous deletion's time: the invocation's, or less when the
    ``sync_deletion_budget_seconds`` setting says so (the state machine's pages are
    not limited by it: they have no caller waiting)."""
    deadline = current_deadline()
    limit = ctx.settings.sync_deletion_budget_seconds
    if limit is not None:
        deadline = Deadline(min(deadline.expires_at, time.monotonic() + limit))
    return Budget(deadline)


def _hand_over(ctx: Services, name: str, scope: dict[str, Any]) -> str:
    execution_arn = ctx.workflows.start_streams_deletion(name, scope)
    count("DeletionsHandedOver")
    logger.info("deletion handed over", extra={"execution": name, **scope})
    return execution_arn


def _delete_thread_streams(
    ctx: Services, thread_id: str, budget: Budget, created_before: int | None = None
) -> PageResult:
    """Purge the thread's streams (with ``created_before``: only those created by then)."""
    seen: set[str] = set()
    while True:
        # The index is eventually consistent: it may still list streams just purged.
        streams = ctx.repository.thread_streams(thread_id, STREAMS_PAGE, frozenset(seen))
        if not streams:
            return PageResult(is_done=True)
        for found in streams:
            seen.add(found.stream_id)
            stream: Stream | None = found
            if created_before is not None:
                # The index does not hold createdAt; the item does (None: gone or
                # expired, a leftover to purge either way).
                stream = ctx.repository.get_stream(found.stream_id, ctx.now())
                if stream is not None and stream.created_at > created_before:
                    continue
            resume = purge_stream(ctx, found.stream_id, stream, budget, THREAD_DELETED_REASON)
            if resume is not None:
                return PageResult(False, found.order, f"{found.stream_id}:{resume}")
            # The next stream's first page must fit too (the pages so far say how long one takes).
            if budget.deadline.passed() or not budget.another_page_fits():
                return PageResult(False, found.order)
