"""The TTL rule: no acknowledged delta expires while its stream can be read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent_streams.config import Settings
from agent_streams.service.ttl import (
    LIVE_GRACE_MS,
    aborted_stream_expiry,
    delta_expiry,
    finished_stream_expiry,
    lifetime_end,
    live_stream_expiry,
    next_timeout,
)
from agent_streams_protocol.limits import MAX_STREAM_LIFETIME_MS, TIMEOUT_MS

CREATED = 1_767_225_600_000
HOUR_MS = 3_600_000


@given(
    retention_days=st.integers(1, 3650),
    heartbeat=st.integers(0, MAX_STREAM_LIFETIME_MS),
)
def test_the_timeout_is_never_armed_past_the_lifetime(retention_days: int, heartbeat: int) -> None:
    due = next_timeout(CREATED, CREATED + heartbeat)
    assert due <= lifetime_end(CREATED)
    assert due <= CREATED + heartbeat + TIMEOUT_MS


@given(
    retention_days=st.integers(1, 3650),
    written=st.integers(0, MAX_STREAM_LIFETIME_MS + LIVE_GRACE_MS),
    ended=st.integers(0, MAX_STREAM_LIFETIME_MS + LIVE_GRACE_MS),
)
def test_a_delta_outlives_every_state_its_stream_can_be_read_in(
    retention_days: int, written: int, ended: int
) -> None:
    """A stream ends (or, its schedule lost, expires) by created + lifetime + 1 h; a delta
    is written after its stream was created. Whatever the order of the two, the delta's
    TTL is later than the stream's in every state."""
    settings = Settings(retention_days=retention_days)
    delta = delta_expiry(CREATED + written, settings)
    last_timeout = lifetime_end(CREATED)
    assert delta > live_stream_expiry(last_timeout)
    assert delta > finished_stream_expiry(CREATED + ended)
    assert delta > aborted_stream_expiry(CREATED + ended, settings)
    # ... with most of a day to spare.
    assert delta - aborted_stream_expiry(CREATED + ended, settings) >= 22 * HOUR_MS // 1000


@given(
    retention_days=st.integers(1, 3650),
    retention_fraction=st.floats(0, 1),
    written=st.integers(0, MAX_STREAM_LIFETIME_MS + LIVE_GRACE_MS),
    ended=st.integers(0, MAX_STREAM_LIFETIME_MS + LIVE_GRACE_MS),
)
def test_a_streams_own_retention_keeps_the_rule(
    retention_days: int, retention_fraction: float, written: int, ended: int
) -> None:
    """retentionSeconds is at most RetentionDays: a delta still outlives its stream, finished
    or aborted, by most of a day."""
    settings = Settings(retention_days=retention_days)
    retention = max(1, int(settings.retention_seconds * retention_fraction))
    delta = delta_expiry(CREATED + written, settings)
    for stream in (
        finished_stream_expiry(CREATED + ended, retention * 1000),
        aborted_stream_expiry(CREATED + ended, settings, retention),
    ):
        assert delta - stream >= 22 * HOUR_MS // 1000
