"""The OpenAPI document: fresh, valid OpenAPI 3.1, and in step with the template,
the functions and the sample events."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from agent_streams.api.http import is_http_event
from agent_streams_dev import openapi
from agent_streams_dev.local.template import load_template
from agent_streams_dev.openapi_live import LIVE_PATHS
from agent_streams_dev.schemas import component_name
from agent_streams_protocol.errors import ERROR_CLASSES, DeltaConflict, StreamNotFound
from agent_streams_protocol.routes import ROUTES
from agent_streams_protocol.shapes import ERROR_CODES, StreamMetadata
from tests.helpers import EVENTS, ROOT

COMMITTED = ROOT / "openapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.build_openapi()


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


def http_events() -> list[Path]:
    return [
        path
        for path in sorted(EVENTS.glob("*.json"))
        if is_http_event(json.loads(path.read_text(encoding="utf-8")))
    ]


def schema_of(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    """A validator for a schema of the document, resolving its component references."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


# -- the committed document ------------------------------------------------------------


def test_committed_document_is_fresh(document: dict[str, Any]) -> None:
    expected = openapi.render(document)
    current = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert current == expected, (
        "openapi.json is stale: run `make openapi` "
        "(python -m agent_streams_dev.openapi) and commit it"
    )


def test_document_is_valid_openapi_3_1(committed: dict[str, Any]) -> None:
    assert committed["openapi"].startswith("3.1.")
    validate(committed, cls=OpenAPIV31SpecValidator)


def test_build_is_deterministic(document: dict[str, Any]) -> None:
    assert openapi.render(openapi.build_openapi()) == openapi.render(document)


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "openapi.json"
    types = tmp_path / "wire.ts"
    files = [str(target), "--ts", str(types)]
    assert openapi.main(["--check", *files]) == 1  # missing
    assert openapi.main(files) == 0
    assert openapi.main(["--check", *files]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("3.1.0", "3.0.3"))
    assert openapi.main(["--check", *files]) == 1
    assert openapi.main(files) == 0
    types.write_text(
        types.read_text(encoding="utf-8").replace("streamId: string", "streamId: number")
    )
    assert openapi.main(["--check", *files]) == 1
    assert "make openapi" in capsys.readouterr().err


# -- routes -------------------------------------------------------------------------------


def test_every_template_route_is_documented(document: dict[str, Any]) -> None:
    routed = {
        (spec.method, spec.path): name
        for name, spec in load_template().functions().items()
        if spec.path is not None
    }
    documented = {
        (method.upper(), path): item["operationId"]
        for path, methods in document["paths"].items()
        for method, item in methods.items()
        if path not in LIVE_PATHS  # the live reads: at the LiveUrl, not HTTP API routes
    }
    assert documented == routed
    assert len(documented) == 16
    for path in LIVE_PATHS:
        live = document["paths"][path]["get"]
        assert "text/event-stream" in live["responses"]["200"]["content"]
        assert live["servers"][0]["url"].endswith(".on.aws")


def test_operations_are_complete(document: dict[str, Any]) -> None:
    security = document["components"]["securitySchemes"]["sigv4"]
    assert security == {**security, "type": "apiKey", "in": "header", "name": "Authorization"}
    assert document["security"] == [{"sigv4": []}]
    for path, methods in document["paths"].items():
        path_ids = re.findall(r"\{(\w+)\}", path)
        for item in methods.values():
            parameters = {p["name"]: p for p in item.get("parameters", [])}
            for name in path_ids:
                assert parameters[name]["in"] == "path"
                assert parameters[name]["required"] is True
                assert parameters[name]["schema"]["pattern"] == "^[0-9A-Za-z_-]{1,40}$"
            success = [s for s in item["responses"] if s.startswith("2")]
            # One success reply; the sync deletions have two: done (204) or handed over
            # (202); the thread's live stream too: a turn's events (200) or none live (204).
            if path == "/threads/{threadId}/stream":
                assert success == ["200", "204"]
            else:
                assert len(success) == 1 or success == ["202", "204"], item["operationId"]
            if "204" in success:
                assert "content" not in item["responses"]["204"]
            for status, response in item["responses"].items():
                if status[0] in "45" or status == "default":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }
                    assert "`" in response["description"]  # names its error codes


def test_route_details(document: dict[str, Any]) -> None:
    paths = document["paths"]
    create_stream = paths["/threads/{threadId}/streams"]["post"]
    assert sorted(create_stream["responses"]) == ["201", "404", "409", "422", "503", "default"]
    assert "ThreadDeleting" in create_stream["responses"]["409"]["description"]
    add_delta = paths["/streams/{streamId}/deltas"]["post"]
    assert "DeltaConflict" in add_delta["responses"]["409"]["description"]
    assert "DeltaTooLarge" in add_delta["responses"]["413"]["description"]
    assert "StreamNotFound" in add_delta["responses"]["404"]["description"]
    assert paths["/threads/{threadId}"]["delete"]["responses"]["202"]
    for path in ("/streams/{streamId}", "/threads/{threadId}/streams"):
        deletion = paths[path]["delete"]["responses"]
        assert deletion["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Execution"
        }
        assert deletion["204"] == {"description": "No Content"}
    for path, method in (
        ("/threads/{threadId}/streams/messages", "get"),
        ("/threads/{threadId}/streams", "get"),
    ):
        assert "ReplyTooLarge" in paths[path][method]["responses"]["413"]["description"]
    for path, method in (
        ("/streams/{streamId}/abort", "post"),
        ("/threads/{threadId}/streams/abort", "post"),
        ("/threads/{threadId}/deltas", "get"),
    ):
        assert "Unauthorized" in paths[path][method]["responses"]["401"]["description"]
    messages = paths["/threads/{threadId}/streams/messages"]["get"]
    query = {p["name"]: p for p in messages["parameters"] if p["in"] == "query"}
    assert sorted(name for name, p in query.items() if p.get("required")) == [
        "order",
        "status",
        "stepOrder",
    ]
    body = document["components"]["schemas"]["AddDeltaBody"]
    assert body["required"] == ["start", "end", "parts"]  # streamId comes from the path


