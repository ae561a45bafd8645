"""``publish_events``: the lifecycle events and snapshots, from the tables' DynamoDB streams.

Every change of the Streams and Threads tables is a record on their DynamoDB
streams, written by DynamoDB with the change itself: a function that commits and
then dies, a timeout fired by the scheduler, a page of the deletion state machine —
each leaves its records. Lambda's event source mappings (``template.yaml``) filter
them before anything runs (a delta's update of its stream is no event and costs no
invocation) and hand this function, in order:

- a stream's terminal transition (``status`` from ``streaming`` to ``finished`` or
  ``aborted``): its snapshot is stored (``service.snapshots``), then ``Stream
  Finished`` / ``Stream Aborted`` is published, so a rule's target can already read
  the message in one request;
- a stream item's removal: ``Stream Deleted`` (``expired: true`` when the TTL
  removed it), and its snapshot's items go too if the deletion raced past them;
- a thread item's removal: ``Thread Deleted``.

Events go out in PutEvents calls of up to 10. The reply names the first record not
done (``batchItemFailures``), and the mapping hands it and those after it over again:
every event is published at least once. A snapshot that cannot be made (a message
too large to keep) is logged and the event published anyway; one that fails
transiently is tried again with its record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agent_streams import lifecycle_events
from agent_streams.lifecycle_events import LifecycleEvent, stream_event, thread_event
from agent_streams.observability import count, logger
from agent_streams.service import snapshots
from agent_streams.service.arguments import StreamRecordsArgs
from agent_streams.service.context import Services, services
from agent_streams.types import Stream
from agent_streams_protocol.errors import ServiceUnavailable

Kind = Literal["ended", "stream removed", "thread removed", "ignored", "unreadable"]
#: How DynamoDB signs the removals its TTL makes.
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


@dataclass(frozen=True, slots=True)
class Change:
    """One record, read."""

    sequence: str
    kind: Kind
    stream: Stream | None = None
    thread_id: str | None = None
    user_id: str | None = None
    #: Removed by the TTL backstop.
    expired: bool = False
    #: When DynamoDB recorded it (epoch ms), when the record says.
    recorded_ms: int | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The reply Lambda's event source mapping reads (``ReportBatchItemFailures``)."""

    failed: list[str] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": s} for s in self.failed]}


def _image(dynamodb: Mapping[str, Any], name: str) -> dict[str, Any]:
    image = dynamodb.get(name)
    if not isinstance(image, dict) or not image:
        raise ValueError(f"the record has no {name}: the stream must be NEW_AND_OLD_IMAGES")
    return image


def read_record(record: Mapping[str, Any]) -> Change:
    """What a DynamoDB stream record (as Lambda hands it over) means here."""
    # Here, not at import: the conversions bring PynamoDB's models (a cold start's worth).
    from agent_streams.storage.conversions import stream_from_raw

    dynamodb = record["dynamodb"]
    sequence = str(dynamodb["SequenceNumber"])
    keys = dynamodb["Keys"]
    event = record.get("eventName")
    recorded = dynamodb.get("ApproximateCreationDateTime")
    recorded_ms = None if recorded is None else int(float(recorded) * 1000)
    identity = record.get("userIdentity") or {}
    by_ttl = identity.get("type") == "Service" and identity.get("principalId") == TTL_PRINCIPAL
    if "streamId" in keys:
        if event == "MODIFY":
            old, new = _image(dynamodb, "OldImage"), _image(dynamodb, "NewImage")
            was = old.get("status", {}).get("S")
            now = new.get("status", {}).get("S")
            if was == "streaming" and now in ("finished", "aborted"):
                return Change(sequence, "ended", stream=stream_from_raw(new))
        elif event == "REMOVE":
            stream = stream_from_raw(_image(dynamodb, "OldImage"))
            return Change(
                sequence, "stream removed", stream=stream, expired=by_ttl, recorded_ms=recorded_ms
            )
    elif "threadId" in keys and event == "REMOVE":
        old = _image(dynamodb, "OldImage")
        user = old.get("userId", {}).get("S")
        return Change(
            sequence,
            "thread removed",
            thread_id=str(keys["threadId"]["S"]),
            user_id=None if user is None else str(user),
            recorded_ms=recorded_ms,
        )
    return Change(sequence, "ignored")


