"""The local stack's Lambda Invoke API (``local/lambda_api.py``) on small handlers of its own:
the runtime's reply and error shapes, the limits, the log tail. The stack's real functions
are invoked over HTTP in ``tests/e2e/test_lambda_invoke_e2e.py``."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agent_streams_dev.local.functions import ACCOUNT_ID, LocalFunction
from agent_streams_dev.local.invocations import MAX_RESPONSE_BYTES
from agent_streams_dev.local.lambda_api import InvokeReply, LambdaInvokeApi
from agent_streams_dev.local.lambda_log import LOG_TAIL_BYTES, log_tail
from agent_streams_dev.local.template import FunctionSpec

REGION = "us-east-1"
SERVICE_LOGGER = "lambda-api-test-service"


class Boom(Exception):
    """An error code of the test's own."""


def _raise_boom(event: Any) -> None:
    raise Boom(f"no {event['what']}")


def function(
    operation: str, handler: Callable[[Any, Any], Any], timeout: int = 10
) -> LocalFunction:
    spec = FunctionSpec(
        logical_id=f"{operation.title().replace('_', '')}Function",
        operation=operation,
        code_dir=Path("."),
        handler="app.handler",
        timeout=timeout,
        method=None,
        path=None,
    )
    name = f"teststack-{operation}"
    return LocalFunction(
        spec, name, f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}", handler
    )


seen_contexts: list[Any] = []
ran: threading.Event = threading.Event()


def echo(event: Any, context: Any) -> Any:
    seen_contexts.append(context)
    return event


def fail(event: Any, context: Any) -> Any:
    _raise_boom(event)


def chatty(event: Any, context: Any) -> Any:
    logging.getLogger(SERVICE_LOGGER).warning("service says %s", event["word"])
    logging.getLogger("lambda-api-test-other").error("other says %s", event["word"])
    return None


def returns(value: Any) -> Callable[[Any, Any], Any]:
    return lambda event, context: value


def mark(event: Any, context: Any) -> Any:
    ran.set()
    return None


def late(event: Any, context: Any) -> Any:
    logging.getLogger(SERVICE_LOGGER).warning("sleeping")
    threading.Event().wait(event["sleep"])
    return "too late"


@pytest.fixture
def api() -> Iterator[LambdaInvokeApi]:
    handlers: dict[str, Callable[[Any, Any], Any]] = {
        "echo": echo,
        "fail": fail,
        "chatty": chatty,
        "mark": mark,
        "huge": lambda event, context: "x" * event["size"],
        "unmarshallable": returns({1, 2}),
        "raw": returns(b"\x00raw"),
    }
    by_operation = {op: function(op, h) for op, h in handlers.items()}
    by_operation["late"] = function("late", late, timeout=1)
    functions = SimpleNamespace(by_operation=by_operation)
    service = logging.getLogger(SERVICE_LOGGER)
    formatted = logging.StreamHandler(io.StringIO())
    formatted.setFormatter(logging.Formatter("svc|%(levelname)s|%(message)s"))
    service.addHandler(formatted)
    api = LambdaInvokeApi(functions, region=REGION)  # type: ignore[arg-type]
    api.install_log_capture(SERVICE_LOGGER)
    seen_contexts.clear()
    ran.clear()
    yield api
    api.close()
    service.removeHandler(formatted)


def call(
    api: LambdaInvokeApi,
    name: str,
    payload: Any = None,
    *,
    raw: bytes | None = None,
    query: str = "",
    method: str = "POST",
    **headers: str,
) -> InvokeReply:
    body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
    return api.serve(
        method,
        f"/2015-03-31/functions/{name}/invocations",
        query,
        {k.replace("_", "-").lower(): v for k, v in headers.items()},
        body,
    )


