"""The message's metadata: the AI SDK's ``mergeObjects``, which every metadata chunk goes through."""

from __future__ import annotations

from typing import Any

from agent_streams_protocol.materialize.js_compat import UNDEFINED, own_entries
from agent_streams_protocol.materialize.ui_chunk_fields import MalformedChunk

__all__ = ["merge_objects"]

_SKIPPED_KEYS = frozenset({"__proto__", "constructor", "prototype"})


def merge_objects(base: Any, overrides: Any) -> Any:
    """The AI SDK's ``mergeObjects`` (message metadata): a deep merge, overrides win."""
    if base is UNDEFINED and overrides is UNDEFINED:
        return UNDEFINED
    if base is UNDEFINED:
        return overrides
    if overrides is UNDEFINED:
        return base
    entries = own_entries(overrides)
    if entries and not isinstance(base, (dict, list)):
        # `key in base` on a primitive throws a TypeError in JavaScript.
        raise MalformedChunk("cannot merge metadata into a primitive")
    result = dict(own_entries(base))
    for key, value in entries:
        if key in _SKIPPED_KEYS:
            continue
        base_value = result.get(key, UNDEFINED) if isinstance(base, dict) else _index(base, key)
        if isinstance(value, dict) and isinstance(base_value, dict):
            result[key] = merge_objects(base_value, value)
        else:
            result[key] = value
    return result


def _index(base: Any, key: str) -> Any:
    if isinstance(base, list) and key.isdigit() and int(key) < len(base):
        return base[int(key)]
    return UNDEFINED
