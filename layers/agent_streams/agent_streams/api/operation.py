"""What a function declares about its operation.

An operation served over HTTP names its route from the protocol
(``agent_streams_protocol.routes``: method, path, query, body, statuses, shapes) and
says only what the route cannot: which service function runs, and how its result
becomes the direct-invoke value and the reply's body (typed by the route's reply shape).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from agent_streams_protocol.routes import Route

A = TypeVar("A")
R = TypeVar("R")
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP reply: status and JSON body (None: no body). ``raw_body`` is JSON text
    already encoded (list_deltas splices stored parts in without re-encoding them)."""

    status: int
    body: Any = None
    raw_body: str | None = None


@dataclass(frozen=True)
class HttpRoute(Generic[R, P]):
    """A function's route, and its reply's body from the operation's result: answered with
    the route's status, unless ``reply`` gives a :class:`Reply` of its own (another of the
    statuses the route documents)."""

    route: Route[Any, P]
    reply: Callable[[R], P | Reply]

    def answer(self, result: R) -> Reply:
        body = self.reply(result)
        if isinstance(body, Reply):
            return body
        return Reply(self.route.status, body)


@dataclass(frozen=True)
class Operation(Generic[A, R]):
    name: str
    #: The arguments' shape (a TypedDict, usually the protocol's).
    arguments: type[A]
    run: Callable[[A], R]
    #: The direct-invoke return value (the reference's), from what ``run`` returned.
    direct: Callable[[R], Any]
    http: HttpRoute[R, Any] | None = None
    #: How to read what was asked for when the reply would not fit Lambda's 6 MB
    #: (the ``ReplyTooLarge`` message ends with it).
    too_large_hint: str = ""


def served(
    route: Route[A, P],
    *,
    run: Callable[[A], R],
    direct: Callable[[R], Any],
    reply: Callable[[R], P | Reply],
    too_large_hint: str = "",
) -> Operation[A, R]:
    """The operation of an HTTP route: its name and arguments are the route's."""
    return Operation(
        name=route.operation,
        arguments=route.request,
        run=run,
        direct=direct,
        http=HttpRoute(route, reply),
        too_large_hint=too_large_hint,
    )
