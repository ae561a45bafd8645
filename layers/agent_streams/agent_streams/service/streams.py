"""One stream's life: create, read, heartbeat, finish, abort."""

from __future__ import annotations

from typing import cast

from agent_streams.ids import new_stream_id
from agent_streams.observability import count, logger
from agent_streams.scheduling import Target, schedule_name
from agent_streams.service.access import (
    ensure_stream_writable,
    ensure_thread_readable,
    ensure_thread_writable,
    owner_for_new,
)
from agent_streams.service.appends import prepare_delta
from agent_streams.service.context import Services, services
from agent_streams.service.ttl import (
    aborted_stream_expiry,
    finished_stream_expiry,
    live_stream_expiry,
)
from agent_streams.storage.repository import DeltaWrite, TransitionOutcome
from agent_streams.types import Stream, StreamStatus
from agent_streams_protocol.errors import (
    DeltaConflict,
    StreamNotFound,
    ThreadNotFound,
    ValidationError,
)
from agent_streams_protocol.limits import MAX_ORDER, MAX_STREAMS_PER_LIST, TIMEOUT_MS
from agent_streams_protocol.shapes import (
    AbortStreamRequest,
    AbortStreamsByOrderRequest,
    CreateStreamRequest,
    FinishStreamRequest,
    ListStreamsRequest,
    StreamMetadata,
    StreamRequest,
)

#: What of create_stream's arguments is the stream's metadata: every key its shape declares.
METADATA_KEYS = StreamMetadata.__required_keys__ | StreamMetadata.__optional_keys__


def metadata_of(args: CreateStreamRequest) -> StreamMetadata:
    """The stream's metadata among create_stream's arguments; its ``userId`` is the
    caller's (a JWT caller's own subject)."""
    meta = cast(StreamMetadata, {k: v for k, v in args.items() if k in METADATA_KEYS})
    owner = owner_for_new(meta.get("userId"), "stream")
    if owner is not None:
        meta["userId"] = owner
    return meta


def create_stream(args: CreateStreamRequest) -> str:
    """Create a streaming stream in an active thread and arm its timeout."""
    ctx = services()
    longest = ctx.settings.retention_seconds
    retention = args.get("retentionSeconds")
    if retention is not None and retention > longest:
        raise ValidationError(
            f"retentionSeconds: at most {longest} (the stack's RetentionDays, "
            f"{ctx.settings.retention_days}), not {retention}"
        )
    ensure_thread_writable(ctx, args["threadId"])
    now = ctx.now()
    stream_id = new_stream_id(args["threadId"])
    timeout_at = now + TIMEOUT_MS
    timeout_schedule = schedule_name("timeout", stream_id, 0)
    stream = Stream(
        stream_id=stream_id,
        thread_id=args["threadId"],
        order=args["order"],
        step_order=args["stepOrder"],
        status="streaming",
        created_at=now,
        last_heartbeat=now,
        meta=metadata_of(args),
        timeout_schedule=timeout_schedule,
        timeout_at=timeout_at,
        expires_at=live_stream_expiry(timeout_at),
        retention_seconds=args.get("retentionSeconds"),
    )
    # Arm first: a timeout that fires for a stream that never got stored does nothing,
    # while a stored stream without a timeout could stay "streaming" for an hour.
    ctx.scheduler.schedule(timeout_schedule, timeout_at, "timeout", stream_id)
    try:
        ctx.repository.create_stream(stream)
    except BaseException:
        cancel_quietly(ctx, timeout_schedule)
        raise
    count("StreamsCreated")
    return stream_id


def get_stream(args: StreamRequest) -> Stream:
    ctx = services()
    stream = ctx.repository.get_stream(args["streamId"], ctx.now())
    if stream is None:
        raise StreamNotFound(args["streamId"])
    try:
        ensure_thread_readable(ctx, stream.thread_id)
    except ThreadNotFound:
        raise StreamNotFound(args["streamId"]) from None
    return stream


def list_streams(args: ListStreamsRequest) -> list[Stream]:
    ctx = services()
    ensure_thread_readable(ctx, args["threadId"])
    statuses: list[StreamStatus] = list(args.get("statuses") or ["streaming"])
    return ctx.repository.list_streams(
        args["threadId"], statuses, args.get("startOrder") or 0, ctx.now(), MAX_STREAMS_PER_LIST
    )


def heartbeat_stream(args: StreamRequest) -> None:
    """Move ``lastHeartbeat`` of a streaming stream (a no-op for ended ones)."""
    ctx = services()
    ensure_stream_writable(ctx, args["streamId"], ctx.now())
    stream = ctx.repository.heartbeat(args["streamId"], ctx.now())
    if stream is None:
        raise StreamNotFound(args["streamId"])


def _final(
    ctx: Services, args: FinishStreamRequest | AbortStreamRequest, now: int
) -> DeltaWrite | None:
    final = args.get("finalDelta")
    return None if final is None else prepare_delta(final, now, ctx.settings)


