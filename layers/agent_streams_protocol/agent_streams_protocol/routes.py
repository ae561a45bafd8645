"""The HTTP API's routes, declared once.

Each operation served over HTTP: its method and path (the ids in the path are
arguments), its query parameters (reads carry their arguments there) or JSON body,
its request and reply shapes (:mod:`agent_streams_protocol.shapes`), its success
status and the error statuses it documents. The runtime's functions serve them
(``functions/<operation>/app.py`` names its route from here), the Python client's HTTP
transport calls them, the OpenAPI document and the TypeScript client's route table are
generated from them, and a test holds the template's API Gateway routes (what the local
stack serves, as API Gateway does) equal to them.

Query texts are read and written here too (:class:`QueryCodec`), so the runtime and the
client agree on them by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from agent_streams_protocol import shapes

Q = TypeVar("Q")
P = TypeVar("P")

Method = Literal["GET", "POST", "DELETE"]


# -- query texts -------------------------------------------------------------------------


def parse_int(text: str) -> int:
    """A non-negative whole number, in ASCII digits (at most 16 of them)."""
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{text[:32]!r} is not a non-negative whole number")
    if len(text) > 16:
        raise ValueError("number is too large")
    return int(text)


def parse_list(text: str) -> list[str]:
    """Comma-separated items (empty ones skipped)."""
    return [item for item in text.split(",") if item] if text else []


def parse_cursors(text: str) -> list[dict[str, object]]:
    """``<streamId>:<n>,<streamId>:<n>`` -> ``[{streamId, cursor}]``."""
    cursors: list[dict[str, object]] = []
    for item in filter(None, text.split(",")):
        stream_id, sep, number = item.rpartition(":")
        if not sep or not stream_id:
            raise ValueError(f"{item[:64]!r} is not <streamId>:<cursor>")
        try:
            cursor = parse_int(number)
        except ValueError as exc:
            raise ValueError(f"{item[:64]!r} is not <streamId>:<cursor>: {exc}") from None
        cursors.append({"streamId": stream_id, "cursor": cursor})
    return cursors


def _format_int(value: Any) -> str:
    return str(int(value))


def _format_list(value: Any) -> str:
    return ",".join(str(item) for item in value)


def _format_cursors(value: Any) -> str:
    return ",".join(f"{c['streamId']}:{int(c['cursor'])}" for c in value)


@dataclass(frozen=True, slots=True)
class QueryCodec:
    """How a query parameter's text carries its argument's value."""

    name: str
    parse: Callable[[str], Any]
    format: Callable[[Any], str]
    #: Whether the text is the value itself (a number or a text), so that the value's
    #: schema describes it; otherwise it is a list written as one text.
    scalar: bool = True


INTEGER = QueryCodec("integer", parse_int, _format_int)
TEXT = QueryCodec("text", str, str)
#: ``a,b,c``
LIST = QueryCodec("list", parse_list, _format_list, scalar=False)
#: ``<streamId>:<cursor>,…``
CURSORS = QueryCodec("cursors", parse_cursors, _format_cursors, scalar=False)


@dataclass(frozen=True, slots=True)
class Query:
    """One query parameter: its argument has the parameter's name."""

    codec: QueryCodec
    description: str
    required: bool = False


# -- routes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route(Generic[Q, P]):
    operation: str
    method: Method
    #: The API Gateway route path, e.g. ``/streams/{streamId}/deltas``.
    path: str
    #: The arguments' shape (path ids, query parameters and body together: a direct
    #: invoke's event).
    request: type[Q]
    #: The success reply's shape (a shape, or a list of one); None: no body.
    reply: type[P] | None
    summary: str
    #: The success status (with the reply's body).
    status: int = 200
    #: Other success statuses, answered with no body.
    bodiless: tuple[int, ...] = ()
    query: Mapping[str, Query] = field(default_factory=dict)
    #: Whether the arguments besides the path ids come as a JSON body.
    body: bool = False
    #: Whether the body carries a delta, so that an over-sized one is ``DeltaTooLarge``.
    carries_delta: bool = False
    #: The error statuses the route documents besides 503 and the default (500).
    errors: tuple[int, ...] = (422,)

    @property
    def path_ids(self) -> tuple[str, ...]:
        """The ids the path names, in order (``threadId``, ``streamId``)."""
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every success status."""
        return (self.status, *self.bodiless)

    def render_path(self, args: Mapping[str, Any]) -> str:
        """The path with the arguments' ids in it (quoted: a bad id cannot reach another
        route); a missing id is a ValueError."""
        path = self.path
        for name in self.path_ids:
            value = args.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} is required")
            path = path.replace("{" + name + "}", quote(value, safe=""))
        return path

    def query_pairs(self, args: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The query string's pairs for the arguments (those given), in declared order."""
        return [
            (name, query.codec.format(args[name]))
            for name, query in self.query.items()
            if args.get(name) is not None
        ]


# -- threads ---------------------------------------------------------------------------

CREATE_THREAD = Route(
    "create_thread",
    "POST",
    "/threads",
    shapes.CreateThreadRequest,
    shapes.Thread,
    "Create a thread",
    status=201,
    body=True,
)

GET_THREAD = Route(
    "get_thread",
    "GET",
    "/threads/{threadId}",
    shapes.ThreadRequest,
    shapes.Thread,
    "Read a thread",
    errors=(401, 404, 422),
)

