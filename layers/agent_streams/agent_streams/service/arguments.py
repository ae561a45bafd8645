"""The arguments of every operation, and the rules their types cannot say.

The shapes are the protocol's (:mod:`agent_streams_protocol.shapes`), plus three that only
the scheduler, the state machine and the event source mapping send (below).
``api.validation`` checks arguments against them the same way over HTTP and direct invoke — strictly (no "5" for 5), unknown
fields refused (as the reference's Convex validators do), a ``null`` optional field
taken as absent — and then asks :func:`problems` for the rest:

- text is valid Unicode (no lone surrogates), except inside parts: they come from
  writers that slice text by UTF-16 code unit (JavaScript's strings) and may split a
  character between two deltas; they are stored as JSON escapes and joined again when read;
- JSON values are finite and nested at most :data:`MAX_JSON_DEPTH` levels (readers
  re-parse parts recursively);
- each shape's own rules across fields (:data:`RULES`).
"""

# No ``from __future__ import annotations``: it would hide ``NotRequired`` from
# ``__optional_keys__`` (see agent_streams_protocol.shapes).
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, NotRequired

from agent_streams_protocol import shapes
from agent_streams_protocol.limits import MAX_DELTA_SPAN
from agent_streams_protocol.markers import Constraints, TypedDict, closed

#: Deeper JSON than this in parts is refused (readers re-parse it recursively).
MAX_JSON_DEPTH = 64

#: Where a problem is (keys and indexes from the arguments' top), and what it is.
Problem = tuple[tuple[str | int, ...], str]


# -- the shapes only the stack itself sends ------------------------------------------------


@closed
class CleanupStreamArgs(shapes.StreamRequest):
    """``cleanup_stream``'s event (the scheduler's)."""

    cursor: NotRequired[shapes.PartNumber]


@closed
class DeleteThreadStreamsPageArgs(TypedDict):
    """What the state machine asks a page to delete: a thread's streams (all of them, or
    with ``createdBefore`` those created by then), or with ``streamId`` one stream."""

    threadId: NotRequired[shapes.Id]
    streamId: NotRequired[shapes.Id]
    createdBefore: NotRequired[Annotated[int, Constraints(ge=0)]]
    streamOrder: NotRequired[shapes.OrderNumber]
    deltaCursor: NotRequired[Annotated[str, Constraints(max_length=128)]]


@closed
class StreamRecordsArgs(TypedDict):
    """What Lambda's event source mapping hands ``publish_events``: DynamoDB stream records
    of the Streams and Threads tables (already filtered to the ones it needs)."""

    Records: list[dict[str, Any]]


# -- text and JSON ------------------------------------------------------------------------


#: What a text with half a character (a lone surrogate) is told.
UNICODE = "text must be valid Unicode (no lone surrogates)"


def _utf8(value: str) -> None:
    # JSON can carry lone surrogates ("\ud800") that no UTF-8 store accepts.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(UNICODE) from None


def _any_text(value: str) -> None:
    return None


def check_json(value: Any, depth: int = 0, *, lone_surrogates: bool = False) -> None:
    """Refuse JSON a store or reader cannot take: too deep, non-finite, bad text.

    With ``lone_surrogates``, strings may hold them (parts: see the module's docstring).
    """
    check_text = _any_text if lone_surrogates else _utf8
    stack: list[tuple[Any, int]] = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ValueError("object keys must be strings")
                check_text(key)
                stack.append((sub, level + 1))
        elif isinstance(item, list):
            stack.extend((sub, level + 1) for sub in item)
        elif isinstance(item, str):
            check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        elif item is not None and not isinstance(item, bool | int | float):
            raise ValueError(f"not a JSON value: {type(item).__name__}")


def _values(args: Mapping[str, Any], loc: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    """Each argument's text and JSON, checked on its own (a field at depth 0)."""
    for key, value in args.items():
        where = (*loc, key)
        if key == "parts":
            for index, part in enumerate(value):
                yield from _json(part, (*where, index), lone_surrogates=True)
        elif key == "finalDelta":
            yield from _values(value, where)
        else:
            yield from _json(value, where)


def _json(
    value: Any, loc: tuple[str | int, ...], *, lone_surrogates: bool = False
) -> Iterator[Problem]:
    try:
        check_json(value, lone_surrogates=lone_surrogates)
    except ValueError as exc:
        yield loc, str(exc)


# -- rules across fields --------------------------------------------------------------------


def _delta(delta: shapes.StreamDelta, loc: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    start, end = delta["start"], delta["end"]
    if end <= start:
        yield loc, f"end ({end}) must be greater than start ({start})"
    elif end - start > MAX_DELTA_SPAN:
        yield (
            loc,
            f"a delta numbers at most {MAX_DELTA_SPAN} parts (end - start), not {end - start}",
        )
    elif len(delta["parts"]) > end - start:
        yield (
            loc,
            f"{len(delta['parts'])} parts cannot number {start} to {end}: "
            "a delta holds at most end - start parts",
        )
    else:
        for index, part in enumerate(delta["parts"]):
            if not isinstance(part.get("type"), str):
                yield loc, f"parts[{index}] needs a string 'type'"
                return


def _final_delta(args: shapes.FinishStreamRequest | shapes.AbortStreamRequest) -> Iterator[Problem]:
    final = args.get("finalDelta")
    if final is None:
        return
    problems = list(_delta(final, ("finalDelta",)))
    yield from problems
    if not problems and final["streamId"] != args["streamId"]:
        yield (), f"finalDelta is for stream {final['streamId']}, not {args['streamId']}"


def _distinct_cursors(args: shapes.ListDeltasRequest) -> Iterator[Problem]:
    seen: set[str] = set()
    for cursor in args["cursors"]:
        if cursor["streamId"] in seen:
            yield (), f"cursors name stream {cursor['streamId']} more than once"
            return
        seen.add(cursor["streamId"])


def _page_scope(args: DeleteThreadStreamsPageArgs) -> Iterator[Problem]:
    if ("threadId" in args) == ("streamId" in args):
        yield (), "name either threadId or streamId"
    elif "createdBefore" in args and "threadId" not in args:
        yield (), "createdBefore goes with threadId"


#: Each shape's rules across its fields, by shape.
RULES: dict[type[Any], Callable[[Any], Iterator[Problem]]] = {
    shapes.StreamDelta: _delta,
    shapes.FinishStreamRequest: _final_delta,
    shapes.AbortStreamRequest: _final_delta,
    shapes.ListDeltasRequest: _distinct_cursors,
    DeleteThreadStreamsPageArgs: _page_scope,
}


def problems(shape: type[Any], args: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with arguments that have ``shape``'s types (none: they are good)."""
    found = list(_values(args))
    if not found and shape in RULES:
        found = list(RULES[shape](args))
    return found
