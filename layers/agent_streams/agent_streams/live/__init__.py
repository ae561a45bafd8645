"""Live reads: a stream, or a thread's newest turn, as Server-Sent Events in the AI SDK's
UI message stream protocol, tailed from storage with exact resume.

Framework-free: the function's ASGI app (``functions/stream_events``) and the local
stack call :func:`open_stream_events` / :func:`open_thread_stream` (every check, and
the first round of reads) and send :func:`sse_body` as the response body.
"""

from agent_streams.live.driver import sse_body
from agent_streams.live.options import LiveOptions, get_live_options, live_options_from_env
from agent_streams.live.positions import (
    StreamPosition,
    TurnPosition,
    parse_stream_position,
    parse_turn_position,
)
from agent_streams.live.reads import open_stream_events, open_thread_stream
from agent_streams.live.sse import DONE, PING, SSE_HEADERS, event

__all__ = [
    "DONE",
    "PING",
    "SSE_HEADERS",
    "LiveOptions",
    "StreamPosition",
    "TurnPosition",
    "event",
    "get_live_options",
    "live_options_from_env",
    "open_stream_events",
    "open_thread_stream",
    "parse_stream_position",
    "parse_turn_position",
    "sse_body",
]