def _check(outcome: TransitionOutcome, stream_id: str, final: DeltaWrite | None) -> Stream:
    if outcome.before is None:
        raise StreamNotFound(stream_id)
    if outcome.expected_start is not None and final is not None:
        count("DeltaConflicts")
        raise DeltaConflict(stream_id, final.start, outcome.expected_start)
    return outcome.before


def finish_stream(args: FinishStreamRequest) -> StreamStatus:
    """Finish a streaming stream (with its last delta, atomically) and arm its cleanup."""
    ctx = services()
    now = ctx.now()
    ensure_stream_writable(ctx, args["streamId"], now)
    final = _final(ctx, args, now)
    cleanup_schedule = schedule_name("cleanup", args["streamId"], 0)
    outcome = ctx.repository.finish(
        args["streamId"],
        now,
        final,
        cleanup_schedule,
        lambda stream: finished_stream_expiry(now, stream.retention_ms),
    )
    before = _check(outcome, args["streamId"], final)
    if not outcome.changed:
        logger.warning(
            "finish of a stream that is not streaming",
            extra={"streamId": args["streamId"], "status": before.status},
        )
        return before.status if outcome.after is None else outcome.after.status
    count("StreamsFinished")
    arm_quietly(ctx, cleanup_schedule, now + before.retention_ms, "cleanup", args["streamId"])
    cancel_quietly(ctx, before.timeout_schedule)
    return "finished"


def abort_stream(args: AbortStreamRequest) -> bool:
    ctx = services()
    now = ctx.now()
    ensure_stream_writable(ctx, args["streamId"], now)
    final = _final(ctx, args, now)
    return _abort(ctx, args["streamId"], args["reason"], final, now)


def _abort(ctx: Services, stream_id: str, reason: str, final: DeltaWrite | None, now: int) -> bool:
    outcome = abort_keeping_retention(ctx, stream_id, reason, final, now)
    before = _check(outcome, stream_id, final)
    if outcome.changed:
        count("StreamsAborted")
        cancel_quietly(ctx, before.timeout_schedule)
        arm_cleanup(ctx, outcome)
    return outcome.changed


def abort_keeping_retention(
    ctx: Services,
    stream_id: str,
    reason: str,
    final: DeltaWrite | None,
    now: int,
    *,
    silent_since: int | None = None,
) -> TransitionOutcome:
    """Abort a streaming stream: one created with its own ``retentionSeconds`` expires (and
    is cleaned up, see :func:`arm_cleanup`) like a finished one; any other stays until
    deleted or the stack's ``RetentionDays``, as in the reference."""
    cleanup = schedule_name("cleanup", stream_id, 0)
    return ctx.repository.abort(
        stream_id,
        reason,
        now,
        final,
        lambda stream: aborted_stream_expiry(now, ctx.settings, stream.retention_seconds),
        silent_since=silent_since,
        cleanup_schedule=lambda stream: None if stream.retention_seconds is None else cleanup,
    )


def arm_cleanup(ctx: Services, outcome: TransitionOutcome) -> None:
    """After an abort: arm the cleanup of a stream kept only for its ``retentionSeconds``."""
    after = outcome.after
    if (
        outcome.changed
        and after is not None
        and after.cleaned_up_after_retention
        and after.cleanup_schedule
        and after.ended_at is not None
    ):
        due = after.ended_at + after.retention_ms
        arm_quietly(ctx, after.cleanup_schedule, due, "cleanup", after.stream_id)


def abort_streams_by_order(args: AbortStreamsByOrderRequest) -> bool:
    """Abort up to 100 streaming streams of a thread at one order; whether any was aborted."""
    ctx = services()
    ensure_thread_writable(ctx, args["threadId"])
    now = ctx.now()
    streams = ctx.repository.streams_at_order(
        args["threadId"], args["order"], MAX_ORDER, ["streaming"], now, MAX_STREAMS_PER_LIST
    )
    aborted = False
    for stream in streams:
        try:
            aborted = _abort(ctx, stream.stream_id, args["reason"], None, now) or aborted
        except StreamNotFound:
            continue  # deleted since the index saw it
    return aborted


def arm_quietly(ctx: Services, name: str, at_ms: int, target: Target, stream_id: str) -> None:
    """Arm a schedule after the state change it follows is committed.

    A failure here must not undo the committed change; the TTL backstop covers
    the lost schedule, and the failure is logged and counted.
    """
    try:
        ctx.scheduler.schedule(name, at_ms, target, stream_id)
    except Exception:
        count("ScheduleFailures")
        logger.exception("could not arm a schedule", extra={"schedule": name})


def cancel_quietly(ctx: Services, name: str | None) -> None:
    """Cancel a schedule if there is one; a schedule left behind fires and finds nothing to do."""
    if not name:
        return
    try:
        ctx.scheduler.cancel(name)
    except Exception:
        count("ScheduleFailures")
        logger.exception("could not cancel a schedule", extra={"schedule": name})
