"""How the wire shapes (:mod:`agent_streams_protocol.shapes`) say more than their types.

The shapes are ``TypedDict``s: plain dicts to the clients, no dependency. What a type
alone cannot say — a pattern, a range, a length, a description — is written beside it
with ``Annotated[...]`` and the markers here. They are plain objects to everyone but
pydantic, which the runtime (validation) and the dev tools (JSON schemas for the OpenAPI
document) use: pydantic asks an annotation for its schema through two documented hooks,
``__get_pydantic_core_schema__`` and ``__get_pydantic_json_schema__``, duck-typed, so
nothing here imports it. The constraints are pydantic-core's own keys (``pattern``,
``ge``, ``le``, ``min_length``, ``max_length``), which become the JSON schema's
``pattern``, ``minimum``, ``maximum``, ``minLength``/``minItems``… by themselves.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

if sys.version_info >= (3, 12):
    from typing import TypedDict
else:  # pragma: no cover - Python 3.11
    try:
        # pydantic refuses typing.TypedDict before 3.12; where pydantic is installed,
        # typing_extensions is too (pydantic depends on it).
        from typing_extensions import TypedDict
    except ImportError:  # a client without pydantic: the standard one serves
        from typing import TypedDict

__all__ = ["Constraints", "Doc", "TypedDict", "closed"]

T = TypeVar("T")

#: pydantic's configuration of a closed shape (``pydantic.ConfigDict`` is a TypedDict,
#: so a plain dict is one): unknown keys are an error, and a schema says so
#: (``additionalProperties: false``).
_CLOSED = {"extra": "forbid"}


def closed(shape: type[T]) -> type[T]:
    """Mark a shape closed: requests with unknown keys are refused, and a reply that
    grows a key fails the tests until its shape declares it (what ``pydantic.with_config``
    does, without importing pydantic)."""
    shape.__pydantic_config__ = _CLOSED  # type: ignore[attr-defined]
    return shape


@dataclass(frozen=True, slots=True)
class Constraints:
    """Limits on a value: a text's ``pattern`` and ``max_length``, a number's ``ge``/``le``,
    a list's ``min_length``/``max_length``."""

    pattern: str | None = None
    ge: int | None = None
    le: int | None = None
    min_length: int | None = None
    max_length: int | None = None

    def items(self) -> dict[str, Any]:
        return {
            name: value
            for name in ("pattern", "ge", "le", "min_length", "max_length")
            if (value := getattr(self, name)) is not None
        }

    def __get_pydantic_core_schema__(
        self, source: Any, handler: Callable[[Any], Mapping[str, Any]]
    ) -> dict[str, Any]:
        return {**handler(source), **self.items()}


@dataclass(frozen=True, slots=True)
class Doc:
    """A description of a value, for the documents (``enum``: the texts it may be, when
    the type cannot say it)."""

    text: str = ""
    enum: Sequence[str] = field(default=())

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: Callable[[Any], Mapping[str, Any]]
    ) -> dict[str, Any]:
        schema = dict(handler(core_schema))
        if self.text:
            schema["description"] = self.text
        if self.enum:
            schema["enum"] = list(self.enum)
        return schema
