"""Appends and terminal transitions: one ``TransactWriteItems`` each.

An append updates the stream (condition: streaming, ``nextStart = start``, not
expired) and puts the delta (condition: not there yet) together. When DynamoDB
cancels it on its conditions, the items it found (``ALL_OLD``) tell what happened
without another read: the stream is missing or ended, the delta is an identical
retry, or the log ends elsewhere. A finish or abort does the same with the state
change, its final delta included, after one read of the stream: two requests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path, Value

from agent_streams.storage.conversions import delta_item, live, same_delta, stream_from_raw
from agent_streams.storage.keys import status_order_key
from agent_streams.storage.models import DeltaItem, StreamItem
from agent_streams.storage.repository import (
    AppendOutcome,
    Decided,
    DeltaWrite,
    TransitionOutcome,
)
from agent_streams.storage.streams import StreamStore, not_expired
from agent_streams.storage.transactions import Cancelled, Transaction, write
from agent_streams.types import Stream, StreamStatus
from agent_streams_protocol.errors import InternalError

#: A stream attribute naming the terminal transition that ended it, so a transition
#: whose commit's reply was lost recognises itself when its next attempt is cancelled.
TRANSITION_TOKEN = "transitionToken"

T = TypeVar("T")


def decide(value: Decided[T], stream: Stream) -> T:
    """The value a transition sets, decided from the stream as read if it is a function."""
    if callable(value):
        return value(stream)
    return value


class TransitionStore(StreamStore):
    def append(self, stream_id: str, delta: DeltaWrite, now: int) -> AppendOutcome:
        # Spilled parts first, so no reader finds a delta without them. If the append
        # then fails or conflicts, the objects are orphans under the stream's prefix:
        # nothing names them, stream deletion and the bucket's lifecycle remove them.
        self._parts.put(delta.objects)
        tx = Transaction()
        tx.update(
            "stream",
            StreamItem(stream_id),
            [StreamItem.next_start.set(delta.end), StreamItem.last_heartbeat.set(now)],
            (StreamItem.status == "streaming")
            & (StreamItem.next_start == delta.start)
            & not_expired(now),
        )
        tx.put("delta", delta_item(stream_id, delta), DeltaItem.stream_id.does_not_exist())
        cancelled = write(tx, "append a delta")
        if cancelled is None:
            return AppendOutcome(stream=None, accepted=True, written=True)
        stream, duplicate, expected = _classify(cancelled, stream_id, delta, now)
        return AppendOutcome(stream=stream, accepted=duplicate, expected_start=expected)

    def finish(
        self,
        stream_id: str,
        now: int,
        final_delta: DeltaWrite | None,
        cleanup_schedule: str,
        expires_at: Decided[int],
    ) -> TransitionOutcome:
        return self._terminate(
            stream_id,
            now,
            final_delta,
            lambda before: [
                StreamItem.ended_at.set(now),
                StreamItem.cleanup_schedule.set(cleanup_schedule),
                StreamItem.expires_at.set(decide(expires_at, before)),
            ],
            None,
            "finished",
            "finish a stream",
            lambda before: replace(
                before,
                status="finished",
                ended_at=now,
                cleanup_schedule=cleanup_schedule,
                expires_at=decide(expires_at, before),
            ),
        )

    def abort(
        self,
        stream_id: str,
        reason: str,
        now: int,
        final_delta: DeltaWrite | None,
        expires_at: Decided[int | None],
        *,
        silent_since: int | None = None,
        cleanup_schedule: Decided[str | None] = None,
        deleting: bool = False,
    ) -> TransitionOutcome:
        def actions(before: Stream) -> list[Any]:
            expiry = decide(expires_at, before)
            cleanup = decide(cleanup_schedule, before)
            found: list[Any] = [StreamItem.reason.set(reason), StreamItem.ended_at.set(now)]
            found.append(
                StreamItem.expires_at.remove()
                if expiry is None
                else StreamItem.expires_at.set(expiry)
            )
            if cleanup is not None:
                found.append(StreamItem.cleanup_schedule.set(cleanup))
            if deleting:
                found.append(StreamItem.deleting.set(True))
            return found

        def after(before: Stream) -> Stream:
            cleanup = decide(cleanup_schedule, before)
            return replace(
                before,
                status="aborted",
                reason=reason,
                ended_at=now,
                expires_at=decide(expires_at, before),
                cleanup_schedule=before.cleanup_schedule if cleanup is None else cleanup,
                deleting=deleting,
            )

        extra = None if silent_since is None else StreamItem.last_heartbeat <= silent_since
        return self._terminate(
            stream_id, now, final_delta, actions, extra, "aborted", "abort a stream", after
        )

    def _terminate(
        self,
        stream_id: str,
        now: int,
        final_delta: DeltaWrite | None,
        actions: Callable[[Stream], list[Any]],
        extra_condition: Condition | None,
        new_status: StreamStatus,
        what: str,
        make_after: Callable[[Stream], Stream],
    ) -> TransitionOutcome:
        before = self.get_stream(stream_id, now)
        if before is None or before.status != "streaming":
            return TransitionOutcome(before=before, after=before, changed=False)
        if final_delta is not None:
            self._parts.put(final_delta.objects)  # as in append
        condition = (StreamItem.status == "streaming") & not_expired(now)
        if extra_condition is not None:
            condition = condition & extra_condition
        token = secrets.token_urlsafe(12)
        all_actions = [
            StreamItem.status.set(new_status),
            StreamItem.status_order.set(
                status_order_key(new_status, before.order, before.step_order)
            ),
            Path(TRANSITION_TOKEN).set(Value({"S": token})),
            *actions(before),
        ]
        if final_delta is not None:
            condition = condition & (StreamItem.next_start == final_delta.start)
            all_actions += [
                StreamItem.next_start.set(final_delta.end),
                StreamItem.last_heartbeat.set(now),
            ]
        tx = Transaction()
        tx.update("stream", StreamItem(stream_id), all_actions, condition)
        if final_delta is not None:
            tx.put(
                "delta", delta_item(stream_id, final_delta), DeltaItem.stream_id.does_not_exist()
            )
        cancelled = write(tx, what)
        if cancelled is None:
            return TransitionOutcome(
                before=before, after=_after(make_after, before, final_delta, now), changed=True
            )
        if _made_by(cancelled, token):
            # Our transaction committed, its reply was lost, and the next attempt
            # found the stream already ended: by us.
            return TransitionOutcome(
                before=before, after=_after(make_after, before, final_delta, now), changed=True
            )
        stream, duplicate, expected = _classify(cancelled, stream_id, final_delta, now)
        if duplicate and stream is not None and stream.status == "streaming":
            # The final delta is already stored (a retry after a lost reply, or a
            # racing writer of the same sequence): accepted, as add_delta's retries
            # are; end the stream without writing it again.
            return self._terminate(
                stream_id, now, None, actions, extra_condition, new_status, what, make_after
            )
        return TransitionOutcome(
            before=stream, after=stream, changed=False, expected_start=expected
        )


def _classify(
    cancelled: Cancelled, stream_id: str, delta: DeltaWrite | None, now: int
) -> tuple[Stream | None, bool, int | None]:
    """From an append-like transaction cancelled on its conditions: the stream as found
    (None: missing or expired), whether the delta is already stored, and the start the
    stream expected instead (for a delta that does not fit the log of a streaming one)."""
    if not cancelled.failed("stream"):
        # The stream's condition held, so only the delta's key can have clashed,
        # which a stream whose log ends at `start` cannot have: storage was edited by hand.
        raise InternalError(f"stream {stream_id!r}: a delta exists past the end of its log")
    found = cancelled.item("stream")
    stream = live(stream_from_raw(found), now) if found is not None else None
    stored = cancelled.item("delta")
    duplicate = delta is not None and stored is not None and same_delta(stored, delta)
    expected: int | None = None
    if delta is not None and stream is not None and stream.status == "streaming" and not duplicate:
        expected = stream.next_start
    return stream, duplicate, expected


def _made_by(cancelled: Cancelled, token: str) -> bool:
    """Whether a cancelled transition found the stream ended by the transition ``token``."""
    found = cancelled.item("stream")
    return found is not None and found.get(TRANSITION_TOKEN, {}).get("S") == token


def _after(
    make_after: Callable[[Stream], Stream], before: Stream, final: DeltaWrite | None, now: int
) -> Stream:
    after = make_after(before)
    return after if final is None else replace(after, next_start=final.end, last_heartbeat=now)
