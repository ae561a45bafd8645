"""UI messages → stored message docs: the reference's ``fromUIMessages``.

``fromUIMessages`` relies on the AI SDK 5 ``convertToModelMessages`` (each step
of an assistant UI message becomes an assistant model message, followed by a
tool message when the step has tool results) and on the agent's
``fromModelMessage`` mapping (``input`` → ``args``, ``mediaType`` → ``mimeType``…),
so both are ported here with the behaviour the reference depends on, including
its quirks: a model message with no content gives no doc but still takes a step
order, every doc of a UI message carries all its sources, and provider metadata
found on a content part becomes the doc's ``providerMetadata`` (and
``providerOptions`` unless the stream set them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    get_error_message,
    is_number,
    js_join,
    js_string,
    truthy,
)
from agent_streams_protocol.materialize.live_parts import JsonDict

__all__ = [
    "convert_to_model_messages",
    "extract_reasoning",
    "extract_text",
    "from_model_message",
    "from_ui_messages",
    "is_tool",
]

_META_KEYS = ("threadId", "userId", "model", "provider", "providerOptions", "metadata")
_UI_ONLY_KEYS = frozenset({"parts", "role", "key", "text"})
_UNAVAILABLE_TOOL_OUTPUT = "Tool output omitted because the tool is no longer available."
_TOOL_OUTPUT_TYPES = frozenset({"text", "json", "error-text", "error-json", "content"})


def _put(target: JsonDict, key: str, value: Any) -> None:
    if value is not UNDEFINED:
        target[key] = value


def _present(value: Any) -> bool:
    """``value != null`` in JavaScript."""
    return value is not None and value is not UNDEFINED


def _is_static_tool(part: JsonDict) -> bool:
    kind = part.get("type")
    return type(kind) is str and kind.startswith("tool-")


def _tool_name(part: JsonDict) -> str:
    return "-".join(str(part["type"]).split("-")[1:])


def _model_output(part: JsonDict, output: Any, error_mode: str) -> JsonDict:
    """``createModelOutput`` without tool definitions (the reference passes none)."""
    if error_mode == "text":
        return {"type": "error-text", "value": get_error_message(output)}
    if error_mode == "json":
        return {"type": "error-json", "value": None if output is UNDEFINED else output}
    if part.get("type") == "dynamic-tool" and part.get("dynamic", UNDEFINED) is False:
        return {"type": "text", "value": _UNAVAILABLE_TOOL_OUTPUT}
    if isinstance(output, str):
        return {"type": "text", "value": output}
    return {"type": "json", "value": None if output is UNDEFINED else output}


def _provider_options(target: JsonDict, metadata: Any) -> None:
    if _present(metadata):
        target["providerOptions"] = metadata


def _assistant_block(block: list[JsonDict], out: list[JsonDict]) -> None:
    if not block:
        return
    content: list[JsonDict] = []
    for part in block:
        kind = part.get("type")
        if kind == "text":
            item: JsonDict = {"type": "text", "text": part.get("text", UNDEFINED)}
            _provider_options(item, part.get("providerMetadata", UNDEFINED))
            content.append(_clean(item))
        elif kind == "file":
            item = {"type": "file"}
            _put(item, "mediaType", part.get("mediaType", UNDEFINED))
            _put(item, "filename", part.get("filename", UNDEFINED))
            _put(item, "data", part.get("url", UNDEFINED))
            content.append(item)
        elif kind == "reasoning":
            item = {"type": "reasoning"}
            _put(item, "text", part.get("text", UNDEFINED))
            _put(item, "providerOptions", part.get("providerMetadata", UNDEFINED))
            content.append(item)
        elif kind == "dynamic-tool":
            if part.get("state") != "input-streaming":
                item = {"type": "tool-call"}
                _put(item, "toolCallId", part.get("toolCallId", UNDEFINED))
                _put(item, "toolName", part.get("toolName", UNDEFINED))
                _put(item, "input", part.get("input", UNDEFINED))
                _provider_options(item, part.get("callProviderMetadata", UNDEFINED))
                content.append(item)
        elif _is_static_tool(part):
            state = part.get("state")
            if state != "input-streaming":
                name = _tool_name(part)
                tool_input = part.get("input", UNDEFINED)
                if state == "output-error" and not _present(tool_input):
                    tool_input = part.get("rawInput", UNDEFINED)
                item = {"type": "tool-call"}
                _put(item, "toolCallId", part.get("toolCallId", UNDEFINED))
                item["toolName"] = name
                _put(item, "input", tool_input)
                _put(item, "providerExecuted", part.get("providerExecuted", UNDEFINED))
                _provider_options(item, part.get("callProviderMetadata", UNDEFINED))
                content.append(item)
                if part.get("providerExecuted", UNDEFINED) is True and state in (
                    "output-available",
                    "output-error",
                ):
                    errored = state == "output-error"
                    result: JsonDict = {"type": "tool-result"}
                    _put(result, "toolCallId", part.get("toolCallId", UNDEFINED))
                    result["toolName"] = name
                    result["output"] = _model_output(
                        part,
                        part.get("errorText" if errored else "output", UNDEFINED),
                        "json" if errored else "none",
                    )
                    _provider_options(result, part.get("callProviderMetadata", UNDEFINED))
                    content.append(result)
        # data parts: no convertDataPart is given, so they add nothing.
    out.append({"role": "assistant", "content": content})
    tool_parts = [
        part
        for part in block
        if (_is_static_tool(part) and part.get("providerExecuted", UNDEFINED) is not True)
        or part.get("type") == "dynamic-tool"
    ]
    if tool_parts:
        results: list[JsonDict] = []
        for part in tool_parts:
            state = part.get("state")
            if state not in ("output-error", "output-available"):
                continue
            errored = state == "output-error"
            result = {"type": "tool-result"}
            _put(result, "toolCallId", part.get("toolCallId", UNDEFINED))
            name = (
                part.get("toolName", UNDEFINED)
                if part.get("type") == "dynamic-tool"
                else (_tool_name(part))
            )
            _put(result, "toolName", name)
            result["output"] = _model_output(
                part,
                part.get("errorText" if errored else "output", UNDEFINED),
                "text" if errored else "none",
            )
            _provider_options(result, part.get("callProviderMetadata", UNDEFINED))
            results.append(result)
        out.append({"role": "tool", "content": results})


def _clean(item: JsonDict) -> JsonDict:
    return {k: v for k, v in item.items() if v is not UNDEFINED}


def convert_to_model_messages(ui_messages: Iterable[JsonDict]) -> list[JsonDict]:
    """The AI SDK 5 ``convertToModelMessages`` with no options (as the reference calls it)."""
    out: list[JsonDict] = []
    for message in ui_messages:
        role = message.get("role")
        parts: list[JsonDict] = message.get("parts") or []
        if role == "system":
            texts = [p for p in parts if p.get("type") == "text"]
            options: JsonDict = {}
            for p in texts:
                if _present(p.get("providerMetadata", UNDEFINED)):
                    options.update(dict(p["providerMetadata"]))
            system: JsonDict = {
                "role": "system",
                "content": js_join([js_string(p.get("text", UNDEFINED)) for p in texts]),
            }
            if options:
                system["providerOptions"] = options
            out.append(system)
        elif role == "user":
            content: list[JsonDict] = []
            for p in parts:
                kind = p.get("type")
                if kind == "text":
                    item: JsonDict = {"type": "text", "text": p.get("text", UNDEFINED)}
                elif kind == "file":
                    item = {
                        "type": "file",
                        "mediaType": p.get("mediaType", UNDEFINED),
                        "filename": p.get("filename", UNDEFINED),
                        "data": p.get("url", UNDEFINED),
                    }
                else:
                    continue
                _provider_options(item, p.get("providerMetadata", UNDEFINED))
                content.append(_clean(item))
            out.append({"role": "user", "content": content})
        elif role == "assistant":
            if message.get("parts") is None:
                continue
            block: list[JsonDict] = []
            for part in parts:
                kind = part.get("type")
                if kind in ("text", "reasoning", "file", "dynamic-tool") or (
                    type(kind) is str and kind.startswith(("tool-", "data-"))
                ):
                    block.append(part)
                elif kind == "step-start":
                    _assistant_block(block, out)
                    block = []
            _assistant_block(block, out)
        else:
            raise ValueError(f"Unsupported role: {js_string(role)}")
    return out


def _normalize_tool_output(result: Any) -> Any:
    if isinstance(result, str):
        return {"type": "text", "value": result}
    if isinstance(result, dict) and result.get("type") in _TOOL_OUTPUT_TYPES:
        return result
    return {"type": "json", "value": None if result is UNDEFINED else result}


def _media_type(part: JsonDict) -> Any:
    if "mediaType" in part:
        return part["mediaType"]
    if "mimeType" in part:
        return part["mimeType"]
    return UNDEFINED


def _from_content(content: Any) -> Any:
    """The agent's ``fromModelMessageContent``."""
    if isinstance(content, str):
        return content
    out: list[Any] = []
    for part in content:
        metadata: JsonDict = {}
        if "providerOptions" in part:
            metadata["providerOptions"] = part["providerOptions"]
        if "providerMetadata" in part:
            metadata["providerMetadata"] = part["providerMetadata"]
        kind = part.get("type")
        item: JsonDict
        if kind == "image":
            item = {"type": kind}
            _put(item, "mimeType", _media_type(part))
            item.update(metadata)
            _put(item, "image", part.get("image", UNDEFINED))
        elif kind == "file":
            item = {"type": kind}
            _put(item, "data", part.get("data", UNDEFINED))
            _put(item, "filename", part.get("filename", UNDEFINED))
            _put(item, "mimeType", _media_type(part))
            item.update(metadata)
        elif kind == "tool-call":
            tool_input = part.get("input")
            item = {"type": kind, "args": tool_input}
            _put(item, "toolCallId", part.get("toolCallId", UNDEFINED))
            _put(item, "toolName", part.get("toolName", UNDEFINED))
            _put(item, "providerExecuted", part.get("providerExecuted", UNDEFINED))
            item.update(metadata)
        elif kind == "tool-result":
            output = part.get("output")
            item = {
                "type": kind,
                "output": output
                if output is not None
                else _normalize_tool_output(part.get("result", UNDEFINED)),
            }
            _put(item, "toolCallId", part.get("toolCallId", UNDEFINED))
            _put(item, "toolName", part.get("toolName", UNDEFINED))
            item.update(metadata)
        elif kind == "reasoning":
            item = {"type": kind}
            _put(item, "text", part.get("text", UNDEFINED))
            item.update(metadata)
        else:
            # text parts (and anything else) are kept as they are.
            out.append(part)
            continue
        out.append(item)
    return out


