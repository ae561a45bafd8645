"""The reference's own merger of AI SDK ``TextStreamPart`` parts into a UI message.

A port of ``updateFromTextStreamParts`` (``deltas.ts``), which is not the AI SDK's
``processUIMessageStream`` and has its own rules: a text (or reasoning) delta
with a new id continues the previous part if that part is also text (or
reasoning); a streamed tool input stays the raw string; a ``tool-error`` sets
``errorText`` without changing the state; ``abort`` and ``error`` mark the message
failed; a reasoning part that is not the last part is shown as done.

The reference builds its id maps afresh for every batch of deltas it is given,
so its own incremental updates can differ from a single pass over the same
parts. This merger keeps them for the life of the stream: any way of feeding
the parts gives what one pass over all of them gives.

Where the reference's asserts throw (a tool input delta, input end or result for
an unknown call, or a part that is not an object), the part is skipped and the
message marked failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    get_error_message,
    js_add,
    js_string,
    own_entries,
    same_value_key,
    truthy,
)
from agent_streams_protocol.materialize.live_parts import JsonDict, LivePart, LiveParts

__all__ = ["TextStreamPartMerger", "merge_provider_metadata"]


class _Malformed(Exception):
    """A part the reference's asserts would throw on."""


def merge_provider_metadata(existing: Any, update: Any) -> Any:
    """The reference's ``mergeProviderMetadata``: per provider, a shallow merge.

    The reference merges into ``existing`` in place; this returns a new dict
    instead, so no caller-supplied object is ever modified.
    """
    if not truthy(existing) and not truthy(update):
        return UNDEFINED
    if not truthy(existing):
        return update
    if not truthy(update):
        return existing
    if not isinstance(existing, dict):
        raise _Malformed("provider metadata is not an object")
    merged = dict(existing)
    for provider, metadata in own_entries(update):
        merged[provider] = dict(own_entries(merged.get(provider)) + own_entries(metadata))
    return merged


def _put(target: JsonDict, key: str, value: Any) -> None:
    if value is not UNDEFINED:
        target[key] = value


def _text(value: Any) -> str:
    return value if type(value) is str else js_string(value)


