"""How much of a reply deltas take: what list_deltas, and a live read's round, hold.

Kept apart from ``appends`` (and its arguments' models) so the live reads import
only this.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent_streams.types import Delta
from agent_streams_protocol.limits import DELTA_REPLY_OVERHEAD, LIST_REPLY_OVERHEAD

__all__ = ["LIST_REPLY_OVERHEAD", "delta_reply_bytes", "fitting"]


def delta_reply_bytes(delta: Delta) -> int:
    """At most what ``delta`` adds to a list_deltas reply as Lambda returns it, over HTTP
    or direct invoke (its spilled parts included, as they will be put back).

    The stored parts are compact JSON, UTF-8 characters unescaped (lone surrogates
    as escapes). Over HTTP the reply body is a string inside the proxy envelope, where
    each ``"`` and ``\\`` of it takes one more byte; over direct invoke the runtime
    writes the parts again with ``", "`` and ``": "``, one more byte per separator;
    nothing else changes size either way. Both added: an upper bound for both, which
    is at most twice the parts' bytes (so a delta of MAX_DELTA_PARTS_BYTES still fits
    a reply of MAX_REPLY_BYTES).
    """
    parts = delta.parts_json
    grows = parts.count('"') + parts.count("\\") + parts.count(",") + parts.count(":")
    size = len(parts.encode("utf-8")) + grows + len(delta.stream_id) + DELTA_REPLY_OVERHEAD
    return size + sum(part.size + part.grows for part in delta.spilled)


def fitting(deltas: Iterable[Delta], budget: int, limit: int) -> list[Delta]:
    """The first of ``deltas`` whose replies (:func:`delta_reply_bytes`) stay within
    ``budget``, at most ``limit``; always the first one."""
    chosen: list[Delta] = []
    size = 0
    for delta in deltas:
        size += delta_reply_bytes(delta)
        if len(chosen) >= limit or (size > budget and chosen):
            break
        chosen.append(delta)
    return chosen
