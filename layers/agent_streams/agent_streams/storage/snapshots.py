"""Snapshots: an ended stream's message, stored once, read back in one request.

A snapshot is opaque bytes to storage (``service.snapshots`` makes them: the stream's
UI message as compressed JSON). It is cut into items of at most :data:`CHUNK_BYTES`
in the Deltas table, under the stream's id, at the negative starts ``-n … -1`` (no
delta can be there: parts are numbered from 0), so everything that deletes a
stream's deltas — cleanup, delete_stream, thread deletion — deletes its snapshot
too, and the TTL removes it at the latest a day after its stream. The stream item
records ``snapshotChunks = n`` in the same transaction as the items, so a stream
either has its whole snapshot or none, and the condition on the stream (ended with
the status the snapshot was made for, no snapshot yet) makes it written once.

Reading it needs the count: ``BatchGetItem`` of the ``n`` keys, one request for any
snapshot up to :data:`MAX_SNAPSHOT_BYTES` (a reply holds up to 16 MB). Without the
count (a stream read from the index), one query of the negative starts finds it.
"""

from __future__ import annotations

from typing import Any

from agent_streams.storage.client import DynamoClient
from agent_streams.storage.keys import MAX_SNAPSHOT_BYTES, MAX_SNAPSHOT_CHUNKS
from agent_streams.storage.keys import SNAPSHOT_CHUNK_BYTES as CHUNK_BYTES
from agent_streams.storage.keys import snapshot_chunk_starts as chunk_starts
from agent_streams.storage.models import SnapshotChunkItem, StreamItem
from agent_streams.storage.streams import not_expired
from agent_streams.storage.transactions import Transaction, write
from agent_streams.types import StreamStatus

MAX_CHUNKS = MAX_SNAPSHOT_CHUNKS
__all__ = ["CHUNK_BYTES", "MAX_CHUNKS", "MAX_SNAPSHOT_BYTES", "SnapshotStore", "chunk_starts"]


class SnapshotStore:
    _db: DynamoClient

    def store_snapshot(
        self, stream_id: str, status: StreamStatus, data: bytes, now: int, expires_at: int
    ) -> bool:
        """Store ``data`` as the snapshot of a stream that ended ``status``; False (nothing
        written) if the stream is gone, expired, not in that status, or has one already."""
        if status == "streaming":
            raise ValueError("only an ended stream has a snapshot: its message is final")
        pieces = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
        if len(pieces) > MAX_CHUNKS:
            raise ValueError(f"a snapshot of {len(data)} bytes is over {MAX_SNAPSHOT_BYTES}")
        tx = Transaction()
        tx.update(
            "stream",
            StreamItem(stream_id),
            [StreamItem.snapshot_chunks.set(len(pieces))],
            (StreamItem.status == status)
            & StreamItem.snapshot_chunks.does_not_exist()
            & not_expired(now),
        )
        for start, piece in zip(chunk_starts(len(pieces)), pieces, strict=True):
            item = SnapshotChunkItem(stream_id, start, data=piece, expires_at=expires_at)
            # No condition: nothing can be at a negative start of a stream without a snapshot.
            tx.put(f"chunk{start}", item, None)
        return write(tx, "store a snapshot") is None

    def read_snapshot(self, stream_id: str, chunks: int) -> bytes | None:
        """The snapshot of ``chunks`` items, in one request; None if an item is missing
        (the stream was deleted meanwhile)."""
        keys = [
            {"streamId": {"S": stream_id}, "start": {"N": str(start)}}
            for start in chunk_starts(chunks)
        ]
        found = self._db.batch_get(SnapshotChunkItem.Meta.table_name, keys, "read a snapshot")
        return _joined(found, chunks)

    def find_snapshot(self, stream_id: str) -> bytes | None:
        """The stream's snapshot without knowing its size (one query, unless it is over
        the 1 MB of a page); None if it has none."""
        kwargs: dict[str, Any] = {
            "TableName": SnapshotChunkItem.Meta.table_name,
            "KeyConditionExpression": "#s = :s AND #start < :zero",
            "ExpressionAttributeNames": {"#s": "streamId", "#start": "start"},
            "ExpressionAttributeValues": {":s": {"S": stream_id}, ":zero": {"N": "0"}},
            "ConsistentRead": True,
        }
        found: list[dict[str, Any]] = []
        for page in self._db.query_pages("find a snapshot", **kwargs):
            found.extend(page.get("Items", []))
            if len(found) >= MAX_CHUNKS:
                break
        return _joined(found, len(found)) if found else None

    def delete_snapshot(self, stream_id: str, chunks: int) -> None:
        """Delete the snapshot's items (those already gone are no matter)."""
        table = SnapshotChunkItem.Meta.table_name
        self._db.batch_write(
            [
                (
                    table,
                    {
                        "DeleteRequest": {
                            "Key": {"streamId": {"S": stream_id}, "start": {"N": str(start)}}
                        }
                    },
                )
                for start in chunk_starts(chunks)
            ],
            "delete a snapshot",
        )


def _joined(items: list[dict[str, Any]], chunks: int) -> bytes | None:
    by_start = {int(raw["start"]["N"]): raw["data"]["B"] for raw in items if "data" in raw}
    starts = chunk_starts(chunks)
    if sorted(by_start) != starts:
        return None
    return b"".join(bytes(by_start[start]) for start in starts)
