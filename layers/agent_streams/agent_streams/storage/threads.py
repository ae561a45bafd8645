"""Threads: one item each, written and read through PynamoDB (``storage.items``)."""

from __future__ import annotations

from agent_streams.storage import items
from agent_streams.storage.conversions import thread_from_item, thread_item
from agent_streams.storage.models import ThreadItem
from agent_streams.types import Thread
from agent_streams_protocol.errors import InternalError, ThreadNotFound


class ThreadStore:
    def create_thread(self, thread: Thread) -> None:
        written = items.save(
            thread_item(thread),
            ThreadItem.thread_id.does_not_exist(),
            what="create a thread",
        )
        if written or self.get_thread(thread.thread_id) == thread:
            # The second case is our own attempt, committed but unacknowledged, and
            # tried again: the thread is created (ids are new and random).
            return
        raise InternalError(f"thread id {thread.thread_id!r} is already taken")

    def get_thread(self, thread_id: str) -> Thread | None:
        item = items.get(ThreadItem, thread_id, what="read a thread")
        return None if item is None else thread_from_item(item)

    def begin_thread_deletion(self, thread_id: str, now: int) -> Thread:
        item = ThreadItem(thread_id)
        marked = items.update(
            item,
            [
                ThreadItem.status.set("deleting"),
                ThreadItem.deleting_since.set(ThreadItem.deleting_since | now),
            ],
            ThreadItem.thread_id.exists(),
            what="mark a thread for deletion",
        )
        if not marked:
            raise ThreadNotFound(thread_id)
        return thread_from_item(item)

    def record_thread_execution(self, thread_id: str, attempt: int, execution_arn: str) -> bool:
        return items.update(
            ThreadItem(thread_id),
            [
                ThreadItem.execution_arn.set(execution_arn),
                ThreadItem.deletion_attempt.set(attempt),
            ],
            ThreadItem.thread_id.exists()
            & (
                ThreadItem.deletion_attempt.does_not_exist()
                | (ThreadItem.deletion_attempt < attempt)
            ),
            what="record a deletion",
        )

    def delete_thread(self, thread_id: str) -> None:
        items.delete(ThreadItem(thread_id), None, what="delete a thread")
