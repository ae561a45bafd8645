"""The OpenAPI 3.1 document of the HTTP API, generated from the code.

Nothing here is written by hand per route: the routes are the template's
functions, and each one's path, summary, query parameters, body, reply and
error statuses come from the ``Operation`` its ``app.py`` declares. The reply
shapes come from :mod:`agent_streams_dev.schemas`; request bodies from the
operation's argument model. So the document cannot drift from the code without
``--check`` (and the tests) noticing.

    python -m agent_streams_dev.openapi            # write openapi.json at the repo root
    python -m agent_streams_dev.openapi --check    # exit 1 if openapi.json is stale

Documentation tooling only: Lambda functions never import this module.
"""

from __future__ import annotations

import argparse
import copy
import http
import importlib.util
import json
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from agent_streams.api.http import MAX_BODY_BYTES
from agent_streams.api.operation import HttpRoute, Operation
from agent_streams.ids import ID_PATTERN
from agent_streams_dev.local.template import PROJECT_ROOT, FunctionSpec, Template, load_template
from agent_streams_dev.openapi_live import BEARER_SCHEME, live_paths
from agent_streams_dev.schemas import DocumentSchemaGenerator, component_schemas
from agent_streams_protocol.errors import ERROR_CLASSES
from agent_streams_protocol.limits import MAX_DELTA_PARTS_BYTES, MAX_PART_BYTES

OPENAPI_PATH = PROJECT_ROOT / "openapi.json"
REF = "#/components/schemas/{model}"
ERROR_SCHEMA = "Error"
SECURITY_SCHEME = "sigv4"
#: Path item keys in the order the document lists them.
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")

_PATH_PARAM_TEXT = {
    "threadId": "The thread's id.",
    "streamId": "The stream's id (its first 16 characters are derived from its thread's id).",
}

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
finished ones are cleaned up after 5, and a thread's streams can be deleted at any size.

Every operation is also a Lambda function that can be invoked directly with the
arguments object; errors then raise an exception named by the error code.
Field names are camelCase; absent optional fields are omitted, never `null`;
times are epoch milliseconds."""


# -- loading the operations ---------------------------------------------------------


def load_operation(spec: FunctionSpec) -> Operation[Any, Any]:
    """The ``OPERATION`` of a template function, imported from its file.

    Each function's ``app.py`` is imported by path under its own module name:
    every one is called ``app``, and none is an importable package.
    """
    module_file, _, _attribute = spec.handler.rpartition(".")
    name = f"_agent_streams_openapi_{spec.operation}_{module_file}"
    module = sys.modules.get(name)
    if module is None:
        module = _import_file(name, spec.code_dir / f"{module_file}.py")
    operation = getattr(module, "OPERATION", None)
    if not isinstance(operation, Operation):
        raise TypeError(f"{spec.code_dir}/{module_file}.py declares no OPERATION")
    if operation.name != spec.operation:
        raise ValueError(f"{spec.code_dir} declares operation {operation.name!r}")
    return operation


def _import_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def http_operations(template: Template) -> list[tuple[Operation[Any, Any], HttpRoute[Any]]]:
    """The operations with an HTTP route, checked against the template's events."""
    found: list[tuple[Operation[Any, Any], HttpRoute[Any]]] = []
    for name, spec in sorted(template.functions().items()):
        operation = load_operation(spec)
        route = operation.http
        declared = (route.method.upper(), route.path) if route is not None else None
        in_template = (spec.method, spec.path) if spec.path is not None else None
        if declared != in_template:
            raise ValueError(
                f"{name}: the template routes {in_template}, but its HttpRoute says {declared}"
            )
        if route is not None:
            found.append((operation, route))
    return found


# -- one route ------------------------------------------------------------------------


class _AnyResult:
    """Stands in for any result of an operation: attributes and calls give more stand-ins,
    iteration gives nothing. See ``success_status``."""

    def __getattr__(self, name: str) -> _AnyResult:
        return _AnyResult()

    def __call__(self, *args: object, **kwargs: object) -> _AnyResult:
        return _AnyResult()

    def __iter__(self) -> Any:
        return iter(())


