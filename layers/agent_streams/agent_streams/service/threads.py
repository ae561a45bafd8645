"""Threads: create, read, and delete (through the state machine)."""

from __future__ import annotations

from agent_streams.ids import new_thread_id
from agent_streams.observability import logger
from agent_streams.service.access import (
    ensure_thread_readable,
    ensure_thread_writable,
    owner_for_new,
)
from agent_streams.service.context import services
from agent_streams.types import Thread
from agent_streams_protocol.errors import ThreadNotFound
from agent_streams_protocol.shapes import CreateThreadRequest, ThreadRequest


def create_thread(args: CreateThreadRequest) -> Thread:
    ctx = services()
    thread = Thread(
        thread_id=new_thread_id(),
        created_at=ctx.now(),
        user_id=owner_for_new(args.get("userId"), "thread"),
        title=args.get("title"),
        summary=args.get("summary"),
    )
    ctx.repository.create_thread(thread)
    return thread


def get_thread(args: ThreadRequest) -> Thread:
    ctx = services()
    thread = ctx.repository.get_thread(args["threadId"])
    if thread is None:
        raise ThreadNotFound(args["threadId"])
    ensure_thread_readable(ctx, args["threadId"], thread)
    return thread


def delete_thread(args: ThreadRequest) -> str:
    """Mark the thread ``deleting`` and start (or find) the execution deleting it.

    Idempotent: while an execution runs, a second call returns it; after one
    failed, a second call starts the next attempt, which resumes the deletion.
    """
    ctx = services()
    ensure_thread_writable(ctx, args["threadId"])
    thread = ctx.repository.begin_thread_deletion(args["threadId"], ctx.now())
    if thread.execution_arn and ctx.workflows.is_running(thread.execution_arn):
        return thread.execution_arn
    attempt = thread.deletion_attempt + 1
    execution_arn = ctx.workflows.start_thread_deletion(thread.thread_id, attempt)
    if not ctx.repository.record_thread_execution(thread.thread_id, attempt, execution_arn):
        # A concurrent call recorded a later attempt; Step Functions made ours the same one.
        current = ctx.repository.get_thread(thread.thread_id)
        if current is not None and current.execution_arn:
            return current.execution_arn
    logger.info("thread deletion started", extra={"threadId": thread.thread_id, "attempt": attempt})
    return execution_arn
