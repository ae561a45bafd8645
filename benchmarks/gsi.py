"""Per-delta writes cause no index writes: the template's projection against what they touch.

DynamoDB writes a global secondary index only when a write changes an attribute
the index holds (its keys, the table's keys, and its projection). The
per-delta writes are add_delta's transaction and heartbeat_stream's update;
their requests are captured at the endpoint, the attributes each one sets or
removes are read from its ``UpdateExpression`` (or its ``Put`` item), and
compared with every index of the table it writes, as ``template.yaml`` defines it.
"""

from __future__ import annotations

import re
from typing import Any

from agent_streams_dev.local.template import load_template
from benchmarks.environment import Bench
from benchmarks.report import Row, check

SECTION = "gsi"
_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def updated_attributes(expression: str, names: dict[str, str]) -> set[str]:
    """The top-level attributes an ``UpdateExpression`` changes."""
    touched: set[str] = set()
    pieces = _CLAUSE.split(expression)
    for keyword, body in zip(pieces[1::2], pieces[2::2], strict=True):
        for action in _split_top_level(body):
            if keyword.upper() == "SET":
                path = action.split("=", 1)[0]
            else:
                path = action.split()[0]
            first = re.split(r"[.\[]", path.strip(), maxsplit=1)[0]
            touched.add(names.get(first, first))
    return touched


def index_attributes(table_properties: dict[str, Any]) -> dict[str, set[str] | None]:
    """Per index: the attributes it holds (None: all of them, ``ProjectionType: ALL``)."""
    table_keys = {k["AttributeName"] for k in table_properties["KeySchema"]}
    found: dict[str, set[str] | None] = {}
    for index in table_properties.get("GlobalSecondaryIndexes") or []:
        projection = index.get("Projection", {})
        if projection.get("ProjectionType") == "ALL":
            found[index["IndexName"]] = None
            continue
        held = table_keys | {k["AttributeName"] for k in index["KeySchema"]}
        held |= set(projection.get("NonKeyAttributes") or [])
        found[index["IndexName"]] = held
    return found


def _writes(body: dict[str, Any]) -> list[tuple[str, set[str]]]:
    """(table, attributes changed) for each write of a request body."""
    items = [next(iter(entry.items())) for entry in body.get("TransactItems", [])]
    if not items:
        items = [("Update" if "UpdateExpression" in body else "Put", body)]
    out = []
    for kind, op in items:
        if kind == "Update":
            names = op.get("ExpressionAttributeNames") or {}
            out.append((op["TableName"], updated_attributes(op["UpdateExpression"], names)))
        elif kind == "Put":
            out.append((op["TableName"], set(op["Item"])))
    return out


def run(bench: Bench) -> list[Row]:
    assert bench.api is not None
    assert bench.proxy is not None
    assert bench.stack is not None
    assert bench.stack.resources is not None
    api, proxy = bench.api, bench.proxy
    template = load_template()
    by_name = {
        name: template.tables()[logical].properties
        for logical, name in bench.stack.resources.table_names.items()
    }
    thread = api.thread()
    stream = api.stream(thread)
    with proxy.window(keep_bodies=True) as add:
        api.append(stream, 0)
    with proxy.window(keep_bodies=True) as beat:
        api.ok("POST", f"/streams/{stream}/heartbeat", {})

    rows = []
    for name, tally in (("add_delta", add), ("heartbeat_stream", beat)):
        gsi_writes = 0
        described = []
        for request in tally.select("dynamodb"):
            for table, attributes in _writes(request.body or {}):
                indexes = index_attributes(by_name[table])
                for held in indexes.values():
                    if held is None or attributes & held:
                        gsi_writes += 1
                logical = table.rsplit("-", 1)[-1].removesuffix("Table")
                note = "no index" if not indexes else f"{len(indexes)} index"
                described.append(f"{logical} {{{', '.join(sorted(attributes))}}} ({note})")
        figure = f"{gsi_writes}: " + "; ".join(described)
        rows.append(check(SECTION, f"{name}: index writes", figure, "0", gsi_writes == 0))
    return rows
