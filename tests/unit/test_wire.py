"""One declaration per wire shape: the protocol's shapes and routes, and everything that
follows them (functions, template, query texts, the TypeScript types).

The metadata's way from create_stream to every reply is tests/integration/test_wire_metadata.py.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from typing_extensions import is_typeddict

from agent_streams.api.validation import parse_arguments
from agent_streams.service import arguments
from agent_streams.storage.keys import PER_DELTA_STREAM_ATTRIBUTES, STREAM_INDEX_ATTRIBUTES
from agent_streams_dev import openapi, ts_types
from agent_streams_dev.local.template import load_template
from agent_streams_protocol import routes, shapes
from agent_streams_protocol.errors import ValidationError
from agent_streams_protocol.routes import ROUTES
from tests.helpers import ROOT, load_function

PROTOCOL = ROOT / "layers" / "agent_streams_protocol"


def _shapes(module: Any) -> list[type[Any]]:
    return [
        value
        for name, value in vars(module).items()
        if isinstance(value, type) and is_typeddict(value) and not name.startswith("_")
    ]


# -- the protocol stands alone -----------------------------------------------------------


def test_the_protocol_imports_with_nothing_installed() -> None:
    """The client depends on it: no pydantic, not even typing_extensions (python -S: no
    site-packages at all)."""
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(PROTOCOL)!r}]\n"
        "from agent_streams_protocol import routes, shapes\n"
        "loaded = {'pydantic', 'typing_extensions'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
        "assert shapes.StreamMessage.__optional_keys__ >= {'format', 'userId'}\n"
        "print(len(routes.ROUTES))\n"
    )
    found = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "16"


@pytest.mark.parametrize(
    "shape", [*_shapes(shapes), *_shapes(arguments)], ids=lambda shape: shape.__name__
)
def test_every_shape_is_closed(shape: type[Any]) -> None:
    assert shape.__dict__.get("__pydantic_config__") == {"extra": "forbid"}


def test_optional_keys_are_known_at_run_time() -> None:
    """``NotRequired`` must be visible to ``__optional_keys__`` (a module of shapes cannot use
    ``from __future__ import annotations``): the runtime reads it to take null as absent."""
    assert shapes.CreateStreamRequest.__required_keys__ == {"threadId", "order", "stepOrder"}
    assert shapes.StreamMetadata.__required_keys__ == frozenset()
    assert shapes.StreamState.__optional_keys__ >= {"reason", "endedAt", "format"}
    assert arguments.DeleteThreadStreamsPageArgs.__required_keys__ == frozenset()


def test_the_metadata_is_all_that_create_stream_takes_besides_the_place_and_retention() -> None:
    """``retentionSeconds`` is a setting, not metadata (docs/wire.md): get_stream shows it,
    list_streams does not."""
    metadata = set(shapes.StreamMetadata.__annotations__)
    assert set(shapes.CreateStreamRequest.__annotations__) == {
        "threadId",
        "order",
        "stepOrder",
        "retentionSeconds",
        *metadata,
    }
    assert "retentionSeconds" in shapes.StreamState.__required_keys__
    assert set(shapes.StreamMessage.__annotations__) == {
        "streamId",
        "status",
        "order",
        "stepOrder",
        *metadata,
    }


def test_the_index_projects_the_metadata_as_one_attribute() -> None:
    """A field added to the metadata needs no new projected attribute (the template's
    projection equals this list: test_template), and no per-delta write touches it."""
    metadata = set(shapes.StreamMetadata.__annotations__)
    assert "metadata" in STREAM_INDEX_ATTRIBUTES
    assert not metadata & set(STREAM_INDEX_ATTRIBUTES)
    assert not set(STREAM_INDEX_ATTRIBUTES) & set(PER_DELTA_STREAM_ATTRIBUTES)


# -- routes --------------------------------------------------------------------------------


def test_the_template_routes_exactly_the_protocols_routes() -> None:
    """API Gateway (and the local stack, which reads the template as it does) serve what
    the protocol declares."""
    routed = {
        name: (spec.method, spec.path)
        for name, spec in load_template().functions().items()
        if spec.path is not None
    }
    assert routed == {name: (route.method, route.path) for name, route in ROUTES.items()}


@pytest.mark.parametrize("operation", sorted(load_template().functions()))
def test_every_function_serves_its_protocol_route(operation: str) -> None:
    declared = load_function(operation).OPERATION
    assert declared.name == operation
    if operation not in ROUTES:
        assert declared.http is None
        return
    route = ROUTES[operation]
    assert declared.http is not None
    assert declared.http.route is route
    assert declared.arguments is route.request


@pytest.mark.parametrize("route", ROUTES.values(), ids=lambda route: route.operation)
def test_a_route_carries_its_arguments(route: routes.Route[Any, Any]) -> None:
    """Path ids and query parameters are arguments of the request shape; reads and
    deletes have no body; the documented statuses are the runtime's."""
    fields = set(route.request.__annotations__)
    required = set(route.request.__required_keys__)
    assert set(route.path_ids) <= required
    assert set(route.query) <= fields
    for name, query in route.query.items():
        assert query.required == (name in required), name
    if route.method in ("GET", "DELETE"):
        assert not route.body
    else:
        assert route.body
        assert not route.query
    assert (route.reply is None) == (route.status == 204)
    assert route.path.startswith(("/threads", "/streams"))


