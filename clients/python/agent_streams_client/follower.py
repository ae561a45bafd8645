"""The follower: a thread's UI messages, live, by polling.

Each poll asks ``list_streams`` for the thread's streams (new ones, status
changes), then ``list_deltas`` with one cursor per stream still open, feeds the
deltas to one materialiser per stream, and yields the thread's messages when they
changed.

When is a stream done? Once ``list_streams`` has shown it ``finished``/``aborted``
(the server writes a final delta and the status change atomically), a
``list_deltas`` round issued *after* that which brings nothing new for it means
it is complete. A reply capped at 100 deltas for a stream (or 1000 in all) means
"ask again now", not "wait for the next poll". A stream missing from a
``list_streams`` reply is looked up by id: if it moved to a status not listed,
or is mid-way through a status change (the index behind ``list_streams`` is
eventually consistent), the follower takes its state from there; if it is gone
(cleaned up after finishing, or deleted), it gets one last round for whatever
is still readable, then keeps its last messages and is no longer polled.

Materialisation itself lives in ``agent_streams_protocol.materialize``
(``StreamMaterializer``, ``merge_thread_ui_messages``); it is imported when the
first follower starts, and can be replaced (``materializer_factory``, ``merge``).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from agent_streams_client.errors import TransientError
from agent_streams_client.operations import Operations
from agent_streams_client.retry import Clock, RetryPolicy, Sleep
from agent_streams_client.types import (
    TERMINAL_STATUSES,
    StreamDelta,
    StreamMessage,
    UIMessage,
)
from agent_streams_protocol.errors import ServiceUnavailable, StreamNotFound
from agent_streams_protocol.limits import MAX_CURSORS, MAX_DELTAS_PER_REQUEST, MAX_DELTAS_PER_STREAM

log = logging.getLogger(__name__)

#: The fields of a StreamMessage (what list_streams shows), out of get_stream's reply.
_STREAM_MESSAGE_KEYS = frozenset(StreamMessage.__annotations__)


class Materializer(Protocol):
    """What the follower needs from ``agent_streams_protocol.materialize.StreamMaterializer``."""

    @property
    def cursor(self) -> int:
        """The next part number to ask for."""
        ...

    def apply(self, deltas: list[StreamDelta]) -> bool:
        """Feed deltas (in ``start`` order); True if the messages changed."""
        ...

    def set_stream(self, stream_message: dict[str, Any]) -> bool:
        """Update the stream's metadata/status; True if the messages changed."""
        ...

    def ui_messages(self) -> list[UIMessage]: ...


MaterializerFactory = Callable[[str, dict[str, Any]], Materializer]
MergeMessages = Callable[[Iterable[list[UIMessage]]], list[UIMessage]]


def default_materialization() -> tuple[MaterializerFactory, MergeMessages]:
    """``StreamMaterializer`` and ``merge_thread_ui_messages`` from ``agent_streams_protocol.materialize``.

    Imported by name at run time: the follower works with any module that provides
    them, and importing the client does not import the materialiser.
    """
    module = importlib.import_module("agent_streams_protocol.materialize")
    return (
        cast(MaterializerFactory, module.StreamMaterializer),
        cast(MergeMessages, module.merge_thread_ui_messages),
    )


@dataclass
class FollowedStream:
    """The follower's view of one stream."""

    message: StreamMessage
    materializer: Materializer
    #: Seen finished/aborted in a list_streams reply (so every later round is "after").
    terminal_seen: bool = False
    #: No longer listed by list_streams (cleaned up or deleted).
    gone: bool = False
    #: Every delta has been read: not polled any more.
    complete: bool = False

    @property
    def stream_id(self) -> str:
        return self.message["streamId"]

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.message["order"], self.message["stepOrder"])


@dataclass(frozen=True)
class PollResult:
    #: The thread's messages changed in this poll.
    changed: bool
    #: Some reply was capped: poll again without waiting.
    more: bool