def test_a_return_value_is_the_payload_as_the_runtime_encodes_it(api: LambdaInvokeApi) -> None:
    reply = call(api, "teststack-echo", {"text": "naïve — 🙂", "n": [1, 2.5, None]})
    assert reply.status == 200
    assert reply.headers["X-Amz-Executed-Version"] == "$LATEST"
    assert "X-Amz-Function-Error" not in reply.headers
    assert reply.body == '{"text": "naïve — 🙂", "n": [1, 2.5, null]}'.encode()
    context = seen_contexts[-1]
    assert context.aws_request_id == reply.headers["x-amzn-RequestId"]
    assert context.function_name == "teststack-echo"
    assert context.invoked_function_arn.endswith(":function:teststack-echo")
    assert 0 < context.get_remaining_time_in_millis() <= 10_000


def test_no_payload_is_an_empty_object_and_a_qualifier_reaches_the_context(
    api: LambdaInvokeApi,
) -> None:
    reply = call(api, "EchoFunction", query="Qualifier=%24LATEST")
    assert json.loads(reply.body) == {}
    assert seen_contexts[-1].invoked_function_arn.endswith(":function:teststack-echo:$LATEST")
    assert call(api, "teststack-raw").body == b"\x00raw"  # bytes go back as they are


def test_an_exception_is_the_runtimes_unhandled_error_payload(api: LambdaInvokeApi) -> None:
    reply = call(api, "teststack-fail", {"what": "luck"})
    assert reply.status == 200
    assert reply.headers["X-Amz-Function-Error"] == "Unhandled"
    error = json.loads(reply.body)
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert error["errorType"] == "Boom"
    assert error["errorMessage"] == "no luck"
    assert error["requestId"] == reply.headers["x-amzn-RequestId"]
    # traceback.format_list of the handler's frames, the invoker's own dropped.
    assert error["stackTrace"] == [
        f'  File "{__file__}", line {fail.__code__.co_firstlineno + 1}, in fail\n'
        "    _raise_boom(event)\n",
        f'  File "{__file__}", line {_raise_boom.__code__.co_firstlineno + 1}, in _raise_boom\n'
        "    raise Boom(f\"no {event['what']}\")\n",
    ]


