"""``Operations``: one async method per operation of the contract, over a transport.

Python names and keyword arguments (snake_case) in, camelCase on the wire; the
values returned are the contract's direct values, typed. Optional arguments left
as ``None`` are not sent (the contract omits absent fields, never ``null``).

This is what the writer (:class:`~agent_streams_client.delta_streamer.DeltaStreamer`)
and the followers are written against; :class:`~agent_streams_client.streams_client.StreamsClient`
adds the constructors for each transport and builds those on top of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from agent_streams_client.transport import Transport
from agent_streams_client.types import (
    DeleteThreadResult,
    MessageStatus,
    MessageWithMetadata,
    Part,
    StreamCursor,
    StreamDelta,
    StreamFormat,
    StreamMessage,
    StreamMetadata,
    StreamState,
    StreamStatus,
    StreamUIMessage,
    Thread,
)

CursorsArg = Mapping[str, int] | Iterable[StreamCursor | tuple[str, int]]


def _args(**kwargs: Any) -> dict[str, Any]:
    """camelCase arguments with the ``None``s left out."""
    return {key: value for key, value in kwargs.items() if value is not None}


def normalize_cursors(cursors: CursorsArg) -> list[StreamCursor]:
    """``{id: n}``, ``[(id, n)]`` or ``[{"streamId", "cursor"}]`` → the wire's list."""
    if isinstance(cursors, Mapping):
        return [{"streamId": sid, "cursor": int(n)} for sid, n in cursors.items()]
    result: list[StreamCursor] = []
    for item in cursors:
        if isinstance(item, tuple):
            result.append({"streamId": item[0], "cursor": int(item[1])})
        else:
            result.append({"streamId": item["streamId"], "cursor": int(item["cursor"])})
    return result


def _delta(stream_id: str, delta: StreamDelta | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if delta is None:
        return None
    return {"streamId": stream_id, **delta}


class Operations:
    """The contract's operations over any :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    # -- threads ----------------------------------------------------------------

    async def create_thread(
        self, *, user_id: str | None = None, title: str | None = None, summary: str | None = None
    ) -> Thread:
        result = await self.transport.call(
            "create_thread", _args(userId=user_id, title=title, summary=summary)
        )
        return cast(Thread, result)

    async def get_thread(self, thread_id: str) -> Thread:
        return cast(Thread, await self.transport.call("get_thread", {"threadId": thread_id}))

    async def delete_thread(self, thread_id: str) -> DeleteThreadResult:
        result = await self.transport.call("delete_thread", {"threadId": thread_id})
        return cast(DeleteThreadResult, result)

    # -- streams of a thread ----------------------------------------------------

    async def create_stream(
        self,
        thread_id: str,
        *,
        order: int,
        step_order: int,
        format: StreamFormat | None = None,
        user_id: str | None = None,
        agent_name: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        provider_options: Mapping[str, Any] | None = None,
        metadata: StreamMetadata | None = None,
        retention_seconds: int | None = None,
    ) -> str:
        """Open a stream; its id. ``metadata``: the stream's metadata as the wire names it
        (any field of ``StreamMetadata``, e.g. one newer than these keyword arguments);
        the keyword arguments given win over it. ``retention_seconds``: how long the
        stream stays readable once it ended (default 300 once finished)."""
        result = await self.transport.call(
            "create_stream",
            {
                **(metadata or {}),
                **_args(
                    threadId=thread_id,
                    order=order,
                    stepOrder=step_order,
                    format=format,
                    userId=user_id,
                    agentName=agent_name,
                    model=model,
                    provider=provider,
                    providerOptions=None if provider_options is None else dict(provider_options),
                    retentionSeconds=retention_seconds,
                ),
            },
        )
        return str(result)

    async def list_streams(
        self,
        thread_id: str,
        *,
        start_order: int | None = None,
        statuses: Sequence[str] | None = None,
    ) -> list[StreamMessage]:
        result = await self.transport.call(
            "list_streams",
            _args(
                threadId=thread_id,
                startOrder=start_order,
                statuses=None if statuses is None else list(statuses),
            ),
        )
        return cast(list[StreamMessage], result)

    async def list_deltas(self, thread_id: str, cursors: CursorsArg) -> list[StreamDelta]:
        result = await self.transport.call(
            "list_deltas", {"threadId": thread_id, "cursors": normalize_cursors(cursors)}
        )
        return cast(list[StreamDelta], result)

    async def abort_streams_by_order(self, thread_id: str, *, order: int, reason: str) -> bool:
        result = await self.transport.call(
            "abort_streams_by_order", {"threadId": thread_id, "order": order, "reason": reason}
        )
        return bool(result)

    async def delete_thread_streams(self, thread_id: str) -> None:
        await self.transport.call("delete_thread_streams", {"threadId": thread_id})

    async def streaming_messages(
        self,
        thread_id: str,
        *,
        order: int,
        step_order: int,
        status: MessageStatus = "success",
        error: str | None = None,
    ) -> list[MessageWithMetadata]:
        result = await self.transport.call(
            "streaming_messages",
            _args(
                threadId=thread_id, order=order, stepOrder=step_order, status=status, error=error
            ),
        )
        return cast(list[MessageWithMetadata], result)

    # -- one stream ---------------------------------------------------------------

    async def get_stream(self, stream_id: str) -> StreamState:
        return cast(StreamState, await self.transport.call("get_stream", {"streamId": stream_id}))

    async def get_stream_message(self, stream_id: str) -> StreamUIMessage:
        """The stream's UI message (from its snapshot once it ended) and its ``cursor``."""
        result = await self.transport.call("get_stream_message", {"streamId": stream_id})
        return cast(StreamUIMessage, result)

    async def add_delta(self, stream_id: str, *, start: int, end: int, parts: list[Part]) -> bool:
        """Append parts ``[start, end)``. False: the stream is gone or no longer streaming."""
        result = await self.transport.call(
            "add_delta", {"streamId": stream_id, "start": start, "end": end, "parts": parts}
        )
        return bool(result)

    async def heartbeat_stream(self, stream_id: str) -> None:
        await self.transport.call("heartbeat_stream", {"streamId": stream_id})

    async def finish_stream(
        self, stream_id: str, *, final_delta: StreamDelta | Mapping[str, Any] | None = None
    ) -> StreamStatus | None:
        """Finish the stream, with its last delta atomically.

        Finishing a stream that is no longer streaming is a no-op (its final delta is
        not written). The stream's status after the call is returned when the
        transport carries it — HTTP's ``{"status"}``: ``"finished"``, or
        ``"aborted"`` for that no-op — and None over direct invoke (the contract's
        direct value is null; ask :meth:`get_stream` if it matters).
        """
        result = await self.transport.call(
            "finish_stream", _args(streamId=stream_id, finalDelta=_delta(stream_id, final_delta))
        )
        return cast(StreamStatus, result) if isinstance(result, str) else None

    async def abort_stream(
        self,
        stream_id: str,
        *,
        reason: str,
        final_delta: StreamDelta | Mapping[str, Any] | None = None,
    ) -> bool:
        result = await self.transport.call(
            "abort_stream",
            _args(streamId=stream_id, reason=reason, finalDelta=_delta(stream_id, final_delta)),
        )
        return bool(result)

    async def delete_stream(self, stream_id: str) -> None:
        await self.transport.call("delete_stream", {"streamId": stream_id})
