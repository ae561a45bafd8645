"""Appending deltas (exactly once, gap-free) and reading them back."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

from agent_streams import ids
from agent_streams.config import ConfigurationError, Settings
from agent_streams.observability import count, logger
from agent_streams.service.access import ensure_stream_writable, ensure_thread_readable
from agent_streams.service.context import services
from agent_streams.service.reply_sizes import LIST_REPLY_OVERHEAD, fitting
from agent_streams.service.ttl import delta_expiry, min_spill_expiration_days
from agent_streams.storage.codec import delta_item_size, encode_part, encode_parts
from agent_streams.storage.repository import DeltaWrite
from agent_streams.storage.spill import MIN_SPILL_BYTES, fit_item
from agent_streams.types import Delta, StreamStatus
from agent_streams_protocol.errors import DeltaConflict, DeltaTooLarge
from agent_streams_protocol.limits import (
    MAX_DELTA_PARTS_BYTES,
    MAX_DELTAS_PER_REQUEST,
    MAX_DELTAS_PER_STREAM,
    MAX_DELTAS_REPLY_BYTES,
    MAX_ITEM_BYTES,
    MAX_PART_BYTES,
)
from agent_streams_protocol.shapes import ListDeltasRequest, StreamDelta


def _too_large(size: int) -> DeltaTooLarge:
    return DeltaTooLarge(
        size,
        MAX_DELTA_PARTS_BYTES,
        f"the delta's parts are {size} bytes of JSON, over the {MAX_DELTA_PARTS_BYTES} bytes "
        "a delta may hold (what one list_deltas reply can always return): a part may be at "
        f"most {MAX_PART_BYTES} bytes, alone in its delta; send larger content by reference "
        "(a URL in the part)",
    )


def prepare_delta(delta: StreamDelta, now: int, settings: Settings) -> DeltaWrite:
    """Encode a delta for storage: inline when its item fits, else with its largest parts
    spilled to S3; refused past MAX_DELTA_PARTS_BYTES, or when its small parts alone
    would not fit an item."""
    parts_json = encode_parts(delta["parts"])
    parts_bytes = len(parts_json.encode("utf-8"))
    if parts_bytes > MAX_DELTA_PARTS_BYTES:
        raise _too_large(parts_bytes)
    expires_at = delta_expiry(now, settings)
    if settings.log_parts:
        logger.debug("delta parts", extra={"streamId": delta["streamId"], "parts": delta["parts"]})
    size = delta_item_size(delta["streamId"], delta["start"], delta["end"], parts_json, expires_at)
    if size <= MAX_ITEM_BYTES:
        return DeltaWrite(delta["start"], delta["end"], parts_json, expires_at)
    texts = [encode_part(part) for part in delta["parts"]]
    stored = fit_item(delta["streamId"], delta["start"], delta["end"], texts, expires_at)
    if stored is None:
        raise DeltaTooLarge(
            size,
            MAX_ITEM_BYTES,
            f"delta item would be {size} bytes, over the {MAX_ITEM_BYTES}-byte limit, even "
            f"with its parts of {MIN_SPILL_BYTES} bytes or more stored apart; split the "
            "parts into smaller deltas",
        )
    _check_spill_settings(settings)
    count("PartsSpilled", len(stored.objects))
    return DeltaWrite(
        delta["start"], delta["end"], stored.text, expires_at, stored.offsets, stored.objects
    )


def _check_spill_settings(settings: Settings) -> None:
    """A part is spilled only where its object outlives its delta."""
    settings.require("spill_bucket")
    fewest = min_spill_expiration_days(settings)
    if settings.spill_expiration_days < fewest:
        raise ConfigurationError(
            f"SPILL_EXPIRATION_DAYS is {settings.spill_expiration_days}, but spilled parts "
            f"must outlive their deltas: at least {fewest} days with RETENTION_DAYS "
            f"{settings.retention_days} (template parameter SpillExpirationDays)"
        )


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
        count("DeltaBytes", len(write.parts_json) + sum(len(o.body) for o in write.objects))
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
    delta due is always returned: alone it fits a reply (``MAX_DELTA_PARTS_BYTES``).
    Spilled parts are read back (concurrently) for the deltas of the reply only.
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
    reply = fitting(
        chain.from_iterable(per_stream),
        MAX_DELTAS_REPLY_BYTES - LIST_REPLY_OVERHEAD,
        MAX_DELTAS_PER_REQUEST,
    )
    return ctx.repository.resolve_deltas(reply)
