"""What a function declares about its operation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

A = TypeVar("A", bound=BaseModel)
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP reply: status and JSON body (None: no body). ``raw_body`` is JSON text
    already encoded (list_deltas splices stored parts in without re-encoding them)."""

    status: int
    body: Any = None
    raw_body: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """One query parameter: how to turn its text into the argument's value."""

    parse: Callable[[str], Any]
    description: str
    #: The JSON schema of the parameter's text, for the OpenAPI document.
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    #: The argument it becomes (default: the parameter's own name).
    argument: str | None = None


@dataclass(frozen=True)
class HttpRoute(Generic[R]):
    method: str
    #: The API Gateway route path, e.g. ``/streams/{streamId}/deltas``.
    path: str
    reply: Callable[[R], Reply]
    summary: str
    #: The name of the reply's schema in the OpenAPI document (see ``api.schemas``).
    reply_schema: str | None = None
    query: Mapping[str, Query] = field(default_factory=dict)
    #: Whether the route takes a JSON body (the path ids may be repeated in it).
    body: bool = False
    #: Whether the body carries a delta, so that an over-sized one is ``DeltaTooLarge``.
    carries_delta: bool = False
    #: Statuses besides the success reply that the route documents.
    errors: tuple[int, ...] = (422,)
    #: Other success statuses the reply function may answer (with no body).
    other_success: tuple[int, ...] = ()


@dataclass(frozen=True)
class Operation(Generic[A, R]):
    name: str
    arguments: type[A]
    run: Callable[[A], R]
    #: The direct-invoke return value (the reference's), from what ``run`` returned.
    direct: Callable[[R], Any]
    http: HttpRoute[R] | None = None
    #: How to read what was asked for when the reply would not fit Lambda's 6 MB
    #: (the ``ReplyTooLarge`` message ends with it).
    too_large_hint: str = ""
