"""Shared by the materialize tests: the fixtures and the comparison rules."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DATA = Path(__file__).resolve().parent / "data"


def normalise(value: Any) -> Any:
    """CONFORMANCE.md: drop ``_creationTime``; a ``null`` value is the same as an absent key."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k != "_creationTime" and v is not None}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def _load(name: str) -> list[dict[str, Any]]:
    path = FIXTURES / name
    if not path.exists():
        return []
    # split on "\n" only: the texts may contain U+2028, which splitlines() breaks on.
    return [json.loads(line) for line in path.read_text("utf-8").split("\n") if line.strip()]


@cache
def conformance_cases() -> list[dict[str, Any]]:
    return _load("materialize.jsonl")


@cache
def extra_cases() -> list[dict[str, Any]]:
    return _load("materialize_extra.jsonl")


def all_cases() -> list[dict[str, Any]]:
    return conformance_cases() + extra_cases()


def stream_of(case: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """The stream message a UI message came from (its id is ``stream:<streamId>``)."""
    return next(s for s in case["streamMessages"] if "stream:" + s["streamId"] == message["id"])
