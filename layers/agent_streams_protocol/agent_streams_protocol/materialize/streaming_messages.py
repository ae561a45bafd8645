"""One stream's contribution to ``streaming_messages`` (the reference's
``getStreamingMessagesWithMetadata``, per stream).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_streams_protocol.materialize.derive import derive_ui_messages
from agent_streams_protocol.materialize.live_parts import JsonDict
from agent_streams_protocol.materialize.to_messages import from_ui_messages

__all__ = ["streaming_messages", "streaming_messages_of"]

#: The reference's publicStreamMessage: what materialisation sees of a stream.
_PUBLIC_STREAM_KEYS = (
    "streamId",
    "status",
    "format",
    "order",
    "stepOrder",
    "userId",
    "agentName",
    "model",
    "provider",
    "providerOptions",
)
#: The fields of a message doc the reference returns (vMessageWithMetadataInternal).
_MESSAGE_KEYS = (
    "message",
    "fileIds",
    "status",
    "finishReason",
    "model",
    "provider",
    "providerMetadata",
    "sources",
    "reasoning",
    "reasoningDetails",
    "usage",
    "warnings",
    "error",
)


def streaming_messages(
    thread_id: str,
    stream: JsonDict,
    deltas: Iterable[JsonDict],
    step_order: int,
    metadata: JsonDict,
) -> list[JsonDict]:
    """The messages to save for one stream when its reply ends at ``step_order``.

    ``stream`` is the service's stream (``StreamMessage`` plus ``threadId`` and its
    state); ``deltas`` all of its deltas, in any order (with or without their
    ``streamId``; those naming another stream are ignored). Its UI message is converted
    to message docs, the first ``step_order - stream["stepOrder"]`` dropped (they
    were saved already), and each remaining one reduced to the reference's fields
    with ``metadata`` (``{"status": ..., "error"?: ...}``) applied over them.
    """
    public = {k: stream[k] for k in _PUBLIC_STREAM_KEYS if k in stream}
    stream_id = stream["streamId"]
    # These are the stream's own deltas: one read from the Deltas table without
    # its streamId must not be dropped by the reference's filter on it.
    own = [d if "streamId" in d else {**d, "streamId": stream_id} for d in deltas]
    ui_messages = derive_ui_messages(thread_id, [public], own)
    return streaming_messages_of(stream, ui_messages, step_order, metadata)


def streaming_messages_of(
    stream: JsonDict, ui_messages: list[JsonDict], step_order: int, metadata: JsonDict
) -> list[JsonDict]:
    """:func:`streaming_messages` for a stream whose UI messages are already derived (its
    snapshot, say): the same conversion to message docs, skip and metadata."""
    docs = from_ui_messages(ui_messages, stream)
    # Array.prototype.slice: a negative count takes that many from the end.
    skip = int(step_order) - int(stream["stepOrder"])
    extra = {k: v for k, v in metadata.items() if v is not None}
    out: list[JsonDict] = []
    for doc in docs[skip:]:
        if doc.get("message") is None:
            continue
        picked: dict[str, Any] = {k: doc[k] for k in _MESSAGE_KEYS if k in doc}
        picked.update(extra)
        out.append(picked)
    return out
