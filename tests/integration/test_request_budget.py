"""What add_delta asks of AWS: one DynamoDB request and nothing else, unless a part is
large enough to spill (then one S3 ``PutObject`` per spilled part, before that request).

Every request attempt of every botocore client in the process is recorded where
botocore sends it (``Endpoint._get_response``, under moto's handler too), so a call to
any service, a retry, or a client the storage does not own would show here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.endpoint import Endpoint

from agent_streams_protocol.limits import MAX_PARTS_JSON_BYTES
from tests.conftest import Stack, spilled_objects
from tests.helpers import Api


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request attempt: (service, operation)."""
    sent: list[tuple[str, str]] = []
    original = Endpoint._get_response  # type: ignore[attr-defined]  # botocore-stubs omit it

    def recording(self: Endpoint, request: Any, operation_model: Any, context: Any) -> Any:
        sent.append((operation_model.service_model.endpoint_prefix, operation_model.name))
        return original(self, request, operation_model, context)

    monkeypatch.setattr(Endpoint, "_get_response", recording)
    return sent


def delta(stream_id: str, start: int, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"streamId": stream_id, "start": start, "end": start + len(parts), "parts": parts}


def text(size: int) -> dict[str, Any]:
    """A text part whose compact JSON is ``size`` bytes."""
    overhead = len(
        json.dumps({"type": "text-delta", "id": "t", "delta": ""}, separators=(",", ":"))
    )
    return {"type": "text-delta", "id": "t", "delta": "x" * (size - overhead)}


@pytest.mark.parametrize("transport", ["direct", "http"])
def test_add_delta_without_a_large_part_is_one_dynamodb_request(
    api: Api, stack: Stack, stream_id: str, requests: list[tuple[str, str]], transport: str
) -> None:
    batches = [
        [{"type": "start"}, {"type": "text-start", "id": "t"}],
        [text(200)] * 20,
        # The largest delta that is stored inline: no S3 either.
        [text(MAX_PARTS_JSON_BYTES - 2)],
    ]
    start = 0
    for parts in batches:
        requests.clear()
        args = delta(stream_id, start, parts)
        if transport == "http":
            body = {k: v for k, v in args.items() if k != "streamId"}
            status, body = api.http("add_delta", {"streamId": stream_id}, body=body)
            assert (status, body) == (200, {"accepted": True, "status": "streaming"})
        else:
            assert api.direct("add_delta", args) is True
        assert requests == [("dynamodb", "TransactWriteItems")]
        start += len(parts)
    assert spilled_objects(stack.settings) == []


def test_add_delta_with_large_parts_puts_each_then_one_dynamodb_request(
    api: Api, stack: Stack, stream_id: str, requests: list[tuple[str, str]]
) -> None:
    parts = [text(500_000), text(100), text(450_000)]
    assert api.direct("add_delta", delta(stream_id, 0, parts)) is True
    assert sorted(requests[:2]) == [("s3", "PutObject")] * 2
    assert requests[2:] == [("dynamodb", "TransactWriteItems")]
    assert len(spilled_objects(stack.settings)) == 2