def from_model_message(message: JsonDict) -> JsonDict:
    """The agent's ``fromModelMessage``: a model message in the stored shape."""
    out: JsonDict = {"role": message.get("role"), "content": _from_content(message["content"])}
    if truthy(message.get("providerOptions", UNDEFINED)):
        out["providerOptions"] = message["providerOptions"]
    return out


def _join_text(content: list[JsonDict]) -> str:
    return " ".join(
        js_string(text)
        for part in content
        if part.get("type") == "text" and truthy(text := part.get("text", UNDEFINED))
    )


def extract_text(message: JsonDict) -> Any:
    """The agent's ``extractText`` (UNDEFINED when there is none)."""
    role = message.get("role")
    content = message.get("content")
    if role == "user":
        return content if isinstance(content, str) else _join_text(content or [])
    if role == "assistant":
        if isinstance(content, str):
            return content
        return _join_text(content or []) or UNDEFINED
    if role == "system":
        return content
    return UNDEFINED


def extract_reasoning(message: JsonDict) -> Any:
    """The agent's ``extractReasoning``: reasoning texts joined by spaces (even empty ones)."""
    content = message.get("content")
    if isinstance(content, str):
        return UNDEFINED
    return " ".join(
        "" if (text := c.get("text")) is None else js_string(text)
        for c in content or []
        if c.get("type") == "reasoning"
    )


