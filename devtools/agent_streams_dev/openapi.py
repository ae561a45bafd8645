"""The OpenAPI 3.1 document of the HTTP API, generated from the code.

Nothing here is written by hand per route: the routes are the protocol's
(``agent_streams_protocol.routes``: path, summary, query parameters, body, statuses,
request and reply shapes), checked against the template's API Gateway routes; the
schemas are generated from the shapes (:mod:`agent_streams_dev.schemas`). So the
document cannot drift from the code without ``--check`` (and the tests) noticing. The
TypeScript client's types are generated from the document (:mod:`agent_streams_dev.ts_types`),
in the same run.

    python -m agent_streams_dev.openapi            # write openapi.json and the TS types
    python -m agent_streams_dev.openapi --check    # exit 1 if either is stale

Documentation tooling only: Lambda functions never import this module.
"""

from __future__ import annotations

import argparse
import copy
import http
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent_streams.api.http import MAX_BODY_BYTES
from agent_streams_dev import ts_types
from agent_streams_dev.local.template import PROJECT_ROOT, Template, load_template
from agent_streams_dev.openapi_live import BEARER_SCHEME, live_paths
from agent_streams_dev.schemas import component_name, component_schemas, shape_schema
from agent_streams_protocol import shapes
from agent_streams_protocol.errors import ERROR_CLASSES
from agent_streams_protocol.limits import MAX_DELTA_PARTS_BYTES, MAX_PART_BYTES
from agent_streams_protocol.routes import ROUTES, Route

OPENAPI_PATH = PROJECT_ROOT / "openapi.json"
REF = "#/components/schemas/{model}"
ERROR_SCHEMA = component_name(shapes.ErrorReply)
SECURITY_SCHEME = "sigv4"
#: Path item keys in the order the document lists them.
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

#: Which path id an entity-specific error code is about: a route documents the
#: codes of a status that concern its own path (a 404 on /streams/… is
#: StreamNotFound, on /threads/… ThreadNotFound).
_ERROR_SUBJECT = {
    "ThreadNotFound": "threadId",
    "ThreadDeleting": "threadId",
    "StreamNotFound": "streamId",
    "DeltaConflict": "streamId",
    "DeltaTooLarge": "streamId",
}
_ERROR_TEXT = {
    "ValidationError": (
        "the arguments do not fit the operation (unknown fields, wrong types, bad ids or "
        "cursors, empty parts, a body naming another id than the path)"
    ),
    "ThreadNotFound": "the thread does not exist",
    "StreamNotFound": "the stream does not exist",
    "ThreadDeleting": "the thread is being deleted; no stream can be created in it",
    "DeltaConflict": (
        "the delta does not start where the stream's log ends; `expectedStart` says where "
        "it does (a retry of an already accepted delta is not a conflict)"
    ),
    "DeltaTooLarge": (
        f"the delta's parts are over the maximum, {MAX_DELTA_PARTS_BYTES:,} bytes of compact "
        f"JSON (a part {MAX_PART_BYTES:,}: what one list_deltas reply can return; parts too "
        "large for an item are stored in S3), or its parts under 64 KiB alone would not fit "
        f"an item (split them into smaller deltas), or the body is over {MAX_BODY_BYTES:,} "
        "bytes"
    ),
    "ReplyTooLarge": (
        "the reply would not fit the 6 MB a Lambda function may return; the message says how "
        "to read the same thing in smaller replies"
    ),
    "Unauthorized": (
        "the JWT authorizer verified the token, but it has no subject (`sub`); API Gateway "
        'itself answers 401 `{"message":"Unauthorized"}` to a missing or invalid token'
    ),
    "Forbidden": "a JWT caller named another user as the owner of what it creates",
    "ServiceUnavailable": (
        "AWS kept throttling (or failing transiently) past the service's own retries; "
        "nothing was written: send the same request again after `Retry-After` seconds"
    ),
}

_DESCRIPTION = """\
A store for streamed LLM output. Writers append the parts of a model's reply as
deltas, exactly once and without gaps; readers list a thread's streams and follow
them from per-stream cursors; streams time out after 10 minutes without a write,
finished ones are cleaned up after 5 (or their own `retentionSeconds`), and a thread's
streams can be deleted at any size. An ended stream's message is read in one go from
its snapshot; lifecycle events go to EventBridge (docs/events.md).

Every operation is also a Lambda function that can be invoked directly with the
arguments object; errors then raise an exception named by the error code.
Field names are camelCase; absent optional fields are omitted, never `null`;
times are epoch milliseconds."""


