"""Parts too large for a delta's item, stored in S3 ("spilled"), and how the item names them.

The item's ``parts`` text keeps every part in its place; a spilled part's place holds a
marker, ``{"spilled":{"key":…,"bytes":…,"grows":…,"sha256":…}}``, and the item's
``spilled`` attribute lists where the markers are (their character offsets in
``parts``). Only those offsets are read as markers: a part that a client wrote and that
looks like one is stored inline, never listed, and returned as written.

The object holds the part's compact JSON exactly as it would stand inline (lone
surrogates as ``\\uXXXX`` escapes, ``storage.codec``), so putting it back in place of
its marker gives the very text the delta would have had unspilled: what was written,
byte for byte. Its size and SHA-256 are in the marker, and checked when it is read.

Keys are ``parts/<streamId>/<start>-<index>-<sha256>``. Deletion finds every object of
a stream under its prefix, whether its deltas are still there or not; the hash makes an
identical retry write the same object again, and a conflicting delta (the same start,
other parts) one of its own, which can never replace the object of an accepted delta.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from agent_streams.storage.codec import delta_item_size, spilled_attribute_size
from agent_streams.types import SpilledPart
from agent_streams_protocol.limits import MAX_ITEM_BYTES

#: Every object of the bucket is under this prefix (the lifecycle rule's filter).
PREFIX = "parts/"
#: Only parts at least this large are spilled: a delta of many small parts that does not
#: fit an item is split by its writer instead, so one delta never makes more than
#: MAX_DELTA_PARTS_BYTES / 64 KiB (45) objects.
MIN_SPILL_BYTES = 64 * 1024
MARKER = "spilled"

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_decoder = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class PartObject:
    """An object to put: one spilled part's JSON."""

    key: str
    body: bytes


@dataclass(frozen=True, slots=True)
class StoredParts:
    """A delta's parts as its item stores them."""

    #: The item's ``parts`` text (with markers for the spilled parts).
    text: str
    #: Where the markers are in ``text`` (the item's ``spilled`` attribute).
    offsets: tuple[int, ...] = ()
    #: The spilled parts' objects, to put before the item is written.
    objects: tuple[PartObject, ...] = ()


def stream_prefix(stream_id: str) -> str:
    """The prefix of every object of a stream (the slash keeps ``s1`` from ``s10``)."""
    return f"{PREFIX}{stream_id}/"


def part_key(stream_id: str, start: int, index: int, sha256: str) -> str:
    return f"{stream_prefix(stream_id)}{start}-{index}-{sha256}"


def grows(text: str) -> int:
    """What a reply adds to ``text`` at most: one byte per ``"``, ``\\``, ``,`` and ``:``."""
    return text.count('"') + text.count("\\") + text.count(",") + text.count(":")


def _spill(stream_id: str, start: int, index: int, text: str) -> tuple[str, PartObject]:
    """The marker standing for part ``index`` (JSON ``text``), and its object."""
    body = text.encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    key = part_key(stream_id, start, index, digest)
    info = {"key": key, "bytes": len(body), "grows": grows(text), "sha256": digest}
    return _encoder.encode({MARKER: info}), PartObject(key, body)


def store(
    stream_id: str, start: int, texts: Sequence[str], spilled: Collection[int]
) -> StoredParts:
    """The item's text for parts ``texts`` (each one's compact JSON), those at the indexes
    ``spilled`` replaced by markers, and the objects those stand for."""
    return _assemble(texts, {i: _spill(stream_id, start, i, texts[i]) for i in spilled})


def _assemble(texts: Sequence[str], markers: Mapping[int, tuple[str, PartObject]]) -> StoredParts:
    pieces: list[str] = []
    offsets: list[int] = []
    objects: list[PartObject] = []
    position = 1  # after "["
    for index, text in enumerate(texts):
        if index:
            position += 1  # ","
        piece = text
        if index in markers:
            piece, found = markers[index]
            offsets.append(position)
            objects.append(found)
        pieces.append(piece)
        position += len(piece)
    return StoredParts("[" + ",".join(pieces) + "]", tuple(offsets), tuple(objects))


def fit_item(
    stream_id: str,
    start: int,
    end: int,
    texts: Sequence[str],
    expires_at: int,
) -> StoredParts | None:
    """The parts stored so their delta's item fits, spilling the largest first; None when
    it cannot fit even with every part of at least :data:`MIN_SPILL_BYTES` spilled."""
    sizes = [len(text.encode("utf-8")) for text in texts]
    # The item's parts text, in bytes, as parts are spilled: brackets, commas, parts.
    text_bytes = 2 + max(0, len(texts) - 1) + sum(sizes)
    candidates = sorted(
        (i for i, size in enumerate(sizes) if size >= MIN_SPILL_BYTES),
        key=lambda i: (-sizes[i], i),
    )
    markers: dict[int, tuple[str, PartObject]] = {}
    offsets: list[int] = []
    for index in candidates:
        markers[index] = _spill(stream_id, start, index, texts[index])
        text_bytes += len(markers[index][0]) - sizes[index]
        offsets.append(text_bytes)  # as large as any offset: the attribute's size is bounded
        item = delta_item_size(stream_id, start, end, "", expires_at) + text_bytes
        if item + spilled_attribute_size(offsets) <= MAX_ITEM_BYTES:
            return _assemble(texts, markers)
    return None


def references(text: str, offsets: Sequence[int]) -> tuple[SpilledPart, ...]:
    """The spilled parts of a stored delta, from its text and its ``spilled`` offsets."""
    found = []
    for offset in offsets:
        value, end = _decoder.raw_decode(text, offset)
        info = value[MARKER]
        found.append(
            SpilledPart(
                offset=offset,
                length=end - offset,
                key=str(info["key"]),
                size=int(info["bytes"]),
                grows=int(info["grows"]),
                sha256=str(info["sha256"]),
            )
        )
    return tuple(found)


def splice(text: str, spilled: Sequence[SpilledPart], bodies: Sequence[str]) -> str:
    """``text`` with each spilled part's marker replaced by its JSON (``bodies``, in order)."""
    pieces: list[str] = []
    position = 0
    for part, body in zip(spilled, bodies, strict=True):
        pieces.append(text[position : part.offset])
        pieces.append(body)
        position = part.offset + part.length
    pieces.append(text[position:])
    return "".join(pieces)
