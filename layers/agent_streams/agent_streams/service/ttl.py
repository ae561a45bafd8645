"""When items expire: the TTL backstop behind the schedules.

Every stream and delta item carries ``expiresAt`` (epoch seconds). Reads ignore
expired items and DynamoDB removes them (within days), so a lost schedule never
leaks storage:

- a streaming stream expires an hour after its armed timeout; each timeout
  re-arm pushes it on, so only a stream whose schedule was lost ever reaches it;
- a finished stream expires an hour after its cleanup was due;
- an aborted stream expires ``RETENTION_DAYS`` after it ended (the partial
  reply stays available until then, or until deleted);
- a delta expires ``RETENTION_DAYS`` plus a day after it was written, so it
  outlives its stream.
"""

from __future__ import annotations

from agent_streams.config import DAY_SECONDS, Settings
from agent_streams_protocol.limits import CLEANUP_DELAY_MS, MINUTE_MS

LIVE_GRACE_MS = 60 * MINUTE_MS


def live_stream_expiry(timeout_at_ms: int) -> int:
    return (timeout_at_ms + LIVE_GRACE_MS) // 1000


def finished_stream_expiry(ended_at_ms: int) -> int:
    return (ended_at_ms + CLEANUP_DELAY_MS + LIVE_GRACE_MS) // 1000


def aborted_stream_expiry(ended_at_ms: int, settings: Settings) -> int:
    return ended_at_ms // 1000 + settings.retention_seconds


def delta_expiry(written_at_ms: int, settings: Settings) -> int:
    return written_at_ms // 1000 + settings.retention_seconds + DAY_SECONDS
