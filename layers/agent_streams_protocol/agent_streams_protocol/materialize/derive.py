"""Stream messages + deltas → UI messages: the reference's ``deriveUIMessagesFromDeltas``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    is_number,
    js_string,
    same_value_key,
    truthy,
)
from agent_streams_protocol.materialize.live_parts import JsonDict, copy_json
from agent_streams_protocol.materialize.parts import get_parts
from agent_streams_protocol.materialize.text_stream_parts import TextStreamPartMerger
from agent_streams_protocol.materialize.ui_message_stream import UIMessageStreamState

__all__ = [
    "StreamUIMessage",
    "derive_ui_messages",
    "join_text",
    "merge_thread_ui_messages",
    "sort_messages",
    "status_from_stream_status",
]

_STATUS = {"streaming": "streaming", "finished": "success", "aborted": "failed"}


def status_from_stream_status(status: Any) -> str:
    """A UI message's status for its stream's status (``pending`` for anything else)."""
    return _STATUS.get(status, "pending") if type(status) is str else "pending"


def join_text(parts: Iterable[JsonDict]) -> str:
    """The reference's ``joinText``: the non-empty texts of the text parts, space-separated."""
    return " ".join(
        text if type(text) is str else js_string(text)
        for part in parts
        if part.get("type") == "text" and truthy(text := part.get("text", UNDEFINED))
    )


def _order_key(message: JsonDict) -> tuple[float, float]:
    order = message.get("order", 0)
    step_order = message.get("stepOrder", 0)
    return (
        float(order) if is_number(order) else 0.0,
        float(step_order) if is_number(step_order) else 0.0,
    )


def sort_messages(messages: Iterable[JsonDict]) -> list[JsonDict]:
    """The reference's ``sorted``: by ``order`` then ``stepOrder``, stable."""
    return sorted(messages, key=_order_key)


def merge_thread_ui_messages(per_stream: Iterable[list[JsonDict]]) -> list[JsonDict]:
    """Combine per-stream UI messages as :func:`derive_ui_messages` does for several streams.

    Give the lists in the order of the stream messages: streams at the same
    ``(order, stepOrder)`` keep that order.
    """
    return sort_messages(message for messages in per_stream for message in messages)


