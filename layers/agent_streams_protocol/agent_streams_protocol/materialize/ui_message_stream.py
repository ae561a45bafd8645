"""The AI SDK 5 ``processUIMessageStream`` / ``readUIMessageStream`` rules.

:class:`UIMessageStreamState` is the state machine the reference drives with a
stream's ``UIMessageChunk`` parts (``updateFromUIMessageChunks``), kept live so
new chunks can be fed at any time. What the reference reads is the *last
snapshot* ``readUIMessageStream`` emitted, and a few chunks change the message
without emitting one (``start-step`` pushes a ``step-start`` part silently), so
the state also tracks which trailing ``step-start`` parts no snapshot has shown
yet. If no chunk ever emitted a snapshot, the reference reads the message object
itself, which does show them.

Where the reference throws, this port does not:

* an ``error`` chunk marks the message failed and changes nothing else (the
  project's deliberate difference; the conformance key ``errorChunkMarksFailed``);
* a chunk the AI SDK cannot apply (a delta for a text, reasoning or tool input
  that was never started, a tool output for an unknown call, a chunk that is
  not an object) is skipped and also marks the message failed, so a corrupt
  stream still shows everything else that was streamed.

A ``start`` chunk's ``messageId`` is ignored: the reference asserts it equals
``stream:<streamId>`` (and resets the message otherwise), this port keeps the id.

Partial tool inputs are parsed lazily: the AI SDK parses the whole input again on
every ``tool-input-delta`` but only the last parse can be seen, so the parse
happens when the part is read (with a resumable ``fixJson`` scan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    js_join,
    js_string,
    own_entries,
    prop_key,
    same_value_key,
    truthy,
)
from agent_streams_protocol.materialize.live_parts import JsonDict, LivePart, LiveParts
from agent_streams_protocol.materialize.partial_json import FixJsonScanner, parse_partial_json

__all__ = ["UIMessageStreamState", "merge_objects"]


class _Malformed(Exception):
    """A chunk the AI SDK would throw on."""


_SKIPPED_KEYS = frozenset({"__proto__", "constructor", "prototype"})


def merge_objects(base: Any, overrides: Any) -> Any:
    """The AI SDK's ``mergeObjects`` (message metadata): a deep merge, overrides win."""
    if base is UNDEFINED and overrides is UNDEFINED:
        return UNDEFINED
    if base is UNDEFINED:
        return overrides
    if overrides is UNDEFINED:
        return base
    entries = own_entries(overrides)
    if entries and not isinstance(base, (dict, list)):
        # `key in base` on a primitive throws a TypeError in JavaScript.
        raise _Malformed("cannot merge metadata into a primitive")
    result = dict(own_entries(base))
    for key, value in entries:
        if key in _SKIPPED_KEYS:
            continue
        base_value = result.get(key, UNDEFINED) if isinstance(base, dict) else _index(base, key)
        if isinstance(value, dict) and isinstance(base_value, dict):
            result[key] = merge_objects(base_value, value)
        else:
            result[key] = value
    return result


def _index(base: Any, key: str) -> Any:
    if isinstance(base, list) and key.isdigit() and int(key) < len(base):
        return base[int(key)]
    return UNDEFINED


def _put(target: JsonDict, key: str, value: Any) -> None:
    if value is not UNDEFINED:
        target[key] = value


def _text(value: Any) -> str:
    # `text += chunk.delta` in JavaScript, whatever the delta is.
    return value if type(value) is str else js_string(value)


class _PartialToolCall:
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


