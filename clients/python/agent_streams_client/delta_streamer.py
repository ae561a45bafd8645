"""``DeltaStreamer``: writes one streamed reply as deltas (the reference writer, hardened).

What it keeps from the reference (``client/streaming.ts``): the stream is created
lazily on the first parts, once; at most one ``add_delta`` is in flight, and parts
that arrive meanwhile go in the next delta once ``throttle_ms`` has passed since
the last write; consecutive text/reasoning deltas are merged; ``add_delta ==
False`` (someone aborted or deleted the stream) stops it and calls
``on_async_abort``.

What it adds:

- **no lost tail**: ``finish()`` waits for the write in flight, then sends
  everything still buffered (the last batch atomically with the finish, as its
  ``finalDelta``). The reference could leave parts behind. ``fail()`` keeps the
  partial reply the same way (the parts go with the abort).
- **a timer, not only arrivals, drives the writes**: buffered parts go out when
  the throttle window ends even if no new part arrives (a model pausing before a
  tool call does not hold back the text already produced).
- **bounded retries** of transient failures, with backoff and full jitter. Safe
  because appends are exactly-once: a retried delta that was already accepted is
  answered ``True`` and not written twice. ``create_stream`` is not idempotent, so
  it is retried only when the request certainly was not processed.
- **size limits**: batches are split so no delta exceeds
  ``limits.MAX_PARTS_JSON_BYTES`` (one DynamoDB item); a larger part goes alone in
  its delta (the server stores it in S3), up to ``limits.MAX_DELTA_PARTS_BYTES``; a
  part over that is refused by ``add_parts`` (``PartTooLarge``) before anything is
  sent.
- **heartbeats** while the stream is open but idle, so a long tool call does not
  let the 10-minute timeout abort it.
- ``abort_event``: an ``asyncio.Event`` that aborts the stream (reason
  ``"abortSignal"``) when set.

Time comes from injectable ``clock``/``sleep`` (tests use a fake clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import random
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from enum import Enum
from types import TracebackType
from typing import Any, TypeVar

from agent_streams_client.batching import PlannedDelta, SizedPart, plan_deltas, prepare_part
from agent_streams_client.errors import StreamerClosed
from agent_streams_client.operations import Operations
from agent_streams_client.retry import (
    Clock,
    RetryPolicy,
    Sleep,
    call_with_retry,
    is_retryable,
    is_retryable_unprocessed,
)
from agent_streams_client.types import Part, StreamDelta, StreamFormat
from agent_streams_protocol.errors import StreamNotFound
from agent_streams_protocol.limits import MAX_DELTA_PARTS_BYTES, MAX_PARTS_JSON_BYTES, TIMEOUT_MS

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Heartbeat when idle for a quarter of the server's timeout: three missed beats
#: (a slow network, a paused process) still leave the stream alive.
DEFAULT_HEARTBEAT_INTERVAL_S = TIMEOUT_MS / 4 / 1000

OnAsyncAbort = Callable[[str], Awaitable[None] | None]


class _State(Enum):
    OPEN = "open"  # accepting parts (the stream may not exist yet)
    CLOSING = "closing"  # finish()/fail() is draining the buffer
    FINISHED = "finished"
    ABORTED = "aborted"  # by fail(), by the abort event, or by the server (add_delta False)
    FAILED = "failed"  # an error stopped the writer; raised by the next call


class DeltaStreamer:
    """Writes the parts of one reply to the stream at ``(thread_id, order, step_order)``.

    Use as ``async with DeltaStreamer(...) as s: await s.add_parts([...])`` (finishes
    on success, aborts with the exception's message on failure) or call
    :meth:`consume` with an async iterable of parts.
    """

    def __init__(
        self,
        client: Operations,
        *,
        thread_id: str,
        order: int,
        step_order: int,
        format: StreamFormat = "UIMessageChunk",
        throttle_ms: float = 250,
        compress: bool = True,
        user_id: str | None = None,
        agent_name: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        provider_options: Mapping[str, Any] | None = None,
        on_async_abort: OnAsyncAbort | None = None,
        abort_event: asyncio.Event | None = None,
        heartbeat_interval_s: float | None = None,
        max_retries: int = 6,
        retry_policy: RetryPolicy | None = None,
        max_parts_bytes: int = MAX_PARTS_JSON_BYTES,
        max_delta_bytes: int = MAX_DELTA_PARTS_BYTES,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if format not in ("UIMessageChunk", "TextStreamPart"):
            raise ValueError(f"format must be 'UIMessageChunk' or 'TextStreamPart', not {format!r}")
        self.client = client
        self.thread_id = thread_id
        self.order = order
        self.step_order = step_order
        self.format: StreamFormat = format
        self.throttle_s = max(0.0, throttle_ms / 1000)
        self.compress = compress
        self._metadata: dict[str, Any] = {
            "user_id": user_id,
            "agent_name": agent_name,
            "model": model,
            "provider": provider,
            "provider_options": provider_options,
        }
        self._on_async_abort = on_async_abort
        self._abort_event = abort_event
        self.heartbeat_interval_s = (
            DEFAULT_HEARTBEAT_INTERVAL_S if heartbeat_interval_s is None else heartbeat_interval_s
        )
        if self.heartbeat_interval_s <= 0:
            raise ValueError("heartbeat_interval_s must be positive (math.inf disables heartbeats)")
        self._retry = retry_policy or RetryPolicy(max_retries=max_retries)
        self._max_bytes = max_parts_bytes
        self._max_delta_bytes = max(max_delta_bytes, max_parts_bytes)
        self._clock = clock
        self._sleep = sleep
        self._rand = rand

        self._state = _State.OPEN
        self._error: BaseException | None = None
        self._abort_reason: str | None = None
        self._stream_id: str | None = None
        self._create_task: asyncio.Task[str] | None = None
        self._buffer: list[SizedPart] = []
        #: Part number of the first buffered part (= parts handed to the writer so far).
        self._cursor = 0
        self._last_write = -float("inf")
        self._last_activity = -float("inf")
        self._writer: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._abort_watch: asyncio.Task[None] | None = None
        # Set once the streamer leaves OPEN: wakes the writer and the heartbeat
        # out of their sleeps. Never cleared (leaving OPEN is final).
        self._wake = asyncio.Event()
        self._close_lock = asyncio.Lock()
        #: Set as soon as an abort is asked for, before it gets the close lock and
        #: drains: a producer racing it must see "stopped", not "closed by finish()".
        self._abort_requested = False

    # -- state ------------------------------------------------------------------

    @property
    def stream_id(self) -> str | None:
        """The stream's id, once created (on the first parts)."""
        return self._stream_id

    @property
    def aborted(self) -> bool:
        """True once the stream was aborted (by us, the abort event or the server) or failed."""
        return self._state in (_State.ABORTED, _State.FAILED)

    @property
    def abort_reason(self) -> str | None:
        return self._abort_reason

    def _stopping(self) -> bool:
        """Aborted, or an abort is under way (``fail()``, the abort event, a sync
        ``abort()`` from another thread): parts given now are ignored, as after it."""
        return self.aborted or (self._abort_requested and self._state is not _State.FINISHED)

    @property
    def finished(self) -> bool:
        return self._state is _State.FINISHED

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the writer, if any."""
        return self._error

    @property
    def next_part_number(self) -> int:
        """How many parts were given so far (the next part's number)."""
        return self._cursor + len(self._buffer)

    # -- writing ------------------------------------------------------------------

    async def add_parts(self, parts: Iterable[Part]) -> None:
        """Buffer ``parts``; they are sent in the background, throttled.

        Ignored once the stream is aborted. Raises the error that stopped the writer
        (e.g. ``DeltaConflict``), ``StreamerClosed`` after ``finish()``,
        ``PartTooLarge``/``ValueError`` for a part that cannot be sent (nothing of
        that call is buffered then).
        """
        if self._stopping():
            if self._error is not None:
                raise self._error
            return
        if self._state is not _State.OPEN:
            raise StreamerClosed("add_parts() after finish(): the stream is closed")
        if self._abort_event is not None and self._abort_event.is_set():
            await self._abort("abortSignal")
            return
        prepared = [prepare_part(part, self.format, self._max_delta_bytes) for part in parts]
        if not prepared:
            return
        # Buffered before awaiting the creation, so concurrent callers keep their order.
        self._buffer.extend(prepared)
        await self._ensure_stream()
        if self._state is _State.OPEN:
            self._start_background()

    async def consume(self, parts: AsyncIterable[Part] | Iterable[Part]) -> None:
        """Write every part of ``parts``, then finish; on an error, fail and re-raise.

        Stops consuming if the stream gets aborted, and closes the source if it is a
        generator (``aclose()``/``close()``). The LLM SDK stream under an adapter is
        the caller's: close it in ``on_async_abort`` to stop the model call too.
        """
        try:
            if isinstance(parts, AsyncIterable):
                async for part in parts:
                    await self.add_parts((part,))
                    if self._stopping():
                        await _close_source(parts)
                        break
            else:
                for part in parts:
                    await self.add_parts((part,))
                    if self._stopping():
                        await _close_source(parts)
                        break
        except asyncio.CancelledError:
            # Shielded: the abort completes even if we are cancelled again meanwhile.
            await asyncio.shield(self.fail("cancelled"))
            raise
        except Exception as exc:
            await self.fail(_reason(exc))
            raise
        if self.aborted:
            if self._error is not None:
                raise self._error
            return
        await self.finish()

    async def finish(self) -> None:
        """Send everything buffered, then mark the stream finished.

        No-op if it was aborted; raises the writer's error if it failed. A streamer
        that never got a part never created a stream, and has nothing to finish.
        """
        async with self._close_lock:
            if self._state is _State.FINISHED or self._state is _State.ABORTED:
                return
            if self._error is not None:
                raise self._error
            await self._await_creation()
            if self._stream_id is None:
                self._set_terminal(_State.FINISHED)
                return
            last = await self._drain()
            if last is None and self._state is not _State.CLOSING:
                if self._error is not None:
                    raise self._error
                return  # aborted by the server while draining
            stream_id = self._stream_id
            try:
                status: str | None = await self._with_retry(
                    lambda: self.client.finish_stream(stream_id, final_delta=_as_delta(last))
                )
                if status is None:
                    status = await self._status_after_finish(stream_id)
            except StreamNotFound:
                # Deleted by someone else: what add_delta reports as False.
                await self._server_aborted("stream deleted")
                return
            except BaseException as exc:
                self._fail(exc)
                raise
            if status != "finished":
                # Someone aborted it after our last write: the server made the finish
                # a no-op and dropped the final delta. Not a success.
                await self._server_aborted("async abort")
                return
            self._set_terminal(_State.FINISHED)

    async def _status_after_finish(self, stream_id: str) -> str:
        """The stream's status once ``finish_stream`` returned without saying it (a
        direct invoke's value is null): a finish on a stream someone else aborted
        first is a no-op, which must not be reported as a finished reply."""
        try:
            state = await self._with_retry(functools.partial(self.client.get_stream, stream_id))
        except StreamNotFound:
            raise  # deleted: finish() reports it as such
        except Exception:
            # The finish itself went through; a failed check must not undo it.
            log.warning("could not check stream %s after finishing it", stream_id, exc_info=True)
            return "finished"
        return state["status"]

    async def fail(self, reason: str) -> None:
        """Abort the stream with ``reason``, keeping what was written (and buffered)."""
        await self._abort(reason)

    async def __aenter__(self) -> DeltaStreamer:
        self._start_abort_watch()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.finish()
        elif isinstance(exc, asyncio.CancelledError):
            await asyncio.shield(self.fail("cancelled"))
        else:
            await self.fail(_reason(exc))

    # -- creation -------------------------------------------------------------------

    async def _ensure_stream(self) -> None:
        if self._stream_id is not None:
            return
        if self._create_task is None:
            self._create_task = asyncio.ensure_future(self._create())
        try:
            # Shielded: a cancelled caller must not cancel the one creation others wait on.
            await asyncio.shield(self._create_task)
        except asyncio.CancelledError:
            raise
        except Exception:
            raise self._error or RuntimeError("stream creation failed") from None

    async def _create(self) -> str:
        meta = self._metadata
        try:
            stream_id = await self._with_retry(
                lambda: self.client.create_stream(
                    self.thread_id,
                    order=self.order,
                    step_order=self.step_order,
                    format=self.format,
                    user_id=meta["user_id"],
                    agent_name=meta["agent_name"],
                    model=meta["model"],
                    provider=meta["provider"],
                    provider_options=meta["provider_options"],
                ),
                # Not idempotent: a retry after a request that may have been
                # processed could create a second stream.
                retry_if=is_retryable_unprocessed,
            )
        except BaseException as exc:
            self._error = exc
            self._buffer.clear()
            self._set_terminal(_State.FAILED)
            raise
        self._stream_id = stream_id
        self._last_activity = self._clock()
        return stream_id

    async def _await_creation(self) -> None:
        if self._create_task is not None and self._stream_id is None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._create_task)

    # -- background tasks ----------------------------------------------------------------

    def _start_background(self) -> None:
        if self._writer is None and self._buffer:
            self._writer = asyncio.ensure_future(self._write_loop())
        if self._heartbeat is None and self.heartbeat_interval_s != float("inf"):
            self._heartbeat = asyncio.ensure_future(self._heartbeat_loop())
        self._start_abort_watch()

    def _start_abort_watch(self) -> None:
        if self._abort_event is not None and self._abort_watch is None and not self._is_terminal():
            self._abort_watch = asyncio.ensure_future(self._watch_abort_event(self._abort_event))

    def _stop_background(self) -> None:
        current = asyncio.current_task()
        for task in (self._heartbeat, self._abort_watch):
            # A task that stops the streamer itself (the heartbeat seeing the stream
            # deleted) must not cancel itself mid-way.
            if task is not None and task is not current and not task.done():
                task.cancel()

    async def _write_loop(self) -> None:
        try:
            while self._state is _State.OPEN and self._buffer:
                wait = self._last_write + self.throttle_s - self._clock()
                if wait > 0:
                    await self._sleep_or_wake(wait)
                    continue
                entries, self._buffer = self._buffer, []
                deltas = self._plan(entries)
                # The whole plan is sent even if finish() starts meanwhile: the
                # cursor already counts these parts.
                await self._send(deltas)
        except Exception as exc:
            await self._writer_failed(exc)
        finally:
            self._writer = None

    def _plan(self, entries: Sequence[SizedPart]) -> list[PlannedDelta]:
        deltas = plan_deltas(
            entries,
            start=self._cursor,
            format=self.format,
            compress=self.compress,
            max_bytes=self._max_bytes,
            max_alone_bytes=self._max_delta_bytes,
        )
        self._cursor += len(entries)
        return deltas

    async def _send(self, deltas: Sequence[PlannedDelta]) -> bool:
        """``add_delta`` each delta in order; False (and aborted) if the server refused."""
        stream_id = self._stream_id
        assert stream_id is not None
        for delta in deltas:
            if self._state is _State.ABORTED or self._state is _State.FAILED:
                return False
            self._last_write = self._clock()
            accepted = await self._with_retry(
                functools.partial(
                    self.client.add_delta,
                    stream_id,
                    start=delta.start,
                    end=delta.end,
                    parts=delta.parts,
                )
            )
            if not accepted:
                await self._server_aborted("async abort")
                return False
            self._last_activity = self._last_write
        return True

    async def _heartbeat_loop(self) -> None:
        while self._state is _State.OPEN:
            delay = self._last_activity + self.heartbeat_interval_s - self._clock()
            if delay > 0:
                await self._sleep_or_wake(delay)
                continue
            stream_id = self._stream_id
            assert stream_id is not None
            try:
                await self._with_retry(functools.partial(self.client.heartbeat_stream, stream_id))
            except StreamNotFound:
                await self._server_aborted("stream deleted")
                return
            except Exception:
                # Not fatal: the next write or heartbeat may get through in time.
                log.warning("heartbeat of stream %s failed", stream_id, exc_info=True)
            self._last_activity = self._clock()

    async def _watch_abort_event(self, event: asyncio.Event) -> None:
        await event.wait()
        if not self._is_terminal():
            try:
                await self._abort("abortSignal")
            except Exception:
                log.warning(
                    "aborting stream %s on abort_event failed", self._stream_id, exc_info=True
                )

    async def _sleep_or_wake(self, delay: float) -> None:
        if self._wake.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    # -- ending --------------------------------------------------------------------------

    def _is_terminal(self) -> bool:
        return self._state in (_State.FINISHED, _State.ABORTED, _State.FAILED)

    async def _drain(self) -> PlannedDelta | None:
        """Stop the writer after its write in flight, send all but the last buffered delta.

        Returns the last delta (for the terminal call's ``finalDelta``), or None if
        nothing is left — or if the stream got aborted meanwhile (then the state says so).
        """
        self._state = _State.CLOSING
        self._wake.set()
        writer = self._writer
        if writer is not None:
            await asyncio.shield(writer)
        if self._state is not _State.CLOSING:
            return None
        if not self._buffer:
            return None
        entries, self._buffer = self._buffer, []
        deltas = self._plan(entries)
        try:
            sent = await self._send(deltas[:-1])
        except BaseException as exc:
            self._fail(exc)
            raise
        return deltas[-1] if sent else None

    async def _abort(self, reason: str) -> None:
        if not self._is_terminal():
            self._abort_requested = True
        async with self._close_lock:
            if self._is_terminal():
                return
            await self._await_creation()
            if self._is_terminal():
                return
            if self._stream_id is None:
                self._abort_reason = reason
                self._buffer.clear()
                self._set_terminal(_State.ABORTED)
                return
            last = await self._drain()
            if self._state is not _State.CLOSING:
                return  # the server aborted it meanwhile, or the writer failed
            stream_id = self._stream_id
            try:
                await self._with_retry(
                    lambda: self.client.abort_stream(
                        stream_id, reason=reason, final_delta=_as_delta(last)
                    )
                )
            except StreamNotFound:
                # Deleted by someone else meanwhile: it is not streaming any more,
                # which is all an abort asks. Raising here would also hide the error
                # consume() or ``async with`` is failing the stream for.
                await self._server_aborted("stream deleted")
                return
            except BaseException as exc:
                self._fail(exc)
                raise
            self._abort_reason = reason
            self._set_terminal(_State.ABORTED)

    async def _server_aborted(self, reason: str) -> None:
        """The server refused a write: the stream was aborted or deleted by someone else."""
        if self._is_terminal():
            return
        self._abort_reason = reason
        self._buffer.clear()
        self._set_terminal(_State.ABORTED)
        await self._notify_abort(reason)

    async def _writer_failed(self, exc: Exception) -> None:
        """A write failed for good (retries exhausted, DeltaConflict…): stop and tell."""
        if self._is_terminal():
            return
        self._fail(exc)
        stream_id = self._stream_id
        reason = _reason(exc)
        if stream_id is not None:
            # Best effort, one attempt: readers learn now that the reply is cut,
            # rather than after the 10-minute timeout.
            try:
                await self.client.abort_stream(stream_id, reason=reason)
            except Exception:
                log.warning("could not abort stream %s after %s", stream_id, reason, exc_info=True)
        await self._notify_abort(reason)

    def _fail(self, exc: BaseException) -> None:
        self._error = exc
        self._abort_reason = _reason(exc)
        self._buffer.clear()
        self._set_terminal(_State.FAILED)

    def _set_terminal(self, state: _State) -> None:
        self._state = state
        self._wake.set()
        self._stop_background()

    async def _notify_abort(self, reason: str) -> None:
        if self._on_async_abort is None:
            return
        try:
            result = self._on_async_abort(reason)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.warning("on_async_abort raised", exc_info=True)

    async def _with_retry(
        self,
        attempt: Callable[[], Awaitable[T]],
        retry_if: Callable[[BaseException], bool] = is_retryable,
    ) -> T:
        return await call_with_retry(
            attempt,
            policy=self._retry,
            retry_if=retry_if,
            sleep=self._sleep,
            clock=self._clock,
            rand=self._rand,
            on_retry=lambda exc, n, delay: log.info(
                "stream %s: retry %d in %.2fs after %s", self._stream_id, n + 1, delay, exc
            ),
        )


async def _close_source(source: object) -> None:
    """Close a generator the streamer stopped reading (an aborted reply).

    Breaking out of a loop does not close it: a generator the caller still holds
    would stay suspended, its ``finally`` blocks (releasing what it reads from)
    pending until it is garbage collected. Closing runs them now.
    """
    try:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
            return
        close = getattr(source, "close", None)
        if close is not None:
            close()
    except Exception:
        log.warning("closing the source of an aborted reply failed", exc_info=True)


def _as_delta(delta: PlannedDelta | None) -> dict[str, Any] | None:
    if delta is None:
        return None
    return {"start": delta.start, "end": delta.end, "parts": delta.parts}


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


__all__ = ["DEFAULT_HEARTBEAT_INTERVAL_S", "DeltaStreamer", "OnAsyncAbort", "StreamDelta"]
