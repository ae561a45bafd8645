"""When items expire: the TTL backstop behind the schedules.

Every stream and delta item carries ``expiresAt`` (epoch seconds). Reads ignore
expired items and DynamoDB removes them (within days), so a lost schedule never
leaks storage:

- a streaming stream expires an hour after its armed timeout; each timeout
  re-arm pushes it on, so only a stream whose schedule was lost ever reaches it;
- a finished stream expires an hour after its cleanup was due (its
  ``retentionSeconds`` after it ended, 5 minutes by default);
- an aborted stream expires ``RETENTION_DAYS`` after it ended (the partial
  reply stays available until then, or until deleted), or, if it was created with
  its own ``retentionSeconds``, an hour after its cleanup was due, as a finished one;
- a delta expires ``RETENTION_DAYS`` + ``MAX_STREAM_LIFETIME`` + a day after it
  was written, and a part it spilled to S3 (the bucket's lifecycle rule)
  ``SPILL_EXPIRATION_DAYS`` after, at least a day later.

The rule that holds it together: **no acknowledged delta expires while its stream
is readable.** A stream lives at most ``MAX_STREAM_LIFETIME`` (24 hours): its
timeout schedule is never armed later than ``createdAt + MAX_STREAM_LIFETIME``,
and firing then aborts the stream with reason ``"expired"``, even if it is still
being written. So every stream ends — or, with its schedule lost, expires — by
``createdAt + MAX_STREAM_LIFETIME + 1 h``, and stays readable at most
``RETENTION_DAYS`` after that. A delta was written after its stream was created,
so it expires at least ``RETENTION_DAYS + MAX_STREAM_LIFETIME + 1 day`` after
``createdAt``: 23 hours after the last moment its stream can be read (a stream's
``retentionSeconds`` is at most ``RETENTION_DAYS``, so the rule holds for it too).
Appends stay one request: a delta's TTL depends only on when it is written.
"""

from __future__ import annotations

from agent_streams.config import DAY_SECONDS, Settings
from agent_streams_protocol.limits import (
    CLEANUP_DELAY_MS,
    MAX_STREAM_LIFETIME_MS,
    MINUTE_MS,
    TIMEOUT_MS,
)

LIVE_GRACE_MS = 60 * MINUTE_MS


def live_stream_expiry(timeout_at_ms: int) -> int:
    return (timeout_at_ms + LIVE_GRACE_MS) // 1000


def finished_stream_expiry(ended_at_ms: int, retention_ms: int = CLEANUP_DELAY_MS) -> int:
    return (ended_at_ms + retention_ms + LIVE_GRACE_MS) // 1000


def aborted_stream_expiry(
    ended_at_ms: int, settings: Settings, retention_seconds: int | None = None
) -> int:
    if retention_seconds is not None:
        return finished_stream_expiry(ended_at_ms, retention_seconds * 1000)
    return ended_at_ms // 1000 + settings.retention_seconds


def delta_expiry(written_at_ms: int, settings: Settings) -> int:
    return (
        written_at_ms // 1000
        + settings.retention_seconds
        + MAX_STREAM_LIFETIME_MS // 1000
        + DAY_SECONDS
    )


def min_spill_expiration_days(settings: Settings) -> int:
    """The fewest days the bucket may keep a spilled part's object: its delta's lifetime,
    in whole days, plus one (the object is written just before its delta, and the
    lifecycle rule counts days from the object's creation)."""
    return -(-delta_expiry(0, settings) // DAY_SECONDS) + 1


def lifetime_end(created_at_ms: int) -> int:
    """When a stream created at ``created_at_ms`` is aborted with reason ``expired``."""
    return created_at_ms + MAX_STREAM_LIFETIME_MS


def next_timeout(created_at_ms: int, last_heartbeat_ms: int) -> int:
    """When the timeout schedule of a streaming stream fires next: 10 minutes after its
    last write or heartbeat, but never past the end of its lifetime."""
    return min(last_heartbeat_ms + TIMEOUT_MS, lifetime_end(created_at_ms))
