"""Lambda's Invoke API on the local stack's port, from boto3 and the project's client.

Each call goes over HTTP to ``/2015-03-31/functions/{name}/invocations`` with a client
of its own botocore session: the stack's in-process ``before-call.lambda.Invoke`` hook
sits on boto3's default session only, so nothing here is served without the wire.
What botocore parses of each reply (``StatusCode``, ``FunctionError``, ``Payload``,
``LogResult``, the error code and message) is what is checked.
"""

from __future__ import annotations

import ast
import base64
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from agent_streams.observability import SERVICE
from agent_streams_client import StreamsClient
from agent_streams_dev.local.functions import ACCOUNT_ID
from agent_streams_dev.local.lambda_api import MAX_EVENT_REQUEST_BYTES, MAX_REQUEST_BYTES
from agent_streams_dev.local.stack import LocalStack
from agent_streams_dev.local.template import PROJECT_ROOT
from tests.e2e.client_fixtures import agent_reply, run
from tests.e2e.test_client_e2e import _contract_errors, _write_and_read_back
from tests.e2e.test_strict_gateway import exchange, request

pytestmark = pytest.mark.e2e

DOCS = PROJECT_ROOT / "docs" / "local-stack.md"
DOCS_URL = "http://127.0.0.1:3000"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def lambda_client(url: str, region: str = "us-east-1") -> Any:
    session = boto3.session.Session(
        region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
    )
    return session.client(
        "lambda", endpoint_url=url, config=Config(retries={"max_attempts": 1, "mode": "standard"})
    )


@pytest.fixture(scope="module")
def lam(local_stack: LocalStack) -> Any:
    return lambda_client(local_stack.url, local_stack.region)


