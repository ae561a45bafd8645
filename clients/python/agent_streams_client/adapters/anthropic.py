"""Anthropic Messages streams → UIMessageChunk parts.

Input: the events of ``client.messages.create(..., stream=True)`` or
``client.messages.stream(...)`` (objects or dicts; the helper's convenience events
``text``/``thinking``/``input_json``/``citation``/``signature`` repeat the raw
``content_block_delta`` events and are skipped). Handles ``message_start``
(usage), ``content_block_start`` / ``_delta`` / ``_stop`` for ``text``
(``text_delta``, ``citations_delta`` → sources), ``thinking`` (``thinking_delta``;
``signature_delta`` kept as ``providerMetadata.anthropic.signature``, which a
later request needs to send the thinking back), ``redacted_thinking``,
``tool_use`` (``input_json_delta``), server tools (``server_tool_use``,
``web_search_tool_result`` → provider-executed tool call + sources),
``message_delta`` (stop reason, usage), ``message_stop`` and ``error``.

    async with anthropic.messages.stream(model=..., max_tokens=..., messages=...) as stream:
        await streamer.consume(anthropic_chunks(stream))
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any

from agent_streams_client.adapters.access import get, get_int, get_str, to_plain
from agent_streams_client.adapters.converter import Chunk, ChunkConverter, stream_chunks

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool-calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content-filter",
}

_HELPER_EVENTS = frozenset({"text", "thinking", "input_json", "citation", "signature"})


class AnthropicConverter(ChunkConverter):
    """Stateful: one per message. ``convert(event)`` then ``close()`` at the end."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # content block index -> (kind, id): "text", "reasoning" or "tool"
        self._blocks: dict[int, tuple[str, str]] = {}
        self._sources: set[str] = set()
        self._source_count = 0
        # tool call id -> the input its start block carried (used if nothing streams)
        self._initial_inputs: dict[str, Any] = {}

    def handle(self, event: Any) -> None:
        kind = get_str(event, "type")
        if kind in _HELPER_EVENTS:
            return
        handler = getattr(self, "_on_" + kind, None)
        if handler is not None:
            handler(event)

    def _on_message_start(self, event: Any) -> None:
        self.ensure_started()
        self._usage(get(get(event, "message"), "usage"))

    def _on_message_delta(self, event: Any) -> None:
        reason = get_str(get(event, "delta"), "stop_reason")
        if reason:
            self.finish_reason = _STOP_REASONS.get(reason, "other")
        self._usage(get(event, "usage"))

    def _on_message_stop(self, event: Any) -> None:
        self.finish()

    def _on_error(self, event: Any) -> None:
        error = get(event, "error")
        kind = get_str(error, "type")
        message = get_str(error, "message") or "error"
        self.error(f"{kind}: {message}" if kind else message)

    def _usage(self, usage: Any) -> None:
        if usage is None:
            return
        input_tokens = get_int(usage, "input_tokens")
        cache_read = get_int(usage, "cache_read_input_tokens")
        cache_write = get_int(usage, "cache_creation_input_tokens")
        if input_tokens is not None and (cache_read or cache_write):
            # Anthropic counts cached tokens apart; the AI SDK's input includes them.
            input_tokens += (cache_read or 0) + (cache_write or 0)
        self.set_usage(
            input_tokens=input_tokens,
            output_tokens=get_int(usage, "output_tokens"),
            cached_input_tokens=cache_read,
        )

    def _on_content_block_start(self, event: Any) -> None:
        index = get_int(event, "index") or 0
        block = get(event, "content_block")
        kind = get_str(block, "type")
        if kind == "text":
            block_id = f"text-{index}"
            self._blocks[index] = ("text", block_id)
            self.text(block_id, get_str(block, "text"))
            for citation in get(block, "citations", []):
                self._citation(citation)
        elif kind == "thinking":
            block_id = f"reasoning-{index}"
            self._blocks[index] = ("reasoning", block_id)
            self.reasoning(block_id, get_str(block, "thinking"))
        elif kind == "redacted_thinking":
            block_id = f"reasoning-{index}"
            self._blocks[index] = ("reasoning", block_id)
            self.reasoning(block_id, "", {"anthropic": {"redactedData": get_str(block, "data")}})
        elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
            call_id = get_str(block, "id")
            self._blocks[index] = ("tool", call_id)
            provider_executed = True if kind != "tool_use" else None
            self.tool_start(call_id, get_str(block, "name"), provider_executed=provider_executed)
            # The start block carries the input when it is not streamed (usually {}).
            initial = get(block, "input")
            if initial:
                self._initial_inputs[call_id] = to_plain(initial)
        elif kind.endswith("_tool_result"):
            self._server_tool_result(block)
        else:
            self.ensure_started()

    def _on_content_block_delta(self, event: Any) -> None:
        index = get_int(event, "index") or 0
        kind, block_id = self._blocks.get(index, ("", ""))
        delta = get(event, "delta")
        delta_type = get_str(delta, "type")
        if delta_type == "text_delta":
            self.text(block_id or f"text-{index}", get_str(delta, "text"))
        elif delta_type == "thinking_delta":
            self.reasoning(block_id or f"reasoning-{index}", get_str(delta, "thinking"))
        elif delta_type == "signature_delta":
            self.reasoning(
                block_id or f"reasoning-{index}",
                "",
                {"anthropic": {"signature": get_str(delta, "signature")}},
            )
        elif delta_type == "input_json_delta" and kind == "tool":
            self.tool_delta(block_id, get_str(delta, "partial_json"))
        elif delta_type == "citations_delta":
            self._citation(get(delta, "citation"))

    def _on_content_block_stop(self, event: Any) -> None:
        index = get_int(event, "index") or 0
        kind, block_id = self._blocks.pop(index, ("", ""))
        if kind == "text":
            self.end_text(block_id)
        elif kind == "reasoning":
            self.end_reasoning(block_id)
        elif kind == "tool":
            initial = self._initial_inputs.pop(block_id, None)
            # Streamed JSON wins; a block with no deltas keeps the input it started with.
            self.tool_end(block_id, input=initial if self._streamed_nothing(block_id) else None)

    def _streamed_nothing(self, call_id: str) -> bool:
        tool = self._tools.get(call_id)
        return tool is not None and not tool[1]

    def _server_tool_result(self, block: Any) -> None:
        call_id = get_str(block, "tool_use_id")
        content = to_plain(get(block, "content"))
        self.ensure_started()
        self.emit(
            {
                "type": "tool-output-available",
                "toolCallId": call_id,
                "output": content,
                "providerExecuted": True,
            }
        )
        if isinstance(content, list):
            for result in content:
                if isinstance(result, dict) and result.get("type") == "web_search_result":
                    self._source_url(result.get("url"), result.get("title"))

    def _citation(self, citation: Any) -> None:
        kind = get_str(citation, "type")
        if kind in ("web_search_result_location", "search_result_location"):
            self._source_url(
                get_str(citation, "url") or get_str(citation, "source"), get_str(citation, "title")
            )
        elif kind in ("char_location", "page_location", "content_block_location"):
            index = get_int(citation, "document_index") or 0
            key = f"document:{index}"
            if key in self._sources:
                return
            self._sources.add(key)
            title = get_str(citation, "document_title") or f"document {index}"
            self.emit(
                {
                    "type": "source-document",
                    "sourceId": self._source_id(),
                    "mediaType": "text/plain",
                    "title": title,
                }
            )

    def _source_url(self, url: Any, title: Any) -> None:
        if not isinstance(url, str) or not url or url in self._sources:
            return
        self._sources.add(url)
        self.ensure_started()
        chunk: Chunk = {"type": "source-url", "sourceId": self._source_id(), "url": url}
        if isinstance(title, str) and title:
            chunk["title"] = title
        self.emit(chunk)

    def _source_id(self) -> str:
        self._source_count += 1
        return f"{self.id_prefix}source-{self._source_count - 1}"


async def anthropic_chunks(
    stream: AsyncIterable[Any] | Iterable[Any], **options: Any
) -> AsyncGenerator[Chunk, None]:
    """UIMessageChunk parts of a Messages stream (sync or async); options as the converter's."""
    async for chunk in stream_chunks(stream, AnthropicConverter(**options)):
        yield chunk
