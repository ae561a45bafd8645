"""One stream's parts as SSE events, read from storage round by round.

A round is one strongly consistent read: the deltas after the cursor, or (a
"probe") the stream item, followed by the deltas only if its ``nextStart`` shows
new ones. Every part becomes one event (a TextStreamPart stream's parts are
converted to UI message chunks first; a part that converts to nothing sends
nothing), and every event's id is the position after it (``positions``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent_streams.live.positions import StreamPosition, Tail
from agent_streams.live.sse import event
from agent_streams.service.reply_sizes import fitting
from agent_streams.storage.repository import Repository
from agent_streams.types import DELETION_REASONS, Stream
from agent_streams_protocol.errors import ValidationError
from agent_streams_protocol.limits import MAX_DELTAS_PER_STREAM, MAX_DELTAS_REPLY_BYTES
from agent_streams_protocol.materialize.ui_chunks import text_stream_part_to_ui_chunk

Chunk = dict[str, Any]
#: Applied to each chunk before it is sent (None: send nothing for it).
Transform = Callable[[Chunk], Chunk | None]
#: The text of an event id for a position in this stream.
EventId = Callable[[StreamPosition], str]

#: What a timed-out stream says before its end.
TIMEOUT_ERROR: Chunk = {"type": "error", "errorText": "stream timed out"}
ABORT: Chunk = {"type": "abort"}
_TAIL_RANK = {"": 0, "error": 1, "abort": 2}


@dataclass
class Round:
    frames: list[bytes] = field(default_factory=list)
    #: The cursor moved (parts were read, even if none of them sent an event).
    found_parts: bool = False
    #: A page was full: read again without waiting.
    more: bool = False
    #: The stream no longer exists (deleted, or cleaned up after it finished).
    gone: bool = False
    #: Everything was sent: ``data: [DONE]`` follows.
    done: bool = False


class StreamFeed:
    """Follows one stream from a position; :meth:`round` reads, :attr:`delivered` says
    when every part of an ended stream was sent, :meth:`tail` ends it."""

    def __init__(
        self,
        repository: Repository,
        now_ms: Callable[[], int],
        stream: Stream,
        position: StreamPosition,
        *,
        convert: bool = True,
        transform: Transform | None = None,
        event_id: EventId = StreamPosition.encode,
    ) -> None:
        if position.cursor > stream.next_start or (
            position.index is not None and position.cursor >= stream.next_start
        ):
            raise ValidationError(
                f"cursor {position.encode()!r} is past the end of stream {stream.stream_id!r}"
            )
        self.repository = repository
        self.now_ms = now_ms
        self.stream = stream
        self.cursor = position.cursor
        self._skip_through = position.index
        self._tail: Tail = position.tail
        self._convert = convert and stream.meta.get("format") != "UIMessageChunk"
        self._transform = transform
        self._event_id = event_id
        self._checked = position.cursor == 0 and position.index is None

    @property
    def delivered(self) -> bool:
        """The stream ended and every part of it was sent."""
        return self.stream.status != "streaming" and self.cursor >= self.stream.next_start

    @property
    def position(self) -> StreamPosition:
        return StreamPosition(self.cursor, self._skip_through, self._tail)

    def round(self, probe: bool) -> Round:
        result = Round()
        if probe or self.delivered:
            found = self.repository.get_stream(self.stream.stream_id, self.now_ms())
            # A deletion aborts a streaming stream before it purges it: from then on the
            # stream is as good as gone (no abort chunk, no [DONE]; reconnecting is a 404).
            if found is None or (found.status == "aborted" and found.reason in DELETION_REASONS):
                result.gone = True
                return result
            self.stream = found
            if self.cursor >= found.next_start:
                return result
        self._read(result)
        return result

    def tail(self) -> list[bytes]:
        """The events that end a delivered stream: an aborted stream that did not end
        with its own abort chunk gets one; a timed-out one an error chunk before it."""
        stream = self.stream
        frames: list[bytes] = []
        rank = _TAIL_RANK[self._tail]
        if stream.status == "aborted":
            if stream.reason == "timeout" and rank < 1:
                self._tail = "error"
                frames.append(event(self._event_id(self.position), TIMEOUT_ERROR))
            if rank < 2:
                self._tail = "abort"
                frames.append(event(self._event_id(self.position), ABORT))
        return frames

    # -- reading ------------------------------------------------------------------

    def _read(self, result: Round) -> None:
        (deltas,) = self.repository.read_deltas(
            [(self.stream.stream_id, self.cursor)], self.now_ms(), MAX_DELTAS_PER_STREAM
        )
        if not self._checked:
            first = deltas[0].start if deltas else None
            if first != self.cursor and (deltas or self.cursor != self.stream.next_start):
                raise ValidationError(
                    f"cursor {self.position.encode()!r} is not an event of stream "
                    f"{self.stream.stream_id!r}"
                )
            self._checked = True
        result.more = len(deltas) >= MAX_DELTAS_PER_STREAM
        # A round holds what one list_deltas reply would: parts spilled to S3 are read
        # for at most that much (and always for the first delta).
        chosen = fitting(deltas, MAX_DELTAS_REPLY_BYTES, MAX_DELTAS_PER_STREAM)
        result.more = result.more or len(chosen) < len(deltas)
        deltas = self.repository.resolve_deltas(chosen)
        for delta in deltas:
            if delta.start != self.cursor:
                break  # cannot happen: appends are gap-free
            self._send_delta(delta.start, delta.end, json.loads(delta.parts_json), result)
            result.found_parts = True

    def _send_delta(self, start: int, end: int, parts: list[Any], result: Round) -> None:
        skip = -1 if self._skip_through is None else self._skip_through
        chunks: list[tuple[int, Chunk]] = []
        for index, part in enumerate(parts):
            if index <= skip:
                continue
            chunk = text_stream_part_to_ui_chunk(part) if self._convert else part
            if chunk is not None and self._transform is not None:
                chunk = self._transform(chunk)
            if chunk is not None:
                chunks.append((index, chunk))
        last = len(chunks) - 1
        for n, (index, chunk) in enumerate(chunks):
            if n < last:
                position = StreamPosition(start, index)
            else:
                ends_aborted = isinstance(chunk, dict) and chunk.get("type") == "abort"
                position = StreamPosition(end, tail="abort" if ends_aborted else "")
            result.frames.append(event(self._event_id(position), chunk))
        self.cursor = end
        self._skip_through = None
        if chunks:
            self._tail = "abort" if chunks[-1][1].get("type") == "abort" else ""


class StreamEvents:
    """``GET /streams/{streamId}/events``: one stream, then its tail and ``[DONE]``."""

    def __init__(self, feed: StreamFeed, *, with_tail: bool = True) -> None:
        self.feed = feed
        #: Send the abort / timeout chunks of an aborted stream (not for stored parts).
        self.with_tail = with_tail

    def round(self, probe: bool) -> Round:
        result = self.feed.round(probe)
        if not result.gone and self.feed.delivered:
            if self.with_tail:
                result.frames.extend(self.feed.tail())
            result.done = True
        return result
