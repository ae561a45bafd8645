"""The repository in memory: the fake that service unit tests run on.

It keeps the observable semantics of :class:`~agent_streams.storage.dynamo.DynamoRepository`
down to its quirks, because a fake that is nicer than production hides bugs:

- every conditional write is decided atomically (one lock), with the same
  conditions as the DynamoDB request, and a failed one writes nothing;
- items past their TTL stay stored (DynamoDB takes up to days to remove them)
  but reads and conditional writes ignore them exactly where DynamoDB's do;
- the index reads (``list_streams``, ``streams_at_order``, ``thread_streams``)
  return only what the Streams index projects, with the same zero/None
  defaults ``stream_from_raw`` gives the attributes it does not;
- paging follows DynamoDB's ``Limit``: it counts items examined before the TTL
  filter (``read_deltas``), and a full page is never known to be the last
  (``delta_starts``; AWS returns ``LastEvaluatedKey`` then, moto does not);
- everything returned is a copy, and everything stored is a copy of the input.

Where ``DynamoRepository`` breaks the ``Repository`` contract (see the xfail
tests of the contract suite), the fake follows the contract instead.

``calls`` counts the public calls per method, so service tests can assert how
many storage operations an operation made (internal reads are not counted).
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agent_streams.errors import ThreadDeleting, ThreadNotFound
from agent_streams.storage.keys import STREAM_INDEX_ATTRIBUTES, status_order_key
from agent_streams.storage.repository import AppendOutcome, DeltaWrite, TransitionOutcome
from agent_streams.types import Delta, Stream, StreamMetadata, StreamStatus, Thread

if TYPE_CHECKING:
    from agent_streams.storage.repository import Repository

#: How each attribute the Streams index projects is copied onto an index-read stream.
#: Keyed by DynamoDB attribute name, so a change to the projection in ``keys`` that is
#: not mirrored here fails at import instead of silently diverging from DynamoDB.
_PROJECTORS: dict[str, Callable[[Stream, Stream], None]] = {
    "status": lambda src, dst: setattr(dst, "status", src.status),
    "order": lambda src, dst: setattr(dst, "order", src.order),
    "stepOrder": lambda src, dst: setattr(dst, "step_order", src.step_order),
    "format": lambda src, dst: setattr(dst.meta, "format", src.meta.format),
    "userId": lambda src, dst: setattr(dst.meta, "user_id", src.meta.user_id),
    "agentName": lambda src, dst: setattr(dst.meta, "agent_name", src.meta.agent_name),
    "model": lambda src, dst: setattr(dst.meta, "model", src.meta.model),
    "provider": lambda src, dst: setattr(dst.meta, "provider", src.meta.provider),
    "providerOptions": lambda src, dst: setattr(
        dst.meta, "provider_options", copy.deepcopy(src.meta.provider_options)
    ),
    "expiresAt": lambda src, dst: setattr(dst, "expires_at", src.expires_at),
    "timeoutSchedule": lambda src, dst: setattr(dst, "timeout_schedule", src.timeout_schedule),
    "cleanupSchedule": lambda src, dst: setattr(dst, "cleanup_schedule", src.cleanup_schedule),
}
_unknown = set(STREAM_INDEX_ATTRIBUTES) - set(_PROJECTORS)
if _unknown:  # pragma: no cover - a guard for whoever edits the projection
    raise RuntimeError(f"memory.py does not know how to project {sorted(_unknown)}")


#: Items per BatchWriteItem call, as DynamoRepository sends them.
_BATCH_LIMIT = 25


@dataclass(frozen=True, slots=True)
class _StoredDelta:
    end: int
    parts_json: str
    expires_at: int


def _expired(expires_at: int | None, now: int) -> bool:
    # The same test as DynamoDB's ``expiresAt > :now`` with :now = now // 1000.
    return expires_at is not None and expires_at * 1000 <= now


def _live(stream: Stream | None, now: int) -> Stream | None:
    if stream is None or _expired(stream.expires_at, now):
        return None
    return stream


def _round_trip_options(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # DynamoDB stores provider options as JSON text: tuples come back as lists,
    # non-string keys as strings, and unserialisable values fail at write time.
    if value is None:
        return None
    return dict(json.loads(json.dumps(value, separators=(",", ":"), ensure_ascii=False)))


def _projected(stream: Stream) -> Stream:
    """What a Streams index query returns: the keys plus the projected attributes."""
    out = Stream(
        stream_id=stream.stream_id,
        thread_id=stream.thread_id,
        order=0,
        step_order=0,
        status=stream.status,
        created_at=0,
        last_heartbeat=0,
        next_start=0,
        meta=StreamMetadata(),
    )
    for name in STREAM_INDEX_ATTRIBUTES:
        _PROJECTORS[name](stream, out)
    return out


def _index_key(stream: Stream) -> tuple[str, str]:
    # The index sort key; equal keys come back in table-key order (as moto does;
    # DynamoDB leaves that order unspecified, and nothing relies on it).
    return status_order_key(stream.status, stream.order, stream.step_order), stream.stream_id


class InMemoryRepository:
    """:class:`~agent_streams.storage.repository.Repository` in memory, thread-safe."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._threads: dict[str, Thread] = {}
        self._streams: dict[str, Stream] = {}
        self._deltas: dict[str, dict[int, _StoredDelta]] = {}

    def _count(self, method: str) -> None:
        self.calls[method] += 1

    # -- threads ----------------------------------------------------------------

    def create_thread(self, thread: Thread) -> None:
        with self._lock:
            self._count("create_thread")
            existing = self._threads.get(thread.thread_id)
            if existing is not None:
                # Ids are new and random: a taken one holding this very thread is our own
                # write, committed but unacknowledged and retried by botocore, so the call
                # succeeds. Anything else there is refused (as DynamoDB's condition does).
                if existing == thread:
                    return
                raise ValueError(f"thread {thread.thread_id!r} already exists")
            # Only what DynamoRepository writes: the deletion bookkeeping starts empty.
            self._threads[thread.thread_id] = Thread(
                thread_id=thread.thread_id,
                created_at=thread.created_at,
                status=thread.status,
                user_id=thread.user_id,
                title=thread.title,
                summary=thread.summary,
            )

    def get_thread(self, thread_id: str) -> Thread | None:
        with self._lock:
            self._count("get_thread")
            return copy.deepcopy(self._threads.get(thread_id))

    def begin_thread_deletion(self, thread_id: str, now: int) -> Thread:
        with self._lock:
            self._count("begin_thread_deletion")
            thread = self._threads.get(thread_id)
            if thread is None:
                raise ThreadNotFound(thread_id)
            thread.status = "deleting"
            if thread.deleting_since is None:  # a repeated call keeps the first time
                thread.deleting_since = now
            return copy.deepcopy(thread)

    def record_thread_execution(self, thread_id: str, attempt: int, execution_arn: str) -> bool:
        with self._lock:
            self._count("record_thread_execution")
            thread = self._threads.get(thread_id)
            if thread is None or attempt <= thread.deletion_attempt:
                return False
            thread.execution_arn = execution_arn
            thread.deletion_attempt = attempt
            return True

    def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self._count("delete_thread")
            self._threads.pop(thread_id, None)

    # -- streams ----------------------------------------------------------------

    def create_stream(self, stream: Stream) -> None:
        with self._lock:
            self._count("create_stream")
            existing = self._streams.get(stream.stream_id)
            if existing is not None and existing == stream:
                # As for threads: our own earlier write (checked first, so whatever
                # happened to the thread since, expired or not).
                return
            thread = self._threads.get(stream.thread_id)
            if thread is None:
                raise ThreadNotFound(stream.thread_id)
            if thread.status == "deleting":
                raise ThreadDeleting(stream.thread_id)
            if existing is not None:
                raise ValueError(f"stream {stream.stream_id!r} already exists")
            stored = copy.deepcopy(stream)
            stored.meta.provider_options = _round_trip_options(stored.meta.provider_options)
            self._streams[stream.stream_id] = stored

    def get_stream(self, stream_id: str, now: int) -> Stream | None:
        with self._lock:
            self._count("get_stream")
            return self._get_live(stream_id, now)

    def _get_live(self, stream_id: str, now: int) -> Stream | None:
        return copy.deepcopy(_live(self._streams.get(stream_id), now))

    def _index_query(
        self,
        thread_id: str,
        status: StreamStatus | None,
        matches: Callable[[Stream], bool],
        now: int | None,
        limit: int,
        newest_first: bool,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Stream]:
        """One status's (or the whole thread's) slice of the index, like DynamoRepository's."""
        found = [
            s
            for s in self._streams.values()
            if s.thread_id == thread_id
            and (status is None or s.status == status)
            and matches(s)
            and (now is None or _live(s, now) is not None)
            and s.stream_id not in exclude
        ]
        found.sort(key=_index_key, reverse=newest_first)
        return [_projected(s) for s in found[:limit]]

    def _newest_per_status(
        self,
        thread_id: str,
        statuses: Sequence[StreamStatus],
        wanted: Callable[[Stream], bool],
        now: int,
        limit: int,
    ) -> list[Stream]:
        # One query per status, then a stable merge: ties keep the statuses' order.
        merged = [
            stream
            for status in dict.fromkeys(statuses)
            for stream in self._index_query(thread_id, status, wanted, now, limit, True)
        ]
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
        with self._lock:
            self._count("list_streams")
            return self._newest_per_status(
                thread_id, statuses, lambda s: s.order >= start_order, now, limit
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
        with self._lock:
            self._count("streams_at_order")
            return self._newest_per_status(
                thread_id,
                statuses,
                lambda s: s.order == order and s.step_order <= max_step_order,
                now,
                limit,
            )

    def _store_delta(self, stream_id: str, delta: DeltaWrite) -> None:
        self._deltas.setdefault(stream_id, {})[delta.start] = _StoredDelta(
            delta.end, delta.parts_json, delta.expires_at
        )

    def _cancelled(
        self, stream_id: str, delta: DeltaWrite | None, now: int, stream_condition_held: bool
    ) -> tuple[Stream | None, bool, int | None]:
        """DynamoRepository._classify: what a cancelled append-like transaction tells.

        Returns (the stream as found, the delta is an identical one already stored,
        the start a streaming stream expected).
        """
        if stream_condition_held:
            # Only the delta's key clashed: a delta past the end of the log.
            raise RuntimeError(f"stream {stream_id}: a delta exists past the end of its log")
        stream = self._get_live(stream_id, now)
        existing = None if delta is None else self._deltas.get(stream_id, {}).get(delta.start)
        duplicate = (
            delta is not None
            and existing is not None
            and existing.end == delta.end
            and existing.parts_json == delta.parts_json
        )
        expected = None
        if (
            delta is not None
            and stream is not None
            and stream.status == "streaming"
            and not duplicate
        ):
            expected = stream.next_start
        return stream, duplicate, expected

    def _streaming_unexpired(self, stream: Stream | None, now: int) -> bool:
        return (
            stream is not None and stream.status == "streaming" and _live(stream, now) is not None
        )

    def append(self, stream_id: str, delta: DeltaWrite, now: int) -> AppendOutcome:
        with self._lock:
            self._count("append")
            stored = self._streams.get(stream_id)
            stream_ok = (
                self._streaming_unexpired(stored, now)
                and stored is not None
                and stored.next_start == delta.start
            )
            delta_free = delta.start not in self._deltas.get(stream_id, {})
            if stream_ok and delta_free and stored is not None:
                stored.next_start = delta.end
                stored.last_heartbeat = now
                self._store_delta(stream_id, delta)
                return AppendOutcome(stream=None, accepted=True, written=True)
            stream, duplicate, expected = self._cancelled(stream_id, delta, now, stream_ok)
            return AppendOutcome(stream=stream, accepted=duplicate, expected_start=expected)

    def heartbeat(self, stream_id: str, now: int) -> Stream | None:
        with self._lock:
            self._count("heartbeat")
            stored = self._streams.get(stream_id)
            if self._streaming_unexpired(stored, now) and stored is not None:
                stored.last_heartbeat = now
                # The stream as updated (DynamoDB's ALL_NEW): None means "no such stream".
                return copy.deepcopy(stored)
            # Not streaming (a no-op), expired or missing: the stream as found.
            return self._get_live(stream_id, now)

    def _terminate(
        self,
        stream_id: str,
        now: int,
        final_delta: DeltaWrite | None,
        apply: Callable[[Stream], None],
        extra_condition: Callable[[Stream], bool] | None,
        make_after: Callable[[Stream], Stream],
    ) -> TransitionOutcome:
        before = self._get_live(stream_id, now)
        if before is None or before.status != "streaming":
            return TransitionOutcome(before=before, after=before, changed=False)
        stored = self._streams[stream_id]
        stream_ok = (
            self._streaming_unexpired(stored, now)
            and (extra_condition is None or extra_condition(stored))
            and (final_delta is None or stored.next_start == final_delta.start)
        )
        delta_free = final_delta is None or final_delta.start not in self._deltas.get(stream_id, {})
        if not (stream_ok and delta_free):
            stream, duplicate, expected = self._cancelled(stream_id, final_delta, now, stream_ok)
            if (
                duplicate
                and stream is not None
                and stream.status == "streaming"
                and (extra_condition is None or extra_condition(stored))
            ):
                # The final delta is already stored: accepted, as in DynamoRepository;
                # the stream ends without writing it again.
                apply(stored)
                return TransitionOutcome(before=before, after=make_after(before), changed=True)
            return TransitionOutcome(
                before=stream, after=stream, changed=False, expected_start=expected
            )
        apply(stored)
        if final_delta is not None:
            stored.next_start = final_delta.end
            stored.last_heartbeat = now
            self._store_delta(stream_id, final_delta)
        after = make_after(before)
        if final_delta is not None:
            after = replace(after, next_start=final_delta.end, last_heartbeat=now)
        return TransitionOutcome(before=before, after=after, changed=True)

    def finish(
        self,
        stream_id: str,
        now: int,
        final_delta: DeltaWrite | None,
        cleanup_schedule: str,
        expires_at: int,
    ) -> TransitionOutcome:
        def apply(stream: Stream) -> None:
            stream.status = "finished"
            stream.ended_at = now
            stream.cleanup_schedule = cleanup_schedule
            stream.expires_at = expires_at

        with self._lock:
            self._count("finish")
            return self._terminate(
                stream_id,
                now,
                final_delta,
                apply,
                None,
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
        def apply(stream: Stream) -> None:
            stream.status = "aborted"
            stream.reason = reason
            stream.ended_at = now
            stream.expires_at = expires_at  # None removes the TTL

        extra = None if silent_since is None else (lambda s: s.last_heartbeat <= silent_since)
        with self._lock:
            self._count("abort")
            return self._terminate(
                stream_id,
                now,
                final_delta,
                apply,
                extra,
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
        with self._lock:
            self._count("rearm_timeout")
            stored = self._streams.get(stream_id)
            # DynamoRepository's condition is the status alone: no TTL check here.
            if stored is None or stored.status != "streaming":
                return None
            stored.timeout_schedule = schedule_name
            stored.timeout_at = timeout_at
            stored.expires_at = expires_at
            return copy.deepcopy(stored)

    # -- deltas -----------------------------------------------------------------

    def _read(self, stream_id: str, cursor: int, now: int, limit: int) -> list[Delta]:
        deltas = self._deltas.get(stream_id, {})
        # DynamoDB's Limit counts the items it examines before the TTL filter runs,
        # so expired deltas in the first ``limit`` leave the page short; a page of
        # nothing but expired ones is read past (up to 10 pages), as DynamoRepository does.
        starts = sorted(start for start in deltas if start >= cursor)
        found: list[Delta] = []
        for page in range(10):
            window = starts[page * limit : (page + 1) * limit]
            found = [
                Delta(stream_id, start, deltas[start].end, deltas[start].parts_json)
                for start in window
                if not _expired(deltas[start].expires_at, now)
            ]
            if found or (page + 1) * limit >= len(starts):
                break
        return found

    def read_deltas(
        self, cursors: Sequence[tuple[str, int]], now: int, limit: int
    ) -> list[list[Delta]]:
        with self._lock:
            self._count("read_deltas")
            return [self._read(stream_id, cursor, now, limit) for stream_id, cursor in cursors]

    def delta_starts(
        self, stream_id: str, before: int | None, limit: int
    ) -> tuple[list[int], bool]:
        with self._lock:
            self._count("delta_starts")
            starts = sorted(
                (s for s in self._deltas.get(stream_id, {}) if before is None or s < before),
                reverse=True,
            )
            page = starts[:limit]
            # AWS returns LastEvaluatedKey whenever a page fills up, even if nothing
            # follows (moto does not): a full page is never the last one.
            return page, len(page) < limit

    def delete_deltas(self, stream_id: str, starts: Sequence[int], *, with_stream: bool) -> None:
        with self._lock:
            self._count("delete_deltas")
            deltas = self._deltas.setdefault(stream_id, {})
            # Batches of 25 like BatchWriteItem, which refuses a batch naming one key
            # twice (after the batches before it were written).
            for offset in range(0, len(starts), _BATCH_LIMIT):
                batch = starts[offset : offset + _BATCH_LIMIT]
                if len(set(batch)) != len(batch):
                    raise ValueError("a batch of deletes names a delta twice")
                for start in batch:
                    deltas.pop(start, None)
            if not deltas:
                del self._deltas[stream_id]
            if with_stream:
                self._streams.pop(stream_id, None)

    # -- deletion ---------------------------------------------------------------

    def thread_streams(
        self, thread_id: str, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[Stream]:
        with self._lock:
            self._count("thread_streams")
            return self._index_query(thread_id, None, lambda _: True, None, limit, False, exclude)

    def delete_stream(self, stream_id: str, *, only_if: StreamStatus | None = None) -> bool:
        with self._lock:
            self._count("delete_stream")
            stored = self._streams.get(stream_id)
            if only_if is not None and (stored is None or stored.status != only_if):
                return False
            # Like DynamoDB's DeleteItem: no TTL check, and deleting nothing succeeds.
            self._streams.pop(stream_id, None)
            return True


if TYPE_CHECKING:
    # mypy proves the fake implements the whole protocol (nothing else in the package uses it).
    _conforms: Repository = InMemoryRepository()