@pytest.mark.parametrize(
    ("codec", "value", "text"),
    [
        (routes.INTEGER, 12, "12"),
        (routes.TEXT, "a b", "a b"),
        (routes.LIST, ["streaming", "finished"], "streaming,finished"),
        (
            routes.CURSORS,
            [{"streamId": "s-1", "cursor": 0}, {"streamId": "s:2", "cursor": 7}],
            "s-1:0,s:2:7",
        ),
    ],
    ids=lambda v: getattr(v, "name", None),
)
def test_query_texts_are_written_as_they_are_read(
    codec: routes.QueryCodec, value: Any, text: str
) -> None:
    """The client writes query texts with the same codec the runtime reads them with."""
    assert codec.format(value) == text
    assert codec.parse(text) == value


def test_a_route_renders_its_path_and_query() -> None:
    route = routes.LIST_STREAMS
    args = {"threadId": "t/1", "statuses": ["aborted"], "startOrder": None}
    assert route.render_path(args) == "/threads/t%2F1/streams"
    assert route.query_pairs(args) == [("statuses", "aborted")]
    with pytest.raises(ValueError, match="threadId is required"):
        route.render_path({})


# -- the TypeScript client's types ---------------------------------------------------------


def test_the_typescript_types_are_fresh() -> None:
    expected = ts_types.render(openapi.build_openapi())
    current = ts_types.TS_PATH.read_text(encoding="utf-8") if ts_types.TS_PATH.exists() else ""
    assert current == expected, (
        f"{ts_types.TS_PATH.name} is stale: run `make openapi` "
        "(python -m agent_streams_dev.openapi) and commit it"
    )


def test_the_typescript_types_declare_every_component_and_route() -> None:
    document = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    text = ts_types.TS_PATH.read_text(encoding="utf-8")
    declared = set(re.findall(r"^export (?:interface|type) (\w+)", text, re.MULTILINE))
    for key, schema in document["components"]["schemas"].items():
        assert schema.get("title", key) in declared, key
    operations = {
        item["operationId"] for methods in document["paths"].values() for item in methods.values()
    }
    assert set(re.findall(r"^  (\w+): \{ method:", text, re.MULTILINE)) == operations
    message = text.split("export interface StreamMessage {", 1)[1].split("\n}", 1)[0]
    for key in shapes.StreamMetadata.__annotations__:
        assert re.search(rf"^  {key}\?: ", message, re.MULTILINE), key


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, "string"),
        ({"enum": ["a", "b"], "type": "string"}, '"a" | "b"'),
        (
            {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
            "(number | null)[]",
        ),
        ({"type": "object", "additionalProperties": True}, "Record<string, unknown>"),
        (
            {"type": "object", "additionalProperties": {"type": "boolean"}},
            "Record<string, boolean>",
        ),
        ({"$ref": "#/components/schemas/Thing"}, "Thing"),
    ],
)
def test_typescript_forms_of_json_schemas(schema: dict[str, Any], expected: str) -> None:
    writer = ts_types._Writer({"Thing": {"title": "Thing"}})
    assert writer.type_of(schema, "") == expected


def test_a_json_schema_without_a_typescript_form_is_an_error() -> None:
    writer = ts_types._Writer({})
    with pytest.raises(ValueError, match="no TypeScript form"):
        writer.type_of({"type": "weird"}, "")
    with pytest.raises(ValueError, match="both properties and open keys"):
        writer.type_of({"type": "object", "properties": {"a": {"type": "string"}}}, "")


# -- requests: as they were validated before the shapes moved to the protocol --------------

T = "t" * 10
S = "s" * 20
DELTA = {"streamId": S, "start": 0, "end": 1, "parts": [{"type": "text-delta", "delta": "a"}]}


def _nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


