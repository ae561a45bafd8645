"""Arguments checked against their shape, and pydantic's complaints turned into the
contract's readable ``ValidationError``.

A shape (a ``TypedDict`` of ``agent_streams_protocol.shapes``) is checked by a pydantic
``TypeAdapter``, built the first time the shape is needed: each function builds its own
at import (``api.handler.lambda_handler``), none of the other operations'.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import pydantic

from agent_streams.service.arguments import UNICODE, Problem, problems
from agent_streams_protocol.errors import ValidationError

A = TypeVar("A")
_MAX_PROBLEMS = 5


_ADAPTERS: dict[type[Any], pydantic.TypeAdapter[Any]] = {}


def adapter(shape: type[Any]) -> pydantic.TypeAdapter[Any]:
    """The validator of ``shape``, built once."""
    found = _ADAPTERS.get(shape)
    if found is None:
        found = _ADAPTERS[shape] = pydantic.TypeAdapter(shape)
    return found


def _where(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc) or "arguments"


def _readable(found: list[tuple[str, str]], total: int) -> str:
    lines = [f"{where}: {message}" for where, message in found[:_MAX_PROBLEMS]]
    more = total - len(lines)
    if more > 0:
        lines.append(f"and {more} more")
    return "; ".join(lines)


def describe(exc: pydantic.ValidationError) -> str:
    found = []
    for error in exc.errors(include_url=False, include_input=False)[:_MAX_PROBLEMS]:
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "string_unicode":
            # A text with a limit is read as UTF-8 by pydantic: half a character fails there.
            message = UNICODE
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        found.append((_where(error["loc"]), message))
    return _readable(found, exc.error_count())


def describe_problems(found: list[Problem]) -> str:
    return _readable([(_where(loc), message) for loc, message in found], len(found))


def parse_arguments(shape: type[A], values: Any) -> A:
    """``values`` checked against ``shape`` (a ``null`` optional field is taken as absent),
    or ``ValidationError``."""
    if not isinstance(values, dict):
        raise ValidationError(f"arguments must be a JSON object, not {type(values).__name__}")
    optional: frozenset[str] = getattr(shape, "__optional_keys__", frozenset())
    if None in values.values():
        values = {k: v for k, v in values.items() if v is not None or k not in optional}
    try:
        args = adapter(shape).validate_python(values, strict=True)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe(exc)) from None
    except RecursionError:
        raise ValidationError("arguments are nested too deeply") from None
    found = problems(shape, args)
    if found:
        raise ValidationError(describe_problems(found))
    return args  # type: ignore[no-any-return]
