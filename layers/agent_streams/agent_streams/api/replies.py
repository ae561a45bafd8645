"""Reply pieces more than one function uses."""

from __future__ import annotations

import json
from collections.abc import Sequence

from agent_streams.api.http import parse_int
from agent_streams.types import Delta


def deltas_json(deltas: Sequence[Delta]) -> str:
    """A ``[StreamDelta]`` reply as JSON text, splicing in the stored parts untouched."""
    return (
        "["
        + ",".join(
            f'{{"streamId":{json.dumps(d.stream_id)},"start":{d.start},"end":{d.end},"parts":{d.parts_json}}}'
            for d in deltas
        )
        + "]"
    )


def parse_cursors(text: str) -> list[dict[str, object]]:
    """``<streamId>:<n>,<streamId>:<n>`` -> ``[{streamId, cursor}]``."""
    cursors: list[dict[str, object]] = []
    for item in filter(None, text.split(",")):
        stream_id, sep, number = item.rpartition(":")
        if not sep or not stream_id:
            raise ValueError(f"{item[:64]!r} is not <streamId>:<cursor>")
        try:
            cursor = parse_int(number)
        except ValueError as exc:
            raise ValueError(f"{item[:64]!r} is not <streamId>:<cursor>: {exc}") from None
        cursors.append({"streamId": stream_id, "cursor": cursor})
    return cursors
