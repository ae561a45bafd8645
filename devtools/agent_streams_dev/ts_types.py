"""The TypeScript client's wire types and route table, generated from the OpenAPI document.

``make openapi`` writes ``clients/typescript/src/wire.ts`` beside ``openapi.json`` (and
``--check`` fails when either is stale), so the browser client's types come from the
same declarations as everything else (``agent_streams_protocol.shapes`` → schemas →
here) instead of being written a second time.

The JSON schemas of the document use a small part of JSON Schema, and each part has a
TypeScript form: objects with properties become interfaces (optional ones ``?:``), open
objects ``Record<string, …>``, arrays ``T[]``, enums and consts literal unions,
``anyOf`` unions, ``$ref`` the referenced type (named by the component's ``title``: the
declaration's own name). Descriptions and limits become doc comments. Anything else is
an error here, not a silently wrong type.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent_streams_dev.local.template import PROJECT_ROOT

TS_PATH = PROJECT_ROOT / "clients" / "typescript" / "src" / "wire.ts"

_REF = "#/components/schemas/"
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
#: JSON Schema limits, as doc-comment tags.
_LIMITS = ("pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
_METHODS = ("get", "put", "post", "delete", "patch")

_HEADER = """\
// Generated from openapi.json by `make openapi` (agent_streams_dev.ts_types). Do not edit:
// the shapes are declared in agent_streams_protocol/shapes.py, the routes in
// agent_streams_protocol/routes.py (and the live reads' in agent_streams_dev/openapi_live.py).
"""


def _type_names(schemas: dict[str, Any]) -> dict[str, str]:
    names = {}
    for key, schema in schemas.items():
        title = schema.get("title")
        names[key] = title if isinstance(title, str) and _IDENTIFIER.match(title) else key
    if len(set(names.values())) != len(names):
        raise ValueError(f"two components would have the same TypeScript name: {names}")
    return names


def _doc(schema: dict[str, Any], indent: str) -> list[str]:
    lines = []
    description = schema.get("description")
    if isinstance(description, str):
        lines.extend(description.splitlines())
    for limit in _LIMITS:
        if limit in schema:
            lines.append(f"@{limit} {schema[limit]}")
    if not lines:
        return []
    lines = [line.replace("*/", "*\\/") for line in lines]
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {line}".rstrip() for line in lines), f"{indent} */"]


class _Writer:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.names = _type_names(schemas)

    def type_of(self, schema: Any, indent: str) -> str:
        if schema is True or schema == {}:
            return "unknown"
        if not isinstance(schema, dict):
            raise ValueError(f"not a schema: {schema!r}")
        if "$ref" in schema:
            ref = str(schema["$ref"])
            if not ref.startswith(_REF):
                raise ValueError(f"unsupported reference {ref}")
            return self.names[ref[len(_REF) :]]
        for union in ("anyOf", "oneOf"):
            if union in schema:
                return " | ".join(self.type_of(option, indent) for option in schema[union])
        if "const" in schema:
            return json.dumps(schema["const"])
        if "enum" in schema:
            return " | ".join(json.dumps(value) for value in schema["enum"])
        kind = schema.get("type")
        if kind == "string":
            return "string"
        if kind in ("integer", "number"):
            return "number"
        if kind == "boolean":
            return "boolean"
        if kind == "null":
            return "null"
        if kind == "array":
            return f"{self._member(schema.get('items', {}), indent)}[]"
        if kind == "object":
            return self._object(schema, indent)
        raise ValueError(f"no TypeScript form for {schema!r}")

    def _member(self, schema: Any, indent: str) -> str:
        text = self.type_of(schema, indent)
        return f"({text})" if " | " in text and not text.startswith("{") else text

    def _object(self, schema: dict[str, Any], indent: str) -> str:
        properties: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if not properties:
            return f"Record<string, {self.type_of(extra, indent)}>"
        if extra is not False:
            raise ValueError(f"an object with both properties and open keys: {schema!r}")
        inner = indent + "  "
        lines = ["{"]
        required = set(schema.get("required", []))
        for name, sub in properties.items():
            lines.extend(_doc(sub, inner))
            key = name if _IDENTIFIER.match(name) else json.dumps(name)
            optional = "" if name in required else "?"
            lines.append(f"{inner}{key}{optional}: {self.type_of(sub, inner)};")
        lines.append(indent + "}")
        return "\n".join(lines)

    def declaration(self, key: str, schema: dict[str, Any]) -> str:
        name = self.names[key]
        lines = _doc(schema, "")
        if schema.get("type") == "object" and schema.get("properties"):
            lines.append(f"export interface {name} {self._object(schema, '')}")
        else:
            lines.append(f"export type {name} = {self.type_of(schema, '')};")
        return "\n".join(lines)


def _routes(document: dict[str, Any]) -> list[str]:
    found = []
    for path, item in document["paths"].items():
        for method in _METHODS:
            if method in item:
                found.append((str(item[method]["operationId"]), method.upper(), path))
    lines = [
        "/** Every operation's method and path (`{threadId}`, `{streamId}`: URL-encoded ids). */",
        "export const ROUTES = {",
    ]
    for operation, method, path in sorted(found):
        lines.append(
            f"  {operation}: {{ method: {json.dumps(method)}, path: {json.dumps(path)} }},"
        )
    lines += [
        "} as const;",
        "",
        "export type Operation = keyof typeof ROUTES;",
        "",
        "/** A route's path with its ids in it, under `base` (trailing slashes dropped). */",
        "export function routeUrl(base: string, operation: Operation, ids: Record<string, string> = {}): string {",
        "  const path = ROUTES[operation].path.replace(/\\{(\\w+)\\}/g, (_, name: string) => {",
        "    const id = ids[name];",
        "    if (id === undefined) throw new TypeError(`agent-streams: ${operation} needs ${name}`);",
        "    return encodeURIComponent(id);",
        "  });",
        '  return base.replace(/\\/+$/, "") + path;',
        "}",
    ]
    return lines


def render(document: dict[str, Any]) -> str:
    """``wire.ts`` for an OpenAPI document."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    writer = _Writer(schemas)
    parts = [_HEADER]
    parts.extend(writer.declaration(key, schemas[key]) + "\n" for key in sorted(schemas))
    parts.append("\n".join(_routes(document)) + "\n")
    return "\n".join(parts)
