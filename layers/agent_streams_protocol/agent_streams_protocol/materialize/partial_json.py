"""The AI SDK's ``parsePartialJson`` and ``fixJson``, exactly.

A tool call's input arrives as a stream of JSON text; after each piece the AI SDK
parses what it has, first as is and then repaired by ``fixJson`` (which cuts the
text back to its last complete token and closes what is still open). A client
showing a half-received argument object must see the very same value, so the
repair is ported state for state.

``fixJson`` reads its input strictly left to right, so :class:`FixJsonScanner`
keeps its state between calls: a growing tool input is scanned once overall,
not once per piece.

Like JavaScript, the scanner works on UTF-16 code units: a character outside the
Basic Multilingual Plane counts as two, which changes where the repair cuts when
such a character appears outside a string.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NamedTuple

from agent_streams_protocol.materialize.js_compat import UNDEFINED, Undefined

__all__ = [
    "FixJsonScanner",
    "PartialJson",
    "fix_json",
    "parse_partial_json",
    "secure_json_parse",
]

# fixJson's states.
_ROOT: Final = 0
_FINISH: Final = 1
_STRING: Final = 2
_STRING_ESCAPE: Final = 3
_LITERAL: Final = 4
_NUMBER: Final = 5
_OBJECT_START: Final = 6
_OBJECT_KEY: Final = 7
_OBJECT_AFTER_KEY: Final = 8
_OBJECT_BEFORE_VALUE: Final = 9
_OBJECT_AFTER_VALUE: Final = 10
_OBJECT_AFTER_COMMA: Final = 11
_ARRAY_START: Final = 12
_ARRAY_AFTER_VALUE: Final = 13
_ARRAY_AFTER_COMMA: Final = 14

_OBJECT_STATES: Final = frozenset(
    {
        _OBJECT_KEY,
        _OBJECT_AFTER_KEY,
        _OBJECT_AFTER_COMMA,
        _OBJECT_START,
        _OBJECT_BEFORE_VALUE,
        _OBJECT_AFTER_VALUE,
    }
)
_ARRAY_STATES: Final = frozenset({_ARRAY_START, _ARRAY_AFTER_COMMA, _ARRAY_AFTER_VALUE})
_DIGITS: Final = frozenset("0123456789")
_STRING_STOP = re.compile(r'["\\]')
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _to_code_units(text: str) -> str:
    """``text`` with every astral character split into its two surrogates."""
    if not _ASTRAL.search(text):
        return text
    data = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(data[i] | (data[i + 1] << 8)) for i in range(0, len(data), 2))


def _from_code_units(units: str) -> str:
    """Inverse of :func:`_to_code_units` (pairs joined again, lone surrogates kept)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


