"""Logs, metrics and traces: the correlation id on every log line, the metric registry,
503s counted, the ``stack`` dimension, and X-Ray loaded only for recorded invocations."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agent_streams import observability
from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.config import reset_settings
from agent_streams.observability import METRICS, logger, metrics, recorded
from agent_streams_protocol.errors import ServiceUnavailable
from agent_streams_protocol.markers import TypedDict, closed
from agent_streams_protocol.routes import Route
from tests.helpers import ROOT, FakeLambdaContext, http_event

LAYER = ROOT / "layers"


@closed
class ProbeArgs(TypedDict, total=False):
    outcome: str


def probe(args: ProbeArgs) -> str:
    """Logs twice, then does what the arguments ask."""
    logger.warning("probe started")
    logger.warning("probe still running", extra={"step": 2})
    outcome = args.get("outcome", "ok")
    if outcome == "unavailable":
        raise ServiceUnavailable("DynamoDB kept throttling")
    return outcome


PROBE = Operation[ProbeArgs, str](
    name="probe",
    arguments=ProbeArgs,
    run=probe,
    direct=lambda result: result,
    http=HttpRoute(Route("probe", "POST", "/probe", ProbeArgs, None, "probe", body=True),
                   reply=lambda result: Reply(200, {"result": result})),
)  # fmt: skip


@pytest.fixture
def log_lines() -> Iterator[Any]:
    """Reads every line the service logger wrote so far, as JSON, formatted as in Lambda."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Metrics on, with a stack name; yields a reader of the EMF documents printed so far."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("STACK_NAME", "streams-prod")
    reset_settings()

    def read() -> list[dict[str, Any]]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]

    yield read
    metrics.clear_default_dimensions()
    metrics.clear_metrics()
    reset_settings()


def test_every_log_line_carries_the_request_id(log_lines: Any) -> None:
    handler = lambda_handler(PROBE)
    event = http_event("POST", "/probe", body={})
    event["requestContext"]["requestId"] = "Xy11AbCdIAMEbVw="
    assert handler(event, FakeLambdaContext(aws_request_id="lambda-1"))["statusCode"] == 200
    assert handler({}, FakeLambdaContext(aws_request_id="lambda-2")) == "ok"  # direct invoke
    handler(http_event("POST", "/probe", body={}), FakeLambdaContext(aws_request_id="lambda-3"))

    records = log_lines()
    assert [r["message"] for r in records] == ["probe started", "probe still running"] * 3
    # API Gateway's request id over HTTP, Lambda's for a direct invoke; never a previous one.
    assert [r["correlation_id"] for r in records] == [
        "Xy11AbCdIAMEbVw=",
        "Xy11AbCdIAMEbVw=",
        "lambda-2",
        "lambda-2",
        "test-request",
        "test-request",
    ]
    assert [r["function_request_id"] for r in records[::2]] == ["lambda-1", "lambda-2", "lambda-3"]


def test_a_503_is_counted_with_the_stack_dimension(emitted: Any) -> None:
    handler = lambda_handler(PROBE)
    reply = handler(
        http_event("POST", "/probe", body={"outcome": "unavailable"}), FakeLambdaContext()
    )
    assert reply["statusCode"] == 503
    with pytest.raises(ServiceUnavailable):
        handler({"outcome": "unavailable"}, FakeLambdaContext())
    handler({"outcome": "fine"}, FakeLambdaContext())

    documents = emitted()
    counted = [d for d in documents if "ServiceUnavailable" in d]
    assert len(counted) == 2  # one per failed invocation, HTTP and direct
    for document in counted:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "AgentStreams"
        assert [sorted(d) for d in directive["Dimensions"]] == [["service", "stack"]]
        assert document["service"] == "agent-streams"
        assert document["stack"] == "streams-prod"
        assert document["ServiceUnavailable"] == [1.0]


def _counted_names() -> set[str]:
    names: set[str] = set()
    for path in (LAYER / "agent_streams" / "agent_streams").rglob("*.py"):
        names.update(re.findall(r'\bcount\(\s*"([A-Za-z]+)"', path.read_text(encoding="utf-8")))
    return names


