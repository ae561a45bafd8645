"""The shared machinery of the adapters: a stateful converter and the stream helper.

A converter turns one provider event at a time into UIMessageChunk parts, in the
order AI SDK 5's ``toUIMessageStream`` emits them for one model call:
``start``, ``start-step``, then text / reasoning / tool-input blocks, then
``finish-step`` and ``finish``. ``send_start``/``send_finish`` drop the
message-level ``start``/``finish`` when several model calls (a tool loop) make up
one message: the first call keeps ``start``, the last keeps ``finish``.

``stream_chunks`` drives a converter over an SDK stream, sync or async. A sync
stream (the SDKs' blocking clients) is read in a worker thread, one event at a
time, so the event loop — and the DeltaStreamer writing in the background — is
never blocked by the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Iterator
from typing import Any

from agent_streams_client.adapters.chunks import (
    FINISH_REASONS,
    error_chunk,
    parse_tool_input,
)

Chunk = dict[str, Any]


class ChunkConverter:
    """Base of the adapters' converters: ``convert(event) -> chunks``, ``close() -> chunks``."""

    def __init__(
        self,
        *,
        message_id: str | None = None,
        message_metadata: dict[str, Any] | None = None,
        send_start: bool = True,
        send_finish: bool = True,
        usage_in_metadata: bool = True,
        id_prefix: str = "",
    ) -> None:
        self.message_id = message_id
        self.message_metadata = message_metadata
        self.send_start = send_start
        self.send_finish = send_finish
        self.usage_in_metadata = usage_in_metadata
        self.id_prefix = id_prefix
        #: The provider's finish reason, mapped to the AI SDK's values.
        self.finish_reason: str | None = None
        #: Token usage in the AI SDK's ``LanguageModelUsage`` shape, once known.
        self.usage: dict[str, int] | None = None
        #: An error event ended the reply.
        self.errored = False
        self._out: list[Chunk] = []
        self._started = False
        self._finished = False
        # Ordered "sets" of open block ids (dicts keep insertion order).
        self._open_text: dict[str, None] = {}
        self._open_reasoning: dict[str, None] = {}
        # Tool calls whose input is streaming: id -> [name, json text, provider_executed].
        self._tools: dict[str, list[Any]] = {}
        self._tool_calls_seen = False
        self._explicit_total = False

    # -- public -----------------------------------------------------------------

    def convert(self, event: Any) -> list[Chunk]:
        """The parts one provider event stands for (often none, sometimes several)."""
        self._out = []
        if not self._finished:
            self.handle(event)
        out, self._out = self._out, []
        return out

    def close(self) -> list[Chunk]:
        """The parts that end the reply (open blocks closed, ``finish``), if not ended yet."""
        self._out = []
        if self._started and not self._finished and not self.errored:
            self.finish()
        out, self._out = self._out, []
        return out

    def fail(self, error: str | BaseException) -> list[Chunk]:
        """The parts for an error that ended the stream (e.g. the SDK raised)."""
        self._out = []
        self.error(error)
        out, self._out = self._out, []
        return out

    @property
    def finished(self) -> bool:
        return self._finished

    # -- for subclasses ---------------------------------------------------------------

    def handle(self, event: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def emit(self, chunk: Chunk) -> None:
        self._out.append(chunk)

    def ensure_started(self) -> None:
        if self._started:
            return
        self._started = True
        if self.send_start:
            start: Chunk = {"type": "start"}
            if self.message_id is not None:
                start["messageId"] = self.message_id
            if self.message_metadata is not None:
                start["messageMetadata"] = self.message_metadata
            self.emit(start)
        self.emit({"type": "start-step"})

    def text(
        self, block_id: str, delta: str, provider_metadata: dict[str, Any] | None = None
    ) -> None:
        self.ensure_started()
        block_id = self.id_prefix + block_id
        if block_id not in self._open_text:
            self._open_text[block_id] = None
            self.emit({"type": "text-start", "id": block_id})
        if delta or provider_metadata:
            chunk: Chunk = {"type": "text-delta", "id": block_id, "delta": delta}
            if provider_metadata:
                chunk["providerMetadata"] = provider_metadata
            self.emit(chunk)

    def end_text(self, block_id: str) -> None:
        block_id = self.id_prefix + block_id
        if block_id in self._open_text:
            del self._open_text[block_id]
            self.emit({"type": "text-end", "id": block_id})

    def reasoning(
        self, block_id: str, delta: str, provider_metadata: dict[str, Any] | None = None
    ) -> None:
        self.ensure_started()
        block_id = self.id_prefix + block_id
        if block_id not in self._open_reasoning:
            self._open_reasoning[block_id] = None
            self.emit({"type": "reasoning-start", "id": block_id})
        if delta or provider_metadata:
            chunk: Chunk = {"type": "reasoning-delta", "id": block_id, "delta": delta}
            if provider_metadata:
                chunk["providerMetadata"] = provider_metadata
            self.emit(chunk)

    def end_reasoning(self, block_id: str, provider_metadata: dict[str, Any] | None = None) -> None:
        block_id = self.id_prefix + block_id
        if block_id in self._open_reasoning:
            del self._open_reasoning[block_id]
            chunk: Chunk = {"type": "reasoning-end", "id": block_id}
            if provider_metadata:
                chunk["providerMetadata"] = provider_metadata
            self.emit(chunk)

    def open_reasoning_ids(self) -> list[str]:
        return [i[len(self.id_prefix) :] for i in self._open_reasoning]

    def tool_start(self, call_id: str, name: str, *, provider_executed: bool | None = None) -> None:
        self.ensure_started()
        if call_id in self._tools:
            return
        self._tools[call_id] = [name, "", provider_executed]
        self._tool_calls_seen = self._tool_calls_seen or not provider_executed
        chunk: Chunk = {"type": "tool-input-start", "toolCallId": call_id, "toolName": name}
        if provider_executed is not None:
            chunk["providerExecuted"] = provider_executed
        self.emit(chunk)

    def tool_delta(self, call_id: str, text: str) -> None:
        tool = self._tools.get(call_id)
        if tool is None or not text:
            return
        tool[1] += text
        self.emit({"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": text})

    def tool_end(
        self,
        call_id: str,
        *,
        input_text: str | None = None,
        input: Any = None,
        provider_metadata: dict[str, Any] | None = None,
    ) -> None:
        """The call is complete: ``tool-input-available``, or ``tool-input-error`` for bad JSON.

        ``input_text`` (the full JSON, when the provider repeats it) or ``input`` (an
        already parsed value) override what was accumulated from the deltas.
        """
        tool = self._tools.pop(call_id, None)
        if tool is None:
            return
        name, streamed, provider_executed = tool
        if input is not None:
            value, problem = input, None
        else:
            value, problem = parse_tool_input(streamed if input_text is None else input_text)
        chunk: Chunk = {
            "type": "tool-input-error" if problem else "tool-input-available",
            "toolCallId": call_id,
            "toolName": name,
            "input": value,
        }
        if provider_executed is not None:
            chunk["providerExecuted"] = provider_executed
        if provider_metadata:
            chunk["providerMetadata"] = provider_metadata
        if problem:
            chunk["errorText"] = problem
        self.emit(chunk)

    def open_tool_ids(self) -> list[str]:
        return list(self._tools)

    def close_blocks(self) -> None:
        for block_id in list(self._open_reasoning):
            self.end_reasoning(block_id[len(self.id_prefix) :])
        for block_id in list(self._open_text):
            self.end_text(block_id[len(self.id_prefix) :])
        for call_id in list(self._tools):
            self.tool_end(call_id)

    def set_usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        cached_input_tokens: int | None = None,
    ) -> None:
        """Record usage (AI SDK names); later values override earlier ones field by field.

        ``totalTokens`` is input + output unless the provider states it.
        """
        usage = dict(self.usage or {})
        for key, value in (
            ("inputTokens", input_tokens),
            ("outputTokens", output_tokens),
            ("totalTokens", total_tokens),
            ("reasoningTokens", reasoning_tokens),
            ("cachedInputTokens", cached_input_tokens),
        ):
            if value is not None:
                usage[key] = value
        self._explicit_total = self._explicit_total or total_tokens is not None
        if not self._explicit_total and "inputTokens" in usage and "outputTokens" in usage:
            usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
        self.usage = usage

    def finish(self, reason: str | None = None) -> None:
        """Close every open block, then ``finish-step`` and ``finish``."""
        if self._finished:
            return
        self.ensure_started()
        if reason is not None:
            self.finish_reason = reason
        self.close_blocks()
        self._finished = True
        self.emit({"type": "finish-step"})
        if self.send_finish:
            chunk: Chunk = {"type": "finish"}
            reason = self.finish_reason or ("tool-calls" if self._tool_calls_seen else "stop")
            chunk["finishReason"] = reason if reason in FINISH_REASONS else "other"
            metadata = dict(self.message_metadata or {})
            if self.usage_in_metadata and self.usage:
                metadata["usage"] = self.usage
            if metadata:
                chunk["messageMetadata"] = metadata
            self.emit(chunk)

    def error(self, error: str | BaseException) -> None:
        """An ``error`` chunk; the reply ends there (no ``finish``: the message failed)."""
        self.ensure_started()
        self.errored = True
        self._finished = True
        self.emit(error_chunk(error))


async def _events(source: AsyncIterable[Any] | Iterable[Any]) -> AsyncGenerator[Any, None]:
    if isinstance(source, AsyncIterable):
        async for event in source:
            yield event
        return
    if isinstance(source, (list, tuple)):
        for event in source:
            yield event
        return
    iterator: Iterator[Any] = iter(source)
    done = object()
    while True:
        # One event per hop to a worker thread: a blocking SDK read never stalls the loop.
        event = await asyncio.to_thread(next, iterator, done)
        if event is done:
            return
        yield event


async def stream_chunks(
    source: AsyncIterable[Any] | Iterable[Any], converter: ChunkConverter
) -> AsyncGenerator[Chunk, None]:
    """Every chunk of ``source``'s events, then the closing ones.

    If the source raises (the SDK's error for a failed request), an ``error`` chunk
    is yielded first, then the exception propagates: a ``DeltaStreamer`` consuming
    this stores the error in the reply and aborts the stream with its message.
    """
    try:
        async for event in _events(source):
            for chunk in converter.convert(event):
                yield chunk
    except Exception as exc:
        if not converter.finished:
            for chunk in converter.fail(exc):
                yield chunk
        raise
    for chunk in converter.close():
        yield chunk