# -- schemas ------------------------------------------------------------------------------


def _nulls(schema: Any) -> int:
    if isinstance(schema, dict):
        here = schema.get("type") == "null" or "null" in (schema.get("type") or [])
        return int(here) + sum(_nulls(value) for value in schema.values())
    if isinstance(schema, list):
        return sum(_nulls(value) for value in schema)
    return 0


def test_reply_schemas_never_allow_null(document: dict[str, Any]) -> None:
    """Absent optional fields are omitted, never null."""
    schemas = document["components"]["schemas"]
    replies = [route.reply for route in ROUTES.values() if route.reply is not None]
    assert len(replies) == 15
    for name in {component_name(reply) for reply in replies} | {"Error"}:
        assert _nulls(schemas[name]) == 0, name
    assert _nulls(schemas["StreamMessage"]) == 0
    assert _nulls(schemas["MessageWithMetadata"]) == 0


def test_reply_shapes_match_the_contract(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def keys(name: str) -> tuple[list[str], list[str]]:
        return list(schemas[name]["properties"]), schemas[name]["required"]

    # The reference's publicStreamMessage: the stream's place and status, then its metadata
    # (the reference's fields, and any the metadata's declaration adds).
    metadata = list(StreamMetadata.__optional_keys__ | StreamMetadata.__required_keys__)
    assert {"format", "userId", "agentName", "model", "provider", "providerOptions"} <= set(
        metadata
    )
    stream_message = ["streamId", "status", "order", "stepOrder", *StreamMetadata.__annotations__]
    assert sorted(stream_message[4:]) == sorted(metadata)
    assert keys("StreamMessage") == (stream_message, ["streamId", "status", "order", "stepOrder"])
    assert keys("StreamState")[0] == [
        *stream_message,
        "threadId",
        "reason",
        "lastHeartbeat",
        "endedAt",
        "nextStart",
        "retentionSeconds",
    ]
    assert keys("StreamUIMessage") == (["streamId", "status", "cursor", "uiMessage"],) * 2
    assert keys("StreamDelta") == (["streamId", "start", "end", "parts"],) * 2
    assert keys("Thread") == (
        ["threadId", "userId", "title", "summary", "status", "createdAt"],
        ["threadId", "status", "createdAt"],
    )
    assert keys("Accepted") == (["accepted", "status"],) * 2
    assert keys("Error") == (["error", "message", "expectedStart"], ["error", "message"])
    assert keys("MessageWithMetadata")[1] == ["message", "status"]


def test_error_bodies_match_the_error_schema(document: dict[str, Any]) -> None:
    validator = schema_of(document, {"$ref": "#/components/schemas/Error"})
    validator.validate(DeltaConflict("s", 3, 5).to_body())
    validator.validate(StreamNotFound("s").to_body())
    assert set(ERROR_CLASSES) < set(ERROR_CODES)


def test_the_functions_never_import_the_document_modules() -> None:
    """schemas.py and openapi.py are for docs: a cold start must not pay for them."""
    script = (
        "import sys\n"
        "from tests.helpers import load_function\n"
        "from agent_streams_dev.local.template import load_template\n"
        "for name in load_template().functions():\n"
        "    load_function(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('agent_streams.api.')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = found.stdout.strip()
    assert "agent_streams_dev.schemas" not in loaded
    assert "agent_streams_dev.openapi" not in loaded


# -- the sample events ---------------------------------------------------------------------


def _query_value(text: str, schema: dict[str, Any]) -> Any:
    # Query values are text; their schema describes what the text means.
    return int(text) if schema.get("type") == "integer" and text.isdigit() else text


@pytest.mark.parametrize("path", http_events(), ids=lambda p: p.name)
def test_http_event_matches_a_documented_route(path: Path, committed: dict[str, Any]) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))
    method, route = event["routeKey"].split(" ", 1)
    operation = committed["paths"][route][method.lower()]
    assert operation["operationId"] == path.name.removesuffix(".json")
    context = event["requestContext"]
    assert context["routeKey"] == event["routeKey"]
    assert context["http"]["method"] == method
    assert context["http"]["path"] == event["rawPath"]

    parameters = {p["name"]: p for p in operation.get("parameters", [])}
    path_values = event.get("pathParameters") or {}
    rendered = route
    for name, value in path_values.items():
        assert parameters[name]["in"] == "path"
        jsonschema.validate(value, parameters[name]["schema"])
        rendered = rendered.replace("{" + name + "}", value)
    assert rendered == event["rawPath"]

    query = event.get("queryStringParameters") or {}
    for name, value in query.items():
        assert parameters[name]["in"] == "query", name
        schema = parameters[name]["schema"]
        jsonschema.validate(_query_value(value, schema), schema)
    for name, parameter in parameters.items():
        if parameter["in"] == "query" and parameter.get("required"):
            assert name in query

    if "requestBody" in operation:
        assert event["headers"]["content-type"] == "application/json"
        body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        schema_of(committed, body_schema).validate(json.loads(event["body"]))
    else:
        assert event.get("body") is None


def test_every_route_documents_503_with_its_retry_after(document: dict[str, Any]) -> None:
    for methods in document["paths"].values():
        for item in methods.values():
            unavailable = item["responses"]["503"]
            assert "`ServiceUnavailable`" in unavailable["description"]
            assert unavailable["headers"]["Retry-After"]["schema"] == {
                "type": "integer",
                "minimum": 1,
            }
