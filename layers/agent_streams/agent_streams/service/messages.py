"""The readers of materialised messages: ``streaming_messages`` (the streams at one
order, as message docs) and ``get_stream_message`` (one stream's UI message)."""

from __future__ import annotations

import json
from typing import Any, cast

from agent_streams.service import snapshots
from agent_streams.service.access import ensure_thread_readable
from agent_streams.service.context import services
from agent_streams.service.snapshots import StreamUIMessage, read_all_deltas
from agent_streams.types import Stream
from agent_streams_protocol.errors import ReplyTooLarge, StreamNotFound, ThreadNotFound
from agent_streams_protocol.limits import MAX_STREAMING_MESSAGES_STREAMS
from agent_streams_protocol.shapes import (
    MessageWithMetadata,
    StreamingMessagesRequest,
    StreamRequest,
)

#: streaming_messages materialises at most this much stored delta JSON in one call (all
#: its streams together; ``snapshots.MAX_MATERIALISED_BYTES``).
MAX_MATERIALISED_BYTES = snapshots.MAX_MATERIALISED_BYTES
READ_INSTEAD = snapshots.READ_INSTEAD


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
        # An ended stream's snapshot (one query) is its deltas' message, already made.
        data = None
        if stream.status != "streaming":
            data = ctx.repository.find_snapshot(stream.stream_id)
        if data is not None:
            text = snapshots.inflate(data)
            budget -= len(text)
            if budget < 0:
                raise ReplyTooLarge(
                    f"the streams' messages are more than {MAX_MATERIALISED_BYTES} bytes, more "
                    f"than one streaming_messages call materialises; {READ_INSTEAD}"
                )
            ui_message = json.loads(text.decode("utf-8"))
            messages.extend(
                materialize.streaming_messages_of(
                    cast(dict[str, Any], stream.state()),
                    [ui_message],
                    args["stepOrder"],
                    metadata,
                )
            )
            continue
        found, read = read_all_deltas(
            ctx, stream.stream_id, now, budget, limit=MAX_MATERIALISED_BYTES
        )
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


def get_stream_message(args: StreamRequest) -> StreamUIMessage:
    """A stream's UI message: from its snapshot once it ended (two requests whatever its
    length: the stream, then the snapshot), else materialised from its deltas."""
    ctx = services()
    now = ctx.now()
    stream = ctx.repository.get_stream(args["streamId"], now)
    if stream is None:
        raise StreamNotFound(args["streamId"])
    try:
        ensure_thread_readable(ctx, stream.thread_id)
    except ThreadNotFound:
        raise StreamNotFound(args["streamId"]) from None
    return snapshots.ui_message(ctx, stream, now)
