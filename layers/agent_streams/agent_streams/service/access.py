"""Who may read a thread.

Pipelines (IAM-signed HTTP or direct invoke) may read everything. A reader
authorized by the optional JWT authorizer may read a thread only if the thread
has no ``userId`` or its ``userId`` is the token's subject; to anyone else the
thread, its streams and their deltas do not exist (404, so ids cannot be probed).
"""

from __future__ import annotations

from agent_streams.service.context import Services, current_caller
from agent_streams.types import Thread
from agent_streams_protocol.errors import ThreadNotFound


def may_read(thread: Thread | None, subject: str | None) -> bool:
    if subject is None:
        return True
    return thread is not None and thread.user_id in (None, subject)


def ensure_thread_readable(ctx: Services, thread_id: str, thread: Thread | None = None) -> None:
    """Raise ThreadNotFound unless the caller may read the thread (one read, only for JWT callers)."""
    subject = current_caller()
    if subject is None:
        return
    if thread is None:
        thread = ctx.repository.get_thread(thread_id)
    if not may_read(thread, subject):
        raise ThreadNotFound(thread_id)