def is_tool(message: JsonDict) -> bool:
    """The agent's ``isTool``: a tool message, or an assistant message calling a tool."""
    role = message.get("role")
    if role == "tool":
        return True
    content = message.get("content")
    return (
        role == "assistant"
        and isinstance(content, list)
        and any(c.get("type") == "tool-call" for c in content)
    )


def _sources(parts: Iterable[JsonDict]) -> list[JsonDict]:
    """The agent's ``fromSourceParts``."""
    out: list[JsonDict] = []
    for part in parts:
        kind = part.get("type")
        if kind == "source-url":
            source: JsonDict = {"type": "source", "sourceType": "url"}
            _put(source, "url", part.get("url", UNDEFINED))
        elif kind == "source-document":
            source = {"type": "source", "sourceType": "document"}
            _put(source, "mediaType", part.get("mediaType", UNDEFINED))
        else:
            continue
        _put(source, "id", part.get("sourceId", UNDEFINED))
        _put(source, "providerMetadata", part.get("providerMetadata", UNDEFINED))
        _put(source, "title", part.get("title", UNDEFINED))
        out.append(source)
    return out


def from_ui_messages(ui_messages: Iterable[JsonDict], meta: JsonDict) -> list[JsonDict]:
    """The reference's ``fromUIMessages``: UI messages → message docs, one per model message.

    ``meta`` gives ``threadId``, ``userId``, ``model``, ``provider``,
    ``providerOptions`` and ``metadata`` for every doc (a UI message's own fields
    win). Docs share values with the UI messages given (no deep copy).
    """
    docs: list[JsonDict] = []
    for ui_message in ui_messages:
        step_order = ui_message.get("stepOrder", UNDEFINED)
        streaming = ui_message.get("status") == "streaming"
        common: JsonDict = {k: meta[k] for k in _META_KEYS if k in meta}
        common.update((k, v) for k, v in ui_message.items() if k not in _UI_ONLY_KEYS)
        common["status"] = "pending" if streaming else "success"
        common["streaming"] = streaming
        common["_id"] = ui_message.get("id", UNDEFINED)
        common["tool"] = False
        parts = ui_message.get("parts") or []
        sources: list[JsonDict] | None = None
        for i, model_message in enumerate(convert_to_model_messages([ui_message])):
            content = model_message["content"]
            if len(content) == 0:
                continue
            message = from_model_message(model_message)
            tool = is_tool(message)
            if sources is None:
                sources = _sources(parts)
            doc = dict(common)
            doc["_id"] = js_string(ui_message.get("id", UNDEFINED)) + f"-{i}"
            if is_number(step_order):
                doc["stepOrder"] = step_order + i
            else:
                doc.pop("stepOrder", None)
            doc["message"] = message
            doc["tool"] = tool
            text = extract_text(message)
            if text is UNDEFINED:
                doc.pop("text", None)
            else:
                doc["text"] = text
            reasoning = extract_reasoning(message)
            if reasoning is UNDEFINED:
                doc.pop("reasoning", None)
            else:
                doc["reasoning"] = reasoning
            doc["finishReason"] = "tool-calls" if tool else "stop"
            doc["sources"] = list(sources)
            if isinstance(content, list):
                options = next(
                    (c["providerOptions"] for c in content if truthy(c.get("providerOptions"))),
                    UNDEFINED,
                )
                if options is not UNDEFINED:
                    doc["providerMetadata"] = options
                    if doc.get("providerOptions") is None:
                        doc["providerOptions"] = options
            docs.append({k: v for k, v in doc.items() if v is not UNDEFINED})
    return docs
