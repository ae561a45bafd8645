"""A stream's log of deltas: reading it from cursors, paging through it to delete it,
and putting back the parts it stored in S3 (``storage.spill``).

Queries and batch deletes go through the low-level client (``storage.client``):
a page of deltas is passed on as stored, parts included, without a model per item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from agent_streams.observability import count
from agent_streams.storage.client import DynamoClient
from agent_streams.storage.conversions import spilled_offsets
from agent_streams.storage.models import DeltaItem, StreamItem
from agent_streams.storage.part_objects import PartObjects
from agent_streams.storage.spill import references, splice, stream_prefix
from agent_streams.types import Delta
from agent_streams_protocol.errors import InternalError

#: Pages of nothing but expired deltas that one read goes past.
_EXPIRED_PAGES = 10


class DeltaStore:
    _db: DynamoClient
    _parts: PartObjects

    def read_deltas(
        self, cursors: Sequence[tuple[str, int]], now: int, limit: int
    ) -> list[list[Delta]]:
        calls = [
            (lambda s=stream_id, c=cursor: self._query_deltas(s, c, now, limit))
            for stream_id, cursor in cursors
        ]
        return self._db.concurrently(calls)

    def _query_deltas(self, stream_id: str, cursor: int, now: int, limit: int) -> list[Delta]:
        kwargs: dict[str, Any] = {
            "TableName": DeltaItem.Meta.table_name,
            "KeyConditionExpression": "#s = :s AND #start >= :c",
            "FilterExpression": "#x > :now",
            "ExpressionAttributeNames": {"#s": "streamId", "#start": "start", "#x": "expiresAt"},
            "ExpressionAttributeValues": {
                ":s": {"S": stream_id},
                ":c": {"N": str(cursor)},
                ":now": {"N": str(now // 1000)},
            },
            "ConsistentRead": True,
            "Limit": limit,
        }
        items: list[dict[str, Any]] = []
        # Limit counts the items examined before the TTL filter, and deltas expire
        # oldest first: a page of expired ones is read past, so a cursor always moves.
        for number, page in enumerate(self._db.query_pages("read deltas", **kwargs), 1):
            items = page.get("Items", [])
            if items or number >= _EXPIRED_PAGES:
                break
        return [_delta(stream_id, raw) for raw in items]

    def delta_starts(
        self, stream_id: str, before: int | None, limit: int
    ) -> tuple[list[int], bool]:
        kwargs: dict[str, Any] = {
            "TableName": DeltaItem.Meta.table_name,
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "streamId", "#start": "start"},
            "ExpressionAttributeValues": {":s": {"S": stream_id}},
            "ProjectionExpression": "#s, #start",
            "ConsistentRead": True,
            # Newest first: a stream deleted part-way still shows readers a clean prefix.
            "ScanIndexForward": False,
            # One more than asked for, so the reply tells whether more follow: DynamoDB
            # returns LastEvaluatedKey whenever a page fills up, even when nothing
            # follows, which cost a stream of whole pages one more (empty) query.
            "Limit": limit + 1,
        }
        if before is not None:
            kwargs["KeyConditionExpression"] = "#s = :s AND #start < :b"
            kwargs["ExpressionAttributeValues"][":b"] = {"N": str(before)}
        page = self._db.query("list deltas to delete", **kwargs)
        starts = [int(raw["start"]["N"]) for raw in page.get("Items", [])]
        if len(starts) > limit:
            return starts[:limit], False
        # Fewer than asked for with a LastEvaluatedKey: the page hit DynamoDB's 1 MB cap.
        return starts, "LastEvaluatedKey" not in page

    def delete_deltas(self, stream_id: str, starts: Sequence[int], *, with_stream: bool) -> None:
        deltas_table = DeltaItem.Meta.table_name
        requests: list[tuple[str, dict[str, Any]]] = [
            (
                deltas_table,
                {"DeleteRequest": {"Key": {"streamId": {"S": stream_id}, "start": {"N": str(s)}}}},
            )
            for s in starts
        ]
        if with_stream:
            # Last, so a deletion cut short still finds the stream and starts again.
            requests.append(
                (
                    StreamItem.Meta.table_name,
                    {"DeleteRequest": {"Key": {"streamId": {"S": stream_id}}}},
                )
            )
        self._db.batch_write(requests, "delete items")

    # -- spilled parts ------------------------------------------------------------------

    def resolve_deltas(self, deltas: Sequence[Delta]) -> list[Delta]:
        wanted = [part for delta in deltas for part in delta.spilled]
        if not wanted:
            return list(deltas)
        bodies = iter(self._parts.get([part.key for part in wanted]))
        resolved: list[Delta] = []
        ended: set[str] = set()
        for delta in deltas:
            found = [next(bodies) for _ in delta.spilled]
            if delta.stream_id in ended:
                continue
            if not delta.spilled:
                resolved.append(delta)
                continue
            if any(body is None for body in found):
                if self._delta_exists(delta.stream_id, delta.start):
                    raise InternalError(
                        f"delta {delta.stream_id}:{delta.start} is stored, but a part it "
                        "spilled to S3 is not"
                    )
                # Deleted since it was read (deletion removes parts after their deltas).
                ended.add(delta.stream_id)
                continue
            texts = []
            for part, body in zip(delta.spilled, found, strict=True):
                assert body is not None
                if len(body) != part.size or hashlib.sha256(body).hexdigest() != part.sha256:
                    raise InternalError(f"spilled part {part.key} is not the part its delta names")
                texts.append(body.decode("utf-8"))
            count("SpilledPartsRead", len(texts))
            text = splice(delta.parts_json, delta.spilled, texts)
            resolved.append(Delta(delta.stream_id, delta.start, delta.end, text))
        return resolved

    def _delta_exists(self, stream_id: str, start: int) -> bool:
        page = self._db.query(
            "check a delta",
            TableName=DeltaItem.Meta.table_name,
            KeyConditionExpression="#s = :s AND #start = :start",
            ExpressionAttributeNames={"#s": "streamId", "#start": "start"},
            ExpressionAttributeValues={":s": {"S": stream_id}, ":start": {"N": str(start)}},
            ProjectionExpression="#s",
            ConsistentRead=True,
        )
        return bool(page.get("Items"))

    def delete_spilled_parts(self, stream_id: str) -> int:
        return self._parts.delete_prefix(stream_prefix(stream_id))


def _delta(stream_id: str, raw: dict[str, Any]) -> Delta:
    text = raw["parts"]["S"]
    offsets = spilled_offsets(raw)
    return Delta(
        stream_id,
        int(raw["start"]["N"]),
        int(raw["end"]["N"]),
        text,
        references(text, offsets) if offsets else (),
    )
