"""Appending deltas (exactly once, gap-free) and reading them back."""

from __future__ import annotations

from dataclasses import dataclass

from agent_streams import ids
from agent_streams.config import Settings
from agent_streams.observability import count, logger
from agent_streams.service.access import ensure_stream_writable, ensure_thread_readable
from agent_streams.service.context import services
from agent_streams.service.ttl import delta_expiry
from agent_streams.storage.codec import delta_item_size, encode_parts
from agent_streams.storage.repository import DeltaWrite
from agent_streams.types import Delta, StreamStatus
from agent_streams_protocol.errors import DeltaConflict, DeltaTooLarge
from agent_streams_protocol.limits import (
    MAX_DELTAS_PER_REQUEST,
    MAX_DELTAS_PER_STREAM,
    MAX_DELTAS_REPLY_BYTES,
    MAX_ITEM_BYTES,
    MAX_PARTS_JSON_BYTES,
)
from agent_streams_protocol.shapes import ListDeltasRequest, StreamDelta

#: What a delta adds to a reply besides its parts, at most: its keys, a 40-character
#: id and two 16-digit numbers, the separators around them, and the escaping of the
#: quotes among them in the HTTP envelope (139 bytes; 120 over direct invoke).
DELTA_REPLY_OVERHEAD = 160
#: What a list_deltas reply is besides its deltas: brackets, the HTTP envelope.
LIST_REPLY_OVERHEAD = 256


def delta_reply_bytes(delta: Delta) -> int:
    """At most what ``delta`` adds to a list_deltas reply as Lambda returns it, over HTTP
    or direct invoke.

    The stored parts are compact JSON, UTF-8 characters unescaped (lone surrogates
    as escapes). Over HTTP the reply body is a string inside the proxy envelope, where
    each ``"`` and ``\\`` of it takes one more byte; over direct invoke the runtime
    writes the parts again with ``", "`` and ``": "``, one more byte per separator;
    nothing else changes size either way. Both added: an upper bound for both, which
    is at most twice the parts' bytes (so a 400 KB item is at most 800 KB of reply).
    """
    parts = delta.parts_json
    grows = parts.count('"') + parts.count("\\") + parts.count(",") + parts.count(":")
    return len(parts.encode("utf-8")) + grows + len(delta.stream_id) + DELTA_REPLY_OVERHEAD


def prepare_delta(delta: StreamDelta, now: int, settings: Settings) -> DeltaWrite:
    """Encode a delta for storage, refusing one that would not fit in an item."""
    parts_json = encode_parts(delta["parts"])
    parts_bytes = len(parts_json.encode("utf-8"))
    if parts_bytes > MAX_PARTS_JSON_BYTES:
        raise DeltaTooLarge(parts_bytes, MAX_PARTS_JSON_BYTES)
    expires_at = delta_expiry(now, settings)
    size = delta_item_size(delta["streamId"], delta["start"], delta["end"], parts_json, expires_at)
    if size > MAX_ITEM_BYTES:
        raise DeltaTooLarge(size, MAX_ITEM_BYTES)
    if settings.log_parts:
        logger.debug("delta parts", extra={"streamId": delta["streamId"], "parts": delta["parts"]})
    return DeltaWrite(delta["start"], delta["end"], parts_json, expires_at)


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    accepted: bool
    #: The stream's status after the call; None when the stream does not exist.
    status: StreamStatus | None


def add_delta(args: StreamDelta) -> AppendResult:
    ctx = services()
    now = ctx.now()
    ensure_stream_writable(ctx, args["streamId"], now)
    write = prepare_delta(args, now, ctx.settings)
    outcome = ctx.repository.append(args["streamId"], write, now)
    if outcome.expected_start is not None:
        count("DeltaConflicts")
        raise DeltaConflict(args["streamId"], args["start"], outcome.expected_start)
    if outcome.written:
        count("DeltasWritten")
        count("DeltaBytes", len(write.parts_json))
        return AppendResult(args["streamId"], True, "streaming")
    if outcome.accepted:  # an identical retry of a delta already stored
        status = outcome.stream.status if outcome.stream is not None else "streaming"
        return AppendResult(args["streamId"], True, status)
    if outcome.stream is None:
        logger.info("delta for a missing stream", extra={"streamId": args["streamId"]})
        return AppendResult(args["streamId"], False, None)
    return AppendResult(args["streamId"], False, outcome.stream.status)


def list_deltas(args: ListDeltasRequest) -> list[Delta]:
    """Per cursor, deltas with ``start >= cursor`` in order, within the reply caps.

    Streams of other threads are ignored. Caps: 100 deltas a stream, 1000 a
    request, and 5 MiB of reply as Lambda returns it (counted with
    :func:`delta_reply_bytes`); a reader asks again from its new cursors. The first
    delta due is always returned: alone it is at most 800 KB of reply.
    """
    ctx = services()
    ensure_thread_readable(ctx, args["threadId"])
    wanted = [
        (c["streamId"], c.get("cursor"))
        for c in args["cursors"]
        if ids.stream_in_thread(c["streamId"], args["threadId"])
    ]
    if not wanted:
        return []
    per_stream = ctx.repository.read_deltas(wanted, ctx.now(), MAX_DELTAS_PER_STREAM)
    reply: list[Delta] = []
    size = LIST_REPLY_OVERHEAD
    for deltas in per_stream:
        for delta in deltas:
            size += delta_reply_bytes(delta)
            if len(reply) >= MAX_DELTAS_PER_REQUEST or (size > MAX_DELTAS_REPLY_BYTES and reply):
                return reply
            reply.append(delta)
    return reply