# -- the routes -------------------------------------------------------------------------


def checked_routes(template: Template) -> list[Route[Any, Any]]:
    """The protocol's routes, once the template is found to route exactly them (API
    Gateway serves the template's routes; the local stack reads them from it too)."""
    routed = {
        name: (spec.method, spec.path)
        for name, spec in template.functions().items()
        if spec.path is not None
    }
    declared = {name: (route.method, route.path) for name, route in ROUTES.items()}
    if routed != declared:
        differ = sorted(set(routed.items()) ^ set(declared.items()))
        raise ValueError(f"the template's routes are not the protocol's: {differ}")
    return [ROUTES[name] for name in sorted(ROUTES)]


# -- one route ------------------------------------------------------------------------


def _request_schema(route: Route[Any, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The request shape's schema; what it refers to becomes components if it is a body."""
    schema, defs = shape_schema(route.request, REF)
    if route.body:
        for name, definition in defs.items():
            _add_component(definitions, name, definition)
    return schema


def _parameters(route: Route[Any, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    """Path ids, then query parameters; their schemas are the request shape's fields'."""
    fields: dict[str, Any] = request.get("properties", {})
    parameters: list[dict[str, Any]] = []
    for name in route.path_ids:
        field = fields[name]
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": field["description"],
                "schema": {"type": "string", "pattern": field["pattern"]},
            }
        )
    for name, query in route.query.items():  # in the order the route declares them
        schema = {"type": "string"}
        if query.codec.scalar:
            # A text's length is left out: past it a URL meets the gateway's own limit
            # (414, its own body) before the function's 422.
            schema = {
                k: v for k, v in fields[name].items() if k not in ("description", "maxLength")
            }
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "description": query.description,
            "schema": copy.deepcopy(schema),
        }
        if query.required:
            parameter["required"] = True
        parameters.append(parameter)
    return parameters


def _body_schema(request: dict[str, Any], path_ids: Sequence[str]) -> dict[str, Any]:
    """The request shape's JSON schema as a body.

    The path's ids come from the path, so the body need not carry them; the handler
    accepts them repeated there when they are equal (the Python client sends them), so
    they stay documented, optional. An optional field may be ``null`` (taken as absent).
    """
    schema = copy.deepcopy(request)
    properties: dict[str, Any] = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name not in path_ids]
    for name, field in properties.items():
        if name in path_ids:
            properties[name] = {
                **field,
                "description": f"Optional: the path's `{name}`, repeated. Any other value "
                "is a `ValidationError`.",
            }
        elif name not in required:
            properties[name] = {"anyOf": [field, {"type": "null"}], "default": None}
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema


def _add_component(definitions: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    if name in definitions and definitions[name] != schema:
        raise ValueError(f"two different schemas are named {name}")
    definitions[name] = schema


def _error_response(status: int, path_ids: Sequence[str], carries_delta: bool) -> dict[str, Any]:
    # A 413 is about the delta a route carries, or else about the reply it returns.
    not_here = "ReplyTooLarge" if carries_delta else "DeltaTooLarge"
    codes = [
        code
        for code, cls in sorted(ERROR_CLASSES.items())
        if cls.status == status
        and _ERROR_SUBJECT.get(code, "") in ("", *path_ids)
        and code != not_here
    ]
    if not codes:
        raise ValueError(f"no error code has status {status}")
    lines = [f"`{code}`: {_ERROR_TEXT.get(code, code)}." for code in codes]
    return {
        "description": "\n\n".join(lines),
        "content": {"application/json": {"schema": {"$ref": REF.format(model=ERROR_SCHEMA)}}},
    }


def _unavailable_response() -> dict[str, Any]:
    return {
        "description": f"`ServiceUnavailable`: {_ERROR_TEXT['ServiceUnavailable']}.",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before sending the same request again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
        "content": {"application/json": {"schema": {"$ref": REF.format(model=ERROR_SCHEMA)}}},
    }


def _default_response() -> dict[str, Any]:
    return {
        "description": "`InternalError` (500): an unexpected failure.",
        "content": {"application/json": {"schema": {"$ref": REF.format(model=ERROR_SCHEMA)}}},
    }


def _camel(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))


