"""A turn — the streams of one ``order`` — as one UI message stream.

``useChat`` shows a reply as one assistant message, and the reference shows the
streams of one order as one message too (``combineUIMessages``: same order, one
after the other). So the streams of the turn are sent one after the other in
(stepOrder, streamId) order, as one UI message stream:

* one ``start`` first, with ``messageId: "stream:<first stream's id>"`` (the id the
  materialisation gives the turn's first message, which the combined message keeps);
* each stream's own ``start`` and ``finish`` are left out (their ``messageMetadata``,
  if any, is sent as a ``message-metadata`` chunk in their place); everything else
  is sent as it is, so each stream's own ``start-step`` / ``finish-step`` separate the
  steps, as the AI SDK separates a multi-step reply;
* at the end: ``finish`` (with the last stream's ``finishReason``) if the last stream
  finished, or that stream's abort (and timeout error) if it was aborted; then
  ``[DONE]``.

The turn ends when its last stream has ended and no later stream of the order is
listed ``settle_ms`` after this reader saw that (the index that lists them is
eventually consistent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from agent_streams.live.positions import StreamKey, StreamPosition, TurnPosition
from agent_streams.live.sse import event
from agent_streams.live.stream_feed import Chunk, Round, StreamFeed
from agent_streams.storage.repository import Repository
from agent_streams.types import STREAM_STATUSES, Stream
from agent_streams_protocol.limits import MAX_ORDER, MAX_STREAMS_PER_LIST
from agent_streams_protocol.materialize.ui_chunks import text_stream_part_to_ui_chunk


def key_of(stream: Stream) -> StreamKey:
    return StreamKey(stream.step_order, stream.stream_id)


def _sort_key(key: StreamKey) -> tuple[int, str]:
    return (key.step_order, key.stream_id)


class TurnEvents:
    """``GET /threads/{threadId}/stream``: the streams of one order, merged."""

    def __init__(
        self,
        repository: Repository,
        now_ms: Callable[[], int],
        thread_id: str,
        order: int,
        streams: Sequence[Stream],
        position: TurnPosition | None,
        *,
        settle_ms: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repository = repository
        self.clock = clock
        #: When (``clock``) the stream being followed was seen ended and fully sent.
        self._delivered_at: float | None = None
        self.now_ms = now_ms
        self.thread_id = thread_id
        self.order = order
        self.settle_ms = settle_ms
        self._streams = sorted(streams, key=lambda s: _sort_key(key_of(s)))
        self._finished = position is not None and position.finished
        self._send_start = position is None
        self.finish_reason: Any = None
        self._finish_seen: str | None = None
        self._feed: StreamFeed | None = None
        self._index = 0
        self._resume_key = (-1, "")
        if position is not None and position.stream is not None:
            wanted = _sort_key(position.stream)
            self._resume_key = wanted
            self._index = next(
                (i for i, s in enumerate(self._streams) if _sort_key(key_of(s)) >= wanted),
                len(self._streams),
            )
            found = self._streams[self._index] if self._index < len(self._streams) else None
            start = (
                position.position
                if found is not None and key_of(found) == position.stream
                else StreamPosition()
            )
            if found is not None:
                self._feed = self._open(found, start)
        elif self._streams:
            self._feed = self._open(self._streams[0], StreamPosition())

    # -- the merge ------------------------------------------------------------------

    def _open(self, listed: Stream, position: StreamPosition) -> StreamFeed:
        key = key_of(listed)
        # The index shows neither nextStart nor a settled status: read the stream itself.
        stream = self.repository.get_stream(listed.stream_id, self.now_ms()) or listed
        return StreamFeed(
            self.repository,
            self.now_ms,
            stream,
            position,
            transform=lambda chunk: self._merge(stream.stream_id, chunk),
            event_id=lambda p: TurnPosition(self.order, key, p).encode(),
        )

    def _merge(self, stream_id: str, chunk: Chunk) -> Chunk | None:
        kind = chunk.get("type")
        if kind not in ("start", "finish"):
            return chunk
        if kind == "finish":
            self.finish_reason = chunk.get("finishReason")
            self._finish_seen = stream_id
        metadata = chunk.get("messageMetadata")
        return (
            None if metadata is None else {"type": "message-metadata", "messageMetadata": metadata}
        )

    def _start_frame(self) -> bytes:
        chunk: Chunk = {"type": "start"}
        if self._streams:
            chunk["messageId"] = "stream:" + self._streams[0].stream_id
        return event(TurnPosition(self.order).encode(), chunk)

    # -- rounds ---------------------------------------------------------------------

    def round(self, probe: bool) -> Round:
        result = Round()
        if self._finished:
            result.done = True
            return result
        if self._send_start:
            self._send_start = False
            result.frames.append(self._start_frame())
        while True:
            feed = self._feed
            if feed is None:
                if not self._advance():
                    return self._end(result, None)
                continue
            step = feed.round(probe)
            result.frames.extend(step.frames)
            result.found_parts = result.found_parts or step.found_parts
            result.more = step.more
            if not (step.gone or feed.delivered):
                return result
            if step.more:
                return result
            if self._index + 1 < len(self._streams):
                self._next()
                probe = False
                continue
            if self._delivered_at is None:
                self._delivered_at = self.clock()
            ended_at = feed.stream.ended_at
            settled = step.gone or (
                ended_at is not None and self.now_ms() - ended_at >= self.settle_ms
            )
            if not settled and self.clock() - self._delivered_at < self.settle_ms / 1000:
                # A next stream may not be in the index yet: look again later.
                return result
            if self._relist():
                self._next()
                probe = False
                continue
            return self._end(result, None if step.gone else feed)

    def _next(self) -> None:
        self._delivered_at = None
        self._index += 1
        self._feed = self._open(self._streams[self._index], StreamPosition())

    def _advance(self) -> bool:
        """No stream to follow yet (every listed one is behind the reader): list again."""
        if self._index < len(self._streams) or self._relist():
            self._feed = self._open(self._streams[self._index], StreamPosition())
            return True
        return False

    def _relist(self) -> bool:
        """List the order's streams again; whether one after the current exists."""
        found = self.repository.streams_at_order(
            self.thread_id, self.order, MAX_ORDER, STREAM_STATUSES, self.now_ms(),
            MAX_STREAMS_PER_LIST,
        )  # fmt: skip
        current = (
            _sort_key(key_of(self._streams[self._index]))
            if self._index < len(self._streams)
            else self._resume_key
        )
        known = {s.stream_id for s in self._streams}
        later = sorted(
            (s for s in found if s.stream_id not in known and _sort_key(key_of(s)) > current),
            key=lambda s: _sort_key(key_of(s)),
        )
        if not later:
            return False
        keep = self._streams[: self._index + 1] if self._index < len(self._streams) else []
        self._streams = keep + later
        if self._index >= len(self._streams):
            self._index = len(keep)
        return True

    def _end(self, result: Round, last: StreamFeed | None) -> Round:
        if last is not None and last.stream.status == "aborted":
            result.frames.extend(last.tail())
        else:
            chunk: Chunk = {"type": "finish"}
            reason = self._last_finish_reason(last)
            if reason is not None:
                chunk["finishReason"] = reason
            result.frames.append(event(TurnPosition(self.order, finished=True).encode(), chunk))
        self._finished = True
        result.done = True
        return result

    def _last_finish_reason(self, last: StreamFeed | None) -> Any:
        if last is None or self._finish_seen == last.stream.stream_id:
            return self.finish_reason
        # The reader resumed after the last stream's own finish: read it back.
        starts, _ = self.repository.delta_starts(last.stream.stream_id, None, 1)
        if not starts:
            return None
        (found,) = self.repository.read_deltas(
            [(last.stream.stream_id, starts[0])], self.now_ms(), 1
        )
        deltas = self.repository.resolve_deltas(found)
        convert = last.stream.meta.get("format") != "UIMessageChunk"
        reason = None
        for delta in deltas:
            for part in json.loads(delta.parts_json):
                chunk = text_stream_part_to_ui_chunk(part) if convert else part
                if isinstance(chunk, dict) and chunk.get("type") == "finish":
                    reason = chunk.get("finishReason")
        return reason
