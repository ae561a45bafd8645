"""The few JavaScript value semantics the reference's behaviour depends on.

The reference runs on JSON values in JavaScript, so a faithful port has to
reproduce, on the same JSON values in Python: truthiness, ``String(v)`` (used
when the reference concatenates strings), string concatenation itself,
``JSON.stringify`` (error messages) and the distinction between an absent key
(``undefined``) and ``null``.

Strings: a JavaScript string is a sequence of UTF-16 code units, so a writer that
slices text by code unit can split a character between two deltas; concatenating
the halves gives the character again. A Python ``str`` holds the same text with
the pair as one code point and a lone half as a surrogate code point. Every
concatenation here goes through :func:`js_concat` / :func:`js_join`, which join a
high surrogate at the end of one piece and a low one at the start of the next into
their character, so a string never holds a split pair.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Any, Final


class Undefined(enum.Enum):
    """JavaScript's ``undefined``: a key that is absent, as opposed to ``null`` (None)."""

    UNDEFINED = 0

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final[Undefined] = Undefined.UNDEFINED


def is_number(value: Any) -> bool:
    """A JSON number: int or float, or another real number such as a Decimal
    (what DynamoDB gives back), but not a bool."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    if kind is bool or kind is str or kind is dict or kind is list or value is None:
        return False
    return hasattr(value, "__float__") and hasattr(value, "__int__")


def as_index(value: Any) -> int | None:
    """``value`` as an int if it is a whole number, else None."""
    if type(value) is int:
        return value
    if not is_number(value):
        return None
    try:
        whole = int(value)
    except (ValueError, OverflowError):
        return None
    return whole if whole == value else None


def truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value (empty objects and arrays are truthy)."""
    if value is None or value is False or value is UNDEFINED:
        return False
    if value is True:
        return True
    if isinstance(value, str):
        return value != ""
    if is_number(value):
        number = float(value)
        return number == number and number != 0
    return True


def js_number(value: Any) -> str:
    """``Number.prototype.toString()`` for a finite or non-finite number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and -(2**53) <= value <= 2**53:
        return str(value)
    number = float(value)
    if not isinstance(value, (int, float)) and number.is_integer() and abs(number) <= 2**53:
        return str(int(number))
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr gives the shortest round-tripping digits, as JavaScript does; only the
    # layout (where the point goes, when an exponent is used) differs.
    text = repr(abs(number))
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    if int_part.strip("0"):
        digits = (int_part + frac_part).lstrip("0")
        point = len(int_part.lstrip("0")) + exponent
    else:
        stripped = frac_part.lstrip("0")
        point = exponent - (len(frac_part) - len(stripped))
        digits = stripped
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    n = point
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp_str = ("+" if e >= 0 else "-") + str(abs(e))
        body = digits + "e" + exp_str if k == 1 else digits[0] + "." + digits[1:] + "e" + exp_str
    return sign + body


def js_string(value: Any) -> str:
    """``String(value)`` for a JSON value or ``undefined``."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if is_number(value):
        return js_number(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else js_string(v) for v in value)
    return "[object Object]"


_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_SURROGATES = re.compile("[\ud800-\udfff]+")


def _escape_surrogates(match: re.Match[str]) -> str:
    # Adjacent surrogates in a Python str form a pair in JavaScript (one character);
    # well-formed JSON.stringify escapes only the lone ones.
    run = match.group(0)
    out: list[str] = []
    i = 0
    while i < len(run):
        c = run[i]
        if "\ud800" <= c <= "\udbff" and i + 1 < len(run) and "\udc00" <= run[i + 1] <= "\udfff":
            out.append(run[i : i + 2].encode("utf-16-le", "surrogatepass").decode("utf-16-le"))
            i += 2
        else:
            out.append(f"\\u{ord(c):04x}")
            i += 1
    return "".join(out)


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    if _SURROGATES.search(quoted):
        quoted = _SURROGATES.sub(_escape_surrogates, quoted)
    return quoted


