"""JSON text that UTF-8 can carry, and its size as Lambda returns it.

JSON may carry lone surrogates (``"\\ud83d"``: half of a character, as a JavaScript
writer slicing a string by UTF-16 code unit produces). Python decodes them into a
``str``, but UTF-8 — DynamoDB strings, the bytes of a Lambda reply — cannot encode
them. Wherever JSON text leaves the process, they stay JSON escapes: the same JSON
value, which every JSON reader (JavaScript's included) decodes back to the same
string.

The python3.12+ Lambda runtimes serialise a handler's return value with
``ensure_ascii=False`` and the default separators (``", "``, ``": "``) and send it as
UTF-8; :func:`lambda_json` does the same, so a reply is measured as Lambda counts it.
"""

from __future__ import annotations

import json
import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_lone_surrogates(json_text: str) -> str:
    """``json_text`` with every surrogate code point written as a ``\\uXXXX`` escape.

    In JSON text made by ``json.dumps`` a surrogate can only stand inside a string,
    where its escape means the same; a high and a low surrogate side by side become
    two escapes, which readers join into one character, as JavaScript does.
    """
    return _LONE_SURROGATE.sub(_escape, json_text)


def has_lone_surrogates(text: str) -> bool:
    return _LONE_SURROGATE.search(text) is not None


def utf8_json(json_text: str) -> bytes:
    """JSON text as UTF-8, lone surrogates escaped."""
    try:
        return json_text.encode("utf-8")
    except UnicodeEncodeError:
        return escape_lone_surrogates(json_text).encode("utf-8")


def compact_json(value: Any) -> str:
    """Compact JSON text (``,`` and ``:``), UTF-8 characters as they are, lone surrogates escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return escape_lone_surrogates(text) if has_lone_surrogates(text) else text


def lambda_json(value: Any) -> str:
    """``value`` serialised as the python3.12+ Lambda runtimes serialise a return value."""
    return json.dumps(value, ensure_ascii=False)
