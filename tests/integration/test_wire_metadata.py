"""A stream's metadata is one declaration (``agent_streams_protocol.shapes.StreamMetadata``):
every field of it — whatever fields it has — goes from ``create_stream`` to storage and
back out in ``get_stream`` and ``list_streams``, over HTTP, direct invoke and the Python
client, and is documented. Values are made from each field's own JSON schema, so a field
added to the declaration is covered here without a word changed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import boto3
from pydantic import TypeAdapter

from agent_streams_client.streams_client import StreamsClient
from agent_streams_protocol.shapes import StreamMetadata
from tests.conftest import REGION, Stack
from tests.helpers import ROOT, Api


def sample(schema: dict[str, Any]) -> Any:
    """A valid value of a field, from its JSON schema (not the simplest one: a round trip
    must keep it exactly)."""
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type")
    if kind == "string":
        return "vålue-" + "x" * min(8, schema.get("maxLength", 8))
    if kind == "integer":
        return schema.get("maximum", 7)
    if kind == "number":
        return 0.25
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(schema.get("items", {"type": "integer"}))]
    if kind == "object":
        inner = schema.get("additionalProperties")
        value = sample(inner) if isinstance(inner, dict) else {"nested": [1, 2.5, None]}
        return {"key": value}
    raise AssertionError(f"no sample for {schema}")


def metadata() -> dict[str, Any]:
    schema = TypeAdapter(StreamMetadata).json_schema()
    return {key: sample(field) for key, field in schema["properties"].items()}


def test_every_metadata_field_reaches_every_reply(api: Api, thread_id: str) -> None:
    meta = metadata()
    assert set(meta) == set(StreamMetadata.__annotations__)
    status, created = api.http(
        "create_stream",
        {"threadId": thread_id},
        body={"order": 3, "stepOrder": 1, **meta},
    )
    assert status == 201
    by_http = created["streamId"]
    by_direct = api.direct(
        "create_stream", {"threadId": thread_id, "order": 3, "stepOrder": 2, **meta}
    )

    for stream_id in (by_http, by_direct):
        status, state = api.http("get_stream", {"streamId": stream_id})
        assert status == 200
        assert {k: state[k] for k in meta} == meta
        assert api.direct("get_stream", {"streamId": stream_id}) == state
    status, listed = api.http("list_streams", {"threadId": thread_id})
    assert status == 200
    assert [s["streamId"] for s in listed] == [by_direct, by_http]
    for message in listed:
        assert set(message) == {"streamId", "status", "order", "stepOrder", *meta}
        assert {k: message[k] for k in meta} == meta
    assert api.direct("list_streams", {"threadId": thread_id}) == listed


def test_absent_metadata_stays_absent(api: Api, thread_id: str) -> None:
    stream_id = api.direct("create_stream", {"threadId": thread_id, "order": 0, "stepOrder": 0})
    state = api.direct("get_stream", {"streamId": stream_id})
    assert not set(state) & set(StreamMetadata.__annotations__)
    (listed,) = api.direct("list_streams", {"threadId": thread_id})
    assert set(listed) == {"streamId", "status", "order", "stepOrder"}


def test_the_metadata_is_one_stored_attribute(api: Api, stack: Stack, thread_id: str) -> None:
    """Stored as the wire has it, in one attribute (so the index projects it once)."""
    meta = metadata()
    stream_id = api.direct(
        "create_stream", {"threadId": thread_id, "order": 0, "stepOrder": 0, **meta}
    )
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=stack.settings.streams_table, Key={"streamId": {"S": stream_id}}
    )["Item"]
    assert json.loads(item["metadata"]["S"]) == meta
    assert not set(item) & set(meta)


def test_the_python_client_sends_any_metadata_field(api: Api, thread_id: str) -> None:
    meta = metadata()

    async def scenario() -> None:
        client = StreamsClient.in_process(api.direct, in_thread=False)
        stream_id = await client.create_stream(
            thread_id, order=0, step_order=0, metadata=meta, model="kept-over-metadata"
        )
        state = await client.get_stream(stream_id)
        assert {k: state.get(k) for k in meta} == {**meta, "model": "kept-over-metadata"}

    asyncio.run(scenario())


def test_every_metadata_field_is_documented() -> None:
    document = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    fields = set(StreamMetadata.__annotations__)
    for name in ("CreateStreamBody", "StreamMessage", "StreamState"):
        assert fields <= set(schemas[name]["properties"]), name
    assert not fields & set(schemas["StreamMessage"]["required"])
