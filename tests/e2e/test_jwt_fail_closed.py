"""JWT fails closed, over HTTP: ``agent-streams local --jwt-issuer`` (one process for the
module) against an issuer run by the test.

A token the authorizer verifies but whose ``sub`` is missing or empty is refused on the
five reader routes, the two abort routes and both live reads — never taken for an IAM
caller, who may read every thread. And no parameters leave the writer routes open while
the API looks protected: ``ApiAuthorization=NONE`` with a ``JwtIssuer`` is refused by the
template's Rule, so the local stack will not start with it either.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from agent_streams_dev.local.stack import LocalStack
from tests.e2e.oidc_issuer import Issuer

pytestmark = pytest.mark.e2e

AUDIENCE = "agent-streams-fail-closed"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    yield found
    found.close()


@pytest.fixture(scope="module")
def jwt_stack(issuer: Issuer) -> Iterator[str]:
    """The URL of ``agent-streams local --jwt-issuer … --jwt-audience …`` in a process of
    its own (its API and live reads both behind the issuer's tokens)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    command = [sys.executable, "-m", "agent_streams_dev.cli", "local", "--port", "0"]
    command += ["--jwt-issuer", issuer.url, "--jwt-audience", AUDIENCE]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any("JWT" in line for line in lines):
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(lines)
            lines.append(line)
        yield next(line for line in lines if "ready on" in line).rsplit(" ", 1)[1].strip()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def token(issuer: Issuer, **claims: Any) -> str:
    """A token the authorizer accepts; a claim given as None is left out. (The stack's
    clock stands at the real time it started, until advanced: issued well before that.)"""
    now = int(time.time())
    body = {"iss": issuer.url, "aud": AUDIENCE, "iat": now - 3600, "exp": now + 3600, **claims}
    return issuer.token({k: v for k, v in body.items() if v is not None})


def call(
    url: str, method: str, path: str, bearer: str | None = None, body: Any = None
) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if bearer is not None:
        headers["authorization"] = f"Bearer {bearer}"
    reply = urllib3.request(
        method,
        url + path,
        body=None if body is None else json.dumps(body).encode(),
        headers=headers,
        retries=False,
        timeout=30,
        preload_content=True,
    )
    text = reply.data
    return reply.status, (json.loads(text) if text and text[:1] in b"{[" else text)


@pytest.fixture(scope="module")
def arranged(jwt_stack: str, issuer: Issuer) -> dict[str, str]:
    """Alice's thread with a stream still streaming, and a thread nobody owns (which any
    subject may read): the writer routes stay signed, and IAM is not checked locally."""
    ids: dict[str, str] = {}
    for name, fields in (("owned", {"userId": "alice"}), ("unowned", {})):
        status, body = call(jwt_stack, "POST", "/threads", body=fields)
        assert status == 201, body
        thread = body["threadId"]
        status, body = call(
            jwt_stack, "POST", f"/threads/{thread}/streams", body={"order": 0, "stepOrder": 0}
        )
        assert status == 201, body
        stream = body["streamId"]
        part = {"type": "text-delta", "id": "t", "delta": "private"}
        status, body = call(
            jwt_stack,
            "POST",
            f"/streams/{stream}/deltas",
            body={"start": 0, "end": 1, "parts": [part]},
        )
        assert (status, body["accepted"]) == (200, True), body
        ids[f"{name}_thread"], ids[f"{name}_stream"] = thread, stream
    return ids


READERS = [
    "/threads/{thread}",
    "/threads/{thread}/streams",
    "/threads/{thread}/deltas?cursors={stream}:0",
    "/threads/{thread}/streams/messages?order=0&stepOrder=0&status=success",
    "/streams/{stream}",
]
LIVE = ["/streams/{stream}/events", "/threads/{thread}/stream"]
NO_SUBJECT = {"no-sub": None, "empty-sub": ""}


def _path(template: str, ids: dict[str, str], whose: str) -> str:
    return template.format(thread=ids[f"{whose}_thread"], stream=ids[f"{whose}_stream"])


@pytest.mark.parametrize("sub", list(NO_SUBJECT.values()), ids=list(NO_SUBJECT))
@pytest.mark.parametrize("whose", ["owned", "unowned"])
@pytest.mark.parametrize("route", READERS)
def test_a_verified_token_without_a_subject_is_refused_on_the_reader_routes(
    jwt_stack: str, issuer: Issuer, arranged: dict[str, str], route: str, whose: str, sub: Any
) -> None:
    path = _path(route, arranged, whose)
    # The owner (and, for a thread nobody owns, anyone) reads it: the refusal is the sub's.
    reader = "alice" if whose == "owned" else "bob"
    status, body = call(jwt_stack, "GET", path, token(issuer, sub=reader))
    assert status == 200, body
    status, body = call(jwt_stack, "GET", path, token(issuer, sub=sub))
    assert status == 401, body
    assert body["error"] == "Unauthorized"
    assert "private" not in json.dumps(body)


@pytest.mark.parametrize("sub", list(NO_SUBJECT.values()), ids=list(NO_SUBJECT))
@pytest.mark.parametrize("whose", ["owned", "unowned"])
@pytest.mark.parametrize("route", LIVE)
def test_a_verified_token_without_a_subject_is_refused_on_the_live_reads(
    jwt_stack: str, issuer: Issuer, arranged: dict[str, str], route: str, whose: str, sub: Any
) -> None:
    path = _path(route, arranged, whose)
    status, body = call(jwt_stack, "GET", path, token(issuer, sub=sub))
    assert status == 401, body
    assert body["error"] == "Unauthorized"
    # The owner's token opens the same live read (cut short: only the headers matter).
    reader = "alice" if whose == "owned" else "bob"
    reply = urllib3.request(
        "GET",
        jwt_stack + path,
        headers={"authorization": f"Bearer {token(issuer, sub=reader)}"},
        retries=False,
        preload_content=False,
        timeout=30,
    )
    try:
        assert reply.status == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
    finally:
        reply.release_conn()
        reply.close()


@pytest.mark.parametrize("sub", list(NO_SUBJECT.values()), ids=list(NO_SUBJECT))
def test_a_verified_token_without_a_subject_cannot_abort(
    jwt_stack: str, issuer: Issuer, arranged: dict[str, str], sub: Any
) -> None:
    for whose in ("owned", "unowned"):
        thread, stream = arranged[f"{whose}_thread"], arranged[f"{whose}_stream"]
        for path, body in (
            (f"/streams/{stream}/abort", {"reason": "no subject"}),
            (f"/threads/{thread}/streams/abort", {"order": 0, "reason": "no subject"}),
        ):
            status, reply = call(jwt_stack, "POST", path, token(issuer, sub=sub), body)
            assert status == 401, reply
            assert reply["error"] == "Unauthorized"
        # Nothing was aborted.
        status, state = call(jwt_stack, "GET", f"/streams/{stream}", token(issuer, sub="alice"))
        assert (status, state["status"]) == (200, "streaming")


def test_writer_routes_are_never_left_open_with_a_jwt_issuer(issuer: Issuer) -> None:
    """``ApiAuthorization=NONE`` + ``JwtIssuer`` would leave the writer routes outside the
    authorizer open to anyone: the template's Rule refuses it, and so does the local stack
    (before it starts anything)."""
    with pytest.raises(ValueError, match="JwtIssuer needs ApiAuthorization=AWS_IAM"):
        LocalStack(
            port=0,
            jwt_issuer=issuer.url,
            jwt_audience=AUDIENCE,
            parameters={"ApiAuthorization": "NONE"},
        )
    # With the default (AWS_IAM), the writer routes stay signed: none is behind the JWT
    # authorizer, none is open (the local stack cannot check SigV4; AWS does).
    parameters = {"JwtIssuer": issuer.url, "JwtAudience": AUDIENCE}
    template = LocalStack(port=0, jwt_issuer=issuer.url, jwt_audience=AUDIENCE).template
    kinds = {
        f"{spec.method} {spec.path}": spec.authorization_type
        for spec in template.route_specs(parameters)
    }
    writers = {route: kind for route, kind in kinds.items() if not route.startswith("GET ")}
    assert writers
    abort_routes = {"POST /streams/{streamId}/abort", "POST /threads/{threadId}/streams/abort"}
    assert {route for route, kind in writers.items() if kind == "JWT"} == abort_routes
    assert {kind for route, kind in writers.items() if route not in abort_routes} == {"AWS_IAM"}
