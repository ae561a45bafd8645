"""The tool parts of a message being built from UIMessageChunks (the AI SDK 5 rules).

``partialToolCalls`` (the input text of each call so far), the lookups the AI SDK
does by scanning the message (a call's part in the current step, or its last one
anywhere), and the six tool chunks: ``tool-input-start``, ``-delta``, ``-available``,
``-error``, ``tool-output-available`` and ``-error``.

Partial tool inputs are parsed lazily: the AI SDK parses the whole input again on
every ``tool-input-delta`` but only the last parse can be seen, so the parse
happens when the part is read (with a resumable ``fixJson`` scan).
"""

from __future__ import annotations

from typing import Any

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    js_join,
    js_string,
    prop_key,
    same_value_key,
    truthy,
)
from agent_streams_protocol.materialize.live_parts import JsonDict, LivePart, LiveParts
from agent_streams_protocol.materialize.partial_json import FixJsonScanner, parse_partial_json
from agent_streams_protocol.materialize.ui_chunk_fields import MalformedChunk, chunk_text, put

__all__ = ["PartialToolCall", "ToolCalls"]


class PartialToolCall:
    """``state.partialToolCalls[id]``: the tool input text received so far."""

    __slots__ = ("dynamic", "pending_part", "pending_raw", "pieces", "scanner", "text", "tool_name")

    def __init__(self, tool_name: Any, dynamic: Any) -> None:
        self.tool_name = tool_name
        self.dynamic = dynamic
        self.text = ""
        self.pieces: list[str] = []
        self.scanner = FixJsonScanner()
        #: The part whose input/rawInput are due from this text, not yet parsed.
        self.pending_part: LivePart | None = None
        self.pending_raw = False

    def full_text(self) -> str:
        if self.pieces:
            self.pieces.insert(0, self.text)
            self.text = js_join(self.pieces)
            self.pieces.clear()
        return self.text


