"""``--aws-endpoint``: the local stack on an AWS endpoint in another process.

Such an endpoint cannot call this process's functions back, so the stack runs the
thread-deletion state machine itself; everything else goes to the endpoint.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = r"""
import json, sys, urllib.request
from agent_streams_dev.local.stack import LocalStack

def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

with LocalStack(port=0, aws_endpoint=sys.argv[1], stack_name="external") as stack:
    u = stack.url
    thread = call("POST", u + "/threads", {})[1]["threadId"]
    kept = call("POST", f"{u}/threads/{thread}/streams", {"order": 0, "stepOrder": 0})[1]["streamId"]
    assert call("POST", f"{u}/streams/{kept}/deltas", {"start": 0, "end": 1, "parts": [{"type": "x"}]})[1]["accepted"]
    big = {"type": "data-x", "data": "é" * 500_000}
    assert call("POST", f"{u}/streams/{kept}/deltas", {"start": 1, "end": 2, "parts": [big]})[1]["accepted"]
    print("spilled", call("GET", f"{u}/threads/{thread}/deltas?cursors={kept}:1")[1][0]["parts"] == [big])
    s3 = stack.client("s3")
    bucket = stack.resources.settings.spill_bucket
    print("objects", s3.list_objects_v2(Bucket=bucket).get("KeyCount"))
    stack.advance(600)
    print("status", call("GET", f"{u}/streams/{kept}")[1]["status"])
    print("delete", call("DELETE", f"{u}/threads/{thread}")[0])
    stack.wait_for_executions()
    print("thread", call("GET", f"{u}/threads/{thread}")[0])
    print("stream", call("GET", f"{u}/streams/{kept}")[0])
    print("left", s3.list_objects_v2(Bucket=bucket).get("KeyCount"))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def moto_server() -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "MOTO_"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: moto's teardown is slow
            server.kill()
            server.wait(timeout=10)


def test_the_stack_runs_on_an_endpoint_in_another_process(moto_server: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, moto_server],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines == {
        "spilled": "True",
        "objects": "1",
        "status": "aborted",
        "delete": "202",
        "thread": "404",
        "stream": "404",
        "left": "0",
    }