def test_a_reply_over_lambdas_limit_is_response_size_too_large(api: LambdaInvokeApi) -> None:
    fits = call(api, "teststack-huge", {"size": MAX_RESPONSE_BYTES - 2})  # + 2 quotes
    assert (fits.status, len(fits.body)) == (200, MAX_RESPONSE_BYTES)
    assert "X-Amz-Function-Error" not in fits.headers
    over = call(api, "teststack-huge", {"size": MAX_RESPONSE_BYTES - 1})
    assert (over.status, over.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert json.loads(over.body) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_a_value_json_cannot_hold_is_a_marshal_error(api: LambdaInvokeApi) -> None:
    reply = call(api, "teststack-unmarshallable")
    error = json.loads(reply.body)
    assert reply.headers["X-Amz-Function-Error"] == "Unhandled"
    assert error["errorType"] == "Runtime.MarshalError"
    assert (
        error["errorMessage"]
        == "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert error["stackTrace"] == []
    assert error["requestId"] == reply.headers["x-amzn-RequestId"]


def test_past_its_timeout_the_function_is_sandbox_timedout(api: LambdaInvokeApi) -> None:
    # The one invocation path: the template's Timeout (1 s here) holds for Invoke too.
    reply = call(api, "teststack-late", {"sleep": 3}, x_amz_log_type="Tail")
    assert (reply.status, reply.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    request_id = reply.headers["x-amzn-RequestId"]
    assert json.loads(reply.body) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    lines = base64.b64decode(reply.headers["X-Amz-Log-Result"]).decode().splitlines()
    # The log the handler wrote on its own thread, and no runtime [ERROR] block.
    assert lines[1:3] == ["svc|WARNING|sleeping", f"END RequestId: {request_id}"]
    assert float(lines[3].split("Duration: ")[1].split(" ms")[0]) >= 1000


def test_tail_holds_the_invocations_log(api: LambdaInvokeApi) -> None:
    reply = call(api, "teststack-chatty", {"word": "hi"}, x_amz_log_type="Tail")
    request_id = reply.headers["x-amzn-RequestId"]
    lines = base64.b64decode(reply.headers["X-Amz-Log-Result"]).decode().splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[1] == "svc|WARNING|service says hi"  # formatted as the logger's handler does
    assert lines[2] == f"END RequestId: {request_id}"
    assert lines[3].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert lines[3].endswith("\tMemory Size: 512 MB\t")
    assert len(lines) == 4  # another logger's record is not the functions' log
    # Without Tail nothing is kept, and other invocations' lines never mix in.
    assert "X-Amz-Log-Result" not in call(api, "teststack-chatty", {"word": "x"}).headers
    again = call(api, "teststack-fail", {"what": "x"}, x_amz_log_type="Tail")
    text = base64.b64decode(again.headers["X-Amz-Log-Result"]).decode()
    assert "says" not in text
    assert "\n[ERROR] Boom: no x\nTraceback (most recent call last):\n" in text
    assert '\n\u00a0\u00a0File "' in text  # the runtime indents with no-break spaces


def test_the_log_capture_leaves_the_root_logger_alone(api: LambdaInvokeApi) -> None:
    # A handler on the root logger would stop logging.lastResort printing the stack's
    # own warnings when nothing configured logging.
    assert not any(type(h).__name__ == "TailHandler" for h in logging.getLogger().handlers)


def test_the_tail_is_the_last_4_kb_from_a_whole_character() -> None:
    text = "é" * 3000 + "end\n"  # 6004 bytes
    tail = base64.b64decode(log_tail(text))
    assert len(tail) == LOG_TAIL_BYTES
    assert tail.decode("utf-8").endswith("éend\n")
    odd = base64.b64decode(log_tail("é" * 3000 + "ends\n"))  # the cut falls mid-character
    assert len(odd) == LOG_TAIL_BYTES - 1
    assert odd.decode("utf-8").startswith("é")


def test_event_answers_202_and_runs_the_function_after(api: LambdaInvokeApi) -> None:
    reply = call(api, "teststack-mark", {}, x_amz_invocation_type="Event")
    assert (reply.status, reply.body) == (202, b"")
    assert api.wait_for_events(timeout=10)
    assert ran.is_set()
    failing = call(api, "teststack-fail", {"what": "x"}, x_amz_invocation_type="Event")
    assert failing.status == 202
    assert api.wait_for_events(timeout=10)


def test_dry_run_runs_nothing(api: LambdaInvokeApi) -> None:
    reply = call(api, "teststack-mark", {}, x_amz_invocation_type="DryRun")
    assert (reply.status, reply.body) == (204, b"")
    assert not ran.is_set()
    bad = call(api, "teststack-mark", raw=b"{", x_amz_invocation_type="DryRun")
    assert bad.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"


def test_malformed_requests_are_validation_exceptions(api: LambdaInvokeApi) -> None:
    reply = call(api, "teststack-echo", {}, x_amz_invocation_type="Later", x_amz_log_type="All")
    assert (reply.status, reply.headers["x-amzn-ErrorType"]) == (400, "ValidationException")
    assert json.loads(reply.body) == {
        "message": "2 validation errors detected: "
        "Value 'Later' at 'invocationType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Event, RequestResponse, DryRun]; "
        "Value 'All' at 'logType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [None, Tail]"
    }
    assert not seen_contexts
    long_name = call(api, "a" * 300)
    assert (
        "Member must have length less than or equal to 256" in json.loads(long_name.body)["message"]
    )
    bad_qualifier = call(api, "teststack-echo", query="Qualifier=no%20way")
    assert (
        "at 'qualifier' failed to satisfy constraint" in json.loads(bad_qualifier.body)["message"]
    )


def test_only_invoke_is_served(api: LambdaInvokeApi) -> None:
    for method, path in (
        ("GET", "/2015-03-31/functions/teststack-echo/invocations"),
        ("GET", "/2015-03-31/functions/"),
        ("POST", "/2015-03-31/functions/teststack-echo/invoke-async"),
    ):
        reply = api.serve(method, path, "", {}, b"")
        assert (reply.status, reply.headers["x-amzn-ErrorType"]) == (
            404,
            "UnknownOperationException",
        )
