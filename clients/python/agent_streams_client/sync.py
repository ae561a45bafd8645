"""Synchronous facades for synchronous code (a Lambda handler is sync by default).

Each facade owns (or shares) an event loop running on a private daemon thread and
runs the async implementation there; the calling thread just waits for results.
So the background work of a ``DeltaStreamer`` — throttled writes, heartbeats,
retries — goes on between the caller's ``add_parts`` calls, exactly as in async
code, and nothing here touches the caller's own event loop, if it has one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.operations import CursorsArg
from agent_streams_client.streams_client import StreamsClient
from agent_streams_client.types import (
    DeleteThreadResult,
    MessageStatus,
    MessageWithMetadata,
    Part,
    StreamDelta,
    StreamFormat,
    StreamMessage,
    StreamState,
    StreamStatus,
    StreamUIMessage,
    Thread,
    UIMessage,
)

T = TypeVar("T")


class LoopThread:
    """An event loop on a daemon thread; ``run(coro)`` runs a coroutine there and waits."""

    def __init__(self, name: str = "agent-streams-loop") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("the loop thread is closed")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a sync facade was called from its own loop thread (deadlock)")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call_soon(self, callback: Callable[[], Any]) -> None:
        self._loop.call_soon_threadsafe(callback)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def _shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class SyncStreamsClient:
    """:class:`StreamsClient` for synchronous code: the same methods, blocking."""

    def __init__(self, client: StreamsClient, *, loop_thread: LoopThread | None = None) -> None:
        self.client = client
        self._own_loop = loop_thread is None
        self.loop_thread = loop_thread or LoopThread()

    @classmethod
    def http(cls, base_url: str, auth: Any = None, **options: Any) -> SyncStreamsClient:
        return cls(StreamsClient.http(base_url, auth, **options))

    @classmethod
    def lambda_(cls, *, stack_name: str, **options: Any) -> SyncStreamsClient:
        return cls(StreamsClient.lambda_(stack_name=stack_name, **options))

    @classmethod
    def in_process(cls, invoke: Callable[[str, dict[str, Any]], Any]) -> SyncStreamsClient:
        return cls(StreamsClient.in_process(invoke))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop_thread.run(coro)

    def close(self) -> None:
        self._run(self.client.close())
        if self._own_loop:
            self.loop_thread.close()

    def __enter__(self) -> SyncStreamsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_thread(
        self, *, user_id: str | None = None, title: str | None = None, summary: str | None = None
    ) -> Thread:
        return self._run(self.client.create_thread(user_id=user_id, title=title, summary=summary))

    def get_thread(self, thread_id: str) -> Thread:
        return self._run(self.client.get_thread(thread_id))

    def delete_thread(self, thread_id: str) -> DeleteThreadResult:
        return self._run(self.client.delete_thread(thread_id))

    def create_stream(
        self,
        thread_id: str,
        *,
        order: int,
        step_order: int,
        format: StreamFormat | None = None,
        **metadata: Any,
    ) -> str:
        return self._run(
            self.client.create_stream(
                thread_id, order=order, step_order=step_order, format=format, **metadata
            )
        )

    def list_streams(
        self,
        thread_id: str,
        *,
        start_order: int | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[StreamMessage]:
        return self._run(
            self.client.list_streams(
                thread_id,
                start_order=start_order,
                statuses=None if statuses is None else list(statuses),
            )
        )

    def list_deltas(self, thread_id: str, cursors: CursorsArg) -> list[StreamDelta]:
        return self._run(self.client.list_deltas(thread_id, cursors))

    def abort_streams_by_order(self, thread_id: str, *, order: int, reason: str) -> bool:
        return self._run(self.client.abort_streams_by_order(thread_id, order=order, reason=reason))

    def delete_thread_streams(self, thread_id: str) -> None:
        self._run(self.client.delete_thread_streams(thread_id))

    def streaming_messages(
        self,
        thread_id: str,
        *,
        order: int,
        step_order: int,
        status: MessageStatus = "success",
        error: str | None = None,
    ) -> list[MessageWithMetadata]:
        return self._run(
            self.client.streaming_messages(
                thread_id, order=order, step_order=step_order, status=status, error=error
            )
        )

    def get_stream(self, stream_id: str) -> StreamState:
        return self._run(self.client.get_stream(stream_id))

    def get_stream_message(self, stream_id: str) -> StreamUIMessage:
        return self._run(self.client.get_stream_message(stream_id))

    def add_delta(self, stream_id: str, *, start: int, end: int, parts: list[Part]) -> bool:
        return self._run(self.client.add_delta(stream_id, start=start, end=end, parts=parts))

    def heartbeat_stream(self, stream_id: str) -> None:
        self._run(self.client.heartbeat_stream(stream_id))

    def finish_stream(
        self, stream_id: str, *, final_delta: dict[str, Any] | None = None
    ) -> StreamStatus | None:
        return self._run(self.client.finish_stream(stream_id, final_delta=final_delta))

    def abort_stream(
        self, stream_id: str, *, reason: str, final_delta: dict[str, Any] | None = None
    ) -> bool:
        return self._run(
            self.client.abort_stream(stream_id, reason=reason, final_delta=final_delta)
        )

    def delete_stream(self, stream_id: str) -> None:
        self._run(self.client.delete_stream(stream_id))

    def follow(self, thread_id: str, **options: Any) -> Iterator[list[UIMessage]]:
        """The follower, as a blocking iterator (see :meth:`StreamsClient.follow`)."""
        iterator = self.client.follow(thread_id, **options)
        try:
            while True:
                try:
                    yield self._run(anext(iterator))
                except StopAsyncIteration:
                    return
        finally:
            self._run(iterator.aclose())

    def streamer(
        self, *, thread_id: str, order: int, step_order: int, **options: Any
    ) -> SyncDeltaStreamer:
        return SyncDeltaStreamer(
            self, thread_id=thread_id, order=order, step_order=step_order, **options
        )


class SyncDeltaStreamer:
    """:class:`DeltaStreamer` for synchronous code: the same methods, blocking.

    ``client`` is a :class:`SyncStreamsClient` (its loop thread is shared) or a
    :class:`StreamsClient` (a private loop thread is started, and stopped by
    :meth:`close` / the end of the ``with`` block). Options are DeltaStreamer's;
    instead of an ``abort_event``, call :meth:`abort` from any thread.
    """

    def __init__(
        self,
        client: SyncStreamsClient | StreamsClient,
        *,
        thread_id: str,
        order: int,
        step_order: int,
        **options: Any,
    ) -> None:
        if isinstance(client, SyncStreamsClient):
            self._loop_thread = client.loop_thread
            self._own_loop = False
            async_client = client.client
        else:
            self._loop_thread = LoopThread()
            self._own_loop = True
            async_client = client

        async def build() -> tuple[DeltaStreamer, asyncio.Event]:
            # Built on the loop thread, so its asyncio primitives belong to that loop.
            event = options.pop("abort_event", None) or asyncio.Event()
            streamer = DeltaStreamer(
                async_client,
                thread_id=thread_id,
                order=order,
                step_order=step_order,
                abort_event=event,
                **options,
            )
            await streamer.__aenter__()  # starts watching the abort event
            return streamer, event

        self._streamer, self._abort_event = self._run(build())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop_thread.run(coro)

    @property
    def streamer(self) -> DeltaStreamer:
        """The async streamer underneath (its state: ``stream_id``, ``aborted``…)."""
        return self._streamer

    @property
    def stream_id(self) -> str | None:
        return self._streamer.stream_id

    @property
    def aborted(self) -> bool:
        return self._streamer.aborted

    @property
    def finished(self) -> bool:
        return self._streamer.finished

    def add_parts(self, parts: Iterable[Part]) -> None:
        parts = list(parts)
        self._run(self._streamer.add_parts(parts))

    def consume(self, parts: Iterable[Part] | AsyncIterable[Part]) -> None:
        """Write all of ``parts`` then finish (fail and re-raise on an error).

        An async iterable (e.g. an adapter's ``…_chunks(stream)``) runs on the loop
        thread; a plain iterable is read here, in the caller's thread.
        """
        if isinstance(parts, AsyncIterable):
            self._run(self._streamer.consume(parts))
            return
        try:
            for part in parts:
                self.add_parts((part,))
                if self.aborted:
                    # Stop the source now (a sync SDK stream: the model stops too).
                    close = getattr(parts, "close", None)
                    if close is not None:
                        close()
                    break
        except BaseException as exc:
            self.fail(str(exc) or type(exc).__name__)
            raise
        if self.aborted:
            if self._streamer.error is not None:
                raise self._streamer.error
            return
        self.finish()

    def finish(self) -> None:
        self._run(self._streamer.finish())

    def fail(self, reason: str) -> None:
        self._run(self._streamer.fail(reason))

    def abort(self) -> None:
        """Abort with reason ``"abortSignal"``, as setting the abort event would; from any thread.

        Returns once the stream is aborted.
        """

        async def abort_now() -> None:
            self._abort_event.set()
            # Under the streamer's close lock: a no-op if the event's watcher got there first.
            await self._streamer.fail("abortSignal")

        self._run(abort_now())

    def close(self) -> None:
        if self._own_loop:
            self._loop_thread.close()

    def __enter__(self) -> SyncDeltaStreamer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._run(self._streamer.__aexit__(exc_type, exc, tb))
        finally:
            self.close()


__all__ = ["LoopThread", "SyncDeltaStreamer", "SyncStreamsClient"]
