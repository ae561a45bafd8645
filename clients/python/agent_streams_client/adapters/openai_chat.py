"""OpenAI Chat Completions streams → UIMessageChunk parts.

Input: the ``ChatCompletionChunk``s of ``client.chat.completions.create(...,
stream=True)`` (objects or dicts; also the ``chunk`` events of the SDK's
``.stream()`` helper, whose other convenience events repeat the same data and are
skipped). Handles text (``delta.content``, and ``refusal`` as text), reasoning
text that OpenAI-compatible servers send as ``delta.reasoning_content`` or
``delta.reasoning``, tool calls whose JSON arguments stream by ``index``,
``finish_reason`` and the final usage chunk (``stream_options={"include_usage":
True}``).

    stream = await openai.chat.completions.create(model=..., messages=..., stream=True,
                                                  stream_options={"include_usage": True})
    await streamer.consume(openai_chat_chunks(stream))
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any

from agent_streams_client.adapters.access import get, get_int, get_str
from agent_streams_client.adapters.converter import Chunk, ChunkConverter, stream_chunks

_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content-filter",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
}

#: The SDK helper's convenience events, which repeat what its ``chunk`` events carry.
_HELPER_EVENTS = frozenset(
    {
        "content.delta",
        "content.done",
        "refusal.delta",
        "refusal.done",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.done",
        "logprobs.content.delta",
        "logprobs.content.done",
        "logprobs.refusal.delta",
        "logprobs.refusal.done",
    }
)


class OpenAIChatConverter(ChunkConverter):
    """Stateful: one per model call. ``convert(chunk)`` then ``close()`` at the end."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # index -> {"id", "name", "pending" args before id and name are known}
        self._calls: dict[int, dict[str, Any]] = {}

    def handle(self, event: Any) -> None:
        kind = get(event, "type")
        if kind == "chunk":
            event = get(event, "chunk")
        elif kind in _HELPER_EVENTS:
            return
        usage = get(event, "usage")
        if usage is not None:
            self.set_usage(
                input_tokens=get_int(usage, "prompt_tokens"),
                output_tokens=get_int(usage, "completion_tokens"),
                total_tokens=get_int(usage, "total_tokens"),
                reasoning_tokens=get_int(
                    get(usage, "completion_tokens_details"), "reasoning_tokens"
                ),
                cached_input_tokens=get_int(get(usage, "prompt_tokens_details"), "cached_tokens"),
            )
        error = get(event, "error")
        if error is not None:  # some compatible servers send an error object mid-stream
            self.error(get_str(error, "message") or str(error))
            return
        for choice in get(event, "choices", []):
            # n > 1 would interleave several replies; a stream holds one, the first.
            if (get_int(choice, "index") or 0) != 0:
                continue
            self._choice(choice)

    def _choice(self, choice: Any) -> None:
        delta = get(choice, "delta")
        if delta is not None:
            self.ensure_started()
            reasoning = get_str(delta, "reasoning_content") or get_str(delta, "reasoning")
            if reasoning:
                self.reasoning("reasoning-0", reasoning)
            content = get_str(delta, "content") or get_str(delta, "refusal")
            if content:
                # Reasoning comes first; once the answer starts, it is over.
                self.end_reasoning("reasoning-0")
                self.text("text-0", content)
            for call in get(delta, "tool_calls", []):
                self._tool_call(call)
        finish_reason = get_str(choice, "finish_reason")
        if finish_reason:
            self.finish_reason = _FINISH_REASONS.get(finish_reason, "other")
            # The reply is complete; only the usage chunk may follow, so finish() waits
            # for close() — but the blocks can be closed now.
            self._complete_calls()
            self.end_reasoning("reasoning-0")
            self.end_text("text-0")

    def _tool_call(self, call: Any) -> None:
        index = get_int(call, "index") or 0
        state = self._calls.setdefault(index, {"id": None, "name": None, "pending": ""})
        state["id"] = state["id"] or get_str(call, "id") or None
        function = get(call, "function")
        state["name"] = state["name"] or get_str(function, "name") or None
        arguments = get_str(function, "arguments")
        if state["id"] is None or state["name"] is None:
            state["pending"] += arguments  # some servers send the name after the first args
            return
        if state["id"] not in self.open_tool_ids():
            self.end_text("text-0")
            self.tool_start(state["id"], state["name"])
            arguments = state["pending"] + arguments
            state["pending"] = ""
        self.tool_delta(state["id"], arguments)

    def _complete_calls(self) -> None:
        for state in self._calls.values():
            if state["id"] is not None:
                self.tool_end(state["id"])
        self._calls.clear()

    def finish(self, reason: str | None = None) -> None:
        self._complete_calls()
        super().finish(reason)


async def openai_chat_chunks(
    stream: AsyncIterable[Any] | Iterable[Any], **options: Any
) -> AsyncGenerator[Chunk, None]:
    """UIMessageChunk parts of a Chat Completions stream (sync or async); options as the converter's."""
    async for chunk in stream_chunks(stream, OpenAIChatConverter(**options)):
        yield chunk
