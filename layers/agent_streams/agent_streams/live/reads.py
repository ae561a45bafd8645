"""Opening a live read: the checks (not found, not yours, bad cursor) and its first round.

Everything that can refuse the request happens here, before the first byte of the
event stream, so a refusal is an ordinary JSON error reply.
"""

from __future__ import annotations

from agent_streams.live.positions import (
    StreamPosition,
    parse_stream_position,
    parse_turn_position,
)
from agent_streams.live.stream_feed import Round, StreamEvents, StreamFeed
from agent_streams.live.turn_feed import TurnEvents
from agent_streams.service.access import may_read
from agent_streams.service.context import Services
from agent_streams.types import DELETION_REASONS, STREAM_STATUSES
from agent_streams_protocol.errors import StreamNotFound, ThreadNotFound
from agent_streams_protocol.limits import MAX_ORDER, MAX_STREAMS_PER_LIST

LiveEvents = StreamEvents | TurnEvents


def open_stream_events(
    ctx: Services,
    stream_id: str,
    last_event_id: str | None,
    *,
    subject: str | None = None,
    stored: bool = False,
) -> tuple[LiveEvents, Round]:
    """``GET /streams/{streamId}/events``. ``subject``: the JWT subject of the reader (None:
    IAM, may read everything). ``stored``: the parts as written, without conversion and
    without the chunks that end an aborted stream (for readers that materialise them
    with the reference's rules, such as the Python follower)."""
    position = StreamPosition() if last_event_id is None else parse_stream_position(last_event_id)
    stream = ctx.repository.get_stream(stream_id, ctx.now())
    if stream is None or (stream.status == "aborted" and stream.reason in DELETION_REASONS):
        raise StreamNotFound(stream_id)  # being deleted: as good as gone
    if subject is not None and not may_read(ctx.repository.get_thread(stream.thread_id), subject):
        raise StreamNotFound(stream_id)
    feed = StreamFeed(ctx.repository, ctx.now, stream, position, convert=not stored)
    events = StreamEvents(feed, with_tail=not stored)
    return events, events.round(probe=False)


def open_thread_stream(
    ctx: Services,
    thread_id: str,
    last_event_id: str | None,
    *,
    subject: str | None = None,
    settle_ms: int = 1000,
) -> tuple[LiveEvents, Round] | None:
    """``GET /threads/{threadId}/stream``: None when nothing of the thread is streaming
    (and no ``Last-Event-ID`` names a turn to continue)."""
    position = None if last_event_id is None else parse_turn_position(last_event_id)
    thread = ctx.repository.get_thread(thread_id)
    if thread is None or not may_read(thread, subject):
        raise ThreadNotFound(thread_id)
    now = ctx.now()
    if position is None:
        live = ctx.repository.list_streams(thread_id, ["streaming"], 0, now, 1)
        if not live:
            return None
        order = live[0].order
    else:
        order = position.order
    streams = ctx.repository.streams_at_order(
        thread_id, order, MAX_ORDER, STREAM_STATUSES, now, MAX_STREAMS_PER_LIST
    )
    events = TurnEvents(
        ctx.repository, ctx.now, thread_id, order, streams, position, settle_ms=settle_ms
    )
    return events, events.round(probe=False)
