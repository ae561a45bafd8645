"""HttpTransport against a local http.server: routes, queries, bodies, replies, errors, auth."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest

from agent_streams_client.errors import TransientError, UnexpectedResponse
from agent_streams_client.http_transport import BearerToken, HttpTransport
from agent_streams_client.streams_client import StreamsClient
from agent_streams_protocol.errors import (
    DeltaConflict,
    DeltaTooLarge,
    StreamNotFound,
    ThreadDeleting,
    ThreadNotFound,
    ValidationError,
)

from .fake_clock import run


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes = b""


@dataclass
class Reply:
    status: int
    body: Any = None
    delay: float = 0.0


@dataclass
class Server:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def reply(self, status: int, body: Any = None, delay: float = 0.0) -> None:
        self.replies.append(Reply(status, body, delay))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls per reply

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            state.requests.append(
                Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    parts.query,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                    raw,
                )
            )
            reply = state.replies.pop(0) if state.replies else Reply(200, {})
            if reply.delay:
                time.sleep(reply.delay)
            data = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/prod"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_every_operation_maps_to_its_route_and_back(server: Server) -> None:
    thread = {"threadId": "th1", "status": "active", "createdAt": 1}
    stream_message = {"streamId": "s1", "status": "streaming", "order": 0, "stepOrder": 0}
    delta = {"streamId": "s1", "start": 0, "end": 2, "parts": [{"type": "start"}]}

    async def body() -> None:
        async with StreamsClient.http(server.url) as c:
            server.reply(201, thread)
            assert await c.create_thread(user_id="u1", title="T") == thread
            assert (server.last.method, server.last.path) == ("POST", "/prod/threads")
            assert server.last.body == {"userId": "u1", "title": "T"}

            server.reply(200, thread)
            assert await c.get_thread("th1") == thread
            assert (server.last.method, server.last.path, server.last.raw_body) == (
                "GET",
                "/prod/threads/th1",
                b"",
            )

            server.reply(202, {"executionArn": "arn:x"})
            assert await c.delete_thread("th1") == {"executionArn": "arn:x"}
            assert (server.last.method, server.last.path) == ("DELETE", "/prod/threads/th1")

            server.reply(201, {"streamId": "s1"})
            sid = await c.create_stream(
                "th1", order=3, step_order=1, format="UIMessageChunk", agent_name="a"
            )
            assert sid == "s1"
            assert (server.last.method, server.last.path) == ("POST", "/prod/threads/th1/streams")
            assert server.last.body == {
                "threadId": "th1",
                "order": 3,
                "stepOrder": 1,
                "format": "UIMessageChunk",
                "agentName": "a",
            }

            server.reply(200, [stream_message])
            listed = await c.list_streams("th1", start_order=2, statuses=["streaming", "finished"])
            assert listed == [stream_message]
            assert (server.last.method, server.last.path) == ("GET", "/prod/threads/th1/streams")
            assert server.last.query == {"startOrder": ["2"], "statuses": ["streaming,finished"]}
            assert server.last.raw_body == b""

            server.reply(200, [])
            assert await c.list_streams("th1") == []
            assert server.last.query == {}

            server.reply(200, [delta])
            assert await c.list_deltas("th1", {"s1": 0, "s2": 5}) == [delta]
            assert (server.last.method, server.last.path) == ("GET", "/prod/threads/th1/deltas")
            assert server.last.query == {"cursors": ["s1:0,s2:5"]}

            server.reply(200, [])
            await c.list_deltas("th1", [("s1", 4), {"streamId": "s3", "cursor": 7}])
            assert server.last.query == {"cursors": ["s1:4,s3:7"]}

            server.reply(200, {"aborted": True})
            assert await c.abort_streams_by_order("th1", order=3, reason="stop") is True
            assert (server.last.method, server.last.path) == (
                "POST",
                "/prod/threads/th1/streams/abort",
            )
            assert server.last.body == {"threadId": "th1", "order": 3, "reason": "stop"}

            server.reply(204)
            await c.delete_thread_streams("th1")
            assert (server.last.method, server.last.path) == ("DELETE", "/prod/threads/th1/streams")

            messages = [{"message": {"role": "assistant"}, "status": "success"}]
            server.reply(200, messages)
            got = await c.streaming_messages(
                "th1", order=3, step_order=2, status="failed", error="boom"
            )
            assert got == messages
            assert server.last.path == "/prod/threads/th1/streams/messages"
            assert server.last.query == {
                "order": ["3"],
                "stepOrder": ["2"],
                "status": ["failed"],
                "error": ["boom"],
            }

            state = {**stream_message, "threadId": "th1", "lastHeartbeat": 5, "nextStart": 2}
            server.reply(200, state)
            assert await c.get_stream("s1") == state
            assert (server.last.method, server.last.path) == ("GET", "/prod/streams/s1")

            server.reply(200, {"accepted": True, "status": "streaming"})
            assert await c.add_delta("s1", start=0, end=2, parts=[{"type": "start"}]) is True
            assert (server.last.method, server.last.path) == ("POST", "/prod/streams/s1/deltas")
            assert server.last.body == delta
            assert server.last.headers["content-type"] == "application/json"

            server.reply(200, {"accepted": False, "status": "aborted"})
            assert await c.add_delta("s1", start=2, end=3, parts=[{"type": "x"}]) is False

            server.reply(404, {"error": "StreamNotFound", "message": "stream 's1' does not exist"})
            assert await c.add_delta("s1", start=2, end=3, parts=[{"type": "x"}]) is False

            server.reply(204)
            await c.heartbeat_stream("s1")
            assert (server.last.method, server.last.path) == ("POST", "/prod/streams/s1/heartbeat")
            assert server.last.body == {"streamId": "s1"}

            server.reply(200, {"status": "finished"})
            final = {"start": 2, "end": 3, "parts": [{"type": "finish"}]}
            await c.finish_stream("s1", final_delta=final)
            assert (server.last.method, server.last.path) == ("POST", "/prod/streams/s1/finish")
            assert server.last.body == {"streamId": "s1", "finalDelta": {"streamId": "s1", **final}}

            server.reply(200, {"aborted": False})
            assert await c.abort_stream("s1", reason="why") is False
            assert (server.last.method, server.last.path) == ("POST", "/prod/streams/s1/abort")
            assert server.last.body == {"streamId": "s1", "reason": "why"}

            server.reply(204)
            await c.delete_stream("s1")
            assert (server.last.method, server.last.path, server.last.raw_body) == (
                "DELETE",
                "/prod/streams/s1",
                b"",
            )

    run(body())


@pytest.mark.parametrize(
    ("status", "body", "error", "check"),
    [
        (404, {"error": "StreamNotFound", "message": "m"}, StreamNotFound, None),
        (404, {"error": "ThreadNotFound", "message": "m"}, ThreadNotFound, None),
        (409, {"error": "ThreadDeleting", "message": "m"}, ThreadDeleting, None),
        (
            409,
            {"error": "DeltaConflict", "message": "m", "expectedStart": 7},
            DeltaConflict,
            ("expected_start", 7),
        ),
        (413, {"error": "DeltaTooLarge", "message": "m"}, DeltaTooLarge, None),
        (422, {"error": "ValidationError", "message": "bad cursor"}, ValidationError, None),
        (429, {"message": "Too Many Requests"}, TransientError, ("maybe_processed", False)),
        (
            503,
            {"error": "ServiceUnavailable", "message": "x"},
            TransientError,
            ("maybe_processed", False),
        ),
        (500, {"message": "Internal Server Error"}, TransientError, ("maybe_processed", True)),
        (502, None, TransientError, ("maybe_processed", True)),
        (504, {"message": "Endpoint request timed out"}, TransientError, ("maybe_processed", True)),
        (401, {"message": "Unauthorized"}, UnexpectedResponse, ("http_status", 401)),
        (404, {"message": "Not Found"}, UnexpectedResponse, ("http_status", 404)),
    ],
)
def test_error_replies_map_to_exceptions(
    server: Server,
    status: int,
    body: Any,
    error: type[Exception],
    check: tuple[str, Any] | None,
) -> None:
    async def call() -> None:
        async with StreamsClient.http(server.url) as c:
            server.reply(status, body)
            await c.get_stream("s1")

    with pytest.raises(error) as info:
        run(call())
    if check is not None:
        assert getattr(info.value, check[0]) == check[1]


def test_add_delta_404_without_the_contract_body_is_not_false(server: Server) -> None:
    async def call() -> bool:
        async with StreamsClient.http(server.url) as c:
            server.reply(404, {"message": "Not Found"})
            return await c.add_delta("s1", start=0, end=1, parts=[{"type": "x"}])

    with pytest.raises(UnexpectedResponse):
        run(call())


def test_a_malformed_success_reply_is_unexpected(server: Server) -> None:
    async def call() -> str:
        async with StreamsClient.http(server.url) as c:
            server.reply(201, {"id": "nope"})
            return await c.create_stream("th1", order=0, step_order=0)

    with pytest.raises(UnexpectedResponse):
        run(call())


def test_connection_refused_is_transient_and_not_processed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there

    async def call() -> None:
        async with StreamsClient.http(f"http://127.0.0.1:{port}") as c:
            await c.get_thread("th1")

    with pytest.raises(TransientError) as info:
        run(call())
    assert info.value.maybe_processed is False


def test_read_timeout_is_transient_and_maybe_processed(server: Server) -> None:
    async def call() -> None:
        async with StreamsClient.http(server.url, timeout=0.05) as c:
            server.reply(200, {}, delay=0.2)
            await c.heartbeat_stream("s1")

    with pytest.raises(TransientError) as info:
        run(call())
    assert info.value.maybe_processed is True


def test_connections_are_kept_alive(server: Server) -> None:
    async def body() -> None:
        transport = HttpTransport(server.url)
        c = StreamsClient(transport)
        for _ in range(3):
            server.reply(204)
            await c.heartbeat_stream("s1")
        await c.close()
        await c.close()  # idempotent

    run(body())
    assert len(server.requests) == 3


def test_bearer_token_header_static_and_refreshed(server: Server) -> None:
    tokens = iter(["one", "two"])

    async def body() -> None:
        async with StreamsClient.http(server.url, BearerToken("static")) as c:
            server.reply(200, [])
            await c.list_streams("th1")
            assert server.last.headers["authorization"] == "Bearer static"
        async with StreamsClient.http(server.url, BearerToken(lambda: next(tokens))) as c:
            server.reply(200, [])
            await c.list_streams("th1")
            assert server.last.headers["authorization"] == "Bearer one"
            server.reply(200, [])
            await c.list_streams("th1")
            assert server.last.headers["authorization"] == "Bearer two"

    run(body())


def test_sigv4_signs_for_execute_api(server: Server) -> None:
    session = botocore.session.Session()
    session.set_credentials("AKIDEXAMPLE", "secret", "session-token")

    async def body() -> None:
        async with StreamsClient.http(
            server.url, "sigv4", region="eu-west-1", botocore_session=session
        ) as c:
            server.reply(200, [])
            await c.list_deltas("th1", {"s1": 0, "s2": 3})
            auth = server.last.headers["authorization"]
            assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            assert "/eu-west-1/execute-api/aws4_request" in auth
            assert "x-amz-date" in server.last.headers
            assert server.last.headers["x-amz-security-token"] == "session-token"
            # The query is sent RFC 3986-encoded, as SigV4 canonicalises it.
            assert server.last.raw_query == "cursors=s1%3A0%2Cs2%3A3"
            assert verify_sigv4(server, server.last, session)
            tampered = Recorded(**{**server.last.__dict__, "raw_query": "cursors=s1%3A0"})
            assert not verify_sigv4(server, tampered, session)
            server.reply(200, {"accepted": True, "status": "streaming"})
            await c.add_delta("s1", start=0, end=1, parts=[{"type": "x"}])
            assert verify_sigv4(server, server.last, session)

    run(body())


def verify_sigv4(server: Server, request: Recorded, session: botocore.session.Session) -> bool:
    """Check the signature as API Gateway would: recompute it from what arrived."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    auth = request.headers["authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    url = server.url.split("/prod")[0] + request.path
    if request.raw_query:
        url += "?" + request.raw_query
    aws_request = AWSRequest(
        method=request.method,
        url=url,
        data=request.raw_body,
        headers={k: v for k, v in request.headers.items() if k in signed},
    )
    aws_request.context["timestamp"] = request.headers["x-amz-date"]
    credentials = session.get_credentials()
    assert credentials is not None
    signer = SigV4Auth(credentials.get_frozen_credentials(), "execute-api", "eu-west-1")
    canonical = signer.canonical_request(aws_request)
    signature = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    return auth.endswith("Signature=" + signature)


