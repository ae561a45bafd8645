"""Key formats and the Streams index's projection."""

from __future__ import annotations

from agent_streams.types import StreamStatus
from agent_streams_protocol.limits import MAX_ORDER

#: The Streams table's index, named after the reference's ``threadId_state_order_stepOrder``.
STREAM_INDEX_NAME = "threadId-status-order-stepOrder"
#: What the index projects besides its keys and the table key: what ``StreamMessage``,
#: the TTL filter and thread deletion need. Nothing a per-delta write touches, so appends
#: cause no index writes. A stream's metadata is one attribute, whatever fields it has.
STREAM_INDEX_ATTRIBUTES = (
    "status",
    "order",
    "stepOrder",
    "metadata",
    "expiresAt",
    # Changed only on state transitions and timeout re-arms, never per delta;
    # thread deletion needs them to cancel pending schedules without a read per stream.
    "timeoutSchedule",
    "cleanupSchedule",
)
#: What a per-delta write (add_delta, heartbeat) updates on the stream item.
PER_DELTA_STREAM_ATTRIBUTES = ("nextStart", "lastHeartbeat")

#: order and stepOrder are stored zero-padded in the index sort key (MAX_ORDER is 12 digits).
_WIDTH = len(str(MAX_ORDER))


def status_order_key(status: StreamStatus, order: int, step_order: int) -> str:
    """The Streams index sort key, mirroring the reference's (status, order, stepOrder)."""
    return f"{status}#{order:0{_WIDTH}d}#{step_order:0{_WIDTH}d}"


def status_key_range(
    status: StreamStatus,
    min_order: int = 0,
    max_order: int = MAX_ORDER,
    min_step: int = 0,
    max_step: int = MAX_ORDER,
) -> tuple[str, str]:
    """Inclusive bounds of the index sort keys of ``status`` in an order/stepOrder box.

    Only exact for boxes that are either all stepOrders of a range of orders, or a
    range of stepOrders within one order; that is all the service asks for.
    """
    return (
        status_order_key(status, min_order, min_step),
        status_order_key(status, max_order, max_step),
    )


# -- snapshots (``storage.snapshots``) ---------------------------------------------------

#: Bytes of snapshot per item: with its key and TTL, an item stays under 400,000 bytes.
SNAPSHOT_CHUNK_BYTES = 390_000
#: Items of one snapshot at most: they are written in one transaction with the stream's
#: update, within its 100 items and 4 MB.
MAX_SNAPSHOT_CHUNKS = 10
#: The largest snapshot stored (3.9 MB); a stream whose snapshot would be larger has
#: none, and its readers materialise its deltas.
MAX_SNAPSHOT_BYTES = SNAPSHOT_CHUNK_BYTES * MAX_SNAPSHOT_CHUNKS


def snapshot_chunk_starts(chunks: int) -> list[int]:
    """Where the ``chunks`` items of a snapshot are in the Deltas table, in order:
    ``-chunks … -1`` (no delta can be at a negative start)."""
    return list(range(-chunks, 0))
