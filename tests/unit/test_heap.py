"""The collector around the first invocation: suspended while the AWS SDK loads, resumed
by the first AWS call (or the end of the invocation), and only in Lambda."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.helpers import ROOT

SCRIPT = """
import gc, json
from agent_streams import aws, heap
seen = {"before": gc.isenabled()}
heap.suspend()
seen["suspended"] = gc.isenabled()
seen["frozen"] = gc.get_freeze_count() > 0
client = aws.client("dynamodb", "us-east-1")
seen["after_client"] = gc.isenabled()
client.list_tables()
seen["after_call"] = gc.isenabled()
heap.resume()
seen["after_resume"] = gc.isenabled()
print(json.dumps(seen))
"""


@pytest.fixture
def endpoint() -> Iterator[str]:
    """An endpoint answering every request with an empty JSON object."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(endpoint: str, **env: str) -> dict[str, bool]:
    reply = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            **env,
        },
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert reply.returncode == 0, reply.stderr
    seen: dict[str, bool] = json.loads(reply.stdout.strip().splitlines()[-1])
    return seen


def test_in_lambda_collection_waits_for_the_first_aws_call(endpoint: str) -> None:
    assert run(endpoint, LAMBDA_TASK_ROOT="/var/task") == {
        "before": True,
        "suspended": False,
        "frozen": True,
        "after_client": False,  # loading the SDK: nothing to collect
        "after_call": True,  # the first call completed: collecting again
        "after_resume": True,
    }


def test_elsewhere_the_collector_is_left_alone(endpoint: str) -> None:
    seen = run(endpoint)
    assert seen == dict.fromkeys(seen, True) | {"frozen": False}