class Invoker:
    def __init__(self, lam: Any, stack_name: str) -> None:
        self.lam = lam
        self.stack_name = stack_name

    def reply(self, operation: str, args: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The parsed reply, ``Payload`` read and decoded (None when empty)."""
        kwargs.setdefault("FunctionName", f"{self.stack_name}-{operation}")
        if args is not None:
            kwargs["Payload"] = json.dumps(args)
        reply = dict(self.lam.invoke(**kwargs))
        data = reply["Payload"].read()
        reply["Payload"] = json.loads(data) if data else None
        return reply

    def __call__(self, operation: str, args: Any = None, **kwargs: Any) -> Any:
        reply = self.reply(operation, args, **kwargs)
        assert "FunctionError" not in reply, reply["Payload"]
        assert (reply["StatusCode"], reply["ExecutedVersion"]) == (200, "$LATEST")
        return reply["Payload"]

    def stream(self) -> tuple[str, str]:
        thread_id = self("create_thread", {})["threadId"]
        return thread_id, self("create_stream", {"threadId": thread_id, "order": 0, "stepOrder": 0})

    def deltas(self, thread_id: str, stream_id: str) -> list[dict[str, Any]]:
        cursors = [{"streamId": stream_id, "cursor": 0}]
        return list(self("list_deltas", {"threadId": thread_id, "cursors": cursors}))


@pytest.fixture
def invoke(lam: Any, local_stack: LocalStack) -> Invoker:
    return Invoker(lam, local_stack.stack_name)


def part(text: str) -> dict[str, Any]:
    return {"type": "text-delta", "id": "t", "delta": text}


def delta(stream_id: str, start: int, *texts: str) -> dict[str, Any]:
    return {
        "streamId": stream_id,
        "start": start,
        "end": start + len(texts),
        "parts": [part(t) for t in texts],
    }


def service_error(call: Any) -> tuple[int, str, str, ClientError]:
    """(status, code, message, the exception) of a call Lambda refuses."""
    with pytest.raises(ClientError) as refused:
        call()
    response = refused.value.response
    error = response["Error"]
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == error["Code"]
    assert UUID.match(headers["x-amzn-requestid"])
    return status, error["Code"], error["Message"], refused.value


# -- the operations ------------------------------------------------------------------------


def test_a_stream_written_finished_and_read_back(invoke: Invoker) -> None:
    thread = invoke("create_thread", {"title": "boto3", "userId": "u1"})
    assert (thread["title"], thread["userId"], thread["status"]) == ("boto3", "u1", "active")
    assert invoke("get_thread", {"threadId": thread["threadId"]}) == thread
    stream_id = invoke(
        "create_stream", {"threadId": thread["threadId"], "order": 0, "stepOrder": 0}
    )
    assert isinstance(stream_id, str)
    assert invoke("add_delta", delta(stream_id, 0, "Hel", "lo")) is True
    assert invoke("add_delta", delta(stream_id, 0, "Hel", "lo")) is True  # a replay
    assert invoke("add_delta", delta(stream_id, 2, " you")) is True
    assert invoke("finish_stream", {"streamId": stream_id}) is None
    assert invoke("add_delta", delta(stream_id, 3, "late")) is False  # ended
    assert invoke.deltas(thread["threadId"], stream_id) == [
        delta(stream_id, 0, "Hel", "lo"),
        delta(stream_id, 2, " you"),
    ]
    assert invoke("get_stream", {"streamId": stream_id})["status"] == "finished"


def test_a_delta_for_a_missing_stream_is_false_not_an_error(invoke: Invoker) -> None:
    reply = invoke.reply("add_delta", delta("s_missing", 0, "x"))
    assert "FunctionError" not in reply
    assert reply["Payload"] is False


def test_a_conflict_is_an_unhandled_function_error_named_by_its_code(invoke: Invoker) -> None:
    thread_id, stream_id = invoke.stream()
    assert invoke("add_delta", delta(stream_id, 0, "a")) is True
    reply = invoke.reply("add_delta", delta(stream_id, 5, "b"))
    # As botocore parses Lambda's reply to an unhandled exception of the python3.13 runtime.
    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    assert reply["ExecutedVersion"] == "$LATEST"
    error = reply["Payload"]
    assert set(error) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert error["errorType"] == "DeltaConflict"
    assert error["errorMessage"] == (
        f"delta for stream {stream_id!r} starts at 5, but the stream expects start 1"
    )
    assert error["requestId"] == reply["ResponseMetadata"]["RequestId"]
    assert UUID.match(error["requestId"])
    trace = error["stackTrace"]
    assert all(isinstance(line, str) and line.startswith('  File "') for line in trace)
    assert "raise DeltaConflict(" in trace[-1]
    assert not any(
        name in line
        for line in trace
        for name in ("local/functions.py", "local/invocations.py", "lambda_api.py")
    )
    assert invoke.deltas(thread_id, stream_id) == [delta(stream_id, 0, "a")]  # nothing written


@pytest.mark.parametrize(
    ("operation", "args", "error_type"),
    [
        ("create_stream", {"threadId": "t_missing", "order": 0, "stepOrder": 0}, "ThreadNotFound"),
        ("get_stream", {"streamId": "s_missing"}, "StreamNotFound"),
        ("create_thread", {"title": 7}, "ValidationError"),
        ("create_thread", [], "ValidationError"),
    ],
)
def test_the_contracts_errors_are_their_error_types(
    invoke: Invoker, operation: str, args: Any, error_type: str
) -> None:
    reply = invoke.reply(operation, args)
    assert (reply["FunctionError"], reply["Payload"]["errorType"]) == ("Unhandled", error_type)


# -- names -----------------------------------------------------------------------------------


def test_a_function_is_named_by_name_logical_id_or_arn(
    invoke: Invoker, local_stack: LocalStack
) -> None:
    name = f"{local_stack.stack_name}-create_thread"
    arn = f"arn:aws:lambda:{local_stack.region}:{ACCOUNT_ID}:function:{name}"
    assert local_stack.functions is not None
    assert local_stack.functions.arn("create_thread") == arn
    forms: list[dict[str, Any]] = [
        {"FunctionName": name},
        {"FunctionName": "CreateThreadFunction"},
        {"FunctionName": arn},
        {"FunctionName": f"{ACCOUNT_ID}:function:{name}"},
        {"FunctionName": f"{name}:$LATEST"},
        {"FunctionName": f"{arn}:$LATEST"},
        {"FunctionName": name, "Qualifier": "$LATEST"},
        {"FunctionName": f"{arn}:$LATEST", "Qualifier": "$LATEST"},
    ]
    for i, form in enumerate(forms):
        assert invoke("create_thread", {"title": f"form {i}"}, **form)["title"] == f"form {i}"


@pytest.mark.parametrize(
    ("form", "missing"),
    [
        ({"FunctionName": "agent-streams-local-nope"}, "agent-streams-local-nope:$LATEST"),
        ({"FunctionName": "create_thread"}, "create_thread:$LATEST"),
        (
            {"FunctionName": "agent-streams-local-create_thread:7"},
            "agent-streams-local-create_thread:7",
        ),
        (
            {"FunctionName": "agent-streams-local-create_thread", "Qualifier": "live"},
            "agent-streams-local-create_thread:live",
        ),
    ],
)
def test_an_unknown_function_or_qualifier_is_resource_not_found(
    invoke: Invoker, local_stack: LocalStack, form: dict[str, Any], missing: str
) -> None:
    status, code, message, error = service_error(lambda: invoke.reply("x", {}, **form))
    arn = f"arn:aws:lambda:{local_stack.region}:{ACCOUNT_ID}:function:{missing}"
    assert (status, code, message) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {arn}",
    )
    assert isinstance(error, invoke.lam.exceptions.ResourceNotFoundException)
    assert error.response["Type"] == "User"  # a member of the modeled error


def test_another_region_or_account_is_not_found_and_a_bad_name_is_invalid(
    invoke: Invoker,
) -> None:
    name = "agent-streams-local-create_thread"
    status, code, message, _ = service_error(
        lambda: invoke.reply(
            "x", {}, FunctionName=f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:{name}"
        )
    )
    assert (status, code) == (404, "ResourceNotFoundException")
    assert message == "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
    status, code, message, _ = service_error(
        lambda: invoke.reply("x", {}, FunctionName=f"000000000000:function:{name}")
    )
    assert (status, code) == (404, "ResourceNotFoundException")
    assert (
        message
        == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST"
    )
    status, code, message, _ = service_error(
        lambda: invoke.reply("x", {}, FunctionName=f"{name}:$LATEST", Qualifier="live")
    )
    assert (status, code) == (400, "InvalidParameterValueException")
    assert (
        message
        == "The derived qualifier from the function name does not match the specified qualifier."
    )
    status, code, message, _ = service_error(
        lambda: invoke.reply("x", {}, FunctionName="no spaces allowed")
    )
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(
        "1 validation error detected: Value 'no spaces allowed' at 'functionName' failed to satisfy constraint"
    )


# -- invocation types and logs --------------------------------------------------------------


def test_dry_run_checks_and_runs_nothing(invoke: Invoker) -> None:
    thread_id, stream_id = invoke.stream()
    reply = invoke.reply("add_delta", delta(stream_id, 0, "x"), InvocationType="DryRun")
    assert (reply["StatusCode"], reply["Payload"]) == (204, None)
    assert "ExecutedVersion" not in reply
    assert invoke.deltas(thread_id, stream_id) == []
    status, code, _, _ = service_error(lambda: invoke.reply("nope", {}, InvocationType="DryRun"))
    assert (status, code) == (404, "ResourceNotFoundException")


def test_an_event_invocation_answers_202_and_runs_in_the_background(
    invoke: Invoker, local_stack: LocalStack
) -> None:
    thread_id, stream_id = invoke.stream()
    reply = invoke.reply("add_delta", delta(stream_id, 0, "queued"), InvocationType="Event")
    assert (reply["StatusCode"], reply["Payload"]) == (202, None)
    assert UUID.match(reply["ResponseMetadata"]["RequestId"])
    assert local_stack.lambda_api is not None
    assert local_stack.lambda_api.wait_for_events(timeout=30)
    assert invoke.deltas(thread_id, stream_id) == [delta(stream_id, 0, "queued")]
    # A failing Event invocation is still a 202: its error is the function's own.
    failing = invoke.reply("add_delta", delta(stream_id, 9, "x"), InvocationType="Event")
    assert failing["StatusCode"] == 202
    assert local_stack.lambda_api.wait_for_events(timeout=30)
    assert invoke.deltas(thread_id, stream_id) == [delta(stream_id, 0, "queued")]


def test_tail_returns_the_invocations_log(invoke: Invoker) -> None:
    _, stream_id = invoke.stream()
    ok = invoke.reply("add_delta", delta(stream_id, 0, "x"), LogType="Tail")
    request_id = ok["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(ok["LogResult"]).decode("utf-8")
    assert log.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
    assert f"\nEND RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: " in log
    assert "\tMemory Size: 512 MB\t\n" in log
    assert "[ERROR]" not in log
    failed = invoke.reply("add_delta", delta(stream_id, 4, "y"), LogType="Tail")
    log = base64.b64decode(failed["LogResult"]).decode("utf-8")
    assert "\n[ERROR] DeltaConflict: delta for stream " in log
    assert "\nTraceback (most recent call last):\n" in log
    assert "LogResult" not in invoke.reply("get_stream", {"streamId": stream_id})


def test_tail_holds_the_functions_powertools_log_lines(invoke: Invoker) -> None:
    service = logging.getLogger(SERVICE)
    level = service.level
    service.setLevel(logging.INFO)  # the stack runs at WARNING (setLevel clears level caches)
    try:
        reply = invoke.reply("add_delta", delta("s_missing", 0, "x"), LogType="Tail")
    finally:
        service.setLevel(level)
    assert reply["Payload"] is False
    lines = base64.b64decode(reply["LogResult"]).decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert [r["message"] for r in records] == ["delta for a missing stream"]
    assert records[0]["level"] == "INFO"
    assert records[0]["streamId"] == "s_missing"
    assert records[0]["function_request_id"] == reply["ResponseMetadata"]["RequestId"]
    assert records[0]["function_name"] == "agent-streams-local-add_delta"


# -- payloads ---------------------------------------------------------------------------------


def test_payloads_lambda_refuses(invoke: Invoker) -> None:
    name = "agent-streams-local-create_thread"
    too_big = b'{"title": "' + b"x" * MAX_REQUEST_BYTES + b'"}'
    status, code, message, error = service_error(
        lambda: invoke.lam.invoke(FunctionName=name, Payload=too_big)
    )
    assert (status, code) == (413, "RequestEntityTooLargeException")
    assert message == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    # Lambda's code for it, which botocore's model does not name: a plain ClientError.
    assert type(error) is ClientError

    event = json.dumps({"title": "x" * MAX_EVENT_REQUEST_BYTES}).encode()
    status, code, message, _ = service_error(
        lambda: invoke.lam.invoke(FunctionName=name, Payload=event, InvocationType="Event")
    )
    assert (status, code) == (413, "RequestEntityTooLargeException")
    assert message == (
        f"{len(event)} byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )
    # The same payload synchronously reaches the function, which has its own limits.
    reply = invoke.reply("create_thread", FunctionName=name, Payload=event)
    assert (reply["FunctionError"], reply["Payload"]["errorType"]) == (
        "Unhandled",
        "ValidationError",
    )

    for bad in (b"{not json", b"NaN", b"\xff\xfe"):
        status, code, message, error = service_error(
            lambda bad=bad: invoke.lam.invoke(FunctionName=name, Payload=bad)
        )
        assert isinstance(error, invoke.lam.exceptions.InvalidRequestContentException)
        assert (status, code) == (400, "InvalidRequestContentException")
        assert message.startswith(
            "Could not parse request body into json: Could not parse payload into json: "
        )


def test_no_payload_is_an_empty_object(invoke: Invoker) -> None:
    thread = invoke("create_thread", FunctionName="agent-streams-local-create_thread")
    assert thread["status"] == "active"
    assert "title" not in thread


def test_other_lambda_operations_are_not_served(invoke: Invoker) -> None:
    status, code, _, _ = service_error(lambda: invoke.lam.list_functions())
    assert (status, code) == (404, "UnknownOperationException")
    status, code, _, _ = service_error(
        lambda: invoke.lam.get_function(FunctionName="agent-streams-local-create_thread")
    )
    assert (status, code) == (404, "UnknownOperationException")


def test_the_ports_request_handling_holds_for_invoke(local_stack: LocalStack) -> None:
    target = f"/2015-03-31/functions/{local_stack.stack_name}-create_thread/invocations"
    # A chunked body is read whole and invoked with (the port buffers it).
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (b'{"title": ', b'"chunked"}'))
    raw = request("POST", target, {"Transfer-Encoding": "chunked"}, body + b"0\r\n\r\n")
    status, headers, reply = exchange(local_stack.url, raw)
    assert (status, reply["title"], reply["status"]) == (200, "chunked", "active")
    assert headers["x-amz-executed-version"] == "$LATEST"
    assert UUID.match(headers["x-amzn-requestid"])
    assert "apigw-requestid" not in headers  # Lambda's reply, not API Gateway's
    # Over the port's own 10 MB it is still Lambda's answer, with Lambda's limit.
    too_big = b"x" * (10 * 1024 * 1024 + 1)
    raw = request("POST", target, {"Content-Length": str(len(too_big))}, too_big)
    status, headers, reply = exchange(local_stack.url, raw)
    assert (status, headers["x-amzn-errortype"]) == (413, "RequestEntityTooLargeException")
    assert reply == {
        "Type": "User",
        "message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    }


# -- the project's client and the docs -------------------------------------------------------


def test_the_clients_lambda_transport_over_the_stacks_port(local_stack: LocalStack) -> None:
    parts = agent_reply(300, seed=16)
    session = botocore.session.Session()
    answered: list[str] = []

    def record(http_response: Any, **_: Any) -> None:
        answered.append(http_response.url)

    session.register("after-call.lambda.Invoke", record)

    async def scenario() -> None:
        client = StreamsClient.lambda_(
            stack_name=local_stack.stack_name,
            endpoint_url=local_stack.url,
            region=local_stack.region,
            botocore_session=session,
        )
        async with client:
            await _write_and_read_back(client, parts)
            await _contract_errors(client)

    run(scenario())
    # Every call went over the port (none was served by the stack's in-process hook).
    assert len(answered) > 20
    invocations = f"{local_stack.url}/2015-03-31/functions/{local_stack.stack_name}-"
    assert all(url.startswith(invocations) for url in answered), answered[:3]


def docs_block(language: str) -> str:
    section = DOCS.read_text(encoding="utf-8").split("\n## Lambda Invoke API\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, f"one {language} example expected in the Lambda Invoke API section"
    assert DOCS_URL in blocks[0]
    return str(blocks[0])


def user_env() -> dict[str, str]:
    """A user's shell: none of the AWS settings this process was given by the stack."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}


def test_the_docs_python_example_runs_against_the_stack(local_stack: LocalStack) -> None:
    code = docs_block("python").replace(DOCS_URL, local_stack.url)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=user_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["True", "Unhandled DeltaConflict"], done.stdout
    deltas = ast.literal_eval(lines[2])  # the printed list of deltas
    assert [(d["start"], d["end"]) for d in deltas] == [(0, 2)]
    assert deltas[0]["parts"][1] == {"type": "text-delta", "id": "t", "delta": "Hi"}


# -- --aws-endpoint ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def external_stack() -> Iterator[str]:
    """``agent-streams local --aws-endpoint`` on a moto server, both in processes of their own."""
    moto_port = _free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=user_env(),
    )
    stack: subprocess.Popen[str] | None = None
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", moto_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        stack = subprocess.Popen(
            [sys.executable, "-m", "agent_streams_dev.cli", "local", "--port", "0",
             "--aws-endpoint", f"http://127.0.0.1:{moto_port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=user_env(),
        )  # fmt: skip
        assert stack.stdout is not None
        ready = stack.stdout.readline()
        found = re.search(r"ready on (http://\S+)", ready)
        assert found, ready
        yield found.group(1)
    finally:
        for process in (stack, moto):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)


def test_the_invoke_api_in_aws_endpoint_mode(external_stack: str) -> None:
    invoke = Invoker(lambda_client(external_stack), "agent-streams-local")
    thread_id, stream_id = invoke.stream()
    assert invoke("add_delta", delta(stream_id, 0, "x")) is True
    conflict = invoke.reply("add_delta", delta(stream_id, 3, "y"))
    assert conflict["Payload"]["errorType"] == "DeltaConflict"
    assert invoke.deltas(thread_id, stream_id) == [delta(stream_id, 0, "x")]
    status, code, _, _ = service_error(lambda: invoke.reply("nope", {}))
    assert (status, code) == (404, "ResourceNotFoundException")