class ThreadFollower:
    """Polls one thread and materialises its streams; iterate :meth:`messages`.

    ``stop_when_idle``: end once every stream seen is terminal and complete (with
    no stream at all, after the first poll). ``max_polls`` / ``timeout`` (seconds)
    bound the iteration too. Transient errors are retried with backoff; more than
    ``retry_policy.max_retries`` in a row are raised.
    """

    def __init__(
        self,
        client: Operations,
        thread_id: str,
        *,
        statuses: Sequence[str] = ("streaming", "finished", "aborted"),
        poll_interval: float = 0.1,
        start_order: int = 0,
        stop_when_idle: bool = False,
        max_polls: int | None = None,
        timeout: float | None = None,
        materializer_factory: MaterializerFactory | None = None,
        merge: MergeMessages | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.thread_id = thread_id
        self.statuses = tuple(statuses)
        self.poll_interval = poll_interval
        self.start_order = start_order
        self.stop_when_idle = stop_when_idle
        self.max_polls = max_polls
        self.timeout = timeout
        self._factory = materializer_factory
        self._merge = merge
        self._retry = retry_policy or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._streams: dict[str, FollowedStream] = {}
        self.polls = 0
        #: The messages changed in a poll that then failed: the next one reports it.
        self._unreported = False

    @property
    def streams(self) -> dict[str, FollowedStream]:
        """Every stream seen so far, by id."""
        return self._streams

    @property
    def idle(self) -> bool:
        """Every stream seen is terminal (or gone) and fully read."""
        return all(s.complete for s in self._streams.values())

    def ui_messages(self) -> list[UIMessage]:
        """The thread's messages as materialised so far."""
        _, merge = self._materialization()
        ordered = sorted(self._streams.values(), key=lambda s: s.sort_key)
        return merge(s.materializer.ui_messages() for s in ordered)

    def _materialization(self) -> tuple[MaterializerFactory, MergeMessages]:
        if self._factory is None or self._merge is None:
            factory, merge = default_materialization()
            self._factory = self._factory or factory
            self._merge = self._merge or merge
        return self._factory, self._merge

    async def messages(self) -> AsyncGenerator[list[UIMessage], None]:
        """Yield the thread's UI messages each time they change."""
        started = self._clock()
        last: list[UIMessage] | None = None
        failures = 0
        while True:
            try:
                result = await self.poll()
                failures = 0
            except (TransientError, ServiceUnavailable) as exc:
                if failures >= self._retry.max_retries:
                    raise
                delay = max(self.poll_interval, self._retry.wait(exc, failures, self._rand))
                failures += 1
                log.info("follow %s: %s; retrying in %.2fs", self.thread_id, exc, delay)
                await self._sleep(delay)
                continue
            if result.changed:
                current = self.ui_messages()
                if current != last:
                    last = current
                    yield current
            if self.stop_when_idle and self.idle and not result.more:
                return
            if self.max_polls is not None and self.polls >= self.max_polls:
                return
            if self.timeout is not None and self._clock() - started >= self.timeout:
                return
            if not result.more:
                await self._sleep(self.poll_interval)

    async def _check_unlisted(self, followed: FollowedStream, factory: MaterializerFactory) -> bool:
        """A stream missing from ``list_streams``: gone, or only out of that reply?

        It is gone once cleaned up or deleted. But it also leaves the reply when it
        moves to a status not asked for (following ``statuses=("streaming",)``, a
        stream that finishes), and, briefly, while its status changes: the service
        reads each status from an index, concurrently and eventually consistent,
        so a stream between two entries can be in neither. Taking that for "gone"
        would end the reply with a stale status. ``get_stream`` (by id, strongly
        consistent) tells which; True if the messages changed.
        """
        try:
            state = await self.client.get_stream(followed.stream_id)
        except StreamNotFound:
            followed.gone = True
            return False
        message = cast(StreamMessage, {k: v for k, v in state.items() if k in _STREAM_MESSAGE_KEYS})
        changed = False
        if message != followed.message:
            followed.message = message
            changed = followed.materializer.set_stream(dict(message))
        if message["status"] in TERMINAL_STATUSES:
            followed.terminal_seen = True
        return changed

    async def poll(self) -> PollResult:
        """One round: list the streams, then read new deltas of the open ones."""
        self.polls += 1
        # A change is kept until a poll completes: if list_deltas fails after
        # list_streams showed the stream finished, the retry finds nothing new,
        # and the finish would otherwise never be shown.
        if await self.discover():
            self._unreported = True
        more, _ = await self._read_deltas()
        changed, self._unreported = self._unreported, False
        return PollResult(changed=changed, more=more)

    async def discover(self) -> bool:
        """List the streams (new ones, status changes, those gone); True if the messages changed."""
        factory, _ = self._materialization()
        changed = False
        listed = await self.client.list_streams(
            self.thread_id, start_order=self.start_order, statuses=self.statuses
        )
        listed_ids: set[str] = set()
        for message in listed:
            stream_id = message["streamId"]
            listed_ids.add(stream_id)
            followed = self._streams.get(stream_id)
            if followed is None:
                followed = FollowedStream(message, factory(self.thread_id, dict(message)))
                self._streams[stream_id] = followed
                changed = True
            elif message != followed.message:
                followed.message = message
                changed = followed.materializer.set_stream(dict(message)) or changed
            if message["status"] in TERMINAL_STATUSES:
                followed.terminal_seen = True
        # Noted before the lookups below, which may fail.
        self._unreported = self._unreported or changed
        for stream_id, followed in self._streams.items():
            if stream_id not in listed_ids and not followed.complete and not followed.gone:
                changed = await self._check_unlisted(followed, factory) or changed
        return changed

    async def _read_deltas(self) -> tuple[bool, bool]:
        """list_deltas for the open streams: (a reply was capped, the messages changed)."""
        changed = False
        more = False
        open_streams = [s for s in self._streams.values() if not s.complete]
        for index in range(0, len(open_streams), MAX_CURSORS):
            batch = open_streams[index : index + MAX_CURSORS]
            deltas = await self.client.list_deltas(
                self.thread_id, {s.stream_id: s.materializer.cursor for s in batch}
            )
            by_stream: dict[str, list[StreamDelta]] = {}
            for delta in deltas:
                by_stream.setdefault(delta["streamId"], []).append(delta)
            request_capped = len(deltas) >= MAX_DELTAS_PER_REQUEST
            for followed in batch:
                got = sorted(by_stream.get(followed.stream_id, []), key=lambda d: d["start"])
                before = followed.materializer.cursor
                if got and followed.materializer.apply(got):
                    changed = self._unreported = True
                progressed = followed.materializer.cursor > before
                if not progressed:
                    # Nothing new after the stream was seen ended (or vanished): done.
                    if followed.terminal_seen or followed.gone:
                        followed.complete = True
                elif len(got) >= MAX_DELTAS_PER_STREAM or request_capped:
                    more = True
        return more, changed
