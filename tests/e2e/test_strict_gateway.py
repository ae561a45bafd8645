"""API Gateway's own answers on the local stack, over raw HTTP/1.1: every refusal is
JSON, nothing hangs, and ``agent-streams local`` exits soon after SIGTERM even with a request stalled."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agent_streams_dev.local.cli import STOP_GRACE_S
from agent_streams_dev.local.stack import LocalStack
from tests.e2e.conftest import LocalApi

pytestmark = pytest.mark.e2e


def exchange(url: str, raw: bytes, *, read_timeout: float = 10) -> tuple[int, dict[str, str], Any]:
    """Send ``raw`` bytes, read one response: status, headers (lower-case), JSON body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(raw)
        stream = sock.makefile("rb")
        status_line = stream.readline().decode("latin-1")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        while (line := stream.readline().decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = stream.read(int(headers.get("content-length", 0)))
    return status, headers, json.loads(body) if body else None


def request(
    method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class TestRefusalsAreJson:
    def test_an_unknown_method_or_route_is_404_like_an_http_api(
        self, local_stack: LocalStack
    ) -> None:
        for method, target in [
            ("OPTIONS", "/threads"),
            ("PATCH", "/threads"),
            ("BREW", "/threads"),  # not even an HTTP method: http.server would say 501, in HTML
            ("GET", "/threads"),  # a route exists for POST only
            ("GET", "/nowhere"),
        ]:
            status, headers, body = exchange(local_stack.url, request(method, target))
            assert (status, body) == (404, {"message": "Not Found"}), method
            assert headers["content-type"] == "application/json"
            assert "apigw-requestid" in headers

    def test_a_request_line_over_10240_bytes_is_refused(self, local_stack: LocalStack) -> None:
        status, _, body = exchange(local_stack.url, request("GET", "/threads/t?x=" + "a" * 10_240))
        assert (status, body) == (414, {"message": "Request-URI Too Long"})
        # Request line and header values count together.
        headers = {f"x-h{i}": "v" * 1000 for i in range(11)}
        status, _, body = exchange(local_stack.url, request("GET", "/threads/t", headers))
        assert (status, body) == (431, {"message": "Request Header Fields Too Large"})
        # …and a line over http.server's own limit is JSON too.
        status, _, body = exchange(local_stack.url, request("GET", "/t?x=" + "a" * 70_000))
        assert (status, body) == (414, {"message": "Request-URI Too Long"})

    def test_the_live_reads_are_behind_the_same_limits(self, local_stack: LocalStack) -> None:
        long = "/streams/s/events?cursor=" + "a" * 10_240
        status, headers, body = exchange(local_stack.url, request("GET", long))
        assert (status, body) == (414, {"message": "Request-URI Too Long"})
        assert "apigw-requestid" not in headers  # a Function URL's answer, not the API's
        headers = {f"x-h{i}": "v" * 1000 for i in range(11)}
        status, _, body = exchange(local_stack.url, request("GET", "/threads/t/stream", headers))
        assert (status, body) == (431, {"message": "Request Header Fields Too Large"})
        bad = request("GET", "/threads/t/stream", {"Content-Length": "x"})
        assert exchange(local_stack.url, bad)[::2] == (400, {"message": "Bad Request"})
        # Within the limits the app answers (a thread that does not exist).
        status, _, body = exchange(local_stack.url, request("GET", "/threads/t/stream"))
        assert (status, body["error"]) == (404, "ThreadNotFound")

    def test_just_under_the_limit_reaches_the_function(self, local_stack: LocalStack) -> None:
        prefix = "GET /threads/x?title= HTTP/1.1"
        target = "/threads/x?title=" + "a" * (10_240 - len(prefix) - len("localhost"))
        status, _, body = exchange(local_stack.url, request("GET", target))
        assert status == 422, body
        assert body["error"] == "ValidationError"

    @pytest.mark.parametrize("length", ["abc", "-1", "1.5", "0x10", " ", "5, 6"])
    def test_a_malformed_content_length_is_400(self, local_stack: LocalStack, length: str) -> None:
        raw = request(
            "POST", "/threads", {"Content-Length": length, "Content-Type": "application/json"}
        )
        status, headers, body = exchange(local_stack.url, raw + b"{}")
        assert (status, body) == (400, {"message": "Bad Request"})
        assert headers["connection"] == "close"

    def test_two_different_content_lengths_are_400(self, local_stack: LocalStack) -> None:
        raw = request("POST", "/threads", {"Content-Length": "2", "content-length": "3"}) + b"{} "
        assert exchange(local_stack.url, raw)[::2] == (400, {"message": "Bad Request"})

    def test_a_body_over_10_mb_is_413(self, local_stack: LocalStack) -> None:
        raw = request("POST", "/threads", {"Content-Length": str(10 * 1024 * 1024 + 1)})
        status, _, body = exchange(local_stack.url, raw + b"x" * (10 * 1024 * 1024 + 1))
        assert (status, body) == (413, {"message": "Request Entity Too Large"})
        # Declared far over it: refused without reading it.
        started = time.monotonic()
        raw = request("POST", "/threads", {"Content-Length": str(10**12)})
        assert exchange(local_stack.url, raw)[::2] == (413, {"message": "Request Entity Too Large"})
        assert time.monotonic() - started < 2

    def test_a_body_shorter_than_declared_is_400_when_the_client_closes(
        self, local_stack: LocalStack
    ) -> None:
        host, port = local_stack.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request("POST", "/threads", {"Content-Length": "100"}) + b"{}")
            sock.shutdown(socket.SHUT_WR)
            reply = sock.makefile("rb").read()
        assert reply.startswith(b"HTTP/1.1 400 ")
        assert reply.endswith(b'{"message":"Bad Request"}')


class TestChunkedBodies:
    def chunked(self, *chunks: bytes, trailer: bytes = b"") -> bytes:
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
        return body + b"0\r\n" + trailer + b"\r\n"

    def test_a_chunked_body_is_read_whole(self, local_stack: LocalStack, api: LocalApi) -> None:
        headers = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}
        body = self.chunked(b'{"title": ', b'"chunked', b' thread"}')
        status, _, reply = exchange(local_stack.url, request("POST", "/threads", headers, body))
        assert status == 201, reply
        assert api.get(f"/threads/{reply['threadId']}")[1]["title"] == "chunked thread"

    @pytest.mark.parametrize(
        "body",
        [b"zz\r\n{}\r\n0\r\n\r\n", b"5\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n"],
        ids=["not-hex", "short-chunk", "no-crlf"],
    )
    def test_malformed_chunks_are_400(self, local_stack: LocalStack, body: bytes) -> None:
        raw = request("POST", "/threads", {"Transfer-Encoding": "chunked"}, body)
        assert exchange(local_stack.url, raw)[::2] == (400, {"message": "Bad Request"})

    def test_a_length_with_a_coding_or_another_coding_is_400(self, local_stack: LocalStack) -> None:
        both = {"Transfer-Encoding": "chunked", "Content-Length": "2"}
        raw = request("POST", "/threads", both, self.chunked(b"{}"))
        assert exchange(local_stack.url, raw)[::2] == (400, {"message": "Bad Request"})
        raw = request("POST", "/threads", {"Transfer-Encoding": "gzip"}, b"{}")
        assert exchange(local_stack.url, raw)[::2] == (400, {"message": "Bad Request"})

    def test_chunks_over_10_mb_are_413(self, local_stack: LocalStack) -> None:
        chunk = b"x" * (1024 * 1024)
        raw = request(
            "POST", "/threads", {"Transfer-Encoding": "chunked"}, self.chunked(*[chunk] * 11)
        )
        assert exchange(local_stack.url, raw)[::2] == (413, {"message": "Request Entity Too Large"})


# -- the process ----------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``agent-streams local`` in a process of its own, ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "agent_streams_dev.cli", "local", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = ""
        deadline = time.monotonic() + 120
        while "ready on" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail(f"agent-streams local exited: {process.returncode}")
        yield process, line.rsplit(" ", 1)[1].strip()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_ends_the_process_despite_a_stalled_request(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = served
    host, port = url.removeprefix("http://").split(":")
    # In flight: a request whose body never comes.
    stalled = socket.create_connection((host, int(port)))
    stalled.sendall(request("POST", "/threads", {"Content-Length": "1000"}) + b"{")
    status, _, _ = exchange(url, request("POST", "/threads", {"Content-Length": "2"}, b"{}"))
    assert status == 201
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    took = time.monotonic() - sent
    stalled.close()
    # The stalled request would hold the process forever without the grace period; the
    # margin over it is for a busy machine's scheduling, not part of the promise.
    assert took < STOP_GRACE_S + 3, f"exited {took:.2f} s after SIGTERM"
    assert process.returncode == 0
