"""How often a live read looks at storage: fast while deltas arrive, slower when idle.

Two kinds of read: a strongly consistent query of the deltas after the cursor
(what brings parts), and a strongly consistent GetItem of the stream (its status
and ``nextStart``: whether there is anything to read at all, and whether it ended).
While deltas arrive, each round is one query. After a few empty rounds the rounds
become GetItems, spaced out to ``idle_seconds``: an idle reader costs one read per
``idle_seconds`` (at most 2 a second by the budget), and the first GetItem that
shows a new ``nextStart`` brings the query right away.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollingOptions:
    #: Between rounds while deltas arrive (a writer sends one every 250 ms).
    fast_seconds: float = 0.1
    #: Between rounds when nothing happens (the budget: at most 2 reads a second).
    idle_seconds: float = 1.0
    #: Empty rounds after which a round reads the stream item instead of its deltas.
    probe_after: int = 2


class PollSchedule:
    """The next round's kind and delay, from what the previous rounds found."""

    def __init__(self, options: PollingOptions | None = None) -> None:
        self.options = options or PollingOptions()
        self.empty_rounds = 0

    def record(self, found_parts: bool) -> None:
        self.empty_rounds = 0 if found_parts else self.empty_rounds + 1

    @property
    def probe(self) -> bool:
        """Whether the next round reads the stream item (True) or its deltas."""
        return self.empty_rounds >= self.options.probe_after

    @property
    def delay(self) -> float:
        options = self.options
        backoff = self.empty_rounds - options.probe_after
        if backoff < 0:
            return options.fast_seconds
        return min(options.idle_seconds, options.fast_seconds * float(2 ** (backoff + 1)))
