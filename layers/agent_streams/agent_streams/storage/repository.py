"""What the service needs from storage, in domain terms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, TypeVar, Union

from agent_streams.storage.spill import PartObject
from agent_streams.types import Delta, Stream, StreamStatus, Thread

T = TypeVar("T")
#: A value a terminal transition sets, or how to decide it from the stream as the
#: transition read it (expiry and cleanup depend on the stream's ``retentionSeconds``).
Decided: TypeAlias = Union[T, Callable[[Stream], T]]  # noqa: UP007 - a generic alias


@dataclass(frozen=True, slots=True)
class DeltaWrite:
    """A delta to store: parts ``[start, end)`` of a stream, already encoded."""

    start: int
    end: int
    #: The item's parts text: markers in place of the spilled parts (``storage.spill``).
    parts_json: str
    expires_at: int
    #: Where the markers are in ``parts_json``, and the objects to put first.
    spilled: tuple[int, ...] = ()
    objects: tuple[PartObject, ...] = ()


@dataclass(frozen=True, slots=True)
class AppendOutcome:
    #: The stream as found when the delta was not written by this call (None: missing,
    #: expired, or the delta was written, leaving the stream streaming).
    stream: Stream | None
    #: The delta is stored: written by this call or an identical earlier one.
    accepted: bool = False
    #: This call wrote it.
    written: bool = False
    #: Set when a streaming stream expected another start: the caller's log has a gap or overlap.
    expected_start: int | None = None


@dataclass(frozen=True, slots=True)
class TransitionOutcome:
    """The result of moving a stream to a terminal state."""

    #: The stream as it was before the call (None: missing or expired).
    before: Stream | None
    #: The stream after the call.
    after: Stream | None
    #: Whether this call made the transition (False: it was not streaming).
    changed: bool
    #: Set when a final delta did not fit the log of a streaming stream.
    expected_start: int | None = None


class Repository(Protocol):
    # threads
    def create_thread(self, thread: Thread) -> None: ...
    def get_thread(self, thread_id: str) -> Thread | None: ...
    def begin_thread_deletion(self, thread_id: str, now: int) -> Thread:
        """Mark the thread ``deleting`` (idempotent); raises ThreadNotFound."""
        ...

    def record_thread_execution(self, thread_id: str, attempt: int, execution_arn: str) -> bool:
        """Store the execution running attempt ``attempt``; False if another attempt won."""
        ...

    def delete_thread(self, thread_id: str) -> None: ...

    # streams
    def create_stream(self, stream: Stream) -> None:
        """Store a new stream iff its thread exists and is active (one atomic write)."""
        ...

    def get_stream(self, stream_id: str, now: int) -> Stream | None: ...
    def list_streams(
        self,
        thread_id: str,
        statuses: Sequence[StreamStatus],
        start_order: int,
        now: int,
        limit: int,
    ) -> list[Stream]:
        """Streams with ``order >= start_order``, newest first by (order, stepOrder)."""
        ...

    def streams_at_order(
        self,
        thread_id: str,
        order: int,
        max_step_order: int,
        statuses: Sequence[StreamStatus],
        now: int,
        limit: int,
    ) -> list[Stream]:
        """Streams at ``order`` with ``stepOrder <= max_step_order``, newest first."""
        ...

    def append(self, stream_id: str, delta: DeltaWrite, now: int) -> AppendOutcome:
        """Store the delta's spilled parts, then append it (one transaction)."""
        ...

    def heartbeat(self, stream_id: str, now: int) -> Stream | None: ...
    def finish(
        self,
        stream_id: str,
        now: int,
        final_delta: DeltaWrite | None,
        cleanup_schedule: str,
        expires_at: Decided[int],
    ) -> TransitionOutcome: ...

    def abort(
        self,
        stream_id: str,
        reason: str,
        now: int,
        final_delta: DeltaWrite | None,
        expires_at: Decided[int | None],
        *,
        silent_since: int | None = None,
        cleanup_schedule: Decided[str | None] = None,
        deleting: bool = False,
    ) -> TransitionOutcome:
        """Abort a streaming stream. With ``silent_since``, only if its last heartbeat
        is at or before that time (the timeout), checked atomically with the write; with
        a ``cleanup_schedule``, it is recorded (the schedule that will delete the stream);
        ``deleting``: the abort begins the stream's deletion (recorded on it)."""
        ...

    def rearm_timeout(
        self, stream_id: str, schedule_name: str, timeout_at: int, expires_at: int
    ) -> Stream | None:
        """Record the new timeout schedule of a streaming stream; None if not streaming."""
        ...

    # deltas
    def read_deltas(
        self, cursors: Sequence[tuple[str, int]], now: int, limit: int
    ) -> list[list[Delta]]:
        """Per cursor, up to ``limit`` unexpired deltas with ``start >= cursor``, in order."""
        ...

    def delta_starts(
        self, stream_id: str, before: int | None, limit: int
    ) -> tuple[list[int], bool]:
        """Starts of a page of a stream's deltas, newest first, below ``before`` (any expiry),
        and whether it was the last page."""
        ...

    def delete_deltas(self, stream_id: str, starts: Sequence[int], *, with_stream: bool) -> None:
        """Delete these deltas (and the stream item too, if asked) in 25-item batches."""
        ...

    # snapshots (``storage.snapshots``)
    def store_snapshot(
        self, stream_id: str, status: StreamStatus, data: bytes, now: int, expires_at: int
    ) -> bool:
        """Store the snapshot of a stream that ended ``status``, once; False if not written
        (the stream is gone, expired, not in that status, or has one)."""
        ...

    def read_snapshot(self, stream_id: str, chunks: int) -> bytes | None:
        """A snapshot of ``chunks`` items (the stream's ``snapshot_chunks``), in one request."""
        ...

    def find_snapshot(self, stream_id: str) -> bytes | None:
        """The stream's snapshot, if it has one, without knowing its size."""
        ...

    def delete_snapshot(self, stream_id: str, chunks: int) -> None: ...

    # spilled parts (S3)
    def resolve_deltas(self, deltas: Sequence[Delta]) -> list[Delta]:
        """The deltas with their spilled parts put back (read concurrently, checked),
        in order. A delta whose part is gone because the delta was deleted meanwhile
        ends its stream's deltas there; a part missing from a delta still stored is an
        ``InternalError``."""
        ...

    def delete_spilled_parts(self, stream_id: str) -> int:
        """Delete every spilled part of the stream (its deltas gone or not); how many."""
        ...

    # deletion
    def thread_streams(
        self, thread_id: str, limit: int, exclude: frozenset[str] = frozenset()
    ) -> list[Stream]:
        """Remaining streams of a thread (any status, expired too), but those in ``exclude``."""
        ...

    def delete_stream(self, stream_id: str, *, only_if: StreamStatus | None = None) -> bool: ...
