"""The arithmetic behind "every reply fits": list_deltas' per-delta bound, and the proof
that one delta always fits whatever its characters.

No AWS here: deltas are built as storage returns them (compact JSON, lone
surrogates escaped) and replies are serialised as the python3.13 runtime does.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_streams.api.http import respond
from agent_streams.api.operation import Reply
from agent_streams.api.replies import deltas_json
from agent_streams.api.reply_limit import direct_reply, http_reply_bytes
from agent_streams.json_text import lambda_json
from agent_streams.service.reply_sizes import LIST_REPLY_OVERHEAD, delta_reply_bytes
from agent_streams.storage.codec import encode_parts
from agent_streams.types import Delta
from agent_streams_protocol.limits import (
    LAMBDA_REPLY_LIMIT_BYTES,
    MAX_DELTAS_REPLY_BYTES,
    MAX_PARTS_JSON_BYTES,
)

STREAM_ID = "A" * 40  # the longest id

#: Text that escapes badly somewhere: quotes, backslashes, control characters, JSON's
#: separators, 2-, 3- and 4-byte characters, lone surrogates.
nasty_text = st.text(
    alphabet=st.sampled_from(
        [
            '"',
            "\\",
            "\x01",
            "\n",
            ",",
            ":",
            "a",
            "é",
            "\u2028",
            "中",
            "\U0001f600",
            "\ud83d",
            "\ude00",
        ]
    ),
    max_size=40,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | nasty_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(nasty_text, children, max_size=4)
    ),
    max_leaves=20,
)
parts_lists = st.lists(
    st.dictionaries(nasty_text, json_values, max_size=4).map(lambda d: {"type": "x", **d}),
    min_size=1,
    max_size=5,
)


def stored(parts: list[dict[str, Any]], index: int = 0) -> Delta:
    """A delta as storage returns it, with the longest id and 16-digit numbers."""
    start = 10**15 + index
    return Delta(STREAM_ID, start, start + 10**15, encode_parts(parts))


def http_size(deltas: list[Delta]) -> int:
    return len(lambda_json(respond(Reply(200, raw_body=deltas_json(deltas)))).encode("utf-8"))


def direct_size(deltas: list[Delta]) -> int:
    return direct_reply([d.to_wire() for d in deltas])[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(parts_lists, min_size=1, max_size=4))
def test_the_per_delta_bound_holds_over_http_and_direct_invoke(
    many: list[list[dict[str, Any]]],
) -> None:
    deltas = [stored(parts, i) for i, parts in enumerate(many)]
    bound = LIST_REPLY_OVERHEAD + sum(delta_reply_bytes(d) for d in deltas)
    assert http_size(deltas) <= bound
    assert direct_size(deltas) <= bound


def largest_delta_of(char: str) -> Delta:
    """One part whose text of ``char`` fills a delta item as far as the limit allows."""
    per_char = len(encode_parts([char]).encode("utf-8")) - 4  # minus '["' and '"]'
    count = (MAX_PARTS_JSON_BYTES - 64) // per_char
    delta = stored([{"type": "text-delta", "id": "t", "delta": char * count}])
    assert len(delta.parts_json.encode("utf-8")) <= MAX_PARTS_JSON_BYTES
    return delta


WORST_CHARACTERS = ['"', "\\", "\x01", "é", "中", "\U0001f600", "\ud83d", ",", ":"]


def test_one_delta_always_fits_with_room_to_spare() -> None:
    """The proof, made concrete: a delta item holds at most 400,000 bytes of parts; the
    reply as python3.13 returns it grows only ``"`` and ``\\`` (envelope) or separators
    (direct invoke), to at most twice that."""
    for char in WORST_CHARACTERS:
        delta = largest_delta_of(char)
        for size in (http_size([delta]), direct_size([delta])):
            assert size <= delta_reply_bytes(delta) + LIST_REPLY_OVERHEAD
            assert size <= 2 * MAX_PARTS_JSON_BYTES + 1024
    assert 2 * MAX_PARTS_JSON_BYTES + 1024 < MAX_DELTAS_REPLY_BYTES


def test_it_would_fit_even_on_a_runtime_that_escapes_every_non_ascii_character() -> None:
    """Older runtimes (python3.11 and before) write replies with ``ensure_ascii=True``:
    2-byte characters become 6-byte escapes, 4-byte ones 12 bytes — three times their
    stored size at worst, still far under Lambda's limit for one delta."""
    for char in WORST_CHARACTERS:
        delta = largest_delta_of(char)
        envelope = respond(Reply(200, raw_body=deltas_json([delta])))
        ascii_size = len(json.dumps(envelope, ensure_ascii=True))
        assert ascii_size <= 3 * MAX_PARTS_JSON_BYTES + 1024 < LAMBDA_REPLY_LIMIT_BYTES


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_the_http_fast_path_never_underestimates(body: str) -> None:
    response = respond(Reply(200, {"t": body}))
    assert http_reply_bytes(response) >= len(lambda_json(response).encode("utf-8"))


def test_the_exact_path_is_exact() -> None:
    response = respond(Reply(200, {"t": '"\\é' * 400_000}))
    assert http_reply_bytes(response) == len(lambda_json(response).encode("utf-8"))


def test_direct_replies_are_values_unless_they_hold_lone_surrogates() -> None:
    value = {"text": "é\U0001f600"}
    assert direct_reply(value) == (value, len(lambda_json(value).encode("utf-8")))
    payload, size = direct_reply({"text": "half \ud83d"})
    assert payload == b'{"text": "half \\ud83d"}'
    assert size == len(payload)
    assert json.loads(payload) == {"text": "half \ud83d"}
