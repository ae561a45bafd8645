"""Lambda's limits on the local stack, over HTTP: the 6 MB reply, each function's
``Timeout`` (and what a late handler can still do), API Gateway's 30 s integration.

The functions here are test-only (``tests/e2e/functions``), wired into a copy of the
template, so the tests prove the stack's enforcement whatever the service's own
functions return today.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import urllib3

from agent_streams_dev.local.functions import FunctionError
from agent_streams_dev.local.invocations import MAX_RESPONSE_BYTES, marshal_response
from agent_streams_dev.local.stack import LocalStack
from tests.e2e.reliability_invariants import aws
from tests.e2e.strict_api import extra_api, function_resources

pytestmark = pytest.mark.e2e

SLEEP_TIMEOUT_S = 1


def envelope_bytes(body: str) -> int:
    """The bytes the python3.13 runtime returns for strict_reply's HTTP reply."""
    reply = {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": body}
    return len(json.dumps(reply, ensure_ascii=False).encode("utf-8"))


def largest_body(char: str) -> int:
    """How many ``char`` fit in a body whose envelope is exactly at the limit or just under."""
    per_char = envelope_bytes(char * 2) - envelope_bytes(char)
    return (MAX_RESPONSE_BYTES - envelope_bytes("")) // per_char


@pytest.fixture(scope="module")
def strict(local_stack: LocalStack) -> Iterator[str]:
    resources = {
        **function_resources("StrictReply", "strict_reply", timeout=10, route="GET /_test/reply"),
        **function_resources(
            "StrictSleep", "strict_sleep", timeout=SLEEP_TIMEOUT_S, route="POST /_test/sleep"
        ),
    }
    with extra_api(local_stack, resources) as url:
        yield url


def get(url: str, timeout: float = 60) -> tuple[int, bytes, float]:
    started = time.monotonic()
    reply = urllib3.request("GET", url, retries=False, timeout=timeout)
    return reply.status, reply.data, time.monotonic() - started


def marker_written(stack: LocalStack, marker: str) -> bool:
    assert stack.resources is not None
    found = aws(stack, "dynamodb").get_item(
        TableName=stack.resources.table_names["ThreadsTable"],
        Key={"threadId": {"S": marker}},
        ConsistentRead=True,
    )
    return "Item" in found


class TestSixMegabyteReplies:
    @pytest.mark.parametrize(
        "char",
        ["x", "é", '"', "\U0001f600"],
        ids=["ascii", "two-byte", "escaped-quote", "four-byte"],
    )
    def test_the_limit_is_on_the_envelope_in_utf8(self, strict: str, char: str) -> None:
        fits = largest_body(char)
        assert envelope_bytes(char * fits) <= MAX_RESPONSE_BYTES < envelope_bytes(char * (fits + 1))
        status, data, _ = get(f"{strict}/_test/reply?size={fits}&char={quote(char)}")
        assert status == 200
        assert data.decode("utf-8") == char * fits
        status, data, _ = get(f"{strict}/_test/reply?size={fits + 1}&char={quote(char)}")
        assert (status, json.loads(data)) == (500, {"message": "Internal Server Error"})

    def test_a_reply_under_6_mb_of_text_can_be_over_it_as_json(self, strict: str) -> None:
        # 3.2 MB of quotes: each is escaped in the envelope, which is then 6.4 MB.
        status, data, _ = get(f"{strict}/_test/reply?size=3200000&char=%22")
        assert (status, json.loads(data)) == (500, {"message": "Internal Server Error"})

    def test_a_direct_invoke_gets_lambdas_function_error(
        self, local_stack: LocalStack, strict: str
    ) -> None:
        assert local_stack.functions is not None
        function = local_stack.functions.by_operation["strict_reply"]
        assert function.invoke({"size": 1000}) == "x" * 1000
        with pytest.raises(FunctionError) as failed:
            function.invoke({"size": MAX_RESPONSE_BYTES})  # plus two quotes: over
        assert failed.value.payload == {
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        }

    def test_through_lambdas_invoke_api(self, local_stack: LocalStack, strict: str) -> None:
        assert local_stack.functions is not None
        import boto3

        name = local_stack.functions.by_operation["strict_reply"].name
        # boto3's default session: the one the stack answers Lambda invokes on (the
        # state machine's tasks reach the functions that way).
        client = boto3.client(
            "lambda", endpoint_url=local_stack.endpoint, region_name=local_stack.region
        )
        ok = client.invoke(FunctionName=name, Payload=json.dumps({"size": 10}))
        assert json.loads(ok["Payload"].read()) == "x" * 10
        failed = client.invoke(FunctionName=name, Payload=json.dumps({"size": MAX_RESPONSE_BYTES}))
        assert failed["FunctionError"] == "Unhandled"
        assert json.loads(failed["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"

    def test_the_runtime_serialises_as_python313_does(self) -> None:
        assert marshal_response({"a": "é"}) == '{"a": "é"}'.encode()  # not escaped
        with pytest.raises(FunctionError) as failed:
            marshal_response({"a": {1, 2}})
        assert failed.value.error_type == "Runtime.MarshalError"
        with pytest.raises(FunctionError) as failed:
            marshal_response("\ud800")  # a lone surrogate has no UTF-8
        assert failed.value.error_type == "Runtime.ExitError"


class TestTimeouts:
    def test_a_function_within_its_timeout_answers(
        self, local_stack: LocalStack, strict: str
    ) -> None:
        marker = f"marker-{uuid.uuid4()}"
        reply = urllib3.request(
            "POST", f"{strict}/_test/sleep?sleep=0.1&marker={marker}", retries=False
        )
        assert (reply.status, json.loads(reply.data)) == (200, {"written": True})
        assert marker_written(local_stack, marker)

    @pytest.mark.parametrize("via", ["thread", "pool"])
    def test_a_late_handler_is_stopped_and_cannot_write(
        self, local_stack: LocalStack, strict: str, via: str
    ) -> None:
        marker = f"marker-{uuid.uuid4()}"
        started = time.monotonic()
        reply = urllib3.request(
            "POST", f"{strict}/_test/sleep?sleep=1.6&marker={marker}&via={via}", retries=False
        )
        elapsed = time.monotonic() - started
        # Lambda's timeout is a function error: the HTTP API answers 500, at the timeout.
        assert (reply.status, json.loads(reply.data)) == (500, {"message": "Internal Server Error"})
        assert SLEEP_TIMEOUT_S <= elapsed < SLEEP_TIMEOUT_S + 0.5
        time.sleep(1.6 - elapsed + 0.6)  # the handler woke up and tried to write
        assert not marker_written(local_stack, marker)

    def test_a_direct_invoke_times_out_like_lambda(
        self, local_stack: LocalStack, strict: str
    ) -> None:
        assert local_stack.functions is not None
        function = local_stack.functions.by_operation["strict_sleep"]
        with pytest.raises(FunctionError) as failed:
            function.invoke({"sleep": 1.3, "marker": f"marker-{uuid.uuid4()}"})
        assert failed.value.error_type == "Sandbox.Timedout"
        assert "Task timed out after 1.00 seconds" in failed.value.payload["errorMessage"]

    def test_the_integration_timeout_is_a_503_and_the_function_runs_on(
        self, local_stack: LocalStack, strict: str
    ) -> None:
        # The HTTP API's 30 s, shortened to 0.5 s: the function's own timeout (1 s) is longer.
        resources = function_resources(
            "StrictSleep", "strict_sleep", timeout=SLEEP_TIMEOUT_S, route="POST /_test/slow"
        )
        with extra_api(local_stack, resources, integration_timeout_s=0.5) as url:
            marker = f"marker-{uuid.uuid4()}"
            started = time.monotonic()
            reply = urllib3.request(
                "POST", f"{url}/_test/slow?sleep=0.8&marker={marker}", retries=False
            )
            elapsed = time.monotonic() - started
            assert (reply.status, json.loads(reply.data)) == (
                503,
                {"message": "Service Unavailable"},
            )
            assert 0.5 <= elapsed < 0.9
            # On AWS the Lambda goes on after API Gateway gave up: its write lands.
            deadline = time.monotonic() + 3
            while not marker_written(local_stack, marker) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert marker_written(local_stack, marker)


def test_template_timeouts_are_the_functions_deadlines(local_stack: LocalStack) -> None:
    assert local_stack.functions is not None
    seen: dict[str, Any] = {}
    for operation, function in local_stack.functions.by_operation.items():
        if operation.startswith("strict_"):
            continue
        invocation = function.start({"not": "an event it accepts"})
        seen[operation] = round(invocation.deadline - time.monotonic())
        invocation.wait(5)
    assert seen["add_delta"] == 10  # Globals.Function.Timeout
    assert seen["streaming_messages"] == 29
    assert seen["delete_thread_streams_page"] == 900
