"""The follower over Server-Sent Events: deltas pushed by the live reads, not polled.

Each open stream is read from ``GET {live_url}/streams/{streamId}/events?stored=true``
(the parts as written, so the materialisation is exactly the polling follower's),
resuming at the materialiser's cursor after any disconnect. The event ids say where
each delta ends (``N`` after its last part), so the deltas are rebuilt as stored.
``list_streams`` still finds new streams and status changes, but only every
``discovery_interval`` seconds and when a stream's events end, not for every delta.

If the live URL does not serve the events (an API Gateway HTTP API answers an
unknown route with 404 ``{"message": "Not Found"}``), the follower polls instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from agent_streams_client.errors import TransientError
from agent_streams_client.follower import FollowedStream, ThreadFollower
from agent_streams_client.operations import Operations
from agent_streams_client.types import TERMINAL_STATUSES, StreamDelta, StreamMessage, UIMessage
from agent_streams_protocol.errors import AgentStreamsError, StreamNotFound

if TYPE_CHECKING:
    import urllib3

    from agent_streams_client.http_transport import HttpTransport

log = logging.getLogger(__name__)

#: What a stream's reader reports: ("deltas", [delta]), ("done", None) after ``[DONE]``,
#: ("gone", None), ("unsupported", None), ("failed", error).
Report = tuple[str, str, Any]


def sse_events(response: urllib3.BaseHTTPResponse) -> Iterator[tuple[str | None, str]]:
    """(id, data) of each event of an SSE body as it arrives; comments are skipped."""
    buffer = b""
    for chunk in response.stream(4096):
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            event_id: str | None = None
            data: list[str] = []
            for line in block.decode("utf-8").split("\n"):
                if line.startswith("id:"):
                    event_id = line[3:].lstrip(" ")
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
            if data:
                yield event_id, "\n".join(data)


class _StreamReader:
    """One stream's events, read in a worker thread, reported to the follower's loop."""

    def __init__(
        self,
        transport: HttpTransport,
        stream_id: str,
        cursor: int,
        report: Callable[[Report], None],
    ) -> None:
        self.transport = transport
        self.stream_id = stream_id
        self.cursor = cursor
        self.report = report
        self.stop = threading.Event()
        self._response: Any = None
        self.thread = threading.Thread(target=self._run, name="agent-streams-live", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        response = self._response
        if response is not None:
            response.close()

    def _run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                ended = self._read_once()
                failures = 0
            except (TransientError, OSError, ValueError) as exc:
                failures += 1
                if failures > 5:
                    self.report(("failed", self.stream_id, exc))
                    return
                self.stop.wait(min(5.0, 0.2 * 2**failures))
                continue
            if ended:
                return

    def _read_once(self) -> bool:
        """One connection; True when nothing more is to be read."""
        path = f"/streams/{quote(self.stream_id, safe='')}/events?stored=true&cursor={self.cursor}"
        response = self.transport.open_events(path, {})
        self._response = response
        try:
            if response.status != 200:
                return self._refused(response.status, response.read())
            start = self.cursor
            parts: list[Any] = []
            for event_id, data in sse_events(response):
                if self.stop.is_set():
                    return True
                if data == "[DONE]":
                    self.report(("done", self.stream_id, None))
                    return True
                parts.append(json.loads(data))
                head, _, tail = (event_id or "").partition(".")
                if not tail or tail == "abort":
                    # The delta's last part: its end is the id's number.
                    end = int(head)
                    delta: StreamDelta = {
                        "streamId": self.stream_id,
                        "start": start,
                        "end": end,
                        "parts": parts,
                    }
                    self.report(("deltas", self.stream_id, [delta]))
                    self.cursor = start = end
                    parts = []
            return False  # ended without [DONE]: reconnect from the cursor
        finally:
            self._response = None
            response.release_conn()

    def _refused(self, status: int, data: bytes) -> bool:
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = None
        code = body.get("error") if isinstance(body, dict) else None
        if status in (404, 405) and code is None:
            self.report(("unsupported", self.stream_id, None))
            return True
        if code == StreamNotFound.__name__:
            self.report(("gone", self.stream_id, None))
            return True
        if status >= 500 or status == 429:
            raise TransientError(f"live read: HTTP {status}", maybe_processed=False)
        error = (
            AgentStreamsError.from_body(body)
            if isinstance(body, dict)
            else AgentStreamsError(f"live read: HTTP {status}")
        )
        self.report(("failed", self.stream_id, error))
        return True


class LiveThreadFollower(ThreadFollower):
    """:class:`ThreadFollower` with the deltas pushed over SSE (see the module's docs)."""

    def __init__(
        self,
        client: Operations,
        thread_id: str,
        *,
        transport: HttpTransport,
        discovery_interval: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(client, thread_id, **options)
        self.transport = transport
        self.discovery_interval = discovery_interval
        #: None until the first stream's reader says whether the live URL serves events.
        self.live: bool | None = None
        #: Streams that had ended when found: messages wait until they are read.
        self._catching_up: set[str] = set()

    async def messages(self) -> AsyncGenerator[list[UIMessage], None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Report] = asyncio.Queue()
        readers: dict[str, _StreamReader] = {}
        started = self._clock()
        last: list[UIMessage] | None = None

        def report(item: Report) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        changed = False
        try:
            while True:
                changed = await self.discover() or changed
                self.polls += 1
                for followed in self._streams.values():
                    if not followed.complete and followed.stream_id not in readers:
                        reader = _StreamReader(
                            self.transport, followed.stream_id, followed.materializer.cursor, report
                        )
                        readers[followed.stream_id] = reader
                        reader.start()
                until = self._clock() + self.discovery_interval
                while True:
                    if changed and not self._catching_up:
                        current = self.ui_messages()
                        if current != last:
                            last = current
                            yield current
                        changed = False
                    if self.live is False:
                        break
                    if self.stop_when_idle and self.idle:
                        return
                    if self.timeout is not None and self._clock() - started >= self.timeout:
                        return
                    wait = until - self._clock()
                    if wait <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(queue.get(), wait)
                    except TimeoutError:
                        break
                    took, rediscover = await self._take(item)
                    changed = changed or took
                    if rediscover:
                        break
                if self.live is False:
                    self._catching_up.clear()
                    break
                if self.max_polls is not None and self.polls >= self.max_polls:
                    return
        finally:
            for reader in readers.values():
                reader.close()
        log.info("follow %s: the live URL serves no events; polling", self.thread_id)
        async for messages in super().messages():
            yield messages

    async def discover(self) -> bool:
        """New streams only: the parts of a stream being read come from its events, and
        its final state once they are all read (``_ended``), so a message never shows a
        terminal status before its last parts."""
        if self.live is False:
            return await super().discover()
        factory, _ = self._materialization()
        listed = await self.client.list_streams(
            self.thread_id, start_order=self.start_order, statuses=self.statuses
        )
        changed = False
        for message in listed:
            if message["streamId"] in self._streams:
                continue
            shown = message
            if message["status"] in TERMINAL_STATUSES:
                # Already ended: shown once all of it is read, as a poll would show it.
                shown = cast(StreamMessage, {**message, "status": "streaming"})
                self._catching_up.add(message["streamId"])
            self._streams[message["streamId"]] = FollowedStream(
                shown, factory(self.thread_id, dict(shown))
            )
            changed = True
        return changed

    async def _take(self, item: Report) -> tuple[bool, bool]:
        """Apply one report; (the messages changed, list the streams again now)."""
        kind, stream_id, value = item
        followed = self._streams.get(stream_id)
        if kind != "deltas":
            self._catching_up.discard(stream_id)
        if kind == "unsupported":
            self.live = False
            return False, True
        self.live = True
        if followed is None:
            return False, False
        if kind == "deltas":
            return followed.materializer.apply(cast(list[StreamDelta], value)), False
        if kind == "done":
            return await self._ended(followed), True
        if kind == "gone":
            followed.gone = followed.complete = True
            return False, True
        raise cast(BaseException, value)

    async def _ended(self, followed: FollowedStream) -> bool:
        """Every part was read: take the stream's final state (one consistent read)."""
        try:
            state = await self.client.get_stream(followed.stream_id)
        except StreamNotFound:
            followed.gone = followed.complete = True
            return False
        fields = StreamMessage.__annotations__
        message = cast(StreamMessage, {k: v for k, v in state.items() if k in fields})
        changed = False
        if message != followed.message:
            followed.message = message
            changed = followed.materializer.set_stream(dict(message))
        if message["status"] in TERMINAL_STATUSES:
            followed.terminal_seen = followed.complete = True
        return changed
