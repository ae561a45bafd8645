"""A stream's UI message: materialised from its deltas, or read from its snapshot.

When a stream ends, ``publish_events`` stores its UI message once (:func:`store`): the
message ``derive_ui_messages`` makes of all its deltas, as compact JSON compressed
with zlib, in at most 3.9 MB (``storage.snapshots``). An ended stream's message never
changes — its deltas are final, and so is its status — so the snapshot stays equal
to what its deltas give, and a reader of a long reply gets it in one request instead
of a page of deltas per 1,000 (:func:`ui_message`). A stream without a snapshot (live,
just ended, or one whose message would not fit) is materialised from its deltas.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any, cast

from agent_streams.json_text import compact_json
from agent_streams.observability import count, logger
from agent_streams.service.context import Services
from agent_streams.service.ttl import delta_expiry
from agent_streams.storage.keys import MAX_SNAPSHOT_BYTES
from agent_streams.types import Delta, Stream, StreamStatus
from agent_streams_protocol import shapes
from agent_streams_protocol.errors import ReplyTooLarge

#: Deltas read per query while reading a whole stream.
READ_PAGE = 1000
#: One call materialises at most this much stored delta JSON (all its streams together):
#: more would not fit the function's memory and time, and is read with list_deltas instead.
MAX_MATERIALISED_BYTES = 32 * 1024 * 1024
#: How to read streams too large for one streaming_messages reply.
READ_INSTEAD = (
    "read the streams page by page instead: list_streams for their ids, then list_deltas "
    "with a cursor per stream, materialising on the client (as the Python client's follower does)"
)
#: How to read a stream whose message is too large for get_stream_message.
READ_STREAM_INSTEAD = (
    "read its deltas page by page instead (list_deltas from cursor 0), materialising on "
    "the client (as the Python client's follower does)"
)
#: zlib's level: the default's ratio (about 4:1 on text) at a few milliseconds per MB.
COMPRESSION_LEVEL = 6


def read_all_deltas(
    ctx: Services,
    stream_id: str,
    now: int,
    budget: int,
    *,
    reading: str = "streaming_messages",
    instead: str = READ_INSTEAD,
    until: int | None = None,
    limit: int = MAX_MATERIALISED_BYTES,
) -> tuple[list[Delta], int]:
    """Every delta of a stream, page by page (the reference stops at 1000), its spilled
    parts put back, and the bytes of JSON read; ReplyTooLarge past ``budget`` bytes
    (counted before any spilled part is read). With ``until`` (the stream's ``nextStart``
    as read), the reading stops there: no empty page is asked for. ``limit`` is the whole
    call's (what the message names; ``budget`` is what is left of it)."""
    found: list[Delta] = []
    cursor = 0
    read = 0
    while until is None or cursor < until:
        (page,) = ctx.repository.read_deltas([(stream_id, cursor)], now, READ_PAGE)
        if not page:
            return found, read
        read += sum(
            len(delta.parts_json) + sum(part.size for part in delta.spilled) for delta in page
        )
        if read > budget:
            raise ReplyTooLarge(
                f"the streams hold more than {limit} bytes of deltas, more "
                f"than one {reading} call materialises; {instead}"
            )
        found.extend(ctx.repository.resolve_deltas(page))
        cursor = page[-1].end if until is not None else page[-1].start + 1
    return found, read


def encode(message: dict[str, Any]) -> bytes:
    return zlib.compress(compact_json(message).encode("utf-8"), COMPRESSION_LEVEL)


def inflate(data: bytes) -> bytes:
    """A snapshot's JSON text, as UTF-8."""
    return zlib.decompress(data)


def decode(data: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(inflate(data).decode("utf-8"))
    return message


@dataclass(frozen=True, slots=True)
class StreamUIMessage:
    """``get_stream_message``'s reply: a stream's UI message and the cursor it goes up to."""

    stream_id: str
    status: StreamStatus
    #: The part number after the last one in the message: where a reader goes on with
    #: list_deltas (an ended stream's ``nextStart``).
    cursor: int
    ui_message: dict[str, Any]
    #: Where it came from (for logs and benchmarks; not on the wire).
    from_snapshot: bool = False

    def to_wire(self) -> shapes.StreamUIMessage:
        return {
            "streamId": self.stream_id,
            "status": self.status,
            "cursor": self.cursor,
            "uiMessage": self.ui_message,
        }


def materialise(
    ctx: Services, stream: Stream, now: int, *, reading: str, instead: str
) -> StreamUIMessage:
    """The stream's UI message from all its deltas, as ``derive_ui_messages`` makes it."""
    from agent_streams_protocol.materialize import StreamMaterializer

    materializer = StreamMaterializer(stream.thread_id, cast(dict[str, Any], stream.message()))
    if stream.next_start > 0:  # a stream with no parts has no delta to read
        found, _ = read_all_deltas(
            ctx,
            stream.stream_id,
            now,
            MAX_MATERIALISED_BYTES,
            reading=reading,
            instead=instead,
            until=stream.next_start,
        )
        materializer.apply(cast(dict[str, Any], d.to_wire()) for d in found)
    (message,) = materializer.ui_messages()
    cursor = max(materializer.cursor, 0) if stream.status == "streaming" else stream.next_start
    return StreamUIMessage(stream.stream_id, stream.status, cursor, message)


def ui_message(ctx: Services, stream: Stream, now: int) -> StreamUIMessage:
    """The stream's UI message: its snapshot if it has one (one request), else its deltas."""
    if stream.status != "streaming" and stream.snapshot_chunks:
        data = ctx.repository.read_snapshot(stream.stream_id, stream.snapshot_chunks)
        if data is not None:
            return StreamUIMessage(
                stream.stream_id, stream.status, stream.next_start, decode(data), True
            )
    return materialise(ctx, stream, now, reading="get_stream_message", instead=READ_STREAM_INSTEAD)


def store(ctx: Services, stream: Stream, now: int) -> bool:
    """Store the snapshot of a stream that just ended (as its transition left it), once.

    False when there is none to store: the stream has no parts (its message costs no
    read), its message is too large to keep, or the stream is gone, expired or has one.
    """
    if stream.status == "streaming" or stream.next_start == 0:
        return False
    try:
        built = materialise(
            ctx, stream, now, reading="snapshot", instead="its readers materialise its deltas"
        )
    except ReplyTooLarge:
        count("SnapshotsSkipped")
        logger.info("no snapshot: too many deltas", extra={"streamId": stream.stream_id})
        return False
    data = encode(built.ui_message)
    if len(data) > MAX_SNAPSHOT_BYTES:
        count("SnapshotsSkipped")
        logger.info(
            "no snapshot: too large",
            extra={"streamId": stream.stream_id, "bytes": len(data)},
        )
        return False
    stored = ctx.repository.store_snapshot(
        stream.stream_id, stream.status, data, now, delta_expiry(now, ctx.settings)
    )
    if stored:
        count("SnapshotsStored")
        count("SnapshotBytes", len(data))
    return stored
