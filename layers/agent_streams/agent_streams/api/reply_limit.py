"""Replies that Lambda can return: at most 6 MB, counted as Lambda counts them.

A synchronous function may return 6,291,556 bytes. What counts is the payload the
runtime sends: for HTTP the API Gateway proxy envelope serialised as JSON (the
body is a JSON string inside it, so each ``"`` and ``\\`` of the body takes two
bytes), for a direct invoke the JSON of the return value. Past the limit Lambda
fails the invocation and API Gateway answers 5xx, every retry the same; so every
reply is measured here first and one over :data:`MAX_REPLY_BYTES` becomes a
``ReplyTooLarge`` (413) that says how to read the same thing in smaller replies.

Measuring is cheap where it can be: an HTTP body of n characters makes at most
6n + 1 KB of envelope (a character is at most 4 bytes of UTF-8, ``"`` and ``\\``
take 2, a control character 6), so only bodies of about a million characters or
more are serialised again to be counted exactly.
"""

from __future__ import annotations

from typing import Any

from agent_streams.json_text import lambda_json, utf8_json
from agent_streams_protocol.errors import ReplyTooLarge
from agent_streams_protocol.limits import MAX_REPLY_BYTES

#: What the envelope adds to its body, generously (status, headers, keys).
ENVELOPE_SLACK = 1024


def http_reply_bytes(response: dict[str, Any]) -> int:
    """The size of an HTTP reply (the proxy envelope) as Lambda returns it, or an upper
    bound of it when that is already far below the limit."""
    body = response.get("body")
    if not isinstance(body, str) or 6 * len(body) + ENVELOPE_SLACK <= MAX_REPLY_BYTES:
        return 6 * len(body or "") + ENVELOPE_SLACK
    return len(lambda_json(response).encode("utf-8"))


def direct_reply(value: Any) -> tuple[Any, int]:
    """What a direct invoke returns for ``value``, and its size as Lambda returns it.

    Usually ``value`` itself, which the runtime serialises. If it holds lone
    surrogates (a part with half a character, as a JavaScript writer may split
    one), the runtime could not encode it as UTF-8; the JSON text is returned
    instead, as bytes, with those halves as ``\\uXXXX`` escapes: the same JSON.
    """
    text = lambda_json(value)
    try:
        return value, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        data = utf8_json(text)
        return data, len(data)


def too_large(operation: str, size: int, hint: str) -> ReplyTooLarge:
    message = (
        f"the {operation} reply would be {size} bytes, over the {MAX_REPLY_BYTES} bytes a "
        "function may return"
    )
    return ReplyTooLarge(f"{message}; {hint}" if hint else message)
