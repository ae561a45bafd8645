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

The tool parts and their chunks are ``ui_tool_calls``; the metadata merge is
``ui_message_metadata``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    prop_key,
    same_value_key,
    truthy,
)
from agent_streams_protocol.materialize.live_parts import JsonDict, LivePart, LiveParts
from agent_streams_protocol.materialize.ui_chunk_fields import MalformedChunk, chunk_text, put
from agent_streams_protocol.materialize.ui_message_metadata import merge_objects
from agent_streams_protocol.materialize.ui_tool_calls import ToolCalls

__all__ = ["UIMessageStreamState", "merge_objects"]


class UIMessageStreamState:
    """One assistant message built from UIMessageChunk parts, as the AI SDK builds it."""

    __slots__ = (
        "_active_reasoning",
        "_active_text",
        "_data_parts",
        "_dispatch",
        "_hidden_step_starts",
        "_metadata_malformed",
        "_metadata_updates",
        "_tools",
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
        self._tools = ToolCalls(self.parts)
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
            "tool-input-start": self._then_write(self._tools.input_start),
            "tool-input-delta": self._then_write(self._tools.input_delta),
            "tool-input-available": self._then_write(self._tools.input_available),
            "tool-input-error": self._then_write(self._tools.input_error),
            "tool-output-available": self._then_write(self._tools.output_available),
            "tool-output-error": self._then_write(self._tools.output_error),
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
            except MalformedChunk:
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
        self._tools.resolve_pending()
        count = len(self.parts.items)
        if self._written:
            count -= self._hidden_step_starts
        return self.parts.snapshot(count)

    # -- helpers ---------------------------------------------------------------

    def _write(self, part: LivePart | None = None) -> None:
        """A chunk changed the message: the AI SDK emits a snapshot (showing every part)."""
        self._written = True
        self._hidden_step_starts = 0
        if part is not None:
            self.parts.touch(part)

    def _then_write(self, handler: Callable[[JsonDict], None]) -> Callable[[JsonDict], None]:
        """``handler``, then a write (not after a chunk the AI SDK would throw on)."""

        def run(chunk: JsonDict) -> None:
            handler(chunk)
            self._write()

        return run

    def _update_metadata(self, metadata: Any) -> None:
        if metadata is None or metadata is UNDEFINED:
            return
        self._metadata_updates.append(metadata)
        if not self._merge_metadata(metadata):
            raise MalformedChunk("cannot merge the message metadata")

    def _merge_metadata(self, metadata: Any) -> bool:
        current = self.metadata
        try:
            self.metadata = (
                merge_objects(current, metadata)
                if current is not None and current is not UNDEFINED
                else metadata
            )
        except MalformedChunk:
            self._metadata_malformed = True
            return False
        return True

    # -- chunk handlers --------------------------------------------------------

    def _text_start(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "text", "text": ""}
        put(fields, "providerMetadata", chunk.get("providerMetadata", UNDEFINED))
        fields["state"] = "streaming"
        part = self.parts.push(fields)
        self._active_text[prop_key(chunk.get("id", UNDEFINED))] = part
        self._write()

    def _text_delta(self, chunk: JsonDict) -> None:
        part = self._active_text.get(prop_key(chunk.get("id", UNDEFINED)))
        if part is None:
            raise MalformedChunk("text-delta without text-start")
        part.append("text", chunk_text(chunk.get("delta", UNDEFINED)))
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        self._write(part)

    def _text_end(self, chunk: JsonDict) -> None:
        key = prop_key(chunk.get("id", UNDEFINED))
        part = self._active_text.get(key)
        if part is None:
            raise MalformedChunk("text-end without text-start")
        part.fields["state"] = "done"
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        del self._active_text[key]
        self._write(part)

    def _reasoning_start(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "reasoning"}
        put(fields, "id", chunk.get("id", UNDEFINED))
        fields["text"] = ""
        put(fields, "providerMetadata", chunk.get("providerMetadata", UNDEFINED))
        fields["state"] = "streaming"
        part = self.parts.push(fields)
        self._active_reasoning[prop_key(chunk.get("id", UNDEFINED))] = part
        self._write()

    def _reasoning_delta(self, chunk: JsonDict) -> None:
        part = self._active_reasoning.get(prop_key(chunk.get("id", UNDEFINED)))
        if part is None:
            raise MalformedChunk("reasoning-delta without reasoning-start")
        part.append("text", chunk_text(chunk.get("delta", UNDEFINED)))
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        self._write(part)

    def _reasoning_end(self, chunk: JsonDict) -> None:
        key = prop_key(chunk.get("id", UNDEFINED))
        part = self._active_reasoning.get(key)
        if part is None:
            raise MalformedChunk("reasoning-end without reasoning-start")
        metadata = chunk.get("providerMetadata")
        if metadata is not None:
            part.fields["providerMetadata"] = metadata
        part.fields["state"] = "done"
        del self._active_reasoning[key]
        self._write(part)

    def _file(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "file"}
        put(fields, "mediaType", chunk.get("mediaType", UNDEFINED))
        put(fields, "url", chunk.get("url", UNDEFINED))
        self.parts.push(fields)
        self._write()

    def _source_url(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "source-url"}
        for key in ("sourceId", "url", "title", "providerMetadata"):
            put(fields, key, chunk.get(key, UNDEFINED))
        self.parts.push(fields)
        self._write()

    def _source_document(self, chunk: JsonDict) -> None:
        fields: JsonDict = {"type": "source-document"}
        for key in ("sourceId", "mediaType", "title", "filename", "providerMetadata"):
            put(fields, key, chunk.get(key, UNDEFINED))
        self.parts.push(fields)
        self._write()

    def _start_step(self, chunk: JsonDict) -> None:
        self.parts.push({"type": "step-start"})
        self._tools.new_step()
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
            raise MalformedChunk("chunk is not an object")
        kind = chunk.get("type", UNDEFINED)
        if type(kind) is not str:
            raise MalformedChunk("chunk type is not a string")
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
