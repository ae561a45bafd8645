"""The thread and the stream that the sample events in ``events/`` name, created for real.

The events tell one story with fixed ids: a thread, a stream in it, its deltas. For
``sam local invoke -e events/add_delta.json`` to find them, they are created through
the service, as the events' own direct invokes would create them
(``create_thread.direct.json``, ``create_stream.direct.json``), with the service's id
generators pinned to the events' ids for the duration.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from agent_streams_dev.local.template import PROJECT_ROOT

EVENTS = PROJECT_ROOT / "events"


def read_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def sample_ids() -> tuple[str, str]:
    """The thread id and the stream id the events name."""
    return read_event("get_thread.direct.json")["threadId"], read_event("get_stream.direct.json")[
        "streamId"
    ]


@contextmanager
def pinned_ids(thread_id: str, stream_id: str) -> Iterator[None]:
    """New threads and streams get these ids (the service's generators, replaced)."""
    from agent_streams.service import streams, threads

    with (
        mock.patch.object(threads, "new_thread_id", return_value=thread_id),
        mock.patch.object(streams, "new_stream_id", return_value=stream_id),
    ):
        yield


def create_sample_thread() -> str:
    from agent_streams.api.validation import parse_arguments
    from agent_streams.service import threads
    from agent_streams_protocol.shapes import CreateThreadRequest

    thread_id, stream_id = sample_ids()
    with pinned_ids(thread_id, stream_id):
        args = parse_arguments(CreateThreadRequest, read_event("create_thread.direct.json"))
        return threads.create_thread(args).thread_id


def create_sample_stream() -> str:
    from agent_streams.api.validation import parse_arguments
    from agent_streams.service import streams
    from agent_streams_protocol.shapes import CreateStreamRequest

    thread_id, stream_id = sample_ids()
    with pinned_ids(thread_id, stream_id):
        args = parse_arguments(CreateStreamRequest, read_event("create_stream.direct.json"))
        return streams.create_stream(args)


def ensure_sample_data() -> list[str]:
    """Create the events' thread and stream where they are missing; what was created."""
    from agent_streams.service.context import services

    ctx = services()
    thread_id, stream_id = sample_ids()
    created = []
    if ctx.repository.get_thread(thread_id) is None:
        created.append(f"thread {create_sample_thread()}")
    if ctx.repository.get_stream(stream_id, ctx.now()) is None:
        created.append(f"stream {create_sample_stream()}")
    return created
