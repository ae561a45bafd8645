"""The repository on DynamoDB, through PynamoDB.

Every write that decides something is one conditional request: appends and
terminal transitions are single ``TransactWriteItems`` calls whose cancellation
reasons (with ``ALL_OLD`` items) tell what went wrong without another read.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from pynamodb.exceptions import (
    DoesNotExist,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
)
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path, Value
from pynamodb.transactions import TransactWrite

from agent_streams.config import Settings
from agent_streams.storage.keys import status_key_range, status_order_key
from agent_streams.storage.models import (
    DeltaItem,
    StreamItem,
    ThreadItem,
    bind_models,
    dumps_options,
    loads_options,
)
from agent_streams.storage.repository import AppendOutcome, DeltaWrite, TransitionOutcome
from agent_streams.types import Delta, Stream, StreamMetadata, StreamStatus, Thread
from agent_streams_protocol.errors import ServiceUnavailable, ThreadDeleting, ThreadNotFound

T = TypeVar("T")

ALL_OLD = "ALL_OLD"
ALL_NEW = "ALL_NEW"
BATCH_LIMIT = 25
#: Error codes after which a request may be retried (botocore already retried them).
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_CONFLICT_RETRIES = 6
#: Pages of nothing but expired deltas that one read goes past.
_EXPIRED_PAGES = 10
_BATCH_RETRIES = 8
#: A stream attribute naming the terminal transition that ended it, so a transition
#: whose commit's reply was lost recognises itself when botocore's retry is cancelled.
TRANSITION_TOKEN = "transitionToken"


def _sleep_backoff(attempt: int, base: float = 0.02, cap: float = 1.0) -> None:
    time.sleep(random.uniform(0, min(cap, base * (2**attempt))))


def _unavailable(exc: PynamoDBException, what: str) -> ServiceUnavailable:
    return ServiceUnavailable(f"DynamoDB failed to {what}: {exc.cause_response_code or exc}")


def _raise_mapped(exc: PynamoDBException, what: str) -> None:
    """Turn an AWS failure into the contract's error (transient ones become 503)."""
    if exc.cause_response_code in _TRANSIENT_CODES or exc.cause_response_code is None:
        raise _unavailable(exc, what) from exc
    raise exc


def _n(raw: dict[str, Any], name: str) -> int | None:
    value = raw.get(name)
    return None if value is None else int(value["N"])