def operation_object(route: Route[Any, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    path_ids = route.path_ids
    item: dict[str, Any] = {
        "operationId": route.operation,
        "summary": route.summary,
        "tags": [route.path.strip("/").split("/")[0]],
    }
    request = _request_schema(route, definitions)
    parameters = _parameters(route, request)
    if parameters:
        item["parameters"] = parameters
    if route.body:
        body_name = f"{_camel(route.operation)}Body"
        schema = _body_schema(request, path_ids)
        schema["title"] = body_name
        _add_component(definitions, body_name, schema)
        item["requestBody"] = {
            "required": bool(schema.get("required")),
            "content": {"application/json": {"schema": {"$ref": REF.format(model=body_name)}}},
        }
    responses: dict[str, Any] = {}
    if route.reply is None:
        if route.status != 204:
            raise ValueError(f"{route.operation} replies {route.status} but has no reply shape")
        responses["204"] = {"description": "No Content"}
    else:
        responses[str(route.status)] = {
            "description": http.HTTPStatus(route.status).phrase,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF.format(model=component_name(route.reply))}
                }
            },
        }
    for other in route.bodiless:
        responses[str(other)] = {"description": http.HTTPStatus(other).phrase}
    for error_status in sorted(set(route.errors)):
        responses[str(error_status)] = _error_response(error_status, path_ids, route.carries_delta)
    # Every route: what storage, the Scheduler or Step Functions kept throttling.
    responses["503"] = _unavailable_response()
    responses["default"] = _default_response()
    item["responses"] = responses
    return item


# -- the document -------------------------------------------------------------------


def _version() -> str:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def build_openapi(template: Template | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HTTP route (the protocol's, which the template's
    must be)."""
    routes = checked_routes(template or load_template())
    definitions: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        item = paths.setdefault(route.path, {})
        method = route.method.lower()
        if method in item:
            raise ValueError(f"two operations serve {route.method} {route.path}")
        item[method] = operation_object(route, definitions)
    paths.update(live_paths(_unavailable_response(), _default_response()))
    replies = [route.reply for route in routes if route.reply is not None]
    for name, schema in component_schemas([*replies, shapes.ErrorReply], REF).items():
        _add_component(definitions, name, schema)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agent-streams",
            "version": _version(),
            "description": _DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "description": "The stack's HTTP API (the `ApiUrl` output)",
                "variables": {
                    "apiId": {"default": "abcdef1234", "description": "The HTTP API's id."},
                    "region": {"default": "us-east-1", "description": "The stack's region."},
                },
            },
            {"url": "http://127.0.0.1:3000", "description": "`agent-streams local`"},
        ],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [
            {"name": "threads", "description": "Conversations and the streams in them."},
            {"name": "streams", "description": "One stream: its state, its deltas, its end."},
            {"name": "live", "description": "Live reads: Server-Sent Events at the `LiveUrl`."},
        ],
        "paths": {
            path: {method: item[method] for method in _METHODS if method in item}
            for path, item in sorted(paths.items())
        },
        "components": {
            "schemas": dict(sorted(definitions.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    # How AWS describes IAM authorization of HTTP APIs in OpenAPI.
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                    "description": "AWS Signature Version 4 (IAM). Deployed with "
                    "`ApiAuthorization=NONE`, the API takes unsigned requests.",
                },
                "bearer": BEARER_SCHEME,
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    """The document as committed: two-space JSON, keys in the order built, final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent_streams_dev.openapi",
        description="Write the OpenAPI document generated from the code and the TypeScript "
        "client's types generated from it, or check them.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument("path", nargs="?", type=Path, default=OPENAPI_PATH)
    parser.add_argument("--ts", type=Path, default=ts_types.TS_PATH, help="the TypeScript file")
    args = parser.parse_args(argv)
    document = build_openapi()
    outputs: list[tuple[Path, str]] = [
        (args.path, render(document)),
        (args.ts, ts_types.render(document)),
    ]
    if args.check:
        stale = [
            path
            for path, text in outputs
            if (path.read_text(encoding="utf-8") if path.exists() else None) != text
        ]
        for path in stale:
            print(f"{path} is stale: run `make openapi` to regenerate it", file=sys.stderr)
        if not stale:
            print(" and ".join(str(path) for path, _ in outputs) + " are up to date")
        return 1 if stale else 0
    for path, text in outputs:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
