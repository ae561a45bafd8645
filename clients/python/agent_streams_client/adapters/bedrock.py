"""Amazon Bedrock ``converse_stream`` events → UIMessageChunk parts.

Input: the response of ``bedrock_runtime.converse_stream(...)`` (its ``"stream"``
is taken) or the event stream itself; events are dicts with one key each.
Handles ``messageStart``, ``contentBlockStart`` (``toolUse``),
``contentBlockDelta`` (``text``, ``toolUse.input`` JSON, ``reasoningContent``
``text`` / ``signature`` / ``redactedContent``), ``contentBlockStop``,
``messageStop`` (``stopReason``), ``metadata`` (usage; it comes *after*
``messageStop``, so ``finish`` is emitted there or at ``close()``), and the
exception events (``throttlingException``, ``modelStreamErrorException``…).

boto3 is synchronous: the stream is read in a worker thread, event by event.

    response = bedrock.converse_stream(modelId=..., messages=...)
    await streamer.consume(bedrock_chunks(response))
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
from typing import Any

from agent_streams_client.adapters.access import get, get_int, get_str
from agent_streams_client.adapters.converter import Chunk, ChunkConverter, stream_chunks

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool-calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "content_filtered": "content-filter",
    "guardrail_intervened": "content-filter",
}


class BedrockConverter(ChunkConverter):
    """Stateful: one per ``converse_stream`` call. ``convert(event)`` then ``close()``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # content block index -> (kind, id): "text", "reasoning" or "tool"
        self._blocks: dict[int, tuple[str, str]] = {}
        self._stopped = False

    def handle(self, event: Any) -> None:
        if not isinstance(event, Mapping):
            return
        for key, body in event.items():
            if key.endswith("Exception"):
                message = get_str(body, "message") or key
                self.error(f"{key}: {message}")
                return
            handler = getattr(self, "_on_" + key, None)
            if handler is not None:
                handler(body)

    def _on_messageStart(self, body: Any) -> None:
        self.ensure_started()

    def _on_contentBlockStart(self, body: Any) -> None:
        index = get_int(body, "contentBlockIndex") or 0
        tool = get(get(body, "start"), "toolUse")
        if tool is not None:
            call_id = get_str(tool, "toolUseId")
            self._blocks[index] = ("tool", call_id)
            self.tool_start(call_id, get_str(tool, "name"))
        else:
            self.ensure_started()

    def _on_contentBlockDelta(self, body: Any) -> None:
        index = get_int(body, "contentBlockIndex") or 0
        delta = get(body, "delta")
        text = get(delta, "text")
        if isinstance(text, str):
            block_id = self._block(index, "text")
            self.text(block_id, text)
            return
        tool = get(delta, "toolUse")
        if tool is not None:
            kind, call_id = self._blocks.get(index, ("", ""))
            if kind == "tool":
                self.tool_delta(call_id, get_str(tool, "input"))
            return
        reasoning = get(delta, "reasoningContent")
        if reasoning is not None:
            block_id = self._block(index, "reasoning")
            signature = get_str(reasoning, "signature")
            redacted = get(reasoning, "redactedContent")
            if signature:
                self.reasoning(block_id, "", {"bedrock": {"signature": signature}})
            elif isinstance(redacted, (bytes, bytearray)):
                data = base64.b64encode(bytes(redacted)).decode("ascii")
                self.reasoning(block_id, "", {"bedrock": {"redactedData": data}})
            else:
                self.reasoning(block_id, get_str(reasoning, "text"))

    def _block(self, index: int, kind: str) -> str:
        # Bedrock starts text and reasoning blocks implicitly, with their first delta.
        known = self._blocks.get(index)
        if known is None:
            known = (kind, f"{kind}-{index}")
            self._blocks[index] = known
        return known[1]

    def _on_contentBlockStop(self, body: Any) -> None:
        index = get_int(body, "contentBlockIndex") or 0
        kind, block_id = self._blocks.pop(index, ("", ""))
        if kind == "text":
            self.end_text(block_id)
        elif kind == "reasoning":
            self.end_reasoning(block_id)
        elif kind == "tool":
            self.tool_end(block_id)

    def _on_messageStop(self, body: Any) -> None:
        reason = get_str(body, "stopReason")
        if reason:
            self.finish_reason = _STOP_REASONS.get(reason, "other")
        self._stopped = True
        self.close_blocks()

    def _on_metadata(self, body: Any) -> None:
        usage = get(body, "usage")
        if usage is not None:
            cache_read = get_int(usage, "cacheReadInputTokens")
            cache_write = get_int(usage, "cacheWriteInputTokens")
            input_tokens = get_int(usage, "inputTokens")
            if input_tokens is not None and (cache_read or cache_write):
                input_tokens += (cache_read or 0) + (cache_write or 0)
            self.set_usage(
                input_tokens=input_tokens,
                output_tokens=get_int(usage, "outputTokens"),
                cached_input_tokens=cache_read,
            )
        if self._stopped:
            self.finish()


async def bedrock_chunks(
    response: Mapping[str, Any] | AsyncIterable[Any] | Iterable[Any], **options: Any
) -> AsyncGenerator[Chunk, None]:
    """UIMessageChunk parts of a ``converse_stream`` response; options as the converter's."""
    stream: AsyncIterable[Any] | Iterable[Any]
    if isinstance(response, Mapping):
        stream = response["stream"]
    else:
        stream = response
    async for chunk in stream_chunks(stream, BedrockConverter(**options)):
        yield chunk