def test_sigv4_region_from_an_execute_api_host() -> None:
    session = botocore.session.Session()
    transport = HttpTransport(
        "https://abc123.execute-api.ap-southeast-2.amazonaws.com", botocore_session=session
    )
    assert (
        transport._region_for("https://abc123.execute-api.ap-southeast-2.amazonaws.com/x")
        == "ap-southeast-2"
    )


def test_sigv4_without_credentials_is_a_clear_error(server: Server) -> None:
    session = botocore.session.Session()
    session.get_credentials = lambda: None  # type: ignore[method-assign]

    async def call() -> None:
        async with StreamsClient.http(server.url, "sigv4", botocore_session=session) as c:
            await c.get_thread("th1")

    with pytest.raises(Exception, match="credentials"):
        run(call())


def test_invalid_construction() -> None:
    with pytest.raises(ValueError, match="auth"):
        HttpTransport("http://x", auth="basic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="URL"):
        HttpTransport("localhost:3000")
    with pytest.raises(ValueError, match="operation"):
        run(HttpTransport("http://x").call("nope", {}))


def test_a_body_with_half_a_character_escapes_only_it() -> None:
    from agent_streams_client.transport import json_body

    part = {"type": "data-x", "data": "é🙂" * 1000 + "\ud83d" + '"'}
    body = json_body({"parts": [part]})
    assert json.loads(body) == {"parts": [part]}
    assert b"\\ud83d" in body
    # Only the lone surrogate is escaped: the rest is UTF-8 as it is (not 3x its bytes).
    plain = json.dumps({"parts": [{**part, "data": part["data"][:-2] + '"'}]},
                       separators=(",", ":"), ensure_ascii=False).encode()  # fmt: skip
    assert len(body) == len(plain) + len("\\ud83d")
