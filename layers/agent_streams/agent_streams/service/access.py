"""Who may read and write what.

Pipelines (IAM-signed HTTP, routes without authorization, direct invoke) may do
everything. A caller that came through the optional JWT authorizer is known by
its token's subject and fails closed:

- it may read a thread only if the thread has no ``userId`` or its ``userId`` is
  the subject;
- it may write (create streams, append, heartbeat, finish, abort, delete) only in
  a thread whose ``userId`` is the subject — a thread without an owner is nobody's;
- a thread or stream it may not touch does not exist for it (404, so ids cannot
  be probed);
- what it creates is its own: ``userId`` defaults to the subject, and naming
  another user is ``Forbidden``.

These checks cost reads only for JWT callers (the thread, and for a stream route
the stream first, to learn its thread).
"""

from __future__ import annotations

from agent_streams.service.context import Services, current_caller
from agent_streams.types import Stream, Thread
from agent_streams_protocol.errors import Forbidden, StreamNotFound, ThreadNotFound


def may_read(thread: Thread | None, subject: str | None) -> bool:
    if subject is None:
        return True
    return thread is not None and thread.user_id in (None, subject)


def may_write(thread: Thread | None, subject: str | None) -> bool:
    if subject is None:
        return True
    return thread is not None and thread.user_id == subject


def ensure_thread_readable(ctx: Services, thread_id: str, thread: Thread | None = None) -> None:
    """Raise ThreadNotFound unless the caller may read the thread (one read, only for JWT callers)."""
    subject = current_caller()
    if subject is None:
        return
    if thread is None:
        thread = ctx.repository.get_thread(thread_id)
    if not may_read(thread, subject):
        raise ThreadNotFound(thread_id)


def ensure_thread_writable(ctx: Services, thread_id: str) -> None:
    """Raise ThreadNotFound unless the caller may write in the thread (one read, only for JWT callers)."""
    subject = current_caller()
    if subject is None:
        return
    if not may_write(ctx.repository.get_thread(thread_id), subject):
        raise ThreadNotFound(thread_id)


def ensure_stream_writable(ctx: Services, stream_id: str, now: int) -> Stream | None:
    """Raise StreamNotFound unless the caller may write to the stream (two reads, only for
    JWT callers); returns the stream when it was read."""
    subject = current_caller()
    if subject is None:
        return None
    stream = ctx.repository.get_stream(stream_id, now)
    if stream is None or not may_write(ctx.repository.get_thread(stream.thread_id), subject):
        raise StreamNotFound(stream_id)
    return stream


def owner_for_new(user_id: str | None, what: str) -> str | None:
    """The ``userId`` to give what the caller creates: a JWT caller's own subject."""
    subject = current_caller()
    if subject is None or user_id == subject:
        return user_id
    if user_id is None:
        return subject
    raise Forbidden(f"a {what} created with this token belongs to its subject, not to {user_id!r}")
