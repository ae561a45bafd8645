"""Reading SDK events without importing the SDKs.

The OpenAI and Anthropic SDKs yield pydantic models (attribute access); raw
SSE-decoded events, Bedrock's event stream and tests give plain dicts (key
access). Both carry the same field names, so one accessor serves both, and no
adapter imports an SDK.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def get(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` for mappings, ``obj.name`` otherwise; ``default`` when absent or None."""
    if obj is None:
        return default
    value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return default if value is None else value


def get_str(obj: Any, name: str, default: str = "") -> str:
    value = get(obj, name)
    return value if isinstance(value, str) else default


def get_int(obj: Any, name: str) -> int | None:
    value = get(obj, name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def to_plain(value: Any) -> Any:
    """A JSON-ready copy: pydantic models dumped, mappings and sequences walked."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_plain(dump(mode="json", exclude_none=True))
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [to_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    # Last resort for odd SDK values (enums, datetimes): their JSON-ish text.
    return json.loads(json.dumps(value, default=str))