def success_status(route: HttpRoute[Any]) -> int:
    """The status of the route's success reply.

    ``HttpRoute`` does not declare it; its ``reply`` function hard-codes it
    (``Reply(201, …)``). Calling that function on a stand-in result reads it
    without repeating the table here. The tests invoke every route and check its
    real status against the document, so a reply function that branches on its
    result in a way the stand-in misleads would be caught.
    """
    return int(route.reply(_AnyResult()).status)


def path_parameters(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)


def _parameters(route: HttpRoute[Any]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": _PATH_PARAM_TEXT.get(name, f"The {name}."),
            "schema": {"type": "string", "pattern": ID_PATTERN.pattern},
        }
        for name in path_parameters(route.path)
    ]
    for name, query in route.query.items():  # in the order the route declares them
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "description": query.description,
            "schema": copy.deepcopy(dict(query.schema)),
        }
        if query.required:
            parameter["required"] = True
        parameters.append(parameter)
    return parameters


def _body_schema(
    arguments: type[BaseModel], path_ids: Sequence[str], definitions: dict[str, Any]
) -> dict[str, Any]:
    """The argument model's JSON schema as a request body.

    The path's ids come from the path, so the body need not carry them; the
    handler accepts them repeated there when they are equal (the Python client
    sends them), so they stay documented, optional. Nested models move to the
    components.
    """
    schema = arguments.model_json_schema(
        ref_template=REF, schema_generator=DocumentSchemaGenerator, mode="validation"
    )
    for name, definition in schema.pop("$defs", {}).items():
        _add_component(definitions, name, definition)
    properties: dict[str, Any] = schema.get("properties", {})
    for name in path_ids:
        if name in properties:
            properties[name] = {
                **properties[name],
                "description": f"Optional: the path's `{name}`, repeated. Any other value "
                "is a `ValidationError`.",
            }
    required = [name for name in schema.get("required", []) if name not in path_ids]
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


def operation_object(
    operation: Operation[Any, Any], route: HttpRoute[Any], definitions: dict[str, Any]
) -> dict[str, Any]:
    path_ids = path_parameters(route.path)
    item: dict[str, Any] = {
        "operationId": operation.name,
        "summary": route.summary,
        "tags": [route.path.strip("/").split("/")[0]],
    }
    parameters = _parameters(route)
    if parameters:
        item["parameters"] = parameters
    if route.body:
        body_name = f"{_camel(operation.name)}Body"
        schema = _body_schema(operation.arguments, path_ids, definitions)
        schema["title"] = body_name
        _add_component(definitions, body_name, schema)
        item["requestBody"] = {
            "required": bool(schema.get("required")),
            "content": {"application/json": {"schema": {"$ref": REF.format(model=body_name)}}},
        }
    status = success_status(route)
    responses: dict[str, Any] = {}
    if route.reply_schema is None:
        if status != 204:
            raise ValueError(f"{operation.name} replies {status} but names no reply schema")
        responses["204"] = {"description": "No Content"}
    else:
        responses[str(status)] = {
            "description": http.HTTPStatus(status).phrase,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=route.reply_schema)}}
            },
        }
    for other in route.other_success:
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
    """The OpenAPI 3.1 document of every HTTP route of the template."""
    operations = http_operations(template or load_template())
    definitions: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for operation, route in operations:
        item = paths.setdefault(route.path, {})
        method = route.method.lower()
        if method in item:
            raise ValueError(f"two operations serve {route.method} {route.path}")
        item[method] = operation_object(operation, route, definitions)
    paths.update(live_paths(_unavailable_response(), _default_response()))
    replies = [route.reply_schema for _, route in operations if route.reply_schema is not None]
    for name, schema in component_schemas([*replies, ERROR_SCHEMA], REF).items():
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
        description="Write the OpenAPI document generated from the code, or check it.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("path", nargs="?", type=Path, default=OPENAPI_PATH)
    args = parser.parse_args(argv)
    text = render(build_openapi())
    path: Path = args.path
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            print(f"{path} is stale: run `make openapi` to regenerate it", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
