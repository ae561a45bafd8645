"""A stream's log of deltas: reading it from cursors, paging through it to delete it.

Queries and batch deletes go through the low-level client (``storage.client``):
a page of deltas is passed on as stored, parts included, without a model per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_streams.storage.client import DynamoClient
from agent_streams.storage.models import DeltaItem, StreamItem
from agent_streams.types import Delta

#: Pages of nothing but expired deltas that one read goes past.
_EXPIRED_PAGES = 10


class DeltaStore:
    _db: DynamoClient

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
        return [
            Delta(stream_id, int(raw["start"]["N"]), int(raw["end"]["N"]), raw["parts"]["S"])
            for raw in items
        ]

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