class StreamUIMessage:
    """The UI message of one stream, built from its parts as they come."""

    __slots__ = (
        "_joined",
        "_joined_count",
        "_machine",
        "_metadata_copy",
        "_metadata_source",
        "_texts",
        "stream",
        "thread_id",
    )

    def __init__(self, thread_id: str, stream_message: JsonDict) -> None:
        self.thread_id = thread_id
        self.stream = stream_message
        metadata = stream_message.get("metadata", UNDEFINED)
        self._machine: UIMessageStreamState | TextStreamPartMerger
        if stream_message.get("format") == "UIMessageChunk":
            self._machine = UIMessageStreamState(metadata if truthy(metadata) else UNDEFINED)
        else:
            # Like the reference: no format (or any other) means TextStreamPart.
            self._machine = TextStreamPartMerger()
        self._metadata_source: Any = UNDEFINED
        self._metadata_copy: Any = UNDEFINED
        # join_text, kept up to date across snapshots: (index, text) of each text
        # part with a non-empty text, and the join of the first _joined_count.
        self._texts: list[tuple[int, str]] = []
        self._joined = ""
        self._joined_count = 0

    def feed(self, parts: Iterable[Any]) -> None:
        self._machine.feed(parts)

    def set_stream(self, stream_message: JsonDict) -> None:
        """Take a new version of the stream message (its status, metadata…)."""
        if same_value_key(stream_message.get("streamId")) != same_value_key(
            self.stream.get("streamId")
        ):
            raise ValueError("set_stream: a different stream")
        if (stream_message.get("format") == "UIMessageChunk") != isinstance(
            self._machine, UIMessageStreamState
        ):
            raise ValueError("set_stream: the stream's format cannot change")
        self.stream = stream_message
        if isinstance(self._machine, UIMessageStreamState):
            metadata = stream_message.get("metadata", UNDEFINED)
            self._machine.set_base_metadata(metadata if truthy(metadata) else UNDEFINED)

    def _metadata(self) -> Any:
        machine = self._machine
        if isinstance(machine, UIMessageStreamState):
            source = machine.metadata
        else:
            metadata = self.stream.get("metadata", UNDEFINED)
            source = metadata if truthy(metadata) else UNDEFINED
        if source is not self._metadata_source:
            self._metadata_source = source
            self._metadata_copy = copy_json(source)
        return self._metadata_copy

    def _message_text(self, parts: list[JsonDict], first_changed: int) -> str:
        """``join_text(parts)``, rescanning only the parts that changed."""
        texts = self._texts
        while texts and texts[-1][0] >= first_changed:
            texts.pop()
        if self._joined_count > len(texts):
            self._joined = " ".join(t for _, t in texts)
            self._joined_count = len(texts)
        for index in range(first_changed, len(parts)):
            part = parts[index]
            if part.get("type") == "text" and truthy(text := part.get("text", UNDEFINED)):
                texts.append((index, text if type(text) is str else js_string(text)))
        if not texts:
            return ""
        # Everything but the last text (the one usually growing) is joined once.
        settled = len(texts) - 1
        if self._joined_count > settled:
            self._joined = " ".join(t for _, t in texts[:settled])
        elif self._joined_count < settled:
            more = " ".join(t for _, t in texts[self._joined_count : settled])
            self._joined = " ".join((self._joined, more)) if self._joined_count else more
        self._joined_count = settled
        last = texts[-1][1]
        # (one join: `a + " " + b` is far slower on long non-Latin-1 strings)
        return " ".join((self._joined, last)) if settled else last

    def build(self) -> JsonDict:
        """The UI message as the reference would derive it from the parts fed so far."""
        stream = self.stream
        machine = self._machine
        parts = machine.snapshot_parts()
        order = stream.get("order", UNDEFINED)
        step_order = stream.get("stepOrder", UNDEFINED)
        message: JsonDict = {
            "id": "stream:" + js_string(stream.get("streamId", UNDEFINED)),
            "key": f"{self.thread_id}-{js_string(order)}-{js_string(step_order)}",
        }
        if order is not UNDEFINED:
            message["order"] = order
        if step_order is not UNDEFINED:
            message["stepOrder"] = step_order
        message["status"] = (
            "failed" if machine.failed else status_from_stream_status(stream.get("status"))
        )
        agent_name = stream.get("agentName")
        if agent_name is not None:
            message["agentName"] = agent_name
        message["text"] = self._message_text(parts, machine.parts.first_changed)
        message["role"] = "assistant"
        message["parts"] = parts
        metadata = self._metadata()
        if metadata is not UNDEFINED and metadata is not None:
            message["metadata"] = metadata
        return message


def derive_ui_messages(
    thread_id: str, stream_messages: Iterable[JsonDict], deltas: Iterable[JsonDict]
) -> list[JsonDict]:
    """The reference's ``deriveUIMessagesFromDeltas``: one UI message per stream message.

    Each stream's deltas (those with its ``streamId``) are put in order, re-sent
    ones skipped and everything after a gap left out, and materialised by the
    stream's format. The messages come back sorted by ``(order, stepOrder)``.
    """
    by_stream: dict[Any, list[JsonDict]] = {}
    for delta in deltas:
        if type(delta) is dict:
            by_stream.setdefault(same_value_key(delta.get("streamId", UNDEFINED)), []).append(delta)
    messages = []
    for stream_message in stream_messages:
        own = by_stream.get(same_value_key(stream_message.get("streamId", UNDEFINED)), [])
        parts, _ = get_parts(own)
        builder = StreamUIMessage(thread_id, stream_message)
        builder.feed(parts)
        messages.append(builder.build())
    return sort_messages(messages)
