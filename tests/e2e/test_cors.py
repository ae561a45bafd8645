"""CORS over HTTP on the local stack: the HTTP API's routes answer as its
``CorsConfiguration`` says, the live reads as their Function URL's ``Cors`` says, and
both follow the ``AllowedOrigins`` parameter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from agent_streams_dev.local.stack import LocalStack
from tests.e2e.conftest import LocalApi
from tests.e2e.strict_api import extra_api

pytestmark = pytest.mark.e2e

ORIGIN = "https://app.example.com"


def preflight(url: str, method: str, origin: str = ORIGIN) -> Any:
    return urllib3.request(
        "OPTIONS",
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        retries=False,
    )


def test_the_http_api_answers_preflights_itself(local_stack: LocalStack, api: LocalApi) -> None:
    thread_id = api.thread()
    # No OPTIONS route exists; the API answers the preflight before any route or function.
    for path in ("/threads", f"/threads/{thread_id}", "/no/such/route"):
        reply = preflight(local_stack.url + path, "POST")
        assert reply.status == 204, path
        assert reply.data == b""
        assert reply.headers["access-control-allow-origin"] == "*"
        assert set(reply.headers["access-control-allow-methods"].split(",")) == {
            "GET",
            "POST",
            "DELETE",
        }
        assert "authorization" in reply.headers["access-control-allow-headers"]
        assert reply.headers["access-control-max-age"] == "600"
    # An OPTIONS that is not a preflight is routed: there is no such route.
    assert urllib3.request("OPTIONS", f"{local_stack.url}/threads", retries=False).status == 404


def test_responses_carry_the_origin_header(local_stack: LocalStack, api: LocalApi) -> None:
    thread_id = api.thread()
    reply = urllib3.request(
        "GET", f"{local_stack.url}/threads/{thread_id}", headers={"Origin": ORIGIN}, retries=False
    )
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == "*"
    # The gateway's own answers too.
    reply = urllib3.request(
        "GET", f"{local_stack.url}/no/such/route", headers={"Origin": ORIGIN}, retries=False
    )
    assert (reply.status, reply.headers["access-control-allow-origin"]) == (404, "*")
    # No Origin, no CORS headers.
    reply = urllib3.request("GET", f"{local_stack.url}/threads/{thread_id}", retries=False)
    assert "access-control-allow-origin" not in reply.headers


def test_the_live_reads_answer_as_their_function_url(
    local_stack: LocalStack, api: LocalApi
) -> None:
    thread_id = api.thread()
    reply = preflight(f"{local_stack.url}/threads/{thread_id}/stream", "GET")
    assert reply.status == 200
    assert reply.headers["access-control-allow-methods"] == "GET"  # the URL's, not the API's
    reply = urllib3.request(
        "GET",
        f"{local_stack.url}/threads/{thread_id}/stream",
        headers={"Origin": ORIGIN},
        retries=False,
    )
    assert (reply.status, reply.headers["access-control-allow-origin"]) == (204, "*")


@pytest.fixture(scope="module")
def restricted(local_stack: LocalStack) -> Iterator[str]:
    with extra_api(local_stack, {}, parameters={"AllowedOrigins": ORIGIN}) as url:
        yield url


def test_allowed_origins_are_the_only_ones(restricted: str) -> None:
    reply = preflight(f"{restricted}/threads", "POST")
    assert (reply.status, reply.headers["access-control-allow-origin"]) == (204, ORIGIN)
    reply = preflight(f"{restricted}/threads", "POST", origin="https://evil.example")
    assert reply.status == 204
    assert not [h for h in reply.headers if h.lower().startswith("access-control-")]
    reply = urllib3.request(
        "POST",
        f"{restricted}/threads",
        json={},
        headers={"Origin": "https://evil.example"},
        retries=False,
    )
    # The request itself is served (CORS is the browser's to enforce); no header allows it.
    assert reply.status == 201
    assert "access-control-allow-origin" not in reply.headers
