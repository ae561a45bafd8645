"""``streaming_messages``: the streams at one order, materialised into message docs."""

from __future__ import annotations

from typing import Any, cast

from agent_streams.service.access import ensure_thread_readable
from agent_streams.service.context import Services, services
from agent_streams.types import Delta, Stream
from agent_streams_protocol.errors import ReplyTooLarge
from agent_streams_protocol.limits import MAX_STREAMING_MESSAGES_STREAMS
from agent_streams_protocol.shapes import MessageWithMetadata, StreamingMessagesRequest

#: Deltas read per query while reading a whole stream.
READ_PAGE = 1000
#: streaming_messages materialises at most this much stored delta JSON in one call
#: (all its streams together): more would not fit the function's memory and time,
#: and is read with list_deltas instead.
MAX_MATERIALISED_BYTES = 32 * 1024 * 1024
#: How to read streams too large for one streaming_messages reply.
READ_INSTEAD = (
    "read the streams page by page instead: list_streams for their ids, then list_deltas "
    "with a cursor per stream, materialising on the client (as the Python client's follower does)"
)


def read_all_deltas(
    ctx: Services, stream_id: str, now: int, budget: int
) -> tuple[list[Delta], int]:
    """Every delta of a stream, page by page (the reference stops at 1000), its spilled
    parts put back, and the bytes of JSON read; ReplyTooLarge past ``budget`` bytes
    (counted before any spilled part is read)."""
    found: list[Delta] = []
    cursor = 0
    read = 0
    while True:
        (page,) = ctx.repository.read_deltas([(stream_id, cursor)], now, READ_PAGE)
        if not page:
            return found, read
        read += sum(
            len(delta.parts_json) + sum(part.size for part in delta.spilled) for delta in page
        )
        if read > budget:
            raise ReplyTooLarge(
                f"the streams hold more than {MAX_MATERIALISED_BYTES} bytes of deltas, more "
                f"than one streaming_messages call materialises; {READ_INSTEAD}"
            )
        found.extend(ctx.repository.resolve_deltas(page))
        cursor = page[-1].start + 1


def streaming_messages(args: StreamingMessagesRequest) -> list[MessageWithMetadata]:
    from agent_streams_protocol import materialize

    ctx = services()
    ensure_thread_readable(ctx, args["threadId"])
    now = ctx.now()
    streams: list[Stream] = ctx.repository.streams_at_order(
        args["threadId"],
        args["order"],
        args["stepOrder"],
        ["aborted", "streaming", "finished"],
        now,
        MAX_STREAMING_MESSAGES_STREAMS,
    )
    metadata: dict[str, Any] = {"status": args["status"]}
    if "error" in args:
        metadata["error"] = args["error"]
    messages: list[dict[str, Any]] = []
    budget = MAX_MATERIALISED_BYTES
    for stream in streams:
        found, read = read_all_deltas(ctx, stream.stream_id, now, budget)
        budget -= read
        deltas = [cast(dict[str, Any], d.to_wire()) for d in found]
        messages.extend(
            materialize.streaming_messages(
                args["threadId"],
                cast(dict[str, Any], stream.state()),
                deltas,
                args["stepOrder"],
                metadata,
            )
        )
    # The materialiser builds plain dicts in this shape (the reference's message docs).
    return cast(list[MessageWithMetadata], messages)