DELETE_THREAD = Route(
    "delete_thread",
    "DELETE",
    "/threads/{threadId}",
    shapes.ThreadRequest,
    shapes.Execution,
    "Delete a thread and all its streams (asynchronously)",
    status=202,
    errors=(404, 422),
)

CREATE_STREAM = Route(
    "create_stream",
    "POST",
    "/threads/{threadId}/streams",
    shapes.CreateStreamRequest,
    shapes.StreamIdReply,
    "Create a stream",
    status=201,
    body=True,
    errors=(404, 409, 422),
)

LIST_STREAMS = Route(
    "list_streams",
    "GET",
    "/threads/{threadId}/streams",
    shapes.ListStreamsRequest,
    list[shapes.StreamMessage],
    "List a thread's streams, newest first (at most 100)",
    errors=(401, 404, 413, 422),
    query={
        "startOrder": Query(INTEGER, "only streams with order >= this"),
        "statuses": Query(LIST, "comma-separated statuses (default: streaming)"),
    },
)

LIST_DELTAS = Route(
    "list_deltas",
    "GET",
    "/threads/{threadId}/deltas",
    shapes.ListDeltasRequest,
    list[shapes.StreamDelta],
    "Read deltas from per-stream cursors",
    errors=(401, 404, 422),
    query={
        "cursors": Query(
            CURSORS, "comma-separated <streamId>:<cursor> pairs (at most 100)", required=True
        )
    },
)

ABORT_STREAMS_BY_ORDER = Route(
    "abort_streams_by_order",
    "POST",
    "/threads/{threadId}/streams/abort",
    shapes.AbortStreamsByOrderRequest,
    shapes.Aborted,
    "Abort the streaming streams of a thread at one order",
    body=True,
    errors=(401, 404, 422),
)

DELETE_THREAD_STREAMS = Route(
    "delete_thread_streams",
    "DELETE",
    "/threads/{threadId}/streams",
    shapes.ThreadRequest,
    shapes.Execution,
    "Delete all streams of a thread (202: finished in the background)",
    status=202,
    bodiless=(204,),
)

STREAMING_MESSAGES = Route(
    "streaming_messages",
    "GET",
    "/threads/{threadId}/streams/messages",
    shapes.StreamingMessagesRequest,
    list[shapes.MessageWithMetadata],
    "The streams at one order, materialised into message docs",
    errors=(401, 404, 413, 422),
    query={
        "order": Query(INTEGER, "the order", required=True),
        "stepOrder": Query(INTEGER, "the highest stepOrder", required=True),
        "status": Query(TEXT, "status given to the messages", required=True),
        "error": Query(TEXT, "error given to the messages"),
    },
)

# -- streams ---------------------------------------------------------------------------

GET_STREAM = Route(
    "get_stream",
    "GET",
    "/streams/{streamId}",
    shapes.StreamRequest,
    shapes.StreamState,
    "Read a stream and its state",
    errors=(401, 404, 422),
)

GET_STREAM_MESSAGE = Route(
    "get_stream_message",
    "GET",
    "/streams/{streamId}/message",
    shapes.StreamRequest,
    shapes.StreamUIMessage,
    "Read a stream's UI message (its snapshot once ended)",
    errors=(401, 404, 413, 422),
)

ADD_DELTA = Route(
    "add_delta",
    "POST",
    "/streams/{streamId}/deltas",
    shapes.StreamDelta,
    shapes.Accepted,
    "Append a delta",
    body=True,
    carries_delta=True,
    errors=(404, 409, 413, 422),
)

HEARTBEAT_STREAM = Route[shapes.StreamRequest, None](
    "heartbeat_stream",
    "POST",
    "/streams/{streamId}/heartbeat",
    shapes.StreamRequest,
    None,
    "Record a heartbeat",
    status=204,
    body=True,
    errors=(404, 422),
)

FINISH_STREAM = Route(
    "finish_stream",
    "POST",
    "/streams/{streamId}/finish",
    shapes.FinishStreamRequest,
    shapes.Status,
    "Finish a stream",
    body=True,
    carries_delta=True,
    errors=(404, 409, 413, 422),
)

ABORT_STREAM = Route(
    "abort_stream",
    "POST",
    "/streams/{streamId}/abort",
    shapes.AbortStreamRequest,
    shapes.Aborted,
    "Abort a stream",
    body=True,
    carries_delta=True,
    errors=(401, 404, 409, 413, 422),
)

DELETE_STREAM = Route(
    "delete_stream",
    "DELETE",
    "/streams/{streamId}",
    shapes.StreamRequest,
    shapes.Execution,
    "Delete a stream and its deltas (202: finished in the background)",
    status=202,
    bodiless=(204,),
)

#: Every operation served over HTTP, by operation name.
ROUTES: Mapping[str, Route[Any, Any]] = {
    route.operation: route
    for route in (
        CREATE_THREAD,
        GET_THREAD,
        DELETE_THREAD,
        CREATE_STREAM,
        LIST_STREAMS,
        LIST_DELTAS,
        ABORT_STREAMS_BY_ORDER,
        DELETE_THREAD_STREAMS,
        STREAMING_MESSAGES,
        GET_STREAM,
        GET_STREAM_MESSAGE,
        ADD_DELTA,
        HEARTBEAT_STREAM,
        FINISH_STREAM,
        ABORT_STREAM,
        DELETE_STREAM,
    )
}