class ToolCalls:
    """The tool parts of one message and the chunks that change them.

    Each handler changes the parts only; the message's state machine records the
    write (a snapshot the AI SDK would emit) after it.
    """

    __slots__ = (
        "_last_dynamic",
        "_last_static",
        "_partial_calls",
        "_pending",
        "_step_dynamic",
        "_step_static",
        "parts",
    )

    def __init__(self, parts: LiveParts) -> None:
        self.parts = parts
        self._partial_calls: dict[str, PartialToolCall] = {}
        self._pending: set[PartialToolCall] = set()
        # Indexes standing in for the AI SDK's scans of the current step / all parts.
        self._step_static: dict[Any, LivePart] = {}
        self._step_dynamic: dict[Any, LivePart] = {}
        self._last_static: dict[Any, LivePart] = {}
        self._last_dynamic: dict[Any, LivePart] = {}

    def new_step(self) -> None:
        """A ``start-step``: lookups in "the current step" start over."""
        self._step_static = {}
        self._step_dynamic = {}

    def resolve_pending(self) -> None:
        """Parse every partial input due, before the parts are read."""
        for call in list(self._pending):
            self._resolve(call)

    def _push(self, fields: JsonDict) -> LivePart:
        part = self.parts.push(fields)
        kind = fields.get("type")
        if kind == "dynamic-tool":
            key = same_value_key(fields.get("toolCallId", UNDEFINED))
            self._step_dynamic.setdefault(key, part)
            self._last_dynamic[key] = part
        elif type(kind) is str and kind.startswith("tool-"):
            key = same_value_key(fields.get("toolCallId", UNDEFINED))
            self._step_static.setdefault(key, part)
            self._last_static[key] = part
        return part

    def _resolve(self, call: PartialToolCall) -> None:
        """Parse the partial input now due on ``call.pending_part``."""
        part = call.pending_part
        if part is None:
            return
        text = call.full_text()
        part.set("input", parse_partial_json(text, call.scanner).value)
        if call.pending_raw:
            part.set("rawInput", text)
        self._unlink(call)

    def _unlink(self, call: PartialToolCall) -> None:
        part = call.pending_part
        if part is not None and part.pending is call:
            part.pending = None
        call.pending_part = None
        self._pending.discard(call)

    def _settle(self, part: LivePart) -> None:
        """The part's input is about to be overwritten: a pending parse is moot."""
        call = part.pending
        if call is not None:
            self._unlink(call)

    def _read(self, part: LivePart) -> None:
        """The part's input is about to be read: do the pending parse first."""
        call = part.pending
        if call is not None:
            self._resolve(call)

    def _update_tool(
        self,
        dynamic: bool,
        chunk_call_id: Any,
        tool_name: Any,
        state: str,
        *,
        input: Any = UNDEFINED,
        output: Any = UNDEFINED,
        raw_input: Any = UNDEFINED,
        error_text: Any = UNDEFINED,
        preliminary: Any = UNDEFINED,
        provider_executed: Any = UNDEFINED,
        provider_metadata: Any = UNDEFINED,
        existing: LivePart | None = None,
    ) -> LivePart:
        """``updateToolPart`` / ``updateDynamicToolPart``."""
        part = existing
        if part is None:
            index = self._step_dynamic if dynamic else self._step_static
            part = index.get(same_value_key(chunk_call_id))
        if part is not None:
            self._settle(part)
            fields = part.fields
            fields["state"] = state
            if dynamic:
                part.set("toolName", tool_name)
            part.set("input", input)
            part.set("output", output)
            part.set("errorText", error_text)
            part.set("rawInput", raw_input)
            part.set("preliminary", preliminary)
            if provider_executed is not None and provider_executed is not UNDEFINED:
                fields["providerExecuted"] = provider_executed
            if (
                provider_metadata is not None
                and provider_metadata is not UNDEFINED
                and (state == "input-available")
            ):
                fields["callProviderMetadata"] = provider_metadata
            self.parts.touch(part)
            return part
        fields = {}
        if dynamic:
            fields["type"] = "dynamic-tool"
            put(fields, "toolName", tool_name)
            put(fields, "toolCallId", chunk_call_id)
            fields["state"] = state
            put(fields, "input", input)
            put(fields, "output", output)
            put(fields, "errorText", error_text)
            put(fields, "preliminary", preliminary)
            put(fields, "providerExecuted", provider_executed)
        else:
            fields["type"] = "tool-" + js_string(tool_name)
            put(fields, "toolCallId", chunk_call_id)
            fields["state"] = state
            put(fields, "input", input)
            put(fields, "output", output)
            put(fields, "rawInput", raw_input)
            put(fields, "errorText", error_text)
            put(fields, "providerExecuted", provider_executed)
            put(fields, "preliminary", preliminary)
        if provider_metadata is not None and provider_metadata is not UNDEFINED:
            fields["callProviderMetadata"] = provider_metadata
        return self._push(fields)

    def _invocation(self, dynamic: bool, call_id: Any) -> LivePart:
        """``getToolInvocation`` / ``getDynamicToolInvocation``."""
        key = same_value_key(call_id)
        if dynamic:
            part = self._step_dynamic.get(key) or self._last_dynamic.get(key)
        else:
            part = self._step_static.get(key) or self._last_static.get(key)
        if part is None:
            raise MalformedChunk("tool-output-error must be preceded by a tool-input-available")
        self._read(part)
        return part

    def input_start(self, chunk: JsonDict) -> None:
        call_id = chunk.get("toolCallId", UNDEFINED)
        key = prop_key(call_id)
        previous = self._partial_calls.get(key)
        if previous is not None:
            # The replaced call's last parse stays visible on its part.
            self._resolve(previous)
        dynamic = chunk.get("dynamic", UNDEFINED)
        self._partial_calls[key] = PartialToolCall(chunk.get("toolName", UNDEFINED), dynamic)
        self._update_tool(
            truthy(dynamic),
            call_id,
            chunk.get("toolName", UNDEFINED),
            "input-streaming",
            provider_executed=chunk.get("providerExecuted", UNDEFINED),
        )

    def input_delta(self, chunk: JsonDict) -> None:
        call_id = chunk.get("toolCallId", UNDEFINED)
        call = self._partial_calls.get(prop_key(call_id))
        if call is None:
            raise MalformedChunk("tool-input-delta without tool-input-start")
        dynamic = truthy(call.dynamic)
        index = self._step_dynamic if dynamic else self._step_static
        target = index.get(same_value_key(call_id))
        if call.pending_part is not None and call.pending_part is not target:
            # That part keeps the parse of the text as it is before this delta.
            self._resolve(call)
        call.pieces.append(chunk_text(chunk.get("inputTextDelta", UNDEFINED)))
        if target is not None:
            self._settle(target)
            fields = target.fields
            fields["state"] = "input-streaming"
            if dynamic:
                target.set("toolName", call.tool_name)
            for absent in ("input", "output", "errorText", "rawInput", "preliminary"):
                fields.pop(absent, None)
            self.parts.touch(target)
            raw = True
        else:
            target = self._update_tool(dynamic, call_id, call.tool_name, "input-streaming")
            # A new dynamic part has no rawInput field in the AI SDK.
            raw = not dynamic
        target.pending = call
        call.pending_part = target
        call.pending_raw = raw
        self._pending.add(call)

    def input_available(self, chunk: JsonDict) -> None:
        self._update_tool(
            truthy(chunk.get("dynamic", UNDEFINED)),
            chunk.get("toolCallId", UNDEFINED),
            chunk.get("toolName", UNDEFINED),
            "input-available",
            input=chunk.get("input", UNDEFINED),
            provider_executed=chunk.get("providerExecuted", UNDEFINED),
            provider_metadata=chunk.get("providerMetadata", UNDEFINED),
        )

    def input_error(self, chunk: JsonDict) -> None:
        dynamic = truthy(chunk.get("dynamic", UNDEFINED))
        self._update_tool(
            dynamic,
            chunk.get("toolCallId", UNDEFINED),
            chunk.get("toolName", UNDEFINED),
            "output-error",
            input=chunk.get("input", UNDEFINED) if dynamic else UNDEFINED,
            raw_input=UNDEFINED if dynamic else chunk.get("input", UNDEFINED),
            error_text=chunk.get("errorText", UNDEFINED),
            provider_executed=chunk.get("providerExecuted", UNDEFINED),
            provider_metadata=chunk.get("providerMetadata", UNDEFINED),
        )

    def output_available(self, chunk: JsonDict) -> None:
        dynamic = truthy(chunk.get("dynamic", UNDEFINED))
        call_id = chunk.get("toolCallId", UNDEFINED)
        invocation = self._invocation(dynamic, call_id)
        fields = invocation.fields
        self._update_tool(
            dynamic,
            call_id,
            fields.get("toolName", UNDEFINED) if dynamic else _tool_name(fields),
            "output-available",
            input=fields.get("input", UNDEFINED),
            output=chunk.get("output", UNDEFINED),
            preliminary=chunk.get("preliminary", UNDEFINED),
            provider_executed=UNDEFINED if dynamic else chunk.get("providerExecuted", UNDEFINED),
            existing=invocation,
        )

    def output_error(self, chunk: JsonDict) -> None:
        dynamic = truthy(chunk.get("dynamic", UNDEFINED))
        call_id = chunk.get("toolCallId", UNDEFINED)
        invocation = self._invocation(dynamic, call_id)
        fields = invocation.fields
        self._update_tool(
            dynamic,
            call_id,
            fields.get("toolName", UNDEFINED) if dynamic else _tool_name(fields),
            "output-error",
            input=fields.get("input", UNDEFINED),
            raw_input=UNDEFINED if dynamic else fields.get("rawInput", UNDEFINED),
            error_text=chunk.get("errorText", UNDEFINED),
            provider_executed=chunk.get("providerExecuted", UNDEFINED),
            existing=invocation,
        )


def _tool_name(fields: JsonDict) -> str:
    """``getToolName``: the type without its ``tool-`` prefix."""
    kind: str = fields["type"]
    return "-".join(kind.split("-")[1:])