def _ordered_keys(obj: dict[str, Any]) -> list[str]:
    # JavaScript objects list array-index keys first, ascending, then the rest in
    # insertion order.
    indices = [k for k in obj if _ARRAY_INDEX.fullmatch(k) and int(k) < 2**32 - 1]
    if not indices:
        return list(obj)
    rest = [k for k in obj if k not in set(indices)]
    return sorted(indices, key=int) + rest


def json_stringify(value: Any) -> str | Undefined:
    """``JSON.stringify(value)`` (no indentation) for a JSON value or ``undefined``."""
    if value is UNDEFINED:
        return Undefined.UNDEFINED
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
    if is_number(value):
        if float(value) != float(value) or float(value) in (float("inf"), float("-inf")):
            return "null"
        return js_number(value)
    if isinstance(value, list):
        items = []
        for item in value:
            text = json_stringify(item)
            items.append("null" if text is UNDEFINED else text)
        return "[" + ",".join(items) + "]"
    if isinstance(value, dict):
        members = []
        for key in _ordered_keys(value):
            text = json_stringify(value[key])
            if text is not UNDEFINED:
                members.append(_quote(str(key)) + ":" + text)
        return "{" + ",".join(members) + "}"
    return UNDEFINED


def get_error_message(error: Any) -> str:
    """The AI SDK's ``getErrorMessage`` for a JSON value (a JSON value is never an Error)."""
    if error is None or error is UNDEFINED:
        return "unknown error"
    if isinstance(error, str):
        return error
    text = json_stringify(error)
    # JSON.stringify of a JSON value is never undefined; keep the type checker honest.
    return "undefined" if text is UNDEFINED else text


def prop_key(value: Any) -> str:
    """The property name a value becomes when used as a key of a plain JS object."""
    return value if type(value) is str else js_string(value)


def same_value_key(value: Any) -> Any:
    """A hashable stand-in for a value such that equal stand-ins mean ``===``.

    Strings (the normal case) stand for themselves; numbers compare as numbers,
    booleans never equal numbers, and objects only equal themselves.
    """
    if type(value) is str:
        return value
    if value is None or value is UNDEFINED:
        return ("nil", value)
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        return ("num", float(value))
    return ("obj", id(value))


def own_entries(value: Any) -> list[tuple[str, Any]]:
    """``Object.entries(value)`` (also what object spread copies) for a JSON value."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return [(str(i), v) for i, v in enumerate(value)]
    if isinstance(value, str):
        units = value.encode("utf-16-le", "surrogatepass")
        return [(str(i // 2), chr(units[i] | (units[i + 1] << 8))) for i in range(0, len(units), 2)]
    return []


def _to_number(value: Any) -> float:
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, (int, float)):
        return float(value)
    return float("nan")


def _high(char: str) -> bool:
    return "\ud800" <= char <= "\udbff"


def _low(char: str) -> bool:
    return "\udc00" <= char <= "\udfff"


def _pair(high: str, low: str) -> str:
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def js_concat(left: str, right: str) -> str:
    """``left + right`` on JavaScript strings: a pair split between them is joined."""
    if left and right and _high(left[-1]) and _low(right[0]):
        return left[:-1] + _pair(left[-1], right[0]) + right[1:]
    return left + right


def js_join(pieces: list[str]) -> str:
    """``pieces.join("")`` on JavaScript strings: pairs split between pieces are joined."""
    joined = "".join(pieces)
    split = False
    previous = ""
    for piece in pieces:
        if piece:
            if previous and _high(previous[-1]) and _low(piece[0]):
                split = True
                break
            previous = piece
    if not split:
        return joined
    # Only the seams can hold a split pair (each piece is whole), so re-reading the
    # text as UTF-16 joins exactly those and keeps every lone half as it is.
    return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def js_add(left: Any, right: Any) -> Any:
    """JavaScript's binary ``+`` on JSON values: concatenation unless both are primitive non-strings."""
    if isinstance(left, str) and isinstance(right, str):
        return js_concat(left, right)
    primitive = (type(None), bool, int, float, Undefined)
    if (isinstance(left, primitive) or is_number(left)) and (
        isinstance(right, primitive) or is_number(right)
    ):
        total = _to_number(left) + _to_number(right)
        return int(total) if total.is_integer() and abs(total) <= 2**53 else total
    return js_concat(js_string(left), js_string(right))
