"""Reply pieces more than one function uses."""

from __future__ import annotations

import json
from collections.abc import Sequence

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
