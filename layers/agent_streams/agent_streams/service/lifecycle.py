"""The scheduler targets: ``timeout_stream`` and ``cleanup_stream``.

Both are idempotent and check state first: a duplicate, late or stale firing
does nothing harmful. Writes never touch the schedule; the timeout re-arms
itself for ``lastHeartbeat + 10 min`` when the stream was not silent, but never
past the end of the stream's lifetime (``ttl.lifetime_end``), when it aborts the
stream with reason ``expired`` however recently it was written.
"""

from __future__ import annotations

from agent_streams.deadline import current_deadline
from agent_streams.observability import count, logger
from agent_streams.scheduling import schedule_name
from agent_streams.service.arguments import CleanupStreamArgs
from agent_streams.service.context import Services, services
from agent_streams.service.deletion import Budget, purge_stream
from agent_streams.service.streams import (
    abort_keeping_retention,
    arm_cleanup,
    arm_quietly,
    cancel_quietly,
)
from agent_streams.service.ttl import lifetime_end, live_stream_expiry, next_timeout
from agent_streams.types import Stream
from agent_streams_protocol.limits import MINUTE_MS, TIMEOUT_MS
from agent_streams_protocol.shapes import StreamRequest

#: When a cleanup runs out of time, it continues itself this long after.
CLEANUP_CONTINUATION_MS = MINUTE_MS
#: The reason a stream that reached its lifetime is aborted with.
EXPIRED = "expired"


def _generation(name: str | None) -> int:
    if not name:
        return 0
    try:
        return int(name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def timeout_stream(args: StreamRequest) -> None:
    ctx = services()
    now = ctx.now()
    stream = ctx.repository.get_stream(args["streamId"], now)
    if stream is None or stream.status != "streaming":
        logger.info(
            "timeout for a stream that is not streaming", extra={"streamId": args["streamId"]}
        )
        return
    if stream.timeout_at is not None and stream.timeout_at > now:
        return  # a stale firing: a later schedule is armed
    if now >= lifetime_end(stream.created_at):
        outcome = abort_keeping_retention(ctx, args["streamId"], EXPIRED, None, now)
        if outcome.changed:
            count("StreamsExpired")
            logger.info("stream reached its lifetime", extra={"streamId": args["streamId"]})
            arm_cleanup(ctx, outcome)
        return
    if now - stream.last_heartbeat >= TIMEOUT_MS:
        outcome = abort_keeping_retention(
            ctx, args["streamId"], "timeout", None, now, silent_since=now - TIMEOUT_MS
        )
        if outcome.changed:
            count("StreamsTimedOut")
            logger.info("stream timed out", extra={"streamId": args["streamId"]})
            arm_cleanup(ctx, outcome)
            return
        # A write or an ending raced the abort: look again.
        stream = ctx.repository.get_stream(args["streamId"], now)
        if stream is None or stream.status != "streaming":
            return
    _rearm(ctx, stream)


def _rearm(ctx: Services, stream: Stream) -> None:
    due = next_timeout(stream.created_at, stream.last_heartbeat)
    name = schedule_name("timeout", stream.stream_id, _generation(stream.timeout_schedule) + 1)
    ctx.scheduler.schedule(name, due, "timeout", stream.stream_id)
    if ctx.repository.rearm_timeout(stream.stream_id, name, due, live_stream_expiry(due)) is None:
        cancel_quietly(ctx, name)  # the stream ended meanwhile


def cleanup_stream(args: CleanupStreamArgs) -> None:
    """Delete a stream its retention is over for, and its deltas, continuing itself until done.

    Deletes a finished stream, or an aborted one created with its own
    ``retentionSeconds``, once that long has passed since it ended (5 minutes for a
    finished one by default); never one that is streaming, or aborted and kept (the
    reference's rule). Removes the leftovers of a stream that is already gone.
    """
    ctx = services()
    now = ctx.now()
    stream = ctx.repository.get_stream(args["streamId"], now)
    if stream is not None and not stream.cleaned_up_after_retention:
        logger.info(
            "cleanup of a stream that is not to be cleaned up",
            extra={"streamId": args["streamId"], "status": stream.status},
        )
        return
    if stream is not None and stream.ended_at is not None:
        due = stream.ended_at + stream.retention_ms
        if now < due:
            arm_quietly(
                ctx,
                schedule_name("cleanup", args["streamId"], due),
                due,
                "cleanup",
                args["streamId"],
            )
            return
    resume = purge_stream(ctx, args["streamId"], stream, Budget(current_deadline()), "cleanup")
    if resume is not None:
        name = schedule_name("cleanup", args["streamId"], resume)
        arm_quietly(ctx, name, now + CLEANUP_CONTINUATION_MS, "cleanup", args["streamId"])
        return
    if stream is not None:
        count("StreamsCleanedUp")