def _event(ctx: Services, change: Change, removed_later: bool) -> LifecycleEvent | None:
    """The record's work: its snapshot or leftovers, and the event it makes."""
    stack = ctx.settings.stack_name
    stream = change.stream
    if change.kind == "ended":
        assert stream is not None
        # A stream aborted by its own deletion (its deltas are going) needs no snapshot;
        # nor one removed later in the same batch.
        if not (stream.deleting or removed_later):
            _snapshot(ctx, stream)
        detail_type = (
            lifecycle_events.STREAM_FINISHED
            if stream.status == "finished"
            else lifecycle_events.STREAM_ABORTED
        )
        return stream_event(detail_type, stream, stack, stream.ended_at or ctx.now())
    if change.kind == "stream removed":
        assert stream is not None
        if stream.snapshot_chunks:
            # Its deletion may have listed the stream's items before the snapshot's
            # were written: they go now (deleting what is gone already costs nothing more).
            ctx.repository.delete_snapshot(stream.stream_id, stream.snapshot_chunks)
        return stream_event(
            lifecycle_events.STREAM_DELETED,
            stream,
            stack,
            change.recorded_ms or ctx.now(),
            expired=change.expired,
        )
    if change.kind == "thread removed":
        assert change.thread_id is not None
        return thread_event(
            change.thread_id, change.user_id, stack, change.recorded_ms or ctx.now()
        )
    return None


def _snapshot(ctx: Services, stream: Stream) -> None:
    try:
        snapshots.store(ctx, stream, ctx.now())
    except ServiceUnavailable:
        raise  # transient: the record is tried again
    except Exception:
        # A snapshot is an optimisation for readers; the event must not wait for one
        # that can never be made.
        count("SnapshotFailures")
        logger.exception("could not store a snapshot", extra={"streamId": stream.stream_id})


class _Outbox:
    """Events waiting for their PutEvents call, with the records they come from."""

    def __init__(self, ctx: Services) -> None:
        self._publisher = ctx.publisher()
        self._pending: list[tuple[str, LifecycleEvent]] = []

    def add(self, sequence: str, event: LifecycleEvent) -> str | None:
        """Queue an event; when a call's worth is queued, send it. The sequence number of
        the first record whose event is not published, if any."""
        self._pending.append((sequence, event))
        return self.flush() if len(self._pending) >= lifecycle_events.MAX_ENTRIES else None

    def flush(self) -> str | None:
        pending, self._pending = self._pending, []
        if not pending:
            return None
        published = self._publisher.publish([event for _, event in pending])
        count("EventsPublished", published)
        return pending[published][0] if published < len(pending) else None

    def failing_at(self, sequence: str) -> BatchResult:
        """The reply when record ``sequence`` failed: the events before it go out first."""
        earlier = self.flush()
        return BatchResult([earlier if earlier is not None else sequence])


def publish_events(args: StreamRecordsArgs) -> BatchResult:
    ctx = services()
    outbox = _Outbox(ctx)
    changes: list[Change] = []
    for record in args["Records"]:
        try:
            changes.append(read_record(record))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # Left to the mapping's retries and its on-failure destination: DynamoDB never
            # sends such a record, so this is a wiring mistake to see, not one to skip.
            logger.error("an unreadable stream record", extra={"error": repr(exc)})
            dynamodb = record.get("dynamodb")
            sequence = dynamodb.get("SequenceNumber") if isinstance(dynamodb, dict) else None
            changes.append(Change(str(sequence or ""), "unreadable"))
            break
    removed = {c.stream.stream_id for c in changes if c.kind == "stream removed" and c.stream}
    for change in changes:
        if change.kind == "unreadable":
            return outbox.failing_at(change.sequence)
        try:
            event = _event(
                ctx,
                change,
                removed_later=change.stream is not None and change.stream.stream_id in removed,
            )
        except Exception:
            logger.exception("a stream record failed", extra={"sequence": change.sequence})
            return outbox.failing_at(change.sequence)
        if event is not None:
            failed = outbox.add(change.sequence, event)
            if failed is not None:
                return BatchResult([failed])
    failed = outbox.flush()
    return BatchResult([] if failed is None else [failed])