class FixJsonScanner:
    """``fixJson`` as a resumable scan over a text that only grows at its end."""

    __slots__ = (
        "_astral",
        "_consumed",
        "_last_valid",
        "_literal_start",
        "_pos",
        "_stack",
        "_units",
    )

    def __init__(self) -> None:
        self._stack: list[int] = [_ROOT]
        self._last_valid = -1
        self._literal_start = 0
        self._units = ""
        self._consumed = 0  # code points of the caller's text already in _units
        self._pos = 0  # code units of _units already scanned
        self._astral = False

    def fixed(self, text: str) -> str:
        """``fixJson(text)``, where ``text`` extends every text given before."""
        if len(text) > self._consumed:
            piece = _to_code_units(text[self._consumed :])
            if len(piece) != len(text) - self._consumed:
                self._astral = True
            self._units += piece
            self._consumed = len(text)
            self._scan()
        units = self._units
        result = units[: self._last_valid + 1] + self._closing(units)
        return _from_code_units(result) if self._astral else result

    def _closing(self, units: str) -> str:
        out: list[str] = []
        for state in reversed(self._stack):
            if state == _STRING:
                out.append('"')
            elif state in _OBJECT_STATES:
                out.append("}")
            elif state in _ARRAY_STATES:
                out.append("]")
            elif state == _LITERAL:
                partial = units[self._literal_start :]
                for literal in ("true", "false", "null"):
                    if literal.startswith(partial):
                        out.append(literal[len(partial) :])
                        break
        return "".join(out)

    def _scan(self) -> None:
        stack = self._stack
        units = self._units
        i = self._pos
        n = len(units)
        last_valid = self._last_valid
        while i < n:
            char = units[i]
            state = stack[-1]
            if state == _STRING:
                # Runs of ordinary characters only move lastValidIndex forward.
                match = _STRING_STOP.search(units, i)
                stop = match.start() if match else n
                if stop > i:
                    last_valid = stop - 1
                    i = stop
                    continue
                if char == '"':
                    stack.pop()
                    last_valid = i
                else:
                    stack.append(_STRING_ESCAPE)
            elif state == _ROOT:
                last_valid = self._value_start(char, i, _FINISH, last_valid)
            elif state == _OBJECT_START:
                if char == '"':
                    stack[-1] = _OBJECT_KEY
                elif char == "}":
                    last_valid = i
                    stack.pop()
            elif state == _OBJECT_AFTER_COMMA:
                if char == '"':
                    stack[-1] = _OBJECT_KEY
            elif state == _OBJECT_KEY:
                if char == '"':
                    stack[-1] = _OBJECT_AFTER_KEY
            elif state == _OBJECT_AFTER_KEY:
                if char == ":":
                    stack[-1] = _OBJECT_BEFORE_VALUE
            elif state == _OBJECT_BEFORE_VALUE:
                last_valid = self._value_start(char, i, _OBJECT_AFTER_VALUE, last_valid)
            elif state == _OBJECT_AFTER_VALUE:
                last_valid = self._after_object_value(char, i, last_valid)
            elif state == _ARRAY_START:
                if char == "]":
                    last_valid = i
                    stack.pop()
                else:
                    last_valid = i
                    last_valid = self._value_start(char, i, _ARRAY_AFTER_VALUE, last_valid)
            elif state == _ARRAY_AFTER_VALUE:
                if char == ",":
                    stack[-1] = _ARRAY_AFTER_COMMA
                elif char == "]":
                    last_valid = i
                    stack.pop()
                else:
                    last_valid = i
            elif state == _ARRAY_AFTER_COMMA:
                last_valid = self._value_start(char, i, _ARRAY_AFTER_VALUE, last_valid)
            elif state == _STRING_ESCAPE:
                stack.pop()
                last_valid = i
            elif state == _NUMBER:
                if char in _DIGITS:
                    last_valid = i
                elif char in "eE-.":
                    pass
                elif char == ",":
                    stack.pop()
                    if stack[-1] == _ARRAY_AFTER_VALUE:
                        last_valid = self._after_array_value(char, i, last_valid)
                    if stack[-1] == _OBJECT_AFTER_VALUE:
                        last_valid = self._after_object_value(char, i, last_valid)
                elif char == "}":
                    stack.pop()
                    if stack[-1] == _OBJECT_AFTER_VALUE:
                        last_valid = self._after_object_value(char, i, last_valid)
                elif char == "]":
                    stack.pop()
                    if stack[-1] == _ARRAY_AFTER_VALUE:
                        last_valid = self._after_array_value(char, i, last_valid)
                else:
                    stack.pop()
            elif state == _LITERAL:
                partial = units[self._literal_start : i + 1]
                if (
                    not "false".startswith(partial)
                    and not "true".startswith(partial)
                    and not "null".startswith(partial)
                ):
                    stack.pop()
                    if stack[-1] == _OBJECT_AFTER_VALUE:
                        last_valid = self._after_object_value(char, i, last_valid)
                    elif stack[-1] == _ARRAY_AFTER_VALUE:
                        last_valid = self._after_array_value(char, i, last_valid)
                else:
                    last_valid = i
            # _FINISH: anything after the root value is ignored.
            i += 1
        self._last_valid = last_valid
        self._pos = n

    def _value_start(self, char: str, i: int, swap_state: int, last_valid: int) -> int:
        stack = self._stack
        if char == '"':
            stack[-1] = swap_state
            stack.append(_STRING)
            return i
        if char in "ftn":
            self._literal_start = i
            stack[-1] = swap_state
            stack.append(_LITERAL)
            return i
        if char == "-":
            stack[-1] = swap_state
            stack.append(_NUMBER)
            return last_valid
        if char in _DIGITS:
            stack[-1] = swap_state
            stack.append(_NUMBER)
            return i
        if char == "{":
            stack[-1] = swap_state
            stack.append(_OBJECT_START)
            return i
        if char == "[":
            stack[-1] = swap_state
            stack.append(_ARRAY_START)
            return i
        return last_valid

    def _after_object_value(self, char: str, i: int, last_valid: int) -> int:
        if char == ",":
            self._stack[-1] = _OBJECT_AFTER_COMMA
        elif char == "}":
            self._stack.pop()
            return i
        return last_valid

    def _after_array_value(self, char: str, i: int, last_valid: int) -> int:
        if char == ",":
            self._stack[-1] = _ARRAY_AFTER_COMMA
        elif char == "]":
            self._stack.pop()
            return i
        return last_valid


