"""``streaming_messages``: the streams at one order, materialised into message docs."""

from __future__ import annotations

from typing import Any

from agent_streams.service.access import ensure_thread_readable
from agent_streams.service.arguments import StreamingMessagesArgs
from agent_streams.service.context import Services, services
from agent_streams.types import Delta, Stream
from agent_streams_protocol.limits import MAX_STREAMING_MESSAGES_STREAMS

#: Deltas read per query while reading a whole stream.
READ_PAGE = 1000


def read_all_deltas(ctx: Services, stream_id: str, now: int) -> list[Delta]:
    """Every delta of a stream, page by page (the reference stops at 1000)."""
    found: list[Delta] = []
    cursor = 0
    while True:
        (page,) = ctx.repository.read_deltas([(stream_id, cursor)], now, READ_PAGE)
        if not page:
            return found
        found.extend(page)
        cursor = page[-1].start + 1


def streaming_messages(args: StreamingMessagesArgs) -> list[dict[str, Any]]:
    from agent_streams_protocol import materialize

    ctx = services()
    ensure_thread_readable(ctx, args.threadId)
    now = ctx.now()
    streams: list[Stream] = ctx.repository.streams_at_order(
        args.threadId,
        args.order,
        args.stepOrder,
        ["aborted", "streaming", "finished"],
        now,
        MAX_STREAMING_MESSAGES_STREAMS,
    )
    metadata: dict[str, Any] = {"status": args.status}
    if args.error is not None:
        metadata["error"] = args.error
    messages: list[dict[str, Any]] = []
    for stream in streams:
        deltas = [d.to_wire() for d in read_all_deltas(ctx, stream.stream_id, now)]
        messages.extend(
            materialize.streaming_messages(
                args.threadId, stream.state(), deltas, args.stepOrder, metadata
            )
        )
    return messages
