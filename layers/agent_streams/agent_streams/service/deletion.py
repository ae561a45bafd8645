"""Deleting streams: one (``delete_stream``), all of a thread's now
(``delete_thread_streams``), or page by page under the state machine
(``delete_thread_streams_page``).

Deletion needs no cursor to be correct: deleted items are gone, so every page
starts again from what remains. A stream that is still streaming is aborted
first, so no writer can add a delta behind the deleter's back; its deltas go
newest first, so a stream deleted part-way still shows a clean prefix; the
stream item goes in the last batch, so a deletion cut short is found again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_streams.observability import count
from agent_streams.service.arguments import (
    DeleteThreadStreamsPageArgs,
    StreamArgs,
    ThreadArgs,
)
from agent_streams.service.context import Deadline, Services, current_deadline, services
from agent_streams.service.streams import cancel_quietly
from agent_streams.service.ttl import aborted_stream_expiry
from agent_streams.types import Stream

#: Deltas read per query when deleting (each page then takes 40 batch writes).
DELETE_PAGE = 1000
#: Streams looked up per index query when deleting a thread's.
STREAMS_PAGE = 25


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
    deadline: Deadline | None,
    reason: str,
) -> int | None:
    """Delete a stream and its deltas; returns None when done, else the start to resume below."""
    now = ctx.now()
    if stream is not None and stream.status == "streaming":
        outcome = ctx.repository.abort(
            stream_id, reason, now, None, aborted_stream_expiry(now, ctx.settings)
        )
        if outcome.changed:
            count("StreamsAborted")
        # Now, not once the deltas are gone: a deletion cut short leaves an aborted
        # stream, and the next attempt cannot tell it still had a timeout armed.
        cancel_quietly(ctx, stream.timeout_schedule)
    before: int | None = None
    while True:
        starts, last = ctx.repository.delta_starts(stream_id, before, DELETE_PAGE)
        ctx.repository.delete_deltas(stream_id, starts, with_stream=last)
        if last:
            break
        before = starts[-1]
        if deadline is not None and deadline.passed():
            return before
    if stream is not None:
        cancel_quietly(ctx, stream.cleanup_schedule if stream.status == "finished" else None)
    return None


def delete_stream(args: StreamArgs) -> None:
    """Delete a stream and all its deltas now. Idempotent: a missing stream's leftovers go too."""
    ctx = services()
    stream = ctx.repository.get_stream(args.streamId, ctx.now())
    purge_stream(ctx, args.streamId, stream, None, "deleted")


def delete_thread_streams_page(args: DeleteThreadStreamsPageArgs) -> PageResult:
    """Delete the thread's streams until done or the invocation's time budget is near."""
    return _delete_thread_streams(services(), args.threadId, current_deadline())


def delete_thread_streams(args: ThreadArgs) -> None:
    """Delete all of a thread's streams now; the thread stays."""
    _delete_thread_streams(services(), args.threadId, None)


def _delete_thread_streams(ctx: Services, thread_id: str, deadline: Deadline | None) -> PageResult:
    purged: set[str] = set()
    while True:
        # The index is eventually consistent: it may still list streams just purged.
        streams = ctx.repository.thread_streams(thread_id, STREAMS_PAGE, frozenset(purged))
        if not streams:
            return PageResult(is_done=True)
        for stream in streams:
            purged.add(stream.stream_id)
            resume = purge_stream(ctx, stream.stream_id, stream, deadline, "thread deleted")
            if resume is not None:
                return PageResult(False, stream.order, f"{stream.stream_id}:{resume}")
            if deadline is not None and deadline.passed():
                return PageResult(False, stream.order)
