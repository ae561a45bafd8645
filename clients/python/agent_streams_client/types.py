"""Typed shapes of the contract's values, as the client sees them.

They are the protocol's (``agent_streams_protocol.shapes``: declared once, for the
runtime, the OpenAPI document and both clients), re-exported here: ``TypedDict``s over
the wire's camelCase keys, so a value read from any transport *is* the typed value (no
conversion, no copy), and the materialiser, which works on plain dicts, takes them as
they are. Absent optional fields are omitted, never ``None`` (the contract's rule).
"""

from __future__ import annotations

from typing import Any

from agent_streams_protocol.shapes import (
    Accepted,
    ErrorReply,
    Execution,
    MessageStatus,
    MessageWithMetadata,
    Part,
    StreamCursor,
    StreamDelta,
    StreamFormat,
    StreamMessage,
    StreamMetadata,
    StreamState,
    StreamStatus,
    StreamUIMessage,
    Thread,
    ThreadStatus,
)

__all__ = [
    "TERMINAL_STATUSES",
    "Accepted",
    "DeleteThreadResult",
    "ErrorReply",
    "MessageStatus",
    "MessageWithMetadata",
    "Part",
    "StreamCursor",
    "StreamDelta",
    "StreamFormat",
    "StreamMessage",
    "StreamMetadata",
    "StreamState",
    "StreamStatus",
    "StreamUIMessage",
    "Thread",
    "ThreadStatus",
    "UIMessage",
]

#: ``delete_thread``'s reply: the deletion runs in a state machine.
DeleteThreadResult = Execution

#: The statuses a stream ends in.
TERMINAL_STATUSES: frozenset[str] = frozenset({"finished", "aborted"})

#: A UI message as the materialiser builds it (AI SDK 5 ``UIMessage`` plus the agent's fields).
UIMessage = dict[str, Any]
