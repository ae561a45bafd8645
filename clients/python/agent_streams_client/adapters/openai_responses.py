"""OpenAI Responses API streams → UIMessageChunk parts.

Input: the events of ``client.responses.create(..., stream=True)`` or
``client.responses.stream(...)`` (objects or dicts). Handles output text
(``response.output_text.delta``; a message item is one text block, ids are item
ids as in the AI SDK), reasoning summaries and reasoning text (one block per
``item_id:summary_index``), function calls (``response.output_item.added`` starts
one, ``response.function_call_arguments.delta`` streams its JSON, ``.done`` or
the item's ``.done`` completes it), built-in tools (``web_search_call`` and other
``*_call`` items, as provider-executed tool calls), annotations (URL citations →
``source-url``, file citations → ``source-document``), ``response.completed`` /
``response.incomplete`` (finish reason, usage), ``response.failed`` and ``error``.

    stream = await openai.responses.create(model=..., input=..., stream=True)
    await streamer.consume(openai_responses_chunks(stream))
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any

from agent_streams_client.adapters.access import get, get_int, get_str, to_plain
from agent_streams_client.adapters.converter import Chunk, ChunkConverter, stream_chunks

_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content-filter"}
_FUNCTION_ITEMS = frozenset({"function_call", "custom_tool_call"})


class OpenAIResponsesConverter(ChunkConverter):
    """Stateful: one per response. ``convert(event)`` then ``close()`` at the end."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # item id -> (call id, tool name) of function calls
        self._functions: dict[str, tuple[str, str]] = {}
        self._sources: set[str] = set()
        self._source_count = 0

    def handle(self, event: Any) -> None:
        kind = get_str(event, "type")
        handler = getattr(self, "_on_" + kind.replace(".", "_"), None)
        if handler is not None:
            handler(event)

    # -- lifecycle ---------------------------------------------------------------------

    def _on_response_created(self, event: Any) -> None:
        self.ensure_started()

    def _on_response_in_progress(self, event: Any) -> None:
        self.ensure_started()

    def _on_response_completed(self, event: Any) -> None:
        self._end_response(get(event, "response"))

    def _on_response_incomplete(self, event: Any) -> None:
        self._end_response(get(event, "response"))

    def _on_response_failed(self, event: Any) -> None:
        response = get(event, "response")
        error = get(response, "error")
        message = get_str(error, "message") or "the response failed"
        code = get_str(error, "code")
        self.error(f"{code}: {message}" if code else message)

    def _on_error(self, event: Any) -> None:
        message = get_str(event, "message") or "error"
        code = get_str(event, "code")
        self.error(f"{code}: {message}" if code else message)

    def _end_response(self, response: Any) -> None:
        usage = get(response, "usage")
        if usage is not None:
            self.set_usage(
                input_tokens=get_int(usage, "input_tokens"),
                output_tokens=get_int(usage, "output_tokens"),
                total_tokens=get_int(usage, "total_tokens"),
                reasoning_tokens=get_int(get(usage, "output_tokens_details"), "reasoning_tokens"),
                cached_input_tokens=get_int(get(usage, "input_tokens_details"), "cached_tokens"),
            )
        reason = get_str(get(response, "incomplete_details"), "reason")
        if reason:
            self.finish(_INCOMPLETE_REASONS.get(reason, "other"))
        else:
            self.finish()  # "tool-calls" if the model called a function, else "stop"

    # -- output items --------------------------------------------------------------------

    def _on_response_output_item_added(self, event: Any) -> None:
        item = get(event, "item")
        item_type = get_str(item, "type")
        item_id = get_str(item, "id")
        if item_type in _FUNCTION_ITEMS:
            call_id = get_str(item, "call_id") or item_id
            name = get_str(item, "name")
            self._functions[item_id] = (call_id, name)
            self.tool_start(call_id, name)
        elif item_type.endswith("_call"):
            self.tool_start(item_id, item_type.removesuffix("_call"), provider_executed=True)
        else:
            self.ensure_started()

    def _on_response_output_item_done(self, event: Any) -> None:
        item = get(event, "item")
        item_type = get_str(item, "type")
        item_id = get_str(item, "id")
        if item_type == "message":
            self.end_text(item_id)
        elif item_type == "reasoning":
            for block_id in self.open_reasoning_ids():
                if block_id.startswith(item_id + ":"):
                    self.end_reasoning(block_id)
        elif item_type == "custom_tool_call":
            # A custom tool's input is free text, not JSON.
            call_id, _ = self._functions.pop(item_id, (get_str(item, "call_id"), ""))
            self.tool_end(call_id, input=get_str(item, "input"))
        elif item_type == "function_call":
            call_id, _ = self._functions.pop(item_id, (get_str(item, "call_id"), ""))
            arguments = get(item, "arguments")
            self.tool_end(call_id, input_text=arguments if isinstance(arguments, str) else None)
        elif item_type.endswith("_call"):
            details = to_plain(item)
            details = {k: v for k, v in details.items() if k not in ("id", "type", "status")}
            action = details.pop("action", None)
            self.tool_end(item_id, input=action if action is not None else {})
            self.emit(
                {
                    "type": "tool-output-available",
                    "toolCallId": item_id,
                    "output": {"status": get_str(item, "status") or "completed", **details},
                    "providerExecuted": True,
                }
            )

    # -- text, reasoning, sources ---------------------------------------------------------------

    def _on_response_output_text_delta(self, event: Any) -> None:
        self.text(get_str(event, "item_id"), get_str(event, "delta"))

    def _on_response_refusal_delta(self, event: Any) -> None:
        self.text(get_str(event, "item_id"), get_str(event, "delta"))

    def _on_response_reasoning_summary_text_delta(self, event: Any) -> None:
        block = f"{get_str(event, 'item_id')}:{get_int(event, 'summary_index') or 0}"
        self.reasoning(block, get_str(event, "delta"))

    def _on_response_reasoning_summary_part_done(self, event: Any) -> None:
        self.end_reasoning(f"{get_str(event, 'item_id')}:{get_int(event, 'summary_index') or 0}")

    def _on_response_reasoning_text_delta(self, event: Any) -> None:
        block = f"{get_str(event, 'item_id')}:{get_int(event, 'content_index') or 0}"
        self.reasoning(block, get_str(event, "delta"))

    def _on_response_output_text_annotation_added(self, event: Any) -> None:
        annotation = get(event, "annotation")
        kind = get_str(annotation, "type")
        if kind == "url_citation":
            url = get_str(annotation, "url")
            if not url or url in self._sources:
                return
            self._sources.add(url)
            chunk: Chunk = {"type": "source-url", "sourceId": self._source_id(), "url": url}
            title = get_str(annotation, "title")
            if title:
                chunk["title"] = title
            self.emit(chunk)
        elif kind in ("file_citation", "container_file_citation", "file_path"):
            file_id = get_str(annotation, "file_id")
            if not file_id or file_id in self._sources:
                return
            self._sources.add(file_id)
            filename = get_str(annotation, "filename")
            document: Chunk = {
                "type": "source-document",
                "sourceId": self._source_id(),
                "mediaType": "text/plain",
                "title": filename or file_id,
                "providerMetadata": {"openai": {"fileId": file_id}},
            }
            if filename:
                document["filename"] = filename
            self.emit(document)

    def _source_id(self) -> str:
        self._source_count += 1
        return f"{self.id_prefix}source-{self._source_count - 1}"

    # -- function calls ----------------------------------------------------------------------------

    def _on_response_function_call_arguments_delta(self, event: Any) -> None:
        call_id, _ = self._functions.get(get_str(event, "item_id"), ("", ""))
        self.tool_delta(call_id, get_str(event, "delta"))

    def _on_response_function_call_arguments_done(self, event: Any) -> None:
        item_id = get_str(event, "item_id")
        call_id, _ = self._functions.pop(item_id, ("", ""))
        arguments = get(event, "arguments")
        self.tool_end(call_id, input_text=arguments if isinstance(arguments, str) else None)

    _on_response_custom_tool_call_input_delta = _on_response_function_call_arguments_delta


async def openai_responses_chunks(
    stream: AsyncIterable[Any] | Iterable[Any], **options: Any
) -> AsyncGenerator[Chunk, None]:
    """UIMessageChunk parts of a Responses stream (sync or async); options as the converter's."""
    async for chunk in stream_chunks(stream, OpenAIResponsesConverter(**options)):
        yield chunk