def fix_json(text: str) -> str:
    """The AI SDK's ``fixJson``: ``text`` cut to its last complete token, then closed."""
    return FixJsonScanner().fixed(text)


def _reject_constant(name: str) -> Any:
    # JSON.parse knows no NaN or Infinity.
    raise ValueError(f"invalid JSON constant {name}")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)

# secure-json-parse (used by the AI SDK's safeParseJSON) refuses objects with an
# own "__proto__" key, or a "constructor" key holding an object with "prototype".
# It only looks when the text matches these patterns; they are compiled on first
# use to keep the import cheap.
_SUSPECT_PROTO = (
    r'"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])'
    r'(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:'
)
_SUSPECT_CONSTRUCTOR = (
    r'"(?:c|\\u0063)(?:o|\\u006[Ff])(?:n|\\u006[Ee])(?:s|\\u0073)(?:t|\\u0074)'
    r'(?:r|\\u0072)(?:u|\\u0075)(?:c|\\u0063)(?:t|\\u0074)(?:o|\\u006[Ff])(?:r|\\u0072)"\s*:'
)
_suspect: re.Pattern[str] | None = None


def _is_suspect(text: str) -> bool:
    global _suspect
    if _suspect is None:
        _suspect = re.compile(f"{_SUSPECT_PROTO}|{_SUSPECT_CONSTRUCTOR}")
    return _suspect.search(text) is not None


def _check_prototype_keys(value: Any) -> None:
    pending = [value]
    while pending:
        nodes, pending = pending, []
        for node in nodes:
            if isinstance(node, dict):
                if "__proto__" in node:
                    raise ValueError("Object contains forbidden prototype property")
                ctor = node.get("constructor")
                if isinstance(ctor, dict) and "prototype" in ctor:
                    raise ValueError("Object contains forbidden prototype property")
                children = node.values()
            else:
                children = node
            pending.extend(c for c in children if isinstance(c, (dict, list)) and c)


def secure_json_parse(text: str) -> Any:
    """``JSON.parse`` with secure-json-parse's prototype checks; raises ValueError."""
    value = _DECODER.decode(text)
    if isinstance(value, (dict, list)) and _is_suspect(text):
        _check_prototype_keys(value)
    return value


class PartialJson(NamedTuple):
    """``parsePartialJson``'s result; ``value`` is UNDEFINED unless a parse succeeded."""

    value: Any
    state: str


def parse_partial_json(
    text: str | Undefined | None, scanner: FixJsonScanner | None = None
) -> PartialJson:
    """The AI SDK's ``parsePartialJson``.

    States: ``undefined-input``, ``successful-parse``, ``repaired-parse``,
    ``failed-parse``. ``scanner`` may carry the fixJson state of an earlier,
    shorter version of ``text`` so only the new end is scanned.
    """
    if text is None or text is UNDEFINED:
        return PartialJson(UNDEFINED, "undefined-input")
    try:
        return PartialJson(secure_json_parse(text), "successful-parse")
    except (ValueError, RecursionError):
        pass
    fixed = (scanner or FixJsonScanner()).fixed(text)
    try:
        return PartialJson(secure_json_parse(fixed), "repaired-parse")
    except (ValueError, RecursionError):
        return PartialJson(UNDEFINED, "failed-parse")
