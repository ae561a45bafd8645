"""How parts are stored: compact JSON strings, and how big an item gets (parts too
large for an item are stored apart: ``storage.spill``).

Storing parts as one JSON string round-trips them exactly (no Decimal, no
float drift, key order kept) and lets reads pass them on without re-encoding.
Lone surrogates (half of a character a JavaScript writer split between two
deltas) are stored as ``\\uXXXX`` escapes: DynamoDB strings must be valid UTF-8,
and the escape is the same JSON value, returned to readers as it was written.
"""

from __future__ import annotations

import json
from typing import Any

from agent_streams.json_text import escape_lone_surrogates, has_lone_surrogates

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_parts(parts: list[Any]) -> str:
    text = _encoder.encode(parts)
    return escape_lone_surrogates(text) if has_lone_surrogates(text) else text


def encode_part(part: Any) -> str:
    """One part as :func:`encode_parts` writes it inside the list: ``encode_parts(parts)``
    is ``"[" + ",".join(encode_part(p) for p in parts) + "]"``."""
    text = _encoder.encode(part)
    return escape_lone_surrogates(text) if has_lone_surrogates(text) else text


def _number_size(value: int) -> int:
    # DynamoDB: about one byte per two significant digits, plus one.
    digits = len(str(abs(value)).rstrip("0")) or 1
    return (digits + 1) // 2 + 1


def delta_item_size(stream_id: str, start: int, end: int, parts_json: str, expires_at: int) -> int:
    """The DynamoDB size of a delta item (attribute names plus values, UTF-8)."""
    return (
        len("streamId") + len(stream_id.encode())
        + len("start") + _number_size(start)
        + len("end") + _number_size(end)
        + len("parts") + len(parts_json.encode())
        + len("expiresAt") + _number_size(expires_at)
    )  # fmt: skip


def spilled_attribute_size(offsets: list[int] | tuple[int, ...]) -> int:
    """The DynamoDB size of a delta item's ``spilled`` attribute (a list of numbers:
    3 bytes, and each element's size plus one); 0 when nothing is spilled."""
    if not offsets:
        return 0
    return len("spilled") + 3 + sum(_number_size(offset) + 1 for offset in offsets)