def _s(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return None if value is None else str(value["S"])


def stream_from_raw(raw: dict[str, Any]) -> Stream:
    """A stream from a raw DynamoDB item (full or index-projected)."""
    return Stream(
        stream_id=str(raw["streamId"]["S"]),
        thread_id=str(raw["threadId"]["S"]),
        order=_n(raw, "order") or 0,
        step_order=_n(raw, "stepOrder") or 0,
        status=_s(raw, "status"),  # type: ignore[arg-type]
        created_at=_n(raw, "createdAt") or 0,
        last_heartbeat=_n(raw, "lastHeartbeat") or 0,
        next_start=_n(raw, "nextStart") or 0,
        meta=StreamMetadata(
            format=_s(raw, "format"),  # type: ignore[arg-type]
            user_id=_s(raw, "userId"),
            agent_name=_s(raw, "agentName"),
            model=_s(raw, "model"),
            provider=_s(raw, "provider"),
            provider_options=loads_options(_s(raw, "providerOptions")),
        ),
        reason=_s(raw, "reason"),
        ended_at=_n(raw, "endedAt"),
        timeout_schedule=_s(raw, "timeoutSchedule"),
        cleanup_schedule=_s(raw, "cleanupSchedule"),
        timeout_at=_n(raw, "timeoutAt"),
        expires_at=_n(raw, "expiresAt"),
    )


def _stream_item(stream: Stream) -> StreamItem:
    return StreamItem(
        stream.stream_id,
        thread_id=stream.thread_id,
        status_order=status_order_key(stream.status, stream.order, stream.step_order),
        status=stream.status,
        order=stream.order,
        step_order=stream.step_order,
        created_at=stream.created_at,
        last_heartbeat=stream.last_heartbeat,
        next_start=stream.next_start,
        format=stream.meta.format,
        user_id=stream.meta.user_id,
        agent_name=stream.meta.agent_name,
        model=stream.meta.model,
        provider=stream.meta.provider,
        provider_options=dumps_options(stream.meta.provider_options),
        reason=stream.reason,
        ended_at=stream.ended_at,
        timeout_schedule=stream.timeout_schedule,
        cleanup_schedule=stream.cleanup_schedule,
        timeout_at=stream.timeout_at,
        expires_at=stream.expires_at,
    )


def _thread_from_item(item: ThreadItem) -> Thread:
    return Thread(
        thread_id=item.thread_id,
        created_at=int(item.created_at),
        status=item.status,  # type: ignore[arg-type]
        user_id=item.user_id,
        title=item.title,
        summary=item.summary,
        deleting_since=None if item.deleting_since is None else int(item.deleting_since),
        execution_arn=item.execution_arn,
        deletion_attempt=int(item.deletion_attempt or 0),
    )


def _live(stream: Stream | None, now: int) -> Stream | None:
    """The stream, unless its TTL has passed (DynamoDB may take days to remove it)."""
    if stream is None or (stream.expires_at is not None and stream.expires_at * 1000 <= now):
        return None
    return stream


def _not_expired(now: int) -> Condition:
    condition: Condition = StreamItem.expires_at.does_not_exist() | (
        StreamItem.expires_at > now // 1000
    )
    return condition


class DynamoRepository:
    """:class:`~agent_streams.storage.repository.Repository` on DynamoDB."""

    def __init__(self, settings: Settings, *, max_workers: int = 16) -> None:
        bind_models(settings)
        self._settings = settings
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing ---------------------------------------------------------------

    def _client(self) -> Any:
        return DeltaItem._get_connection().connection.client

    def _concurrently(self, calls: Sequence[Callable[[], T]]) -> list[T]:
        if len(calls) <= 1:
            return [call() for call in calls]
        if self._executor is None:
            # Create the client first: botocore client creation is not thread-safe.
            self._client()
            StreamItem._get_connection().connection.client  # noqa: B018
            self._executor = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="agent-streams-io"
            )
        return list(self._executor.map(lambda call: call(), calls))

    def _transact(self, build: Callable[[TransactWrite], None], what: str) -> None:
        connection = StreamItem._get_connection().connection
        for attempt in range(_CONFLICT_RETRIES):
            try:
                with TransactWrite(connection=connection) as tx:
                    build(tx)
                return
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons if exc.cause_response_code else []
                if any(r is not None and r.code == "TransactionConflict" for r in reasons):
                    # Another transaction touched the same item: the conditions make a retry safe.
                    if attempt + 1 < _CONFLICT_RETRIES:
                        _sleep_backoff(attempt)
                        continue
                    raise ServiceUnavailable(
                        f"DynamoDB kept reporting conflicts while trying to {what}"
                    ) from exc
                if exc.cause_response_code == "TransactionCanceledException":
                    raise
                _raise_mapped(exc, what)

    # -- threads ----------------------------------------------------------------

    def create_thread(self, thread: Thread) -> None:
        item = ThreadItem(
            thread.thread_id,
            status=thread.status,
            created_at=thread.created_at,
            user_id=thread.user_id,
            title=thread.title,
            summary=thread.summary,
        )
        try:
            item.save(condition=ThreadItem.thread_id.does_not_exist())
        except PynamoDBException as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                if self.get_thread(thread.thread_id) == thread:
                    # Our own attempt, committed but unacknowledged, that botocore
                    # retried: the thread is created (ids are new and random).
                    return
                raise
            _raise_mapped(exc, "create a thread")

    def get_thread(self, thread_id: str) -> Thread | None:
        try:
            return _thread_from_item(ThreadItem.get(thread_id, consistent_read=True))
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            _raise_mapped(exc, "read a thread")
            raise

    def begin_thread_deletion(self, thread_id: str, now: int) -> Thread:
        item = ThreadItem(thread_id)
        try:
            item.update(
                actions=[
                    ThreadItem.status.set("deleting"),
                    ThreadItem.deleting_since.set(ThreadItem.deleting_since | now),
                ],
                condition=ThreadItem.thread_id.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ThreadNotFound(thread_id) from exc
            _raise_mapped(exc, "mark a thread for deletion")
        return _thread_from_item(item)

    def record_thread_execution(self, thread_id: str, attempt: int, execution_arn: str) -> bool:
        try:
            ThreadItem(thread_id).update(
                actions=[
                    ThreadItem.execution_arn.set(execution_arn),
                    ThreadItem.deletion_attempt.set(attempt),
                ],
                condition=ThreadItem.thread_id.exists()
                & (
                    ThreadItem.deletion_attempt.does_not_exist()
                    | (ThreadItem.deletion_attempt < attempt)
                ),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            _raise_mapped(exc, "record a deletion")
        return True

    def delete_thread(self, thread_id: str) -> None:
        try:
            ThreadItem(thread_id).delete()
        except PynamoDBException as exc:
            _raise_mapped(exc, "delete a thread")

    # -- streams ----------------------------------------------------------------

    def create_stream(self, stream: Stream) -> None:
        def build(tx: TransactWrite) -> None:
            tx.condition_check(
                ThreadItem, stream.thread_id, condition=ThreadItem.status == "active"
            )
            tx.save(
                _stream_item(stream),
                condition=StreamItem.stream_id.does_not_exist(),
                return_values=ALL_OLD,
            )

        try:
            self._transact(build, "create a stream")
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons
            taken = reasons[-1] if reasons else None
            if taken is not None and taken.raw_item and stream_from_raw(taken.raw_item) == stream:
                # The id holds this very stream: our own attempt, committed but
                # unacknowledged, that botocore retried (ids are new and random).
                return
            thread = self.get_thread(stream.thread_id)
            if thread is None:
                raise ThreadNotFound(stream.thread_id) from exc
            if thread.status == "deleting":
                raise ThreadDeleting(stream.thread_id) from exc
            raise

    def get_stream(self, stream_id: str, now: int) -> Stream | None:
        try:
            raw = self._client().get_item(
                TableName=StreamItem.Meta.table_name,
                Key={"streamId": {"S": stream_id}},
                ConsistentRead=True,
            )
        except Exception as exc:
            raise _aws_unavailable(exc, "read a stream") from exc
        item = raw.get("Item")
        return _live(stream_from_raw(item), now) if item else None

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
        for _ in range(20):
            try:
                page = self._client().query(**kwargs)
            except Exception as exc:
                raise _aws_unavailable(exc, "query streams") from exc
            found.extend(
                stream_from_raw(raw)
                for raw in page.get("Items", [])
                if raw["streamId"]["S"] not in exclude
            )
            last = page.get("LastEvaluatedKey")
            if last is None or len(found) >= limit:
                break
            kwargs["ExclusiveStartKey"] = last
        return found[:limit]

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
        merged = [stream for streams in self._concurrently(calls) for stream in streams]
        merged.sort(key=lambda s: (s.order, s.step_order), reverse=True)
        return merged[:limit]

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

    def _delta_item(self, stream_id: str, delta: DeltaWrite) -> DeltaItem:
        return DeltaItem(
            stream_id,
            delta.start,
            end=delta.end,
            parts=delta.parts_json,
            expires_at=delta.expires_at,
        )

    def _classify(
        self,
        exc: TransactWriteError,
        stream_id: str,
        delta: DeltaWrite | None,
        now: int,
    ) -> tuple[Stream | None, bool, int | None]:
        """From a cancelled append-like transaction: (stream as found, delta already stored, expected start)."""
        # PynamoDB sends a transaction's items as condition checks, deletes, puts, then
        # updates: here the delta's put (if any) comes before the stream's update.
        reasons = exc.cancellation_reasons
        if not reasons:
            raise exc
        stream_reason = reasons[-1]
        delta_reason = reasons[0] if delta is not None and len(reasons) > 1 else None
        stream: Stream | None = None
        if stream_reason is not None and stream_reason.raw_item:
            stream = _live(stream_from_raw(stream_reason.raw_item), now)
        elif stream_reason is None:
            # The stream's condition held, so only the delta's key can have clashed,
            # which a stream whose log ends at `start` cannot have: storage was edited by hand.
            raise RuntimeError(f"stream {stream_id}: a delta exists past the end of its log")
        duplicate = False
        if delta is not None and delta_reason is not None and delta_reason.raw_item:
            existing = delta_reason.raw_item
            duplicate = (
                int(existing["end"]["N"]) == delta.end
                and existing["parts"]["S"] == delta.parts_json
            )
        expected: int | None = None
        if (
            delta is not None
            and stream is not None
            and stream.status == "streaming"
            and not duplicate
        ):
            expected = stream.next_start
        return stream, duplicate, expected

    def append(self, stream_id: str, delta: DeltaWrite, now: int) -> AppendOutcome:
        def build(tx: TransactWrite) -> None:
            tx.update(
                StreamItem(stream_id),
                actions=[StreamItem.next_start.set(delta.end), StreamItem.last_heartbeat.set(now)],
                condition=(StreamItem.status == "streaming")
                & (StreamItem.next_start == delta.start)
                & _not_expired(now),
                return_values=ALL_OLD,
            )
            tx.save(
                self._delta_item(stream_id, delta),
                condition=DeltaItem.stream_id.does_not_exist(),
                return_values=ALL_OLD,
            )

        try:
            self._transact(build, "append a delta")
        except TransactWriteError as exc:
            stream, duplicate, expected = self._classify(exc, stream_id, delta, now)
            return AppendOutcome(stream=stream, accepted=duplicate, expected_start=expected)
        return AppendOutcome(stream=None, accepted=True, written=True)

    def heartbeat(self, stream_id: str, now: int) -> Stream | None:
        item = StreamItem(stream_id)
        try:
            item.update(
                actions=[StreamItem.last_heartbeat.set(now)],
                condition=(StreamItem.status == "streaming") & _not_expired(now),
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                _raise_mapped(exc, "record a heartbeat")
            return self.get_stream(stream_id, now)
        return _stream_from_model(item)

    def _terminate(
        self,
        stream_id: str,
        now: int,
        final_delta: DeltaWrite | None,
        actions: list[Any],
        extra_condition: Condition | None,
        new_status: StreamStatus,
        what: str,
        make_after: Callable[[Stream], Stream],
    ) -> TransitionOutcome:
        before = self.get_stream(stream_id, now)
        if before is None or before.status != "streaming":
            return TransitionOutcome(before=before, after=before, changed=False)
        condition = (StreamItem.status == "streaming") & _not_expired(now)
        if extra_condition is not None:
            condition = condition & extra_condition
        token = secrets.token_urlsafe(12)
        all_actions = [
            StreamItem.status.set(new_status),
            StreamItem.status_order.set(
                status_order_key(new_status, before.order, before.step_order)
            ),
            Path(TRANSITION_TOKEN).set(Value({"S": token})),
            *actions,
        ]
        if final_delta is not None:
            condition = condition & (StreamItem.next_start == final_delta.start)
            all_actions += [
                StreamItem.next_start.set(final_delta.end),
                StreamItem.last_heartbeat.set(now),
            ]

        def build(tx: TransactWrite) -> None:
            tx.update(
                StreamItem(stream_id),
                actions=all_actions,
                condition=condition,
                return_values=ALL_OLD,
            )
            if final_delta is not None:
                tx.save(
                    self._delta_item(stream_id, final_delta),
                    condition=DeltaItem.stream_id.does_not_exist(),
                    return_values=ALL_OLD,
                )

        try:
            self._transact(build, what)
        except TransactWriteError as exc:
            if _made_by(exc, token):
                # Our transaction committed, its reply was lost, and botocore's retry
                # of it found the stream already ended: by us.
                return TransitionOutcome(
                    before=before,
                    after=self._after(make_after, before, final_delta, now),
                    changed=True,
                )
            stream, duplicate, expected = self._classify(exc, stream_id, final_delta, now)
            if duplicate and stream is not None and stream.status == "streaming":
                # The final delta is already stored (a retry after a lost reply, or a
                # racing writer of the same sequence): accepted, as add_delta's retries
                # are; end the stream without writing it again.
                return self._terminate(
                    stream_id, now, None, actions, extra_condition, new_status, what, make_after
                )
            return TransitionOutcome(
                before=stream, after=stream, changed=False, expected_start=expected
            )
        return TransitionOutcome(
            before=before, after=self._after(make_after, before, final_delta, now), changed=True
        )

    @staticmethod
    def _after(
        make_after: Callable[[Stream], Stream], before: Stream, final: DeltaWrite | None, now: int
    ) -> Stream:
        after = make_after(before)
        return after if final is None else replace(after, next_start=final.end, last_heartbeat=now)

    def finish(
        self,
        stream_id: str,
        now: int,
        final_delta: DeltaWrite | None,
        cleanup_schedule: str,
        expires_at: int,
    ) -> TransitionOutcome:
        return self._terminate(
            stream_id,
            now,
            final_delta,
            [
                StreamItem.ended_at.set(now),
                StreamItem.cleanup_schedule.set(cleanup_schedule),
                StreamItem.expires_at.set(expires_at),
            ],
            None,
            "finished",
            "finish a stream",
            lambda before: replace(
                before,
                status="finished",
                ended_at=now,
                cleanup_schedule=cleanup_schedule,
                expires_at=expires_at,
            ),
        )

    def abort(
        self,
        stream_id: str,
        reason: str,
        now: int,
        final_delta: DeltaWrite | None,
        expires_at: int | None,
        *,
        silent_since: int | None = None,
    ) -> TransitionOutcome:
        actions: list[Any] = [StreamItem.reason.set(reason), StreamItem.ended_at.set(now)]
        actions.append(
            StreamItem.expires_at.remove()
            if expires_at is None
            else StreamItem.expires_at.set(expires_at)
        )
        extra = None if silent_since is None else StreamItem.last_heartbeat <= silent_since
        return self._terminate(
            stream_id,
            now,
            final_delta,
            actions,
            extra,
            "aborted",
            "abort a stream",
            lambda before: replace(
                before,
                status="aborted",
                reason=reason,
                ended_at=now,
                expires_at=expires_at,
            ),
        )

    def rearm_timeout(
        self, stream_id: str, schedule_name: str, timeout_at: int, expires_at: int
    ) -> Stream | None:
        item = StreamItem(stream_id)
        try:
            item.update(
                actions=[
                    StreamItem.timeout_schedule.set(schedule_name),
                    StreamItem.timeout_at.set(timeout_at),
                    StreamItem.expires_at.set(expires_at),
                ],
                condition=StreamItem.status == "streaming",
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None
            _raise_mapped(exc, "re-arm a timeout")
        return _stream_from_model(item)

    # -- deltas -----------------------------------------------------------------

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
        # Limit counts the items examined before the TTL filter, and deltas expire
        # oldest first: a page of expired ones is read past, so a cursor always moves.
        for _ in range(_EXPIRED_PAGES):
            try:
                page = self._client().query(**kwargs)
            except Exception as exc:
                raise _aws_unavailable(exc, "read deltas") from exc
            items = page.get("Items", [])
            if items or "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [
            Delta(stream_id, int(raw["start"]["N"]), int(raw["end"]["N"]), raw["parts"]["S"])
            for raw in items
        ]

    def read_deltas(
        self, cursors: Sequence[tuple[str, int]], now: int, limit: int
    ) -> list[list[Delta]]:
        calls = [
            (lambda s=stream_id, c=cursor: self._query_deltas(s, c, now, limit))
            for stream_id, cursor in cursors
        ]
        return self._concurrently(calls)

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
        try:
            page = self._client().query(**kwargs)
        except Exception as exc:
            raise _aws_unavailable(exc, "list deltas to delete") from exc
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
            requests.append(
                (
                    StreamItem.Meta.table_name,
                    {"DeleteRequest": {"Key": {"streamId": {"S": stream_id}}}},
                )
            )
        for offset in range(0, len(requests), BATCH_LIMIT):
            batch: dict[str, list[dict[str, Any]]] = {}
            for table, request in requests[offset : offset + BATCH_LIMIT]:
                batch.setdefault(table, []).append(request)
            self._batch_write(batch)

    def _batch_write(self, request_items: dict[str, list[dict[str, Any]]]) -> None:
        pending = request_items
        for attempt in range(_BATCH_RETRIES):
            try:
                reply = self._client().batch_write_item(RequestItems=pending)
            except Exception as exc:
                raise _aws_unavailable(exc, "delete items") from exc
            pending = {
                table: items for table, items in reply.get("UnprocessedItems", {}).items() if items
            }
            if not pending:
                return
            _sleep_backoff(attempt, base=0.05, cap=2.0)
        count = sum(len(items) for items in pending.values())
        raise ServiceUnavailable(
            f"DynamoDB left {count} items unprocessed after {_BATCH_RETRIES} attempts"
        )

    # -- deletion ---------------------------------------------------------------

    def thread_streams(
        self, thread_id: str, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[Stream]:
        return self._index_query(thread_id, None, None, limit, False, exclude)

    def delete_stream(self, stream_id: str, *, only_if: StreamStatus | None = None) -> bool:
        try:
            StreamItem(stream_id).delete(
                condition=None if only_if is None else StreamItem.status == only_if
            )
        except PynamoDBException as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            _raise_mapped(exc, "delete a stream")
        return True


def _made_by(exc: TransactWriteError, token: str) -> bool:
    """Whether a cancelled transition found the stream ended by the transition ``token``."""
    reasons = exc.cancellation_reasons
    stream_reason = reasons[-1] if reasons else None
    raw = stream_reason.raw_item if stream_reason is not None else None
    return bool(raw) and raw.get(TRANSITION_TOKEN, {}).get("S") == token  # type: ignore[union-attr]


def _stream_from_model(item: StreamItem) -> Stream:
    return stream_from_raw(item.serialize())


def _aws_unavailable(exc: Exception, what: str) -> Exception:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    if code is None or code in _TRANSIENT_CODES:
        return ServiceUnavailable(f"DynamoDB failed to {what}: {code or exc}")
    return exc