class TextStreamPartMerger:
    """One assistant message built from TextStreamPart parts, as the reference builds it."""

    __slots__ = (
        "_dispatch",
        "_reasoning_by_id",
        "_streaming_reasoning",
        "_text_by_id",
        "_tool_by_id",
        "failed_part",
        "malformed",
        "parts",
    )

    def __init__(self) -> None:
        self.parts = LiveParts()
        self.failed_part = False  # an "abort" or "error" part was seen
        self.malformed = False
        self._text_by_id: dict[Any, LivePart] = {}
        self._reasoning_by_id: dict[Any, LivePart] = {}
        self._tool_by_id: dict[Any, LivePart] = {}
        # Reasoning parts still "streaming", in message order, for reasoning-end's
        # fallback (the first such part).
        self._streaming_reasoning: dict[int, LivePart] = {}
        self._dispatch: dict[str, Callable[[JsonDict], None]] = {
            "text-start": self._text,
            "text-delta": self._text,
            "reasoning-start": self._reasoning,
            "reasoning-delta": self._reasoning,
            "reasoning-end": self._reasoning_end,
            "tool-input-start": self._tool_input_start,
            "tool-input-delta": self._tool_input_delta,
            "tool-input-end": self._tool_input_end,
            "tool-call": self._tool_call,
            "tool-result": self._tool_result,
            "tool-error": self._tool_error,
            "source": self._source,
            "abort": self._failed,
            "error": self._failed,
        }

    @property
    def failed(self) -> bool:
        return self.failed_part or self.malformed

    def feed(self, parts: Iterable[Any]) -> None:
        dispatch = self._dispatch
        for part in parts:
            if type(part) is not dict:
                # `part.type` throws on null; any other non-object has no type.
                if part is None:
                    self.malformed = True
                continue
            kind = part.get("type")
            handler = dispatch.get(kind) if type(kind) is str else None
            if handler is None:
                # file, text-end, start/finish(-step), raw and unknown types.
                continue
            try:
                handler(part)
            except _Malformed:
                self.malformed = True

    def snapshot_parts(self) -> list[JsonDict]:
        return self.parts.snapshot(len(self.parts.items), reasoning_done_unless_last=True)

    # -- handlers ---------------------------------------------------------------

    def _text(self, part: JsonDict) -> None:
        key = same_value_key(part.get("id", UNDEFINED))
        target = self._text_by_id.get(key)
        if target is None:
            last = self.parts.last()
            if last is not None and last.fields.get("type") == "text":
                target = last
            else:
                fields: JsonDict = {"type": "text", "text": ""}
                _put(fields, "providerMetadata", part.get("providerMetadata", UNDEFINED))
                target = self.parts.push(fields)
            self._text_by_id[key] = target
        if part["type"] == "text-delta":
            self._append_text(target, part.get("text", UNDEFINED))
            self._merge_metadata(
                target, "providerMetadata", part.get("providerMetadata", UNDEFINED)
            )
            self.parts.touch(target)

    def _reasoning(self, part: JsonDict) -> None:
        key = same_value_key(part.get("id", UNDEFINED))
        target = self._reasoning_by_id.get(key)
        if target is None:
            last = self.parts.last()
            if last is not None and last.fields.get("type") == "reasoning":
                target = last
            else:
                fields: JsonDict = {"type": "reasoning", "state": "streaming", "text": ""}
                _put(fields, "providerMetadata", part.get("providerMetadata", UNDEFINED))
                target = self.parts.push(fields)
                self._streaming_reasoning[target.index] = target
            self._reasoning_by_id[key] = target
        if part["type"] == "reasoning-delta":
            self._append_text(target, part.get("text", UNDEFINED))
            self._merge_metadata(
                target, "providerMetadata", part.get("providerMetadata", UNDEFINED)
            )
            self.parts.touch(target)

    def _append_text(self, target: LivePart, text: Any) -> None:
        current = target.fields.get("text", UNDEFINED)
        if type(current) is str:
            target.append("text", _text(text))
        else:
            target.set("text", js_add(current, text))

    def _merge_metadata(self, target: LivePart, key: str, update: Any) -> None:
        merged = merge_provider_metadata(target.fields.get(key, UNDEFINED), update)
        target.set(key, merged)

    def _reasoning_end(self, part: JsonDict) -> None:
        target = self._reasoning_by_id.get(same_value_key(part.get("id", UNDEFINED)))
        if target is None:
            target = next(iter(self._streaming_reasoning.values()), None)
        if target is not None:
            target.fields["state"] = "done"
            self._streaming_reasoning.pop(target.index, None)
            self.parts.touch(target)

    def _tool_input_start(self, part: JsonDict) -> None:
        call_id = part.get("id", UNDEFINED)
        fields: JsonDict
        if truthy(part.get("dynamic", UNDEFINED)):
            fields = {"type": "dynamic-tool"}
            _put(fields, "toolCallId", call_id)
            _put(fields, "toolName", part.get("toolName", UNDEFINED))
            fields["state"] = "input-streaming"
            fields["input"] = ""
        else:
            fields = {"type": "tool-" + js_string(part.get("toolName", UNDEFINED))}
            _put(fields, "toolCallId", call_id)
            fields["state"] = "input-streaming"
            fields["input"] = ""
            _put(fields, "providerExecuted", part.get("providerExecuted", UNDEFINED))
        self._tool_by_id[same_value_key(call_id)] = self.parts.push(fields)

    def _tool(self, call_id: Any) -> LivePart:
        target = self._tool_by_id.get(same_value_key(call_id))
        if target is None:
            raise _Malformed("no tool call part to update")
        return target

    def _tool_input_delta(self, part: JsonDict) -> None:
        target = self._tool(part.get("id", UNDEFINED))
        delta = part.get("delta", UNDEFINED)
        current = target.fields.get("input", UNDEFINED)
        if type(current) is str and type(delta) is str:
            target.append("input", delta)
        else:
            base = target.get("input")
            target.set("input", js_add("" if base is None or base is UNDEFINED else base, delta))
        self.parts.touch(target)

    def _tool_input_end(self, part: JsonDict) -> None:
        target = self._tool(part.get("id", UNDEFINED))
        target.fields["state"] = "input-available"
        metadata = part.get("providerMetadata", UNDEFINED)
        if truthy(metadata):
            self._merge_metadata(target, "callProviderMetadata", metadata)
        self.parts.touch(target)

    def _tool_call(self, part: JsonDict) -> None:
        call_id = part.get("toolCallId", UNDEFINED)
        update: JsonDict
        if truthy(part.get("dynamic", UNDEFINED)):
            update = {
                "type": "dynamic-tool",
                "toolCallId": call_id,
                "toolName": part.get("toolName", UNDEFINED),
                "input": part.get("input", UNDEFINED),
                "state": "input-available",
            }
        else:
            update = {
                "type": "tool-" + js_string(part.get("toolName", UNDEFINED)),
                "toolCallId": call_id,
                "input": part.get("input", UNDEFINED),
                "state": "input-available",
            }
            executed = part.get("providerExecuted", UNDEFINED)
            if truthy(executed):
                update["providerExecuted"] = executed
        metadata = part.get("providerMetadata", UNDEFINED)
        if truthy(metadata):
            update["callProviderMetadata"] = metadata
        key = same_value_key(call_id)
        target = self._tool_by_id.get(key)
        if target is not None:
            # Object.assign: an undefined value removes the field.
            for name, value in update.items():
                target.set(name, value)
            self.parts.touch(target)
        else:
            fields = {k: v for k, v in update.items() if v is not UNDEFINED}
            self._tool_by_id[key] = self.parts.push(fields)

    def _tool_result(self, part: JsonDict) -> None:
        target = self._tool(part.get("toolCallId", UNDEFINED))
        target.fields["state"] = "output-available"
        new_input = part.get("input")
        if new_input is not None:
            target.set("input", new_input)
        new_output = part.get("output")
        if new_output is not None:
            target.set("output", new_output)
        if target.fields.get("type") != "dynamic-tool":
            target.set("preliminary", part.get("preliminary", UNDEFINED))
        elif "preliminary" in part:
            target.set("preliminary", part["preliminary"])
        self.parts.touch(target)

    def _tool_error(self, part: JsonDict) -> None:
        target = self._tool_by_id.get(same_value_key(part.get("toolCallId", UNDEFINED)))
        if target is not None:
            target.set("errorText", get_error_message(part.get("error", UNDEFINED)))
            self.parts.touch(target)

    def _source(self, part: JsonDict) -> None:
        source_type = part.get("sourceType")
        fields: JsonDict
        if source_type == "url":
            fields = {"type": "source-url"}
            _put(fields, "url", part.get("url", UNDEFINED))
            _put(fields, "sourceId", part.get("id", UNDEFINED))
            _put(fields, "providerMetadata", part.get("providerMetadata", UNDEFINED))
            _put(fields, "title", part.get("title", UNDEFINED))
        elif source_type == "document":
            fields = {"type": "source-document"}
            _put(fields, "mediaType", part.get("mediaType", UNDEFINED))
            _put(fields, "sourceId", part.get("id", UNDEFINED))
            _put(fields, "title", part.get("title", UNDEFINED))
            _put(fields, "filename", part.get("filename", UNDEFINED))
            _put(fields, "providerMetadata", part.get("providerMetadata", UNDEFINED))
        else:
            return
        self.parts.push(fields)

    def _failed(self, part: JsonDict) -> None:
        self.failed_part = True
