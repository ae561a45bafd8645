"""The HTTP side of the contract: each operation's route and how its reply maps
back to the direct-invoke value.

Kept apart from the HTTP machinery so the table reads like DESIGN.md's and a test
can walk it operation by operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from agent_streams_protocol.errors import ValidationError


def _query_list_streams(args: dict[str, Any]) -> list[tuple[str, str]]:
    query: list[tuple[str, str]] = []
    if args.get("startOrder") is not None:
        query.append(("startOrder", str(int(args["startOrder"]))))
    if args.get("statuses") is not None:
        query.append(("statuses", ",".join(args["statuses"])))
    return query


def _query_list_deltas(args: dict[str, Any]) -> list[tuple[str, str]]:
    cursors = args.get("cursors") or []
    return [("cursors", ",".join(f"{c['streamId']}:{int(c['cursor'])}" for c in cursors))]


def _query_streaming_messages(args: dict[str, Any]) -> list[tuple[str, str]]:
    query = [
        ("order", str(int(args["order"]))),
        ("stepOrder", str(int(args["stepOrder"]))),
        ("status", str(args["status"])),
    ]
    if args.get("error") is not None:
        query.append(("error", str(args["error"])))
    return query


def _identity(body: Any) -> Any:
    return body


def _none(body: Any) -> None:
    return None


def _field(name: str) -> Callable[[Any], Any]:
    def pick(body: Any) -> Any:
        if not isinstance(body, dict) or name not in body:
            raise ValueError(f"reply has no {name!r}: {body!r}")
        return body[name]

    return pick


def _list(body: Any) -> Any:
    if not isinstance(body, list):
        raise ValueError(f"reply is not a JSON array: {body!r}")
    return body


@dataclass(frozen=True)
class Route:
    method: str
    #: Path template; ``{threadId}``/``{streamId}`` come from the arguments.
    path: str
    #: Builds the query string's pairs (reads); None: the arguments go in a JSON body.
    query: Callable[[dict[str, Any]], list[tuple[str, str]]] | None
    #: Maps a 2xx reply body to the direct-invoke value.
    reply: Callable[[Any], Any]

    @property
    def path_ids(self) -> tuple[str, ...]:
        return tuple(name for name in ("threadId", "streamId") if "{" + name + "}" in self.path)

    def render_path(self, args: dict[str, Any]) -> str:
        path = self.path
        for name in self.path_ids:
            value = args.get(name)
            if not isinstance(value, str) or not value:
                raise ValidationError(f"{name} is required")
            # Ids are URL-safe by contract; quoting anyway keeps a bad id from
            # reaching another route.
            path = path.replace("{" + name + "}", quote(value, safe=""))
        return path

    def body(self, args: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON body: every argument for writes, none for reads and bare deletes."""
        if self.method == "GET":
            return None
        if self.method == "DELETE" and set(args) <= set(self.path_ids):
            return None
        return args


ROUTES: dict[str, Route] = {
    "create_thread": Route("POST", "/threads", None, _identity),
    "get_thread": Route("GET", "/threads/{threadId}", None, _identity),
    "delete_thread": Route("DELETE", "/threads/{threadId}", None, _identity),
    "create_stream": Route("POST", "/threads/{threadId}/streams", None, _field("streamId")),
    "list_streams": Route("GET", "/threads/{threadId}/streams", _query_list_streams, _list),
    "list_deltas": Route("GET", "/threads/{threadId}/deltas", _query_list_deltas, _list),
    "abort_streams_by_order": Route(
        "POST", "/threads/{threadId}/streams/abort", None, _field("aborted")
    ),
    "delete_thread_streams": Route("DELETE", "/threads/{threadId}/streams", None, _none),
    "streaming_messages": Route(
        "GET", "/threads/{threadId}/streams/messages", _query_streaming_messages, _list
    ),
    "get_stream": Route("GET", "/streams/{streamId}", None, _identity),
    "add_delta": Route("POST", "/streams/{streamId}/deltas", None, _field("accepted")),
    "heartbeat_stream": Route("POST", "/streams/{streamId}/heartbeat", None, _none),
    # The reply's status is more than the direct value (null) says: whether the
    # finish took effect. StreamsClient.finish_stream passes it on.
    "finish_stream": Route("POST", "/streams/{streamId}/finish", None, _field("status")),
    "abort_stream": Route("POST", "/streams/{streamId}/abort", None, _field("aborted")),
    "delete_stream": Route("DELETE", "/streams/{streamId}", None, _none),
}

#: Operations whose 404 ``StreamNotFound`` is not an error but the value ``False``
#: (the reference's ``addDelta`` returns false for a missing stream).
NOT_FOUND_IS_FALSE: frozenset[str] = frozenset({"add_delta"})
