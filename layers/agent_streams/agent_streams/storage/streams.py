"""Streams: creating one (a transaction with its thread's check), reading one by id,
listing a thread's through the index, heartbeats, timeouts, deleting one.

Appends and terminal transitions are in ``storage.transitions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pynamodb.expressions.condition import Condition

from agent_streams.storage import items
from agent_streams.storage.client import DynamoClient
from agent_streams.storage.conversions import (
    live,
    stream_from_item,
    stream_from_raw,
    stream_item,
)
from agent_streams.storage.keys import status_key_range
from agent_streams.storage.models import StreamItem, ThreadItem
from agent_streams.storage.part_objects import PartObjects
from agent_streams.storage.threads import ThreadStore
from agent_streams.storage.transactions import Transaction, write
from agent_streams.types import Stream, StreamStatus
from agent_streams_protocol.errors import (
    InternalError,
    ServiceUnavailable,
    ThreadDeleting,
    ThreadNotFound,
)

#: Pages of an index query read at most, past items a filter dropped.
_INDEX_PAGES = 20


def not_expired(now: int) -> Condition:
    condition: Condition = StreamItem.expires_at.does_not_exist() | (
        StreamItem.expires_at > now // 1000
    )
    return condition


class StreamStore(ThreadStore):
    _db: DynamoClient
    _parts: PartObjects

    def create_stream(self, stream: Stream) -> None:
        tx = Transaction()
        tx.check("thread", ThreadItem, stream.thread_id, ThreadItem.status == "active")
        tx.put("stream", stream_item(stream), StreamItem.stream_id.does_not_exist())
        cancelled = write(tx, "create a stream")
        if cancelled is None:
            return
        taken = cancelled.item("stream")
        if taken is not None and stream_from_raw(taken) == stream:
            # The id holds this very stream: our own attempt, committed but
            # unacknowledged, and tried again (ids are new and random).
            return
        if cancelled.failed("thread"):
            thread = self.get_thread(stream.thread_id)
            if thread is None:
                raise ThreadNotFound(stream.thread_id)
            if thread.status == "deleting":
                raise ThreadDeleting(stream.thread_id)
            # Not active when checked, active now: it was being created meanwhile.
            raise ServiceUnavailable(f"thread {stream.thread_id!r} changed while read")
        raise InternalError(f"stream id {stream.stream_id!r} is already taken")

    def get_stream(self, stream_id: str, now: int) -> Stream | None:
        item = items.get(StreamItem, stream_id, what="read a stream")
        return None if item is None else live(stream_from_item(item), now)

    def heartbeat(self, stream_id: str, now: int) -> Stream | None:
        item = StreamItem(stream_id)
        if items.update(
            item,
            [StreamItem.last_heartbeat.set(now)],
            (StreamItem.status == "streaming") & not_expired(now),
            what="record a heartbeat",
        ):
            return stream_from_item(item)
        return self.get_stream(stream_id, now)

    def rearm_timeout(
        self, stream_id: str, schedule_name: str, timeout_at: int, expires_at: int
    ) -> Stream | None:
        item = StreamItem(stream_id)
        if items.update(
            item,
            [
                StreamItem.timeout_schedule.set(schedule_name),
                StreamItem.timeout_at.set(timeout_at),
                StreamItem.expires_at.set(expires_at),
            ],
            StreamItem.status == "streaming",
            what="re-arm a timeout",
        ):
            return stream_from_item(item)
        return None

    def delete_stream(self, stream_id: str, *, only_if: StreamStatus | None = None) -> bool:
        return items.delete(
            StreamItem(stream_id),
            None if only_if is None else StreamItem.status == only_if,
            what="delete a stream",
        )

    # -- the index: a thread's streams by status, order and stepOrder ----------------------

    def list_streams(
        self,
        thread_id: str,
        statuses: Sequence[StreamStatus],
        start_order: int,
        now: int,
        limit: int,
    ) -> list[Stream]:
        return self._newest_per_status(
            thread_id, statuses, lambda s: status_key_range(s, min_order=start_order), now, limit
        )

    def streams_at_order(
        self,
        thread_id: str,
        order: int,
        max_step_order: int,
        statuses: Sequence[StreamStatus],
        now: int,
        limit: int,
    ) -> list[Stream]:
        return self._newest_per_status(
            thread_id,
            statuses,
            lambda s: status_key_range(
                s, min_order=order, max_order=order, max_step=max_step_order
            ),
            now,
            limit,
        )

    def thread_streams(
        self, thread_id: str, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[Stream]:
        return self._index_query(thread_id, None, None, limit, False, exclude)

    def _newest_per_status(
        self,
        thread_id: str,
        statuses: Sequence[StreamStatus],
        bounds: Callable[[StreamStatus], tuple[str, str]],
        now: int,
        limit: int,
    ) -> list[Stream]:
        """One index query per status, issued concurrently, merged newest first."""
        calls = [
            (lambda s=status: self._index_query(thread_id, bounds(s), now, limit, True))
            for status in dict.fromkeys(statuses)
        ]
        merged = [stream for streams in self._db.concurrently(calls) for stream in streams]
        merged.sort(key=lambda s: (s.order, s.step_order), reverse=True)
        return merged[:limit]

    def _index_query(
        self,
        thread_id: str,
        bounds: tuple[str, str] | None,
        now: int | None,
        limit: int,
        newest_first: bool,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Stream]:
        kwargs: dict[str, Any] = {
            "TableName": StreamItem.Meta.table_name,
            "IndexName": StreamItem.by_thread.Meta.index_name,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        names = {"#t": "threadId"}
        values: dict[str, Any] = {":t": {"S": thread_id}}
        condition = "#t = :t"
        if bounds is not None:
            names["#k"] = "statusOrder"
            values[":lo"] = {"S": bounds[0]}
            values[":hi"] = {"S": bounds[1]}
            condition += " AND #k BETWEEN :lo AND :hi"
        if now is not None:
            names["#x"] = "expiresAt"
            values[":now"] = {"N": str(now // 1000)}
            kwargs["FilterExpression"] = "attribute_not_exists(#x) OR #x > :now"
        kwargs.update(
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        found: list[Stream] = []
        # The filter runs after Limit, so expired items can leave a page short: page on.
        for number, page in enumerate(self._db.query_pages("query streams", **kwargs), 1):
            found.extend(
                stream_from_raw(raw)
                for raw in page.get("Items", [])
                if raw["streamId"]["S"] not in exclude
            )
            if len(found) >= limit or number >= _INDEX_PAGES:
                break
        return found[:limit]
