"""Builders of AI SDK 5 ``UIMessageChunk`` parts (``uiMessageChunkSchema``).

Field names follow ``ai@5``'s schema exactly (``toolCallId``, ``inputTextDelta``,
``errorText``…); optional fields are omitted when absent, never ``null``.
Use the tool helpers for the results a pipeline produces itself: the model's
stream ends with the tool call; its output is the pipeline's to report.
"""

from __future__ import annotations

import json
from typing import Any

from agent_streams_client.adapters.access import to_plain

#: ``finishReason`` values the schema accepts.
FINISH_REASONS = frozenset(
    {"stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"}
)


def _with(chunk: dict[str, Any], **optional: Any) -> dict[str, Any]:
    chunk.update({k: v for k, v in optional.items() if v is not None})
    return chunk


def tool_output_chunk(
    tool_call_id: str,
    output: Any,
    *,
    provider_executed: bool | None = None,
    dynamic: bool | None = None,
    preliminary: bool | None = None,
) -> dict[str, Any]:
    """``tool-output-available``: a tool's result (any JSON value)."""
    return _with(
        {"type": "tool-output-available", "toolCallId": tool_call_id, "output": to_plain(output)},
        providerExecuted=provider_executed,
        dynamic=dynamic,
        preliminary=preliminary,
    )


def tool_error_chunk(
    tool_call_id: str,
    error: str | BaseException,
    *,
    provider_executed: bool | None = None,
    dynamic: bool | None = None,
) -> dict[str, Any]:
    """``tool-output-error``: the tool failed (an exception's message is used as the text)."""
    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    return _with(
        {"type": "tool-output-error", "toolCallId": tool_call_id, "errorText": text},
        providerExecuted=provider_executed,
        dynamic=dynamic,
    )


def tool_input_chunk(
    tool_call_id: str,
    tool_name: str,
    input: Any,
    *,
    provider_executed: bool | None = None,
    provider_metadata: dict[str, Any] | None = None,
    dynamic: bool | None = None,
) -> dict[str, Any]:
    """``tool-input-available``: a complete tool call (for tools the pipeline calls itself)."""
    return _with(
        {
            "type": "tool-input-available",
            "toolCallId": tool_call_id,
            "toolName": tool_name,
            "input": to_plain(input),
        },
        providerExecuted=provider_executed,
        providerMetadata=provider_metadata,
        dynamic=dynamic,
    )


def error_chunk(error: str | BaseException) -> dict[str, Any]:
    """``error``: the reply failed (the materialiser marks the message failed, keeping its text)."""
    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    return {"type": "error", "errorText": text}


def parse_tool_input(text: str) -> tuple[Any, str | None]:
    """The tool input from its streamed JSON text: ``(value, None)`` or ``(text, error)``.

    An empty text is ``{}`` (models send no arguments for a tool without parameters).
    """
    if not text.strip():
        return {}, None
    try:
        return json.loads(text), None
    except ValueError as exc:
        return text, f"invalid JSON in tool input: {exc}"
