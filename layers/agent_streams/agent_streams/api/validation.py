"""Turning pydantic's complaints into the contract's readable ``ValidationError``."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic

from agent_streams_protocol.errors import ValidationError

A = TypeVar("A", bound=pydantic.BaseModel)
_MAX_PROBLEMS = 5


def describe(exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:_MAX_PROBLEMS]:
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(f"{where}: {message}")
    more = exc.error_count() - len(problems)
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)


def parse_arguments(model: type[A], values: Any) -> A:
    if not isinstance(values, dict):
        raise ValidationError(f"arguments must be a JSON object, not {type(values).__name__}")
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe(exc)) from None
    except RecursionError:
        raise ValidationError("arguments are nested too deeply") from None
