"""JavaScript value semantics the port depends on (expected values checked with Node 20)."""

from __future__ import annotations

from typing import Any

import pytest

from agent_streams_protocol.materialize.js_compat import (
    UNDEFINED,
    get_error_message,
    js_add,
    js_concat,
    js_join,
    js_number,
    js_string,
    json_stringify,
    truthy,
)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (123456789012345680000, "123456789012345680000"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (-0.0, "0"),
        (2.0, "2"),
        (100, "100"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e20, "100000000000000000000"),
        (12345678901234567890, "12345678901234567000"),
        (2**53 + 2, "9007199254740994"),
    ],
)
def test_number_to_string(number: float, text: str) -> None:
    assert js_number(number) == text


def test_json_stringify_orders_index_keys_first_and_escapes_like_javascript() -> None:
    value = {
        "b": 1,
        "1": 2,
        "a": 3,
        "0": 4,
        "01": 5,
        "4294967295": 6,
        "4294967294": 7,
        "s": '\u2028\u0001\ud800x😀"\\\n',
        "f": [1.5, None, True],
    }
    assert json_stringify(value) == (
        '{"0":4,"1":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6,'
        '"s":"\u2028\\u0001\\ud800x😀\\"\\\\\\n","f":[1.5,null,true]}'
    )
    assert json_stringify(UNDEFINED) is UNDEFINED


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (None, "unknown error"),
        (UNDEFINED, "unknown error"),
        ("boom", "boom"),
        ({"message": "m", "code": 1}, '{"message":"m","code":1}'),
        (12.0, "12"),
    ],
)
def test_get_error_message(error: Any, message: str) -> None:
    assert get_error_message(error) == message


def test_string_conversion_and_addition() -> None:
    assert js_string([1, None, [2, UNDEFINED], {}]) == "1,,2,,[object Object]"
    assert js_string(UNDEFINED) == "undefined"
    assert js_add(5, 3) == 8
    assert js_add("", UNDEFINED) == "undefined"
    assert js_add({"a": 1}, "x") == "[object Object]x"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (UNDEFINED, False),
        (0, False),
        (0.0, False),
        ("", False),
        (float("nan"), False),
        ([], True),
        ({}, True),
        ("0", True),
        (False, False),
        (True, True),
    ],
)
def test_truthiness(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


# -- strings are UTF-16 in JavaScript: a character split between two pieces joins again --

HIGH, LOW, SMILE = "\ud83d", "\ude00", "\U0001f600"


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("a" + HIGH, LOW + "b", "a" + SMILE + "b"),
        (HIGH, LOW, SMILE),
        ("a" + LOW, HIGH + "b", "a" + LOW + HIGH + "b"),  # the wrong order stays apart
        (HIGH, HIGH, HIGH + HIGH),
        ("", LOW, LOW),
        ("x", "", "x"),
    ],
)
def test_js_concat_joins_a_split_pair(left: str, right: str, joined: str) -> None:
    assert js_concat(left, right) == joined
    assert js_add(left, right) == joined
    assert js_join([left, right]) == joined


def test_js_join_joins_across_empty_pieces_and_keeps_lone_halves() -> None:
    assert js_join([HIGH, "", LOW, HIGH]) == SMILE + HIGH
    assert js_join(["a", "b"]) == "ab"
    assert js_join([]) == ""
    # JSON.stringify of the result escapes only the half left alone, as Node does.
    assert json_stringify(js_join([HIGH, LOW, HIGH])) == '"' + SMILE + '\\ud83d"'


def test_js_add_of_a_number_and_a_half_concatenates() -> None:
    assert js_add(1, LOW) == "1" + LOW
