"""Event ids of the live reads: where a reader is, so it can resume exactly after it.

One stream (``GET /streams/{streamId}/events``)::

    N          every part before N was delivered (N is a delta boundary: list_deltas' cursor)
    S.I        ... the parts before S and parts 0..I of the delta starting at S
    N.error    ... every part before N, then the timeout's error chunk
    N.abort    ... every part before N, the last event an abort chunk (the stream's own or
               the one the server adds for an aborted stream)

The last event of a delta carries ``N`` (its ``end``), the others ``S.I``: a reader
cut anywhere, even inside a delta of merged parts, resumes with nothing repeated
and nothing skipped. ``?cursor=N`` with a plain number is list_deltas' cursor.

A turn (``GET /threads/{threadId}/stream``)::

    O                      the turn at order O: its ``start`` was delivered
    O.K.STREAMID.P         ... and stream STREAMID (stepOrder K) up to its position P
    O.finish               ... and the turn's ``finish``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agent_streams.ids import is_valid_id
from agent_streams_protocol.errors import ValidationError

Tail = Literal["", "error", "abort"]

_NUMBER = r"(0|[1-9][0-9]{0,15})"
_STREAM = re.compile(rf"^{_NUMBER}(?:\.({_NUMBER}|error|abort))?$")
_MAX_ID_TEXT = 200


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """After which event of one stream a reader is."""

    #: The next part number (a delta boundary).
    cursor: int = 0
    #: Parts 0..index of the delta starting at ``cursor`` were delivered too.
    index: int | None = None
    #: What was delivered after the last part.
    tail: Tail = ""

    def encode(self) -> str:
        if self.index is not None:
            return f"{self.cursor}.{self.index}"
        return f"{self.cursor}.{self.tail}" if self.tail else str(self.cursor)


def parse_stream_position(text: str) -> StreamPosition:
    match = _STREAM.match(text) if len(text) <= _MAX_ID_TEXT else None
    if match is None:
        raise ValidationError(f"{text[:64]!r} is not an event id of a stream")
    cursor = int(match.group(1))
    suffix = match.group(2)
    if suffix is None:
        return StreamPosition(cursor)
    if suffix in ("error", "abort"):
        return StreamPosition(cursor, tail=suffix)  # type: ignore[arg-type]
    return StreamPosition(cursor, index=int(suffix))


@dataclass(frozen=True, slots=True)
class StreamKey:
    """A stream's place in its turn: streams are merged in (stepOrder, streamId) order."""

    step_order: int
    stream_id: str


@dataclass(frozen=True, slots=True)
class TurnPosition:
    """After which event of a turn a reader is."""

    order: int
    #: The stream it is in, and where (None: only the turn's ``start`` was delivered).
    stream: StreamKey | None = None
    position: StreamPosition = StreamPosition()
    #: The turn's ``finish`` was delivered.
    finished: bool = False

    def encode(self) -> str:
        if self.finished:
            return f"{self.order}.finish"
        if self.stream is None:
            return str(self.order)
        key = self.stream
        return f"{self.order}.{key.step_order}.{key.stream_id}.{self.position.encode()}"


def parse_turn_position(text: str) -> TurnPosition:
    problem = ValidationError(f"{text[:64]!r} is not an event id of a thread's stream")
    if len(text) > _MAX_ID_TEXT:
        raise problem
    pieces = text.split(".", 3)
    if not re.fullmatch(_NUMBER, pieces[0]):
        raise problem
    order = int(pieces[0])
    if len(pieces) == 1:
        return TurnPosition(order)
    if len(pieces) == 2:
        if pieces[1] != "finish":
            raise problem
        return TurnPosition(order, finished=True)
    if len(pieces) != 4 or not re.fullmatch(_NUMBER, pieces[1]) or not is_valid_id(pieces[2]):
        raise problem
    try:
        position = parse_stream_position(pieces[3])
    except ValidationError:
        raise problem from None
    return TurnPosition(order, StreamKey(int(pieces[1]), pieces[2]), position)
