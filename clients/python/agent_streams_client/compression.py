"""Compression of parts before they are sent: consecutive text/reasoning deltas merged.

The reference's ``compressUIMessageChunks`` / ``compressTextStreamParts``, with three
differences: the caller's dicts are never mutated (the reference appends to the
first part of a run in place); a delta carrying more than its text (its
``providerMetadata``: a thinking block's signature) is not folded into the run
before it, where the reference drops those fields; and a TextStreamPart ``file``
part is sent once, without its ``uint8Array`` copy of the bytes (the reference
pushes it twice: once stripped and once as given).

A merged run covers several part numbers; a delta's ``end - start`` still counts
the parts given, so readers' cursors stay in step with the writer's numbering.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_streams_client.types import Part, StreamFormat

_MERGEABLE = frozenset({"text-delta", "reasoning-delta"})


def text_field(format: StreamFormat) -> str:
    """The field that carries the text of a text/reasoning delta in ``format``."""
    return "delta" if format == "UIMessageChunk" else "text"


def mergeable_text(part: Part, format: StreamFormat) -> str | None:
    """The text to concatenate if ``part`` can join a run of its kind, else None."""
    if part.get("type") not in _MERGEABLE:
        return None
    value = part.get(text_field(format))
    return value if isinstance(value, str) else None


def can_merge(previous: Part, part: Part, format: StreamFormat) -> bool:
    """Whether ``part`` continues ``previous``'s run: same delta type, same id, and
    nothing but its text to add.

    A merged run keeps its first part's other fields, so a part carrying more than
    ``type``/``id``/text — typically ``providerMetadata``, where Anthropic and
    Bedrock put the signature of a thinking block, needed to send it back to the
    model — starts a new run instead: readers then see exactly what they would
    have seen from the parts one by one.
    """
    return (
        mergeable_text(previous, format) is not None
        and mergeable_text(part, format) is not None
        and previous.get("type") == part.get("type")
        and previous.get("id") == part.get("id")
        and part.keys() <= _plain_delta_keys(format)
    )


_PLAIN_DELTA_KEYS = {
    "UIMessageChunk": frozenset({"type", "id", "delta"}),
    "TextStreamPart": frozenset({"type", "id", "text"}),
}


def _plain_delta_keys(format: StreamFormat) -> frozenset[str]:
    return _PLAIN_DELTA_KEYS[format]


def normalize_part(part: Part, format: StreamFormat) -> Part:
    """The part as it will be sent (before merging); a copy only where it changes.

    TextStreamPart ``file`` parts drop ``file.uint8Array`` when ``file.base64`` holds
    the same bytes, as the reference intends: half the size, and the materialiser
    reads ``base64``.
    """
    if format == "TextStreamPart" and part.get("type") == "file":
        file = part.get("file")
        if isinstance(file, dict) and "uint8Array" in file and "base64" in file:
            stripped: dict[str, Any] = {k: v for k, v in file.items() if k != "uint8Array"}
            return {**part, "file": stripped}
    return part


def compress_parts(parts: Sequence[Part], format: StreamFormat) -> list[Part]:
    """Merge runs of ``text-delta``/``reasoning-delta`` parts with the same id.

    Returns new dicts for merged runs; untouched parts are passed through as they are.
    """
    field = text_field(format)
    out: list[Part] = []
    pieces: list[list[str]] = []  # per output part: the texts of its run (joined once)
    for raw in parts:
        part = normalize_part(raw, format)
        if out and can_merge(out[-1], part, format):
            pieces[-1].append(part[field])
            continue
        out.append(part)
        pieces.append([part[field]] if mergeable_text(part, format) is not None else [])
    return [
        {**part, field: "".join(texts)} if len(texts) > 1 else part
        for part, texts in zip(out, pieces, strict=True)
    ]


def compress_ui_message_chunks(parts: Sequence[Part]) -> list[Part]:
    return compress_parts(parts, "UIMessageChunk")


def compress_text_stream_parts(parts: Sequence[Part]) -> list[Part]:
    return compress_parts(parts, "TextStreamPart")