def test_the_metric_registry_is_what_the_code_counts() -> None:
    assert _counted_names() == set(METRICS)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("Root=1-65f0c0de-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0", False),
        ("Root=1-65f0c0de-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1", True),
        ("Root=1-65f0c0de-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=?", True),
        ("Root=1-65f0c0de-0123456789abcdef01234567;Lineage=a87bd80c:1;Sampled=1", True),
        ("Root=1-65f0c0de-0123456789abcdef01234567", True),
    ],
)
def test_which_invocations_x_ray_may_record(header: str | None, expected: bool) -> None:
    assert recorded(header) is expected


TRACE = "Root=1-65f0c0de-0123456789abcdef0123456{n};Parent=0123456789abcdef;Sampled={s}"

#: Three invocations of get_thread in a fresh interpreter laid out as in Lambda: not
#: sampled, sampled, sampled. Each is a direct invoke with bad arguments, so it fails
#: without reaching AWS (and the subsegment records the error).
TRACED_SCRIPT = """
import json, os, sys
import app

class Context:
    function_name = "agent-streams-get_thread"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:agent-streams-get_thread"
    aws_request_id = "r"
    def get_remaining_time_in_millis(self):
        return 10000

def invoke(sampled, n):
    os.environ["_X_AMZN_TRACE_ID"] = TRACE.format(n=n, s=sampled)
    try:
        app.handler({"threadId": "not an id!"}, Context())
    except Exception as exc:
        return type(exc).__name__

seen = {"errors": [invoke(0, 1)], "xray_after_unsampled": "aws_xray_sdk" in sys.modules}
seen["errors"] += [invoke(1, 2), invoke(1, 3)]
import botocore.client
seen["botocore_patched"] = bool(getattr(botocore.client, "_xray_enabled", False))
print(json.dumps(seen))
"""


def test_x_ray_is_loaded_and_records_only_for_sampled_invocations() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "functions" / "get_thread"), *(p for p in sys.path if p)]
        ),
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "get_thread"),
        "AWS_LAMBDA_FUNCTION_NAME": "agent-streams-get_thread",
        "AWS_REGION": "us-east-1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
        "POWERTOOLS_SERVICE_NAME": "agent-streams",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "THREADS_TABLE": "t",
        "STREAMS_TABLE": "s",
        "DELTAS_TABLE": "d",
    }
    script = f"TRACE = {TRACE!r}\n" + TRACED_SCRIPT
    reply = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT / "functions" / "get_thread",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert reply.returncode == 0, reply.stderr
    seen = json.loads(reply.stdout.strip().splitlines()[-1])
    assert seen["errors"] == ["ValidationError"] * 3
    assert seen["xray_after_unsampled"] is False
    assert seen["botocore_patched"] is True

    subsegments = []
    while len(subsegments) < 2:
        payload, _ = listener.recvfrom(65536)
        header, body = payload.decode().split("\n", 1)
        assert json.loads(header) == {"format": "json", "version": 1}
        subsegments.append(json.loads(body))
    listener.close()
    assert [s["name"] for s in subsegments] == ["## handle", "## handle"]
    assert [s["trace_id"][-1] for s in subsegments] == ["2", "3"]
    # The first invocation of the process was the unsampled one: neither is a cold start.
    assert [s["annotations"] for s in subsegments] == [
        {"ColdStart": False, "Service": "agent-streams"},
        {"ColdStart": False, "Service": "agent-streams"},
    ]
    # The SDK records the raised error on the subsegment.
    assert all(s.get("fault") or s.get("error") for s in subsegments)
    assert subsegments[0]["cause"]["exceptions"][0]["type"] == "ValidationError"


def test_the_first_invocation_is_the_cold_one(monkeypatch: pytest.MonkeyPatch) -> None:
    observability.reset_tracer()
    seen: list[bool] = []

    class Subsegment:
        def put_annotation(self, key: str, value: Any) -> None:
            if key == "ColdStart":
                seen.append(value)

        def __enter__(self) -> Subsegment:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    class Provider:
        def in_subsegment(self, name: str) -> Subsegment:
            return Subsegment()

    class FakeTracer:
        provider = Provider()

    monkeypatch.setattr(observability, "tracer", lambda: FakeTracer())
    monkeypatch.setenv(observability.TRACE_HEADER, TRACE.format(n=1, s=1))
    traced = observability.capture_lambda_handler(lambda event, context: event)
    assert [traced(n, None) for n in range(3)] == [0, 1, 2]
    assert seen == [True, False, False]
    observability.reset_tracer()
