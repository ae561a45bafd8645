"""The AI SDK's parsePartialJson / fixJson, against the SDK itself and its documented states."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_streams_protocol.materialize import UNDEFINED, fix_json, parse_partial_json
from agent_streams_protocol.materialize.partial_json import FixJsonScanner, secure_json_parse

from .helpers import DATA

#: Produced by tools/reference/partial_json.mjs from the installed `ai` package:
#: every prefix of a dozen JSON documents plus odd inputs.
REFERENCE = json.loads((DATA / "partial_json_reference.json").read_text("utf-8"))


@pytest.mark.parametrize("case", REFERENCE, ids=[repr(c["text"])[:60] for c in REFERENCE])
def test_matches_the_ai_sdk(case: dict[str, Any]) -> None:
    assert fix_json(case["text"]) == case["fixed"]
    value, state = parse_partial_json(case["text"])
    assert state == case["state"]
    assert value == case.get("value", UNDEFINED)


def test_undefined_input() -> None:
    assert parse_partial_json(UNDEFINED) == (UNDEFINED, "undefined-input")
    assert parse_partial_json(None) == (UNDEFINED, "undefined-input")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ("[]", []),
        ("null", None),
        ('  "s"  ', "s"),
        ("-1.5e3", -1500.0),
    ],
)
def test_successful_parse(text: str, value: Any) -> None:
    assert parse_partial_json(text) == (value, "successful-parse")


@pytest.mark.parametrize(
    ("text", "fixed", "value"),
    [
        # truncated strings are closed; a trailing escape is dropped
        ('{"city": "Par', '{"city": "Par"}', {"city": "Par"}),
        ('["a\\', '["a"]', ["a"]),
        ('{"q": "say \\"hi', '{"q": "say \\"hi"}', {"q": 'say "hi'}),
        # numbers are cut back to their last digit
        ('{"n": 12', '{"n": 12}', {"n": 12}),
        ('{"n": 1.', '{"n": 1}', {"n": 1}),
        ('{"n": -', "{}", {}),
        ("[1e", "[1]", [1]),
        # literals are completed
        ("[tr", "[true]", [True]),
        ('{"x": fal', '{"x": false}', {"x": False}),
        ('{"x": n', '{"x": null}', {"x": None}),
        # nested arrays and objects are closed innermost first
        ('{"a": [1, {"b": [2, [3', '{"a": [1, {"b": [2, [3]]}]}', {"a": [1, {"b": [2, [3]]}]}),
        ('{"a": [', '{"a": []}', {"a": []}),
        # a key without its value is dropped with what follows the last value
        ('{"a": 1, "b', '{"a": 1}', {"a": 1}),
        ('{"a": 1, "b":', '{"a": 1}', {"a": 1}),
        ("{", "{}", {}),
    ],
)
def test_repaired_parse(text: str, fixed: str, value: Any) -> None:
    assert fix_json(text) == fixed
    assert parse_partial_json(text) == (value, "repaired-parse")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '{"a": "\\u12',  # half a unicode escape cannot be closed
        "NaN",  # JSON.parse knows no NaN
        "[Infinity]",
        "01",
        '{"__proto__": {"x": 1}}',  # secure-json-parse refuses prototype keys
        '{"a": {"constructor": {"prototype": {}}}}',
        "[1😀",  # an astral character counts as two UTF-16 units, as in JavaScript
    ],
)
def test_failed_parse(text: str) -> None:
    assert parse_partial_json(text) == (UNDEFINED, "failed-parse")


def test_prototype_like_text_inside_strings_is_fine() -> None:
    text = '{"k": "\\"__proto__\\": 1"}'
    assert secure_json_parse(text) == {"k": '"__proto__": 1'}


def test_escaped_astral_characters_round_trip() -> None:
    assert parse_partial_json('{"e": "😀 caf') == ({"e": "😀 caf"}, "repaired-parse")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(value=json_values, data=st.data())
def test_the_resumable_scanner_equals_fix_json_on_every_prefix(
    value: Any, data: st.DataObject
) -> None:
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    scanner = FixJsonScanner()
    for cut in [*cuts, len(text)]:
        assert scanner.fixed(text[:cut]) == fix_json(text[:cut])
    # The whole text needs no repair.
    assert parse_partial_json(text) == (value, "successful-parse")


@settings(max_examples=150, deadline=None)
@given(value=json_values, cut=st.integers(0, 10**6))
def test_a_truncated_document_always_repairs_to_json(value: Any, cut: int) -> None:
    text = json.dumps(value)
    prefix = text[: cut % (len(text) + 1)]
    fixed = fix_json(prefix)
    result = parse_partial_json(prefix)
    if result.state == "repaired-parse":
        assert result.value == json.loads(fixed)
