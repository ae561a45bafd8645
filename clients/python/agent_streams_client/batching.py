"""Turning buffered parts into deltas: numbering, compression, size limits.

Sizes are of compact JSON (``json.dumps(parts, separators=(",", ":"),
ensure_ascii=False)``, UTF-8), as the server measures them. Parts are packed into
deltas of at most ``limits.MAX_PARTS_JSON_BYTES`` (what one DynamoDB item holds); a
part larger than that goes alone in its delta, which the server stores in S3 and
reads back inline, up to ``limits.MAX_DELTA_PARTS_BYTES`` (what one list_deltas
reply can return). A part over that is refused before anything is sent
(:class:`PartTooLarge`). Runs of text are merged only up to the packing limit, so
merging never makes a part that must go alone.

Every part's size is measured once, when it is buffered; merging and packing then
only add numbers: a merged run's size is its first part's plus the escaped size of
each appended text (JSON escapes character by character, so the escape of a
concatenation is the concatenation of the escapes), and a list's size is its items'
plus brackets and commas.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_streams_client.compression import can_merge, mergeable_text, normalize_part, text_field
from agent_streams_client.errors import PartTooLarge
from agent_streams_client.types import Part, StreamFormat
from agent_streams_protocol.limits import MAX_DELTA_PARTS_BYTES, MAX_PARTS_JSON_BYTES


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON in UTF-8 (the contract's measure)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", errors="surrogatepass"))


@dataclass(frozen=True)
class SizedPart:
    """A part ready to be sent (normalised), with its compact-JSON size."""

    part: Part
    size: int


#: How deep JSON in a part may nest; the server refuses deeper parts
#: (``agent_streams.service.arguments.MAX_JSON_DEPTH``: readers re-parse parts
#: recursively). Checked here so such a part is refused before it is buffered.
MAX_JSON_DEPTH = 64


def _check_depth(part: Part, limit: int = MAX_JSON_DEPTH) -> None:
    stack: list[tuple[Any, int]] = [(part, 0)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            raise ValueError(f"JSON nested deeper than {limit} levels")
        if isinstance(item, dict):
            stack.extend((value, level + 1) for value in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((value, level + 1) for value in item)


def prepare_part(
    part: Part, format: StreamFormat, max_bytes: int = MAX_DELTA_PARTS_BYTES
) -> SizedPart:
    """Check and measure one part; raise before anything is buffered or sent.

    ``ValueError`` if it is not a JSON object with a string ``type``, or is not
    JSON the service stores: not serialisable, a non-finite number (``NaN`` is
    not JSON), text that is not valid Unicode (a lone surrogate cannot be UTF-8),
    nesting deeper than :data:`MAX_JSON_DEPTH`. The server refuses all of these
    with ``ValidationError``, which would stop the writer and abort the reply;
    refused here, only the caller's one call fails. :class:`PartTooLarge` if it
    cannot fit in a delta even alone (``max_bytes``: the largest delta).
    """
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise ValueError(f"a part must be a dict with a string 'type', not {part!r:.200}")
    kind = part["type"]
    normalized = normalize_part(part, format)
    try:
        text = json.dumps(normalized, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"part of type {kind!r} is not JSON serialisable: {exc}") from exc
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"part of type {kind!r} has text that is not valid Unicode "
            f"(a lone surrogate: {exc.object[exc.start : exc.end]!r}); it cannot be stored as UTF-8"
        ) from exc
    try:
        _check_depth(normalized)
    except ValueError as exc:
        raise ValueError(f"part of type {kind!r}: {exc}") from exc
    # A delta holding only this part is "[" + part + "]".
    if size + 2 > max_bytes:
        raise PartTooLarge(size + 2, max_bytes, str(kind))
    return SizedPart(normalized, size)


@dataclass
class _Unit:
    """One output part: a single part or a merged run of text/reasoning deltas."""

    part: Part
    size: int
    count: int
    texts: list[str] = field(default_factory=list)

    def build(self, format: StreamFormat) -> Part:
        if len(self.texts) <= 1:
            return self.part
        return {**self.part, text_field(format): "".join(self.texts)}


@dataclass(frozen=True)
class PlannedDelta:
    start: int
    end: int
    parts: list[Part]
    #: Compact-JSON size of ``parts`` (the list), as the server measures it.
    size: int


def plan_deltas(
    parts: Sequence[SizedPart],
    *,
    start: int,
    format: StreamFormat,
    compress: bool,
    max_bytes: int = MAX_PARTS_JSON_BYTES,
    max_alone_bytes: int = MAX_DELTA_PARTS_BYTES,
) -> list[PlannedDelta]:
    """Split ``parts`` (part numbers ``start…``) into deltas that each fit ``max_bytes``,
    but for a part too large for that, which goes alone in a delta of at most
    ``max_alone_bytes``.

    Every delta covers consecutive part numbers; together they cover all of
    ``parts``. Runs are merged only while the merged part still fits ``max_bytes``,
    so merging never creates a part that must go alone, or one too large to send.
    """
    field_name = text_field(format)
    units: list[_Unit] = []
    for sized in parts:
        last = units[-1] if units else None
        if compress and last is not None and can_merge(last.part, sized.part, format):
            text = sized.part[field_name]
            grown = last.size + json_size(text) - 2  # the new text's escape, without quotes
            if grown + 2 <= max_bytes:
                last.texts.append(text)
                last.size = grown
                last.count += 1
                continue
        text_value = mergeable_text(sized.part, format)
        units.append(
            _Unit(sized.part, sized.size, 1, [text_value] if text_value is not None else [])
        )

    deltas: list[PlannedDelta] = []
    batch: list[_Unit] = []
    batch_size = 2  # "[]"
    cursor = start

    def flush() -> None:
        nonlocal batch, batch_size, cursor
        count = sum(unit.count for unit in batch)
        deltas.append(
            PlannedDelta(cursor, cursor + count, [u.build(format) for u in batch], batch_size)
        )
        cursor += count
        batch, batch_size = [], 2

    for unit in units:
        added = unit.size + (1 if batch else 0)  # a comma before every item but the first
        if batch and batch_size + added > max_bytes:
            flush()
            added = unit.size
        if batch_size + added > max_bytes:
            # Too large for an item even alone: a delta of its own, spilled by the server.
            if batch_size + added > max_alone_bytes:
                raise PartTooLarge(unit.size + 2, max_alone_bytes, str(unit.part.get("type")))
            batch.append(unit)
            batch_size += added
            flush()
            continue
        batch.append(unit)
        batch_size += added
    if batch:
        flush()
    return deltas
