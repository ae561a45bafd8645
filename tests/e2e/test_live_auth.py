"""Who may read live: IAM callers everything, a JWT's subject only its own threads.

The live reads app is served on ports of its own, over the same local stack, in JWT
mode against an OpenID issuer run by the test (openid-configuration + JWKS, tokens
signed with a key made here), and in IAM mode.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from agent_streams_dev.local.asgi import AsgiBridge, load_app_module
from agent_streams_dev.local.http_server import LocalHttpServer
from agent_streams_dev.local.stack import LocalStack

from .conftest import LocalApi
from .oidc_issuer import Issuer
from .sse_client import read_sse

pytestmark = pytest.mark.e2e
AUDIENCE = "agent-streams-web"


def token(issuer: Issuer, key: Any = None, **claims: Any) -> str:
    """A token of ``issuer`` for the audience, valid for 10 minutes; a claim given as
    None is left out."""
    now = int(time.time())
    body = {"iss": issuer.url, "aud": AUDIENCE, "iat": now, "exp": now + 600, **claims}
    return issuer.token({k: v for k, v in body.items() if v is not None}, key=key)


def _serve(local_stack: LocalStack, bridge: AsgiBridge) -> LocalHttpServer:
    """The stack's HTTP API and ``bridge``'s live reads on a port of their own."""
    assert local_stack.api is not None
    server = LocalHttpServer("127.0.0.1", 0, local_stack.api, {})
    bridge.mount(server)
    server.start()
    return server


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    yield found
    found.close()


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
    bearer = {"Authorization": "Bearer " + token(issuer, sub="alice")}
    read = read_sse(pool, f"{jwt_url}/streams/{stream_id}/events", bearer)
    assert read.status == 200
    assert read.done
    assert [c for _, c in read.events] == [{"type": "start"}]
    assert read_sse(pool, f"{jwt_url}/threads/{thread_id}/stream", bearer).status == 204


def test_someone_elses_thread_does_not_exist(
    api: LocalApi, issuer: Issuer, jwt_url: str, pool: urllib3.PoolManager
) -> None:
    thread_id, stream_id = _owned_stream(api, "alice")
    bearer = {"Authorization": "Bearer " + token(issuer, sub="mallory")}
    read = read_sse(pool, f"{jwt_url}/streams/{stream_id}/events", bearer)
    assert (read.status, read.body["error"]) == (404, "StreamNotFound")
    read = read_sse(pool, f"{jwt_url}/threads/{thread_id}/stream", bearer)
    assert (read.status, read.body["error"]) == (404, "ThreadNotFound")


@pytest.mark.parametrize(
    "given",
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
    api: LocalApi, issuer: Issuer, jwt_url: str, pool: urllib3.PoolManager, given: Any
) -> None:
    _, stream_id = _owned_stream(api, "alice")
    if given is None:
        headers = {}
    elif given == "not-a-jwt":
        headers = {"Authorization": "Bearer not-a-jwt"}
    elif given == "other-key":
        other = Issuer.stranger_rsa_key()
        headers = {"Authorization": "Bearer " + token(issuer, key=other, sub="alice")}
    else:
        headers = {"Authorization": "Bearer " + token(issuer, **given)}
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