class UIMessageStreamState:
    """One assistant message built from UIMessageChunk parts, as the AI SDK builds it."""

    __slots__ = (
        "_active_reasoning",
        "_active_text",
        "_data_parts",
        "_dispatch",
        "_hidden_step_starts",
        "_last_dynamic",
        "_last_static",
        "_metadata_malformed",
        "_metadata_updates",
        "_partial_calls",
        "_pending",
        "_step_dynamic",
        "_step_static",
        "_written",
        "base_metadata",
        "error_chunk",
        "malformed",
        "metadata",
        "parts",
    )

    def __init__(self, metadata: Any = UNDEFINED) -> None:
        self.parts = LiveParts()
        #: The message's metadata (UNDEFINED if none), as of the latest chunk.
        self.base_metadata = metadata
        self.metadata = metadata
        self._metadata_updates: list[Any] = []
        self.error_chunk = False
        self.malformed = False
        self._metadata_malformed = False
        self._active_text: dict[str, LivePart] = {}
        self._active_reasoning: dict[str, LivePart] = {}
        self._partial_calls: dict[str, _PartialToolCall] = {}
        self._pending: set[_PartialToolCall] = set()
        # Indexes standing in for the AI SDK's scans of the current step / all parts.
        self._step_static: dict[Any, LivePart] = {}
        self._step_dynamic: dict[Any, LivePart] = {}
        self._last_static: dict[Any, LivePart] = {}
        self._last_dynamic: dict[Any, LivePart] = {}
        self._data_parts: dict[tuple[str, Any], LivePart] = {}
        self._written = False
        self._hidden_step_starts = 0
        self._dispatch: dict[str, Callable[[JsonDict], None]] = {
            "text-start": self._text_start,
            "text-delta": self._text_delta,
            "text-end": self._text_end,
            "reasoning-start": self._reasoning_start,
            "reasoning-delta": self._reasoning_delta,
            "reasoning-end": self._reasoning_end,
            "file": self._file,
            "source-url": self._source_url,
            "source-document": self._source_document,
            "tool-input-start": self._tool_input_start,
            "tool-input-delta": self._tool_input_delta,
            "tool-input-available": self._tool_input_available,
            "tool-input-error": self._tool_input_error,
            "tool-output-available": self._tool_output_available,
            "tool-output-error": self._tool_output_error,
            "start-step": self._start_step,
            "finish-step": self._finish_step,
            "start": self._start,
            "finish": self._metadata_chunk,
            "message-metadata": self._metadata_chunk,
            "error": self._error,
        }

    # -- feeding ---------------------------------------------------------------

    def feed(self, chunks: Iterable[Any]) -> None:
        dispatch = self._dispatch
        for chunk in chunks:
            try:
                kind = chunk.get("type") if type(chunk) is dict else None
                handler = dispatch.get(kind) if type(kind) is str else None
                if handler is not None:
                    handler(chunk)
                else:
                    self._other(chunk)
            except _Malformed:
                self.malformed = True

    @property
    def failed(self) -> bool:
        return self.error_chunk or self.malformed or self._metadata_malformed

    def set_base_metadata(self, metadata: Any) -> None:
        """The stream message's own metadata changed: replay the merges onto it.

        (Only a metadata that is not an object can make a merge fail; for such a
        stream the replay does not redo the snapshot bookkeeping of the chunks.)
        """
        if metadata == self.base_metadata:
            return
        self.base_metadata = metadata
        self.metadata = metadata
        self._metadata_malformed = False
        for update in self._metadata_updates:
            self._merge_metadata(update)

    # -- reading ---------------------------------------------------------------

    def snapshot_parts(self) -> list[JsonDict]:
        """The parts of the last snapshot the AI SDK would have emitted."""
        for call in list(self._pending):
            self._resolve(call)
        count = len(self.parts.items)
        if self._written:
            count -= self._hidden_step_starts
        return self.parts.snapshot(count)

    # -- helpers ---------------------------------------------------------------

    def _write(self, part: LivePart | None = None) -> None:
        self._written = True
        self._hidden_step_starts = 0
        if part is not None:
            self.parts.touch(part)

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

    def _resolve(self, call: _PartialToolCall) -> None:
        """Parse the partial input now due on ``call.pending_part``."""
        part = call.pending_part
        if part is None:
            return
        text = call.full_text()
        part.set("input", parse_partial_json(text, call.scanner).value)
        if call.pending_raw:
            part.set("rawInput", text)
        self._unlink(call)

    def _unlink(self, call: _PartialToolCall) -> None:
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
            _put(fields, "toolName", tool_name)
            _put(fields, "toolCallId", chunk_call_id)
            fields["state"] = state
            _put(fields, "input", input)
            _put(fields, "output", output)
            _put(fields, "errorText", error_text)
            _put(fields, "preliminary", preliminary)
            _put(fields, "providerExecuted", provider_executed)
        else:
            fields["type"] = "tool-" + js_string(tool_name)
            _put(fields, "toolCallId", chunk_call_id)
            fields["state"] = state
            _put(fields, "input", input)
            _put(fields, "output", output)
            _put(fields, "rawInput", raw_input)
            _put(fields, "errorText", error_text)
            _put(fields, "providerExecuted", provider_executed)
            _put(fields, "preliminary", preliminary)
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
            raise _Malformed("tool-output-error must be preceded by a tool-input-available")
        self._read(part)
        return part

    def _update_metadata(self, metadata: Any) -> None:
        if metadata is None or metadata is UNDEFINED:
            return
        self._metadata_updates.append(metadata)
        if not self._merge_metadata(metadata):
            raise _Malformed("cannot merge the message metadata")

    def _merge_metadata(self, metadata: Any) -> bool:
        current = self.metadata
        try:
            self.metadata = (
                merge_objects(current, metadata)
                if current is not None and current is not UNDEFINED
                else metadata
            )
        except _Malformed:
            self._metadata_malformed = True
            return False
        return True

    # -- chunk handlers --------------------------------------------------------

    def _text_start(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "text", "text": ""}
        _put(fields, "providerMetadata", chunk.get("providerMetadata", UNDEFINED))
        fields["state"] = "streaming"
        part = self.parts.push(fields)
        self._active_text[prop_key(chunk.get("id", UNDEFINED))] = part
        self._write()

    def _text_delta(self, chunk: JsonDict) -> None:
        part = self._active_text.get(prop_key(chunk.get("id", UNDEFINED)))
        if part is None:
            raise _Malformed("text-delta without text-start")
        part.append("text", _text(chunk.get("delta", UNDEFINED)))
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        self._write(part)

    def _text_end(self, chunk: JsonDict) -> None:
        key = prop_key(chunk.get("id", UNDEFINED))
        part = self._active_text.get(key)
        if part is None:
            raise _Malformed("text-end without text-start")
        part.fields["state"] = "done"
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        del self._active_text[key]
        self._write(part)

    def _reasoning_start(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "reasoning"}
        _put(fields, "id", chunk.get("id", UNDEFINED))
        fields["text"] = ""
        _put(fields, "providerMetadata", chunk.get("providerMetadata", UNDEFINED))
        fields["state"] = "streaming"
        part = self.parts.push(fields)
        self._active_reasoning[prop_key(chunk.get("id", UNDEFINED))] = part
        self._write()

    def _reasoning_delta(self, chunk: JsonDict) -> None:
        part = self._active_reasoning.get(prop_key(chunk.get("id", UNDEFINED)))
        if part is None:
            raise _Malformed("reasoning-delta without reasoning-start")
        part.append("text", _text(chunk.get("delta", UNDEFINED)))
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        self._write(part)

    def _reasoning_end(self, chunk: JsonDict) -> None:
        key = prop_key(chunk.get("id", UNDEFINED))
        part = self._active_reasoning.get(key)
        if part is None:
            raise _Malformed("reasoning-end without reasoning-start")
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        part.fields["state"] = "done"
        del self._active_reasoning[key]
        self._write(part)

    def _file(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "file"}
        _put(fields, "mediaType", chunk.get("mediaType", UNDEFINED))
        _put(fields, "url", chunk.get("url", UNDEFINED))
        self.parts.push(fields)
        self._write()

    def _source_url(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "source-url"}
        for key in ("sourceId", "url", "title", "providerMetadata"):
            _put(fields, key, chunk.get(key, UNDEFINED))
        self.parts.push(fields)
        self._write()

    def _source_document(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "source-document"}
        for key in ("sourceId", "mediaType", "title", "filename", "providerMetadata"):
            _put(fields, key, chunk.get(key, UNDEFINED))
        self.parts.push(fields)
        self._write()

    def _tool_input_start(self, chunk: JsonDict) -> None:
        call_id = chunk.get("toolCallId", UNDEFINED)
        key = prop_key(call_id)
        previous = self._partial_calls.get(key)
        if previous is not None:
            # The replaced call's last parse stays visible on its part.
            self._resolve(previous)
        dynamic = chunk.get("dynamic", UNDEFINED)
        self._partial_calls[key] = _PartialToolCall(chunk.get("toolName", UNDEFINED), dynamic)
        self._update_tool(
            truthy(dynamic),
            call_id,
            chunk.get("toolName", UNDEFINED),
            "input-streaming",
            provider_executed=chunk.get("providerExecuted", UNDEFINED),
        )
        self._write()

    def _tool_input_delta(self, chunk: JsonDict) -> None:
        call_id = chunk.get("toolCallId", UNDEFINED)
        call = self._partial_calls.get(prop_key(call_id))
        if call is None:
            raise _Malformed("tool-input-delta without tool-input-start")
        dynamic = truthy(call.dynamic)
        index = self._step_dynamic if dynamic else self._step_static
        target = index.get(same_value_key(call_id))
        if call.pending_part is not None and call.pending_part is not target:
            # That part keeps the parse of the text as it is before this delta.
            self._resolve(call)
        call.pieces.append(_text(chunk.get("inputTextDelta", UNDEFINED)))
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
        self._write()

    def _tool_input_available(self, chunk: JsonDict) -> None:
        self._update_tool(
            truthy(chunk.get("dynamic", UNDEFINED)),
            chunk.get("toolCallId", UNDEFINED),
            chunk.get("toolName", UNDEFINED),
            "input-available",
            input=chunk.get("input", UNDEFINED),
            provider_executed=chunk.get("providerExecuted", UNDEFINED),
            provider_metadata=chunk.get("providerMetadata", UNDEFINED),
        )
        self._write()

    def _tool_input_error(self, chunk: JsonDict) -> None:
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
        self._write()

    def _tool_output_available(self, chunk: JsonDict) -> None:
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
        self._write()

    def _tool_output_error(self, chunk: JsonDict) -> None:
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
        self._write()

    def _start_step(self, chunk: JsonDict) -> None:
        self.parts.push({"type": "step-start"})
        self._step_static = {}
        self._step_dynamic = {}
        # No snapshot is emitted for a step start.
        self._hidden_step_starts += 1

    def _finish_step(self, chunk: JsonDict) -> None:
        self._active_text = {}
        self._active_reasoning = {}

    def _start(self, chunk: JsonDict) -> None:
        message_id = chunk.get("messageId")
        metadata = chunk.get("messageMetadata")
        self._update_metadata(metadata)
        if message_id is not None or metadata is not None:
            self._write()

    def _metadata_chunk(self, chunk: JsonDict) -> None:
        metadata = chunk.get("messageMetadata")
        self._update_metadata(metadata)
        if metadata is not None:
            self._write()

    def _error(self, chunk: JsonDict) -> None:
        self.error_chunk = True

    def _other(self, chunk: Any) -> None:
        if type(chunk) is not dict:
            raise _Malformed("chunk is not an object")
        kind = chunk.get("type", UNDEFINED)
        if type(kind) is not str:
            raise _Malformed("chunk type is not a string")
        if not kind.startswith("data-"):
            return  # unknown chunk types (e.g. "abort") change nothing
        if truthy(chunk.get("transient", UNDEFINED)):
            return
        data_id = chunk.get("id")
        existing = None
        key: tuple[str, Any] | None = None
        if data_id is not None:
            key = (kind, same_value_key(data_id))
            existing = self._data_parts.get(key)
        if existing is not None:
            existing.set("data", chunk.get("data", UNDEFINED))
            self._write(existing)
            return
        part = self.parts.push(dict(chunk))
        if key is not None:
            self._data_parts[key] = part
        self._write()


def _tool_name(fields: JsonDict) -> str:
    """``getToolName``: the type without its ``tool-`` prefix."""
    kind: str = fields["type"]
    return "-".join(kind.split("-")[1:])
