"""Server-Sent Events framing for the AI SDK's UI message stream protocol."""

from __future__ import annotations

import json
from typing import Any

from agent_streams.json_text import escape_lone_surrogates, has_lone_surrogates

#: The headers of every live read (``x-vercel-ai-ui-message-stream: v1`` is what the
#: AI SDK's own servers send; ``x-accel-buffering: no`` keeps proxies from buffering).
SSE_HEADERS: dict[str, str] = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}

#: A comment: ignored by every SSE parser, keeps idle connections (and proxies) open.
PING = b": ping\n\n"
#: The end of a UI message stream.
DONE = b"data: [DONE]\n\n"


def event(event_id: str, chunk: Any) -> bytes:
    """One event: ``id:`` the position after it, ``data:`` the chunk as one line of JSON.

    Compact JSON never contains a raw CR or LF (they are escaped inside strings),
    the only characters that end an SSE line. Half a character (a lone surrogate, which
    a part may hold) cannot be UTF-8: it is sent as its JSON escape, the same value.
    """
    data = json.dumps(chunk, separators=(",", ":"), ensure_ascii=False)
    if has_lone_surrogates(data):
        data = escape_lone_surrogates(data)
    return f"id: {event_id}\ndata: {data}\n\n".encode()
