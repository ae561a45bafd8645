"""The live reads' pieces that need no storage: ids, framing, pacing, the body's ends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agent_streams.config import ConfigurationError
from agent_streams.live import (
    DONE,
    PING,
    LiveOptions,
    StreamPosition,
    TurnPosition,
    event,
    live_options_from_env,
    parse_stream_position,
    parse_turn_position,
    sse_body,
)
from agent_streams.live.polling import PollingOptions, PollSchedule
from agent_streams.live.positions import StreamKey
from agent_streams.live.stream_feed import Round
from agent_streams_protocol.errors import ValidationError


@pytest.mark.parametrize(
    "position",
    [
        StreamPosition(0),
        StreamPosition(12),
        StreamPosition(12, index=0),
        StreamPosition(12, index=3),
        StreamPosition(7, tail="error"),
        StreamPosition(7, tail="abort"),
    ],
)
def test_stream_positions_round_trip(position: StreamPosition) -> None:
    assert parse_stream_position(position.encode()) == position


@pytest.mark.parametrize(
    "position",
    [
        TurnPosition(4),
        TurnPosition(4, finished=True),
        TurnPosition(4, StreamKey(2, "abc_DEF-1"), StreamPosition(9, index=1)),
        TurnPosition(0, StreamKey(0, "s"), StreamPosition(3, tail="abort")),
    ],
)
def test_turn_positions_round_trip(position: TurnPosition) -> None:
    assert parse_turn_position(position.encode()) == position


@pytest.mark.parametrize(
    "text", ["", "x", "-1", "01", "1.", "1.x", "1.2.3", "1 ", "1.error.1", "9" * 17, "1" * 300]
)
def test_malformed_stream_ids_are_validation_errors(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_stream_position(text)


@pytest.mark.parametrize(
    "text", ["", "x", "1.end", "1.2", "1.2.s", "1.x.s.3", "1.2.bad id.3", "1.2.s.3.4.5", "1.2.s.x"]
)
def test_malformed_turn_ids_are_validation_errors(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_turn_position(text)


def test_an_event_is_one_id_and_one_line_of_json() -> None:
    frame = event("3.1", {"type": "text-delta", "id": "t", "delta": "a\nb\r\u2028é"})
    assert (
        frame
        == 'id: 3.1\ndata: {"type":"text-delta","id":"t","delta":"a\\nb\\r\u2028é"}\n\n'.encode()
    )
    assert PING == b": ping\n\n"
    assert DONE == b"data: [DONE]\n\n"


def test_the_schedule_is_fast_while_parts_arrive_and_one_read_a_second_when_idle() -> None:
    schedule = PollSchedule(PollingOptions(fast_seconds=0.1, idle_seconds=1.0, probe_after=2))
    schedule.record(True)
    assert (schedule.probe, schedule.delay) == (False, 0.1)
    schedule.record(False)
    assert (schedule.probe, schedule.delay) == (False, 0.1)
    schedule.record(False)
    assert schedule.probe
    delays = []
    for _ in range(10):
        delays.append(schedule.delay)
        schedule.record(False)
    assert delays == sorted(delays)
    assert delays[-1] == 1.0
    assert all(d <= 1.0 for d in delays)
    schedule.record(True)
    assert (schedule.probe, schedule.delay) == (False, 0.1)


def test_options_from_the_environment() -> None:
    options = live_options_from_env({"LIVE_FAST_MS": "50", "LIVE_MAX_SECONDS": "30"})
    assert options.polling.fast_seconds == 0.05
    assert options.max_seconds == 30
    with pytest.raises(ConfigurationError):
        live_options_from_env({"LIVE_IDLE_MS": "100"})  # more than 2 reads a second
    with pytest.raises(ConfigurationError):
        live_options_from_env({"LIVE_FAST_MS": "soon"})


class FakeRounds:
    def __init__(self, rounds: list[Round]) -> None:
        self.rounds = rounds
        self.probes: list[bool] = []

    def round(self, probe: bool) -> Round:
        self.probes.append(probe)
        return self.rounds.pop(0) if self.rounds else Round()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _collect(rounds: FakeRounds, first: Round, options: LiveOptions, clock: Clock) -> list[bytes]:
    async def run_round(feed: Any, probe: bool) -> Round:
        result: Round = feed.round(probe)
        return result

    async def collect() -> list[bytes]:
        body = sse_body(rounds, first, options, clock=clock, sleep=clock.sleep, run=run_round)
        return [chunk async for chunk in body]

    return asyncio.run(collect())


def test_the_body_ends_with_done_after_the_last_round() -> None:
    clock = Clock()
    rounds = FakeRounds([Round([b"b"], found_parts=True), Round([b"c"], done=True)])
    got = _collect(rounds, Round([b"a"], found_parts=True), LiveOptions(), clock)
    assert got == [b"a", b"b", b"c", DONE]


def test_idle_connections_get_pings_and_end_before_the_limit_without_done() -> None:
    clock = Clock()
    options = LiveOptions(ping_seconds=15, max_seconds=60)
    got = _collect(FakeRounds([]), Round([b"a"], found_parts=True), options, clock)
    assert got[0] == b"a"
    assert DONE not in got
    assert got.count(PING) == 3  # at 15, 30 and 45 s
    assert clock.now <= 60


def test_a_gone_stream_ends_without_done() -> None:
    clock = Clock()
    got = _collect(FakeRounds([Round(gone=True)]), Round([b"a"]), LiveOptions(), clock)
    assert got == [b"a"]


def test_idle_rounds_read_the_stream_item_at_most_once_a_second() -> None:
    clock = Clock()
    rounds = FakeRounds([])
    _collect(rounds, Round([b"a"], found_parts=True), LiveOptions(max_seconds=120), clock)
    # After the first few fast rounds, every round is a probe, one a second.
    assert len(rounds.probes) <= 120 + 10
    assert all(rounds.probes[5:])
