"""Spilled parts without AWS: the item's format (markers, offsets, splicing), which parts
spill, and the arithmetic of the maximum: the largest delta fits one reply however it
escapes, and the largest body reaches the function under Lambda's 6 MB request limit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_streams.api.http import EVENT_OVERHEAD_BYTES, MAX_BODY_BYTES, respond
from agent_streams.api.operation import Reply
from agent_streams.api.replies import deltas_json
from agent_streams.api.reply_limit import direct_reply, http_reply_bytes
from agent_streams.config import Settings
from agent_streams.service.reply_sizes import LIST_REPLY_OVERHEAD, delta_reply_bytes
from agent_streams.service.ttl import min_spill_expiration_days
from agent_streams.storage.codec import delta_item_size, encode_part, encode_parts
from agent_streams.storage.spill import (
    MIN_SPILL_BYTES,
    fit_item,
    references,
    splice,
    store,
    stream_prefix,
)
from agent_streams.types import Delta
from agent_streams_dev.local.dynamo_limits import item_size
from agent_streams_dev.local.template import load_template
from agent_streams_protocol.limits import (
    LAMBDA_REQUEST_LIMIT_BYTES,
    MAX_DELTA_PARTS_BYTES,
    MAX_ID_LENGTH,
    MAX_ITEM_BYTES,
    MAX_PART_BYTES,
    MAX_REPLY_BYTES,
)

STREAM_ID = "A" * MAX_ID_LENGTH
BIG_START = 10**15  # 16 digits, as large as a start gets
EXPIRES = 4_102_444_800

parts_strategy = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text-delta", "data-x"]), "v": st.text(max_size=30)}
    ),
    min_size=1,
    max_size=6,
)


@given(parts_strategy)
@settings(max_examples=200, deadline=None)
def test_parts_encoded_one_by_one_join_into_the_list(parts: list[dict[str, Any]]) -> None:
    assert "[" + ",".join(encode_part(p) for p in parts) + "]" == encode_parts(parts)


@given(parts_strategy, st.data())
@settings(max_examples=200, deadline=None)
def test_spilled_parts_are_put_back_to_the_very_text(
    parts: list[dict[str, Any]], data: st.DataObject
) -> None:
    texts = [encode_part(p) for p in parts]
    spilled = data.draw(st.sets(st.integers(0, len(parts) - 1)))
    stored = store(STREAM_ID, 7, texts, spilled)
    refs = references(stored.text, stored.offsets)
    assert [r.key for r in refs] == [o.key for o in stored.objects]
    bodies = [o.body.decode("utf-8") for o in stored.objects]
    assert splice(stored.text, refs, bodies) == encode_parts(parts)
    # The stored text is JSON on its own: a marker in each spilled part's place.
    decoded = json.loads(stored.text)
    for index, part in enumerate(decoded):
        if index in spilled:
            assert set(part) == {"spilled"}
        else:
            assert part == parts[index]


def test_markers_name_key_size_hash_and_growth() -> None:
    text = encode_part({"type": "x", "v": 'a"b\\c,d:e\ud83d'})
    stored = store(STREAM_ID, 3, [text], {0})
    (ref,) = references(stored.text, stored.offsets)
    (found,) = stored.objects
    assert found.body == text.encode()
    assert (ref.size, ref.grows) == (len(found.body), sum(text.count(c) for c in '"\\,:'))
    assert ref.grows == 18  # 9 quotes, 4 backslashes, 2 commas, 3 colons
    assert ref.key == found.key
    assert ref.key.startswith(stream_prefix(STREAM_ID) + "3-0-")
    assert ref.key.endswith(ref.sha256)
    assert stored.offsets == (1,)


def test_a_part_that_looks_like_a_marker_is_not_listed() -> None:
    texts = [encode_part({"spilled": {"key": "parts/x/0-0-y", "bytes": 1}}), "{}"]
    stored = store(STREAM_ID, 0, texts, set())
    assert stored.offsets == ()
    assert stored.text == "[" + ",".join(texts) + "]"


def test_the_largest_parts_spill_first_and_only_as_many_as_needed() -> None:
    texts = [encode_part({"type": "x", "v": c * size}) for c, size in
             [("a", 100), ("b", 150_000), ("c", 300_000), ("d", 120_000)]]  # fmt: skip
    stored = fit_item(STREAM_ID, BIG_START, BIG_START + 4, texts, EXPIRES)
    assert stored is not None
    assert [o.body.decode() for o in stored.objects] == [texts[2]]
    stored = fit_item(STREAM_ID, 0, 4, [*texts, texts[2]], EXPIRES)
    assert stored is not None
    assert sorted(o.body.decode() for o in stored.objects) == sorted([texts[2], texts[2]])


def test_small_parts_never_spill() -> None:
    small = encode_part({"type": "x", "v": "s" * (MIN_SPILL_BYTES - 100)})
    assert fit_item(STREAM_ID, 0, 7, [small] * 7, EXPIRES) is None


@pytest.mark.parametrize("count", [1, 2, 45])
def test_a_fitted_item_is_within_dynamodbs_limit_as_dynamodb_counts(count: int) -> None:
    size = min(MAX_DELTA_PARTS_BYTES // count - 10, MAX_PART_BYTES)
    texts = [encode_part({"type": "x", "v": "é" * ((size - 20) // 2)})] * count
    stored = fit_item(STREAM_ID, BIG_START, BIG_START + count, texts, EXPIRES)
    assert stored is not None
    item = {
        "streamId": {"S": STREAM_ID},
        "start": {"N": str(BIG_START)},
        "end": {"N": str(BIG_START + count)},
        "parts": {"S": stored.text},
        "spilled": {"L": [{"N": str(o)} for o in stored.offsets]},
        "expiresAt": {"N": str(EXPIRES)},
    }
    assert item_size(item) <= MAX_ITEM_BYTES
    assert delta_item_size(STREAM_ID, BIG_START, BIG_START + count, stored.text, EXPIRES) < (
        MAX_ITEM_BYTES
    )


# -- the maximum ---------------------------------------------------------------------------


def worst_parts() -> list[list[dict[str, Any]]]:
    """Deltas of exactly MAX_DELTA_PARTS_BYTES that grow most in a reply: backslashes and
    quotes (doubled by the HTTP envelope), commas and colons (spaced over direct invoke)."""
    found = []
    for unit, value in (("\\", None), ('"', None), (None, ","), (None, ":")):
        if unit is not None:
            part: dict[str, Any] = {"type": "x", "v": ""}
            room = MAX_DELTA_PARTS_BYTES - len(encode_parts([part]))
            part["v"] = unit * (room // 2)
        elif value == ",":
            part = {"type": "x", "v": []}
            room = MAX_DELTA_PARTS_BYTES - len(encode_parts([part]))
            part["v"] = [0] * ((room + 1) // 2)
        else:
            part = {"type": "x", "v": {}}
            room = MAX_DELTA_PARTS_BYTES - len(encode_parts([part]))
            part["v"] = {f"{n:06d}": 0 for n in range(room // 11)}
        size = len(encode_parts([part]).encode())
        assert MAX_DELTA_PARTS_BYTES - 20 <= size <= MAX_DELTA_PARTS_BYTES, size
        found.append([part])
    return found


@pytest.mark.parametrize("parts", worst_parts(), ids=["backslash", "quote", "comma", "colon"])
def test_the_largest_delta_fits_one_reply_over_http_and_direct_invoke(
    parts: list[dict[str, Any]],
) -> None:
    delta = Delta(STREAM_ID, BIG_START, BIG_START + 1_000_000, encode_parts(parts))
    bound = LIST_REPLY_OVERHEAD + delta_reply_bytes(delta)
    assert bound <= MAX_REPLY_BYTES
    http = http_reply_bytes(respond(Reply(200, raw_body=deltas_json([delta]))))
    _, direct = direct_reply([delta.to_wire()])
    assert max(http, direct) <= bound


def test_the_maximum_is_what_the_reply_rule_leaves() -> None:
    assert MAX_DELTA_PARTS_BYTES == 2_999_772
    assert MAX_PART_BYTES == MAX_DELTA_PARTS_BYTES - 2
    # One byte more and a delta of backslashes would not fit.
    assert 2 * (MAX_DELTA_PARTS_BYTES + 1) + MAX_ID_LENGTH + 160 + 256 > MAX_REPLY_BYTES


def test_the_largest_body_reaches_the_function_and_holds_the_largest_delta() -> None:
    assert MAX_BODY_BYTES == 3_112_960
    # The largest delta in the largest body: finish_stream's, ids and numbers at their longest.
    final = {
        "finalDelta": {
            "streamId": STREAM_ID,
            "start": 2**53 - 1,
            "end": 2**53 - 1,
            "parts": [{"type": "x", "v": "x" * (MAX_PART_BYTES - 20)}],
        }
    }
    assert len(json.dumps(final, separators=(",", ":")).encode()) < MAX_BODY_BYTES
    # The worst event API Gateway can make of such a body: every byte of it escaped, and
    # 10,240 bytes of request line and headers, escaped too, and a JWT's claims.
    body = '"' * MAX_BODY_BYTES
    headers = {f"x-h{n}": '"' * 90 for n in range(100)}
    event = {
        "version": "2.0",
        "routeKey": "POST /streams/{streamId}/finish",
        "rawPath": "/streams/" + STREAM_ID + "/finish",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "authorizer": {"jwt": {"claims": {f"c{n}": '"' * 90 for n in range(100)}}},
            "http": {"method": "POST", "path": "/streams/" + STREAM_ID + "/finish"},
            "requestId": "x" * 40,
        },
        "pathParameters": {"streamId": STREAM_ID},
        "body": body,
        "isBase64Encoded": False,
    }
    size = len(json.dumps(event, ensure_ascii=False).encode())
    assert size < LAMBDA_REQUEST_LIMIT_BYTES
    assert size - 2 * MAX_BODY_BYTES < EVENT_OVERHEAD_BYTES


def test_spilled_parts_outlive_their_deltas_with_the_templates_defaults() -> None:
    template = load_template()
    days = int(template.parameter_default("SpillExpirationDays"))
    retention = int(template.parameter_default("RetentionDays"))
    assert days == min_spill_expiration_days(Settings(retention_days=retention)) == retention + 3
    assert Settings().spill_expiration_days == days
