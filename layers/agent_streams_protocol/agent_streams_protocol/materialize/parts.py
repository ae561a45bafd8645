"""Putting a stream's deltas in order: the reference's ``getParts``, and its incremental twin.

A delta carries parts ``start`` (inclusive) to ``end`` (exclusive). Read in
``start`` order from cursor 0, a delta that starts at the cursor is used; one that
ends at or before the cursor was already seen (a re-send) and is skipped; one
that starts after the cursor means a gap, and nothing after it is used yet.

Two cases where the reference would misbehave are made harmless, identically in
both functions: a delta that straddles the cursor (the reference throws; the
service never stores one) is skipped like a re-send, and a delta whose ``end`` is
not after its ``start`` is ignored. A delta without parts is ignored, as in the
reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_streams_protocol.materialize.js_compat import as_index

__all__ = ["DeltaCursor", "get_parts"]


def _span(delta: Any) -> tuple[int, int, list[Any]] | None:
    """``(start, end, parts)`` of a usable delta, else None."""
    if type(delta) is not dict:
        return None
    start = as_index(delta.get("start"))
    end = as_index(delta.get("end"))
    parts = delta.get("parts")
    if start is None or end is None or end <= start or type(parts) is not list or not parts:
        return None
    return start, end, parts


def get_parts(deltas: Iterable[dict[str, Any]], from_cursor: int = 0) -> tuple[list[Any], int]:
    """All parts from ``from_cursor`` up to the first gap, and the cursor after them."""
    out: list[Any] = []
    cursor = from_cursor
    spans = [span for span in map(_span, deltas) if span is not None]
    for start, end, parts in sorted(spans, key=lambda span: span[0]):
        if start != cursor:
            if start > cursor:
                break  # a gap: wait for the missing delta
            continue  # already seen (or straddling what was seen)
        out.extend(parts)
        cursor = end
    return out, cursor


class DeltaCursor:
    """``get_parts`` over deltas that arrive in any order, a batch at a time.

    Each call to :meth:`accept` returns only the parts that became usable, in
    order; deltas ahead of a gap are held until it is filled, older ones dropped.
    Concatenating everything it returns always equals ``get_parts`` over every
    delta accepted so far.
    """

    __slots__ = ("_held", "cursor")

    def __init__(self, cursor: int = 0) -> None:
        #: The next part number wanted.
        self.cursor = cursor
        self._held: dict[int, tuple[int, int, list[Any]]] = {}

    def accept(self, deltas: Iterable[dict[str, Any]]) -> list[list[Any]]:
        batches: list[list[Any]] = []
        held = self._held
        for delta in deltas:
            span = _span(delta)
            if span is None:
                continue
            start, end, parts = span
            if start == self.cursor:
                batches.append(parts)
                self.cursor = end
                while self.cursor in held:
                    _, end, parts = held.pop(self.cursor)
                    batches.append(parts)
                    self.cursor = end
            elif start > self.cursor:
                # The first of several deltas with one start wins, as in a stable sort.
                held.setdefault(start, span)
        if batches and held:
            for start in [s for s in held if s < self.cursor]:
                del held[start]
        return batches

    @property
    def held(self) -> int:
        """How many deltas wait for a gap to be filled."""
        return len(self._held)
