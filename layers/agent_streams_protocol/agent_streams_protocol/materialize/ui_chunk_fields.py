"""What the UIMessageChunk handlers share: a chunk the AI SDK would throw on, and
reading a chunk's fields the way JavaScript does."""

from __future__ import annotations

from typing import Any

from agent_streams_protocol.materialize.js_compat import UNDEFINED, js_string
from agent_streams_protocol.materialize.live_parts import JsonDict

__all__ = ["MalformedChunk", "chunk_text", "put"]


class MalformedChunk(Exception):
    """A chunk the AI SDK would throw on."""


def put(target: JsonDict, key: str, value: Any) -> None:
    """``{key: value}`` in an object literal: an ``undefined`` value is no field at all."""
    if value is not UNDEFINED:
        target[key] = value


def chunk_text(value: Any) -> str:
    # `text += chunk.delta` in JavaScript, whatever the delta is.
    return value if type(value) is str else js_string(value)
