"""``sam local``, without Docker: every function run the way ``sam local invoke`` runs it.

Against a moto server whose resources the project's own command made (``agent-streams
create-resources``), each function gets the environment ``sam local invoke --env-vars
local.env.json --region us-east-1`` gives it, as the SAM CLI's own code builds it
(``sam_local_env.py``, run by the SAM CLI's Python: the template's Globals and the
function's variables, ``!Ref``s resolved as the SAM CLI resolves them, then the file), plus
what the python3.13 image adds (``LAMBDA_TASK_ROOT``, ``_HANDLER``); its handler runs in a
fresh interpreter with the function's folder and the layer's packages on the path, and the
sample event of ``events/`` (as ``-e`` passes it). Only the endpoint differs from the
committed file: this test's moto server instead of ``host.docker.internal:5000``.

Before each event, ``sam_local_seed`` sets the state the event's story needs; every event
must get its success reply, and every log line must carry the request id.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_streams.api.http import is_http_event
from agent_streams_dev.local.template import load_template
from tests.helpers import EVENTS, ROOT
from tests.integration.test_events import (
    DIRECT_SCHEMAS,
    EVENT_FILES,
    EXPECTED,
    STREAM,
    THREAD,
    check_http_reply,
    operation_of,
    validate,
)

REGION = "us-east-1"
ENV_FILE = ROOT / "local.env.json"
#: The SAM CLI's Python (`make tools`); SAM_CLI_PYTHON names another.
SAM_CLI_PYTHON = Path(os.environ.get("SAM_CLI_PYTHON", ROOT / ".venv-tools" / "bin" / "python"))
LAYER_PATH = [ROOT / "layers" / "agent_streams", ROOT / "layers" / "agent_streams_protocol"]

#: What the python3.13 runtime does with an event: import the handler, call it with a
#: context, hand back the return value or the error.
RUNNER = """
import importlib, json, os, sys, time
event = json.load(open(sys.argv[1], encoding="utf-8"))
module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = "arn:aws:lambda:{}:{}:function:{}".format(
        os.environ["AWS_REGION"], os.environ["AWS_ACCOUNT_ID"], function_name)
    aws_request_id = sys.argv[2]
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    _deadline = time.monotonic() + int(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"])

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

handler = getattr(importlib.import_module(module_name), attribute)
try:
    outcome = {"result": handler(event, Context())}
except Exception as exc:
    outcome = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
import gc
outcome["collecting"] = gc.isenabled()  # never left off after the first invocation
print("INVOCATION " + json.dumps(outcome))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def created(moto_url: str) -> str:
    """``agent-streams create-resources --sample-data`` against the moto server."""
    reply = subprocess.run(
        [sys.executable, "-m", "agent_streams_dev.cli", "create-resources",
         "--aws-endpoint", moto_url, "--sample-data"],
        env={**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"},
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert reply.returncode == 0, reply.stderr
    return reply.stdout


@pytest.fixture(scope="module")
def sam(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the SAM CLI makes of the template with local.env.json (endpoint: this moto)."""
    if not SAM_CLI_PYTHON.exists():
        pytest.fail(f"the SAM CLI's Python is missing at {SAM_CLI_PYTHON}: run `make tools`")
    folder = tmp_path_factory.mktemp("sam")
    overrides = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    overrides["Parameters"]["AWS_ENDPOINT_URL"] = moto_url
    env_file = folder / "env.json"
    env_file.write_text(json.dumps(overrides), encoding="utf-8")
    reply = subprocess.run(
        [str(SAM_CLI_PYTHON), str(ROOT / "tests" / "integration" / "sam_local_env.py"),
         str(ROOT / "template.yaml"), str(env_file), REGION],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(folder), "SAM_CLI_TELEMETRY": "0"},
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert reply.returncode == 0, reply.stderr
    found: dict[str, Any] = json.loads(reply.stdout)
    return found


def function_of(sam: dict[str, Any], operation: str) -> dict[str, Any]:
    logical_id = load_template().functions()[operation].logical_id
    function: dict[str, Any] = sam["functions"][logical_id]
    return function


def invoke(
    sam: dict[str, Any], operation: str, event_path: Path
) -> tuple[str, dict[str, Any], list[Any]]:
    """Run the function's handler on the event as sam local would: (request id, outcome,
    the JSON lines it printed)."""
    function = function_of(sam, operation)
    env = {
        **function["environment"],
        "LAMBDA_TASK_ROOT": function["code"],
        "_HANDLER": function["handler"],
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([function["code"], *map(str, LAYER_PATH)]),
    }
    request_id = str(uuid.uuid4())
    reply = subprocess.run(
        [sys.executable, "-c", RUNNER, str(event_path), request_id],
        env=env, cwd=function["code"], capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert reply.returncode == 0, reply.stderr
    lines = reply.stdout.splitlines()
    (outcome,) = [
        json.loads(line[len("INVOCATION ") :]) for line in lines if line.startswith("INVOCATION ")
    ]
    printed = [json.loads(line) for line in lines if line.startswith("{")]
    return request_id, outcome, printed


@pytest.fixture(scope="module")
def seeder(sam: dict[str, Any], created: str) -> Iterator[Any]:
    """A process setting the state each event needs (see sam_local_seed)."""
    env = {
        **function_of(sam, "delete_thread")["environment"],
        "PATH": os.environ.get("PATH", ""),
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sam_local_seed"],
        env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None

    def seed(operation: str) -> None:
        process.stdin.write(operation + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        answer = process.stdout.readline().strip()  # type: ignore[union-attr]
        assert answer == "ok", answer

    yield seed
    process.stdin.close()
    process.wait(timeout=60)


def test_the_env_file_names_what_create_resources_made(moto_url: str, created: str) -> None:
    import boto3

    names = json.loads(ENV_FILE.read_text(encoding="utf-8"))["Parameters"]

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_url, region_name=REGION,
                            aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip

    tables = set(client("dynamodb").list_tables()["TableNames"])
    assert {names["THREADS_TABLE"], names["STREAMS_TABLE"], names["DELTAS_TABLE"]} <= tables
    group = client("scheduler").get_schedule_group(Name=names["SCHEDULE_GROUP"])
    assert group["Name"] == names["SCHEDULE_GROUP"]
    queues = client("sqs").list_queues()["QueueUrls"]
    assert any(url.endswith("/" + names["SCHEDULER_DLQ_ARN"].rsplit(":", 1)[1]) for url in queues)
    buckets = {b["Name"] for b in client("s3").list_buckets()["Buckets"]}
    assert names["SPILL_BUCKET"] in buckets
    machine = names["DELETE_THREAD_STATE_MACHINE_ARN"]
    assert client("stepfunctions").describe_state_machine(stateMachineArn=machine)["name"]
    # Its functions are where the stack's own would be (schedules and the state machine target them).
    for variable in ("TIMEOUT_FUNCTION_ARN", "CLEANUP_FUNCTION_ARN"):
        assert names[variable].split(":function:")[1].startswith(names["STACK_NAME"] + "-")


def test_add_delta_runs_on_the_sample_data_as_created(sam: dict[str, Any], created: str) -> None:
    """What docs/local-stack.md shows: create-resources --sample-data, then the sample event."""
    assert f"thread {THREAD}" in created
    assert f"stream {STREAM}" in created
    _, outcome, printed = invoke(sam, "add_delta", EVENTS / "add_delta.json")
    reply = outcome["result"]
    assert reply["statusCode"] == 200, reply
    assert json.loads(reply["body"]) == {"accepted": True, "status": "streaming"}
    # The metrics it published carry the stack sam local's environment names.
    (emf,) = [line for line in printed if "_aws" in line]
    assert emf["DeltasWritten"] == [1.0]
    assert emf["stack"] == "agent-streams-local"


#: The live reads function runs under the Lambda Web Adapter (a layer sam local would
#: download with AWS credentials); locally, ``agent-streams local`` serves its routes.
LIVE_FUNCTION = "StreamEventsFunction"


def test_every_function_is_set_up_as_sam_local_runs_it(sam: dict[str, Any]) -> None:
    template = load_template()
    assert set(sam["functions"]) - {LIVE_FUNCTION} == {
        spec.logical_id for spec in template.functions().values()
    }
    names = json.loads(ENV_FILE.read_text(encoding="utf-8"))["Parameters"]
    for logical_id, function in sam["functions"].items():
        env = function["environment"]
        assert env["AWS_SAM_LOCAL"] == "true"
        assert env["AWS_REGION"] == REGION
        # The file's names replaced what sam local makes of the !Refs (ThreadsTable, ...).
        for variable in ("THREADS_TABLE", "STREAMS_TABLE", "DELTAS_TABLE", "SCHEDULE_GROUP",
                         "SCHEDULER_ROLE_ARN", "SCHEDULER_DLQ_ARN", "STACK_NAME",
                         "SPILL_BUCKET"):  # fmt: skip
            assert env[variable] == names[variable], (logical_id, variable)
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    delete_thread = sam["functions"]["DeleteThreadFunction"]["environment"]
    assert (
        delete_thread["DELETE_THREAD_STATE_MACHINE_ARN"] == names["DELETE_THREAD_STATE_MACHINE_ARN"]
    )


def test_start_api_serves_every_route_of_the_template(sam: dict[str, Any]) -> None:
    api_routes = [r for r in sam["routes"] if r["function"] != LIVE_FUNCTION]
    # With the HTTP API's CorsConfiguration, sam local answers preflights (OPTIONS) too.
    methods = [[m for m in r["methods"] if m != "OPTIONS"] for r in api_routes]
    assert all(len(m) == 1 for m in methods), api_routes
    routes = {(m[0], r["path"]): r["function"] for m, r in zip(methods, api_routes, strict=True)}
    expected = {(method, path): logical_id
                for logical_id, (method, path) in load_template().routes().items()}  # fmt: skip
    assert routes == expected


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in EVENT_FILES])
def test_event(path: Path, sam: dict[str, Any], seeder: Any) -> None:
    operation = operation_of(path)
    event = json.loads(path.read_text(encoding="utf-8"))
    seeder(operation)
    request_id, outcome, printed = invoke(sam, operation, path)
    assert "errorType" not in outcome, outcome
    assert outcome["collecting"] is True
    result = outcome["result"]

    if is_http_event(event):
        expected_status = 200 if operation == "streaming_messages" else EXPECTED[operation][0]
        assert result["statusCode"] == expected_status, result
        check_http_reply(event, result)
        correlation_id = event["requestContext"]["requestId"]
    else:
        if operation in DIRECT_SCHEMAS:
            validate(result, {"$ref": f"#/components/schemas/{DIRECT_SCHEMAS[operation]}"})
        correlation_id = request_id
    if operation == "add_delta" and not is_http_event(event):
        assert result is True
    if operation == "delete_thread_streams_page":
        assert result == {"isDone": True}

    # Every log line carries the request id (API Gateway's, or Lambda's for a direct invoke).
    log_lines = [line for line in printed if "level" in line]
    assert all(line["correlation_id"] == correlation_id for line in log_lines), log_lines
    if operation in ("delete_thread", "timeout_stream"):
        assert log_lines  # they log what they did