#: (shape, arguments, None when accepted or the ValidationError's message)
REQUESTS: list[tuple[type[Any], dict[str, Any], str | None]] = [
    (shapes.CreateThreadRequest, {"userId": None, "title": None}, None),
    (shapes.CreateThreadRequest, {"title": "\ud800"}, "title: text must be valid Unicode (no lone surrogates)"),
    (shapes.CreateThreadRequest, {"summary": 3}, "summary: Input should be a valid string"),
    (shapes.CreateThreadRequest, {"zz": 1}, "zz: unknown field"),
    (shapes.ThreadRequest, {"threadId": "bad id"}, "threadId: String should match pattern '^[0-9A-Za-z_-]{1,40}$'"),
    (shapes.CreateStreamRequest, {"threadId": T, "order": 0, "stepOrder": 0, "format": None, "providerOptions": None}, None),
    (shapes.CreateStreamRequest, {"threadId": T, "order": True, "stepOrder": 0}, "order: Input should be a valid integer"),
    (shapes.CreateStreamRequest, {"threadId": T, "order": "0", "stepOrder": 0}, "order: Input should be a valid integer"),
    (shapes.CreateStreamRequest, {"threadId": T, "order": 0, "stepOrder": 10**12}, "stepOrder: Input should be less than or equal to 999999999999"),
    (shapes.CreateStreamRequest, {"threadId": T, "order": 0, "stepOrder": 0, "userId": "\ud800"}, "userId: text must be valid Unicode (no lone surrogates)"),
    (shapes.CreateStreamRequest, {"threadId": T, "order": 0, "stepOrder": 0, "providerOptions": {"a": {"b": _nested(62)}}}, None),
    (shapes.CreateStreamRequest, {"threadId": T, "order": 0, "stepOrder": 0, "providerOptions": {"a": {"b": _nested(63)}}}, "providerOptions: JSON nested deeper than 64 levels"),
    (shapes.CreateStreamRequest, {"threadId": T, "order": 0, "stepOrder": 0, "providerOptions": {"a": {"\ud800": 1}}}, "providerOptions: text must be valid Unicode (no lone surrogates)"),
    (shapes.CreateStreamRequest, {"threadId": T, "order": 0, "stepOrder": 0, "unheard": 1}, "unheard: unknown field"),
    (shapes.ListStreamsRequest, {"threadId": T, "statuses": None}, None),
    (shapes.ListStreamsRequest, {"threadId": T, "statuses": []}, "statuses: List should have at least 1 item after validation, not 0"),
    (shapes.ListDeltasRequest, {"threadId": T, "cursors": [{"streamId": S, "cursor": 0}, {"streamId": S, "cursor": 1}]}, f"arguments: cursors name stream {S} more than once"),
    (shapes.StreamingMessagesRequest, {"threadId": T, "order": 1, "stepOrder": 1, "status": "success", "error": None}, None),
    (shapes.StreamDelta, DELTA, None),
    (shapes.StreamDelta, {**DELTA, "end": 0}, "arguments: end (0) must be greater than start (0)"),
    (shapes.StreamDelta, {**DELTA, "end": 2_000_001}, "arguments: a delta numbers at most 1000000 parts (end - start), not 2000001"),
    (shapes.StreamDelta, {**DELTA, "parts": [{"type": "a"}, {"type": "b"}]}, "arguments: 2 parts cannot number 0 to 1: a delta holds at most end - start parts"),
    (shapes.StreamDelta, {**DELTA, "parts": [{"t": 1}]}, "arguments: parts[0] needs a string 'type'"),
    (shapes.StreamDelta, {**DELTA, "parts": [{"type": "x", "d": "\ud800"}]}, None),
    (shapes.StreamDelta, {**DELTA, "parts": [{"type": "x", "d": _nested(63)}]}, None),
    (shapes.StreamDelta, {**DELTA, "parts": [{"type": "x", "d": _nested(64)}]}, "parts.0: JSON nested deeper than 64 levels"),
    (shapes.StreamDelta, {**DELTA, "parts": [{"type": "x", "d": float("inf")}]}, "parts.0: numbers must be finite"),
    (shapes.FinishStreamRequest, {"streamId": S, "finalDelta": None}, None),
    (shapes.FinishStreamRequest, {"streamId": S + "x", "finalDelta": DELTA}, f"arguments: finalDelta is for stream {S}, not {S}x"),
    (shapes.FinishStreamRequest, {"streamId": S, "finalDelta": {**DELTA, "end": 0}}, "finalDelta: end (0) must be greater than start (0)"),
    (shapes.AbortStreamRequest, {"streamId": S, "reason": "\ud800"}, "reason: text must be valid Unicode (no lone surrogates)"),
    (arguments.CleanupStreamArgs, {"streamId": S, "cursor": None}, None),
    (arguments.DeleteThreadStreamsPageArgs, {"threadId": None}, "arguments: name either threadId or streamId"),
    (arguments.DeleteThreadStreamsPageArgs, {"streamId": S, "createdBefore": 1}, "arguments: createdBefore goes with threadId"),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "given", "refused"), REQUESTS)
def test_requests_are_validated_as_before(
    shape: type[Any], given: dict[str, Any], refused: str | None
) -> None:
    if refused is None:
        args = parse_arguments(shape, given)
        assert args == {k: v for k, v in given.items() if v is not None}
        return
    with pytest.raises(ValidationError) as raised:
        parse_arguments(shape, given)
    assert raised.value.message == refused


def test_the_docs_route_snippet_is_get_streams_function() -> None:
    """docs/wire.md's example of a function is ``functions/get_stream/app.py`` as it is
    (comments aside), so it runs wherever that function does."""
    doc = (ROOT / "docs" / "wire.md").read_text(encoding="utf-8")
    snippets = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(snippets) == 1
    function = ast.parse((ROOT / "functions" / "get_stream" / "app.py").read_text())
    if ast.get_docstring(function) is not None:
        function.body = function.body[1:]
    assert ast.dump(ast.parse(snippets[0])) == ast.dump(function)
