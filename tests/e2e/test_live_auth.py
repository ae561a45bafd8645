"""Who may read live: IAM callers everything, a JWT's subject only its own threads.

The live reads app is served on ports of its own, over the same local stack, in JWT
mode against an OpenID issuer run by the test (openid-configuration + JWKS, tokens
signed with a key made here), and in IAM mode.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
import urllib3
from cryptography.hazmat.primitives.asymmetric import rsa

from agent_streams_dev.local.asgi import AsgiBridge, load_app_module
from agent_streams_dev.local.http_server import LocalHttpServer
from agent_streams_dev.local.stack import LocalStack

from .conftest import LocalApi
from .sse_client import read_sse

pytestmark = pytest.mark.e2e
AUDIENCE = "agent-streams-web"


class Issuer:
    """An OpenID issuer: its configuration, its keys, and tokens signed with them."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="k1", use="sig", alg="RS256")
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    body = {"keys": [jwk]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "iat": now, "exp": now + 600, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": "k1"})


def _serve(local_stack: LocalStack, bridge: AsgiBridge) -> LocalHttpServer:
    assert local_stack.functions is not None
    server = LocalHttpServer("127.0.0.1", 0, local_stack.functions, {}, bridge)
    server.start()
    return server


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def jwt_url(local_stack: LocalStack, issuer: Issuer) -> Iterator[str]:
    server = _serve(
        local_stack, AsgiBridge.live_reads(jwt_issuer=issuer.url, jwt_audiences=[AUDIENCE])
    )
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="module")
def pool() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(maxsize=4)
    yield pool
    pool.clear()


def _owned_stream(api: LocalApi, owner: str) -> tuple[str, str]:
    thread_id = api.thread(userId=owner)
    stream_id = api.stream(thread_id, format="UIMessageChunk")
    status, _ = api.post(
        f"/streams/{stream_id}/finish",
        {"finalDelta": {"streamId": stream_id, "start": 0, "end": 1, "parts": [{"type": "start"}]}},
    )
    assert status == 200
    return thread_id, stream_id


def test_the_owner_reads_live(
    api: LocalApi, issuer: Issuer, jwt_url: str, pool: urllib3.PoolManager
) -> None:
    thread_id, stream_id = _owned_stream(api, "alice")
    bearer = {"Authorization": "Bearer " + issuer.token(sub="alice")}
    read = read_sse(pool, f"{jwt_url}/streams/{stream_id}/events", bearer)
    assert read.status == 200
    assert read.done
    assert [c for _, c in read.events] == [{"type": "start"}]
    assert read_sse(pool, f"{jwt_url}/threads/{thread_id}/stream", bearer).status == 204


def test_someone_elses_thread_does_not_exist(
    api: LocalApi, issuer: Issuer, jwt_url: str, pool: urllib3.PoolManager
) -> None:
    thread_id, stream_id = _owned_stream(api, "alice")
    bearer = {"Authorization": "Bearer " + issuer.token(sub="mallory")}
    read = read_sse(pool, f"{jwt_url}/streams/{stream_id}/events", bearer)
    assert (read.status, read.body["error"]) == (404, "StreamNotFound")
    read = read_sse(pool, f"{jwt_url}/threads/{thread_id}/stream", bearer)
    assert (read.status, read.body["error"]) == (404, "ThreadNotFound")


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-jwt",
        {"sub": None},
        {"sub": ""},
        {"sub": "alice", "aud": "someone-else"},
        {"sub": "alice", "exp": 1},
        {"sub": "alice", "iss": "https://other.example.com"},
        "other-key",
    ],
)
def test_no_valid_token_with_a_subject_is_401(
    api: LocalApi, issuer: Issuer, jwt_url: str, pool: urllib3.PoolManager, token: Any
) -> None:
    _, stream_id = _owned_stream(api, "alice")
    if token is None:
        headers = {}
    elif token == "not-a-jwt":
        headers = {"Authorization": "Bearer not-a-jwt"}
    elif token == "other-key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        headers = {"Authorization": "Bearer " + issuer.token(key=other, sub="alice")}
    else:
        headers = {"Authorization": "Bearer " + issuer.token(**token)}
    read = read_sse(pool, f"{jwt_url}/streams/{stream_id}/events", headers)
    assert read.status == 401
    assert read.body["error"] == "Unauthorized"
    assert read.headers["www-authenticate"] == "Bearer"


def test_an_unreachable_issuer_fails_closed(
    local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager
) -> None:
    _, stream_id = _owned_stream(api, "alice")
    server = _serve(local_stack, AsgiBridge.live_reads(jwt_issuer="http://127.0.0.1:9"))
    try:
        read = read_sse(
            pool,
            f"http://127.0.0.1:{server.port}/streams/{stream_id}/events",
            {"Authorization": "Bearer a.b.c"},
        )
    finally:
        server.stop()
    assert read.status == 503
    assert read.body["error"] == "ServiceUnavailable"
    assert read.headers["retry-after"]


def test_iam_mode_reads_every_thread(
    local_stack: LocalStack, api: LocalApi, pool: urllib3.PoolManager
) -> None:
    """In IAM mode the Function URL has checked the SigV4 signature before the app runs;
    the app then lets the caller read every thread, as the IAM API routes do."""
    module = load_app_module()
    bridge = AsgiBridge(module.create_app(auth=module.LiveAuth("iam")))
    server = _serve(local_stack, bridge)
    _, stream_id = _owned_stream(api, "alice")
    try:
        read = read_sse(
            pool,
            f"http://127.0.0.1:{server.port}/streams/{stream_id}/events",
            {
                "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda/aws4_request"
            },
        )
    finally:
        server.stop()
    assert read.status == 200
    assert read.done
