"""LambdaTransport with botocore's Stubber: function names, payloads, errors."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import botocore.session
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from agent_streams_client.errors import RemoteError, TransientError
from agent_streams_client.lambda_transport import LambdaTransport
from agent_streams_client.streams_client import StreamsClient
from agent_streams_protocol.errors import (
    DeltaConflict,
    StreamNotFound,
    ThreadDeleting,
    ValidationError,
)

from .fake_clock import run

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient


def payload(value: Any) -> StreamingBody:
    data = json.dumps(value).encode()
    return StreamingBody(io.BytesIO(data), len(data))


@pytest.fixture(scope="module")
def session() -> botocore.session.Session:
    # One session for the module: its loader caches the service model (fast clients).
    session = botocore.session.Session()
    session.set_credentials("AKID", "secret")
    return session


@pytest.fixture
def stubbed(session: botocore.session.Session) -> Iterator[tuple[StreamsClient, Stubber]]:
    lam = session.create_client("lambda", region_name="eu-west-1")
    with Stubber(lam) as stubber:
        transport = LambdaTransport(
            stack_name="agent-streams-dev", client=cast("LambdaClient", lam)
        )
        yield StreamsClient(transport), stubber
        stubber.assert_no_pending_responses()


def expect(stubber: Stubber, function: str, args: dict[str, Any], result: Any) -> None:
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": payload(result)},
        {
            "FunctionName": function,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(args, separators=(",", ":")).encode(),
        },
    )


def expect_error(stubber: Stubber, error_type: str, message: str) -> None:
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": payload({"errorType": error_type, "errorMessage": message}),
        },
    )


def test_direct_values_and_function_names(stubbed: tuple[StreamsClient, Stubber]) -> None:
    client, stubber = stubbed
    delta = {"streamId": "s1", "start": 0, "end": 1, "parts": [{"type": "start"}]}
    expect(
        stubber,
        "agent-streams-dev-create_stream",
        {"threadId": "th1", "order": 0, "stepOrder": 0},
        "s1",
    )
    expect(stubber, "agent-streams-dev-add_delta", delta, True)
    expect(
        stubber,
        "agent-streams-dev-list_deltas",
        {"threadId": "th1", "cursors": [{"streamId": "s1", "cursor": 0}]},
        [delta],
    )
    expect(stubber, "agent-streams-dev-finish_stream", {"streamId": "s1"}, None)
    expect(stubber, "agent-streams-dev-delete_thread", {"threadId": "th1"}, {"executionArn": "a"})

    async def body() -> None:
        assert await client.create_stream("th1", order=0, step_order=0) == "s1"
        assert await client.add_delta("s1", start=0, end=1, parts=[{"type": "start"}]) is True
        assert await client.list_deltas("th1", {"s1": 0}) == [delta]
        await client.finish_stream("s1")
        assert await client.delete_thread("th1") == {"executionArn": "a"}

    run(body())


@pytest.mark.parametrize(
    ("error_type", "message", "error", "check"),
    [
        ("StreamNotFound", "stream 's1' does not exist", StreamNotFound, None),
        ("ThreadDeleting", "thread 't' is being deleted", ThreadDeleting, None),
        ("ValidationError", "bad", ValidationError, None),
        (
            "DeltaConflict",
            "delta for stream 's1' starts at 3, but the stream expects start 5",
            DeltaConflict,
            ("expected_start", 5),
        ),
        ("ServiceUnavailable", "throttled", TransientError, ("maybe_processed", False)),
        ("Sandbox.Timedout", "Task timed out after 30.00 seconds", TransientError, None),
        (
            "Runtime.ImportModuleError",
            "No module named x",
            RemoteError,
            ("code", "Runtime.ImportModuleError"),
        ),
        ("KeyError", "'x'", RemoteError, ("error_type", "KeyError")),
    ],
)
def test_function_errors_map_to_contract_exceptions(
    stubbed: tuple[StreamsClient, Stubber],
    error_type: str,
    message: str,
    error: type[Exception],
    check: tuple[str, Any] | None,
) -> None:
    client, stubber = stubbed
    expect_error(stubber, error_type, message)
    with pytest.raises(error) as info:
        run(client.get_stream("s1"))
    if check is not None:
        assert getattr(info.value, check[0]) == check[1]
    assert str(info.value)


@pytest.mark.parametrize(
    ("code", "status", "maybe_processed"),
    [
        ("TooManyRequestsException", 429, False),
        ("ServiceException", 500, True),
        ("ResourceNotReadyException", 502, True),
    ],
)
def test_service_errors_are_transient(
    stubbed: tuple[StreamsClient, Stubber], code: str, status: int, maybe_processed: bool
) -> None:
    client, stubber = stubbed
    stubber.add_client_error("invoke", service_error_code=code, http_status_code=status)
    with pytest.raises(TransientError) as info:
        run(client.heartbeat_stream("s1"))
    assert info.value.maybe_processed is maybe_processed


def test_other_client_errors_are_not_transient(stubbed: tuple[StreamsClient, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "invoke", service_error_code="ResourceNotFoundException", http_status_code=404
    )
    with pytest.raises(RemoteError) as info:
        run(client.heartbeat_stream("s1"))
    assert info.value.code == "ResourceNotFoundException"


def test_connection_failure_is_transient_not_processed() -> None:
    session = botocore.session.Session()
    session.set_credentials("AKID", "secret")
    transport = LambdaTransport(
        stack_name="x",
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        botocore_session=session,
    )

    async def call() -> None:
        try:
            await transport.call("get_stream", {"streamId": "s1"})
        finally:
            await transport.close()

    with pytest.raises(TransientError) as info:
        run(call())
    assert info.value.maybe_processed is False


def test_custom_function_names_and_lazy_client() -> None:
    transport = LambdaTransport(stack_name="st", function_name=lambda op: f"fn-{op}")
    assert transport.function_name("add_delta") == "fn-add_delta"
    assert transport._client is None  # nothing created before the first call
