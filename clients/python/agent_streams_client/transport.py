"""The one interface every transport implements.

A transport turns ``(operation, arguments)`` into the operation's **direct-invoke
return value** (column "returns (direct)" of the contract in DESIGN.md), whatever
the wire: HTTP through API Gateway, a direct Lambda invoke, or a Python callable.
Everything above it (``StreamsClient``, ``DeltaStreamer``, the follower) is
therefore written once and runs on any of them.

Errors: the contract's exceptions (``agent_streams_protocol.errors``) as their own classes;
``TransientError`` for what is worth retrying; ``RemoteError`` /
``UnexpectedResponse`` for the rest.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol, runtime_checkable

#: Every operation of the public contract a client calls (the scheduler and
#: state-machine targets are internal and have no client method).
OPERATIONS: tuple[str, ...] = (
    "create_thread",
    "get_thread",
    "delete_thread",
    "create_stream",
    "list_streams",
    "list_deltas",
    "abort_streams_by_order",
    "delete_thread_streams",
    "streaming_messages",
    "get_stream",
    "add_delta",
    "heartbeat_stream",
    "finish_stream",
    "abort_stream",
    "delete_stream",
)


@runtime_checkable
class Transport(Protocol):
    """Carries one operation call to the service."""

    async def call(self, operation: str, args: dict[str, Any]) -> Any:
        """Run ``operation`` with its camelCase ``args``; return its direct value."""
        ...


def json_body(value: Any) -> bytes:
    """``value`` as compact JSON in UTF-8, the way the service measures and stores it.

    Not ``ensure_ascii``: escaping every non-ASCII character as ``\\uXXXX`` makes a
    body up to three times the size the streamer planned for (an emoji is 4 bytes
    of UTF-8 but 12 escaped), so a delta that fits the item limit could be refused
    as too large by the API's body limit. Half a character (a lone surrogate, which
    cannot be UTF-8 and which a part may hold) is sent as its ``\\uXXXX`` escape, the
    same JSON value; only it, so a large part that holds one still fits the body limit.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Outside JSON strings there are only ASCII characters: every one is in a string.
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


#: A Python string's lone surrogates (a paired one is a single code point in Python).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


async def close_transport(transport: Transport) -> None:
    """Close ``transport`` if it has an ``async close()`` (pooled connections)."""
    close = getattr(transport, "close", None)
    if close is not None:
        await close()
