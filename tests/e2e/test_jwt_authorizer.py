"""The JWT authorizer emulation over HTTP, against an issuer run by the test.

In process: the HTTP API deployed with ``JwtIssuer``/``JwtAudience`` over the running
stack (the template's own routes behind the authorizer, plus test-only echo routes).
In a process of its own: ``agent-streams local --jwt-issuer … --jwt-audience …``.
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
from tests.e2e.conftest import LocalApi
from tests.e2e.oidc_issuer import Issuer
from tests.e2e.strict_api import extra_api, function_resources

pytestmark = pytest.mark.e2e

AUDIENCE = "agent-streams-test"
SCOPE = "streams/read"
AUDIENCE_ERROR = (
    'Bearer scope="" error="invalid_token" '
    'error_description="the token does not have a valid audience"'
)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    issuer = Issuer()
    yield issuer
    issuer.close()


@pytest.fixture(scope="module")
def jwt_api(local_stack: LocalStack, issuer: Issuer) -> Iterator[str]:
    resources = function_resources(
        "StrictWhoami", "strict_whoami", timeout=5, route="GET /_test/whoami", authorization="JWT"
    )
    resources["StrictWhoamiScopedRoute"] = {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {
            "ApiId": {"Ref": "HttpApi"},
            "RouteKey": "GET /_test/scoped",
            "AuthorizationType": "JWT",
            "AuthorizerId": {"Ref": "JwtAuthorizer"},
            "AuthorizationScopes": [SCOPE],
            "Target": {"Fn::Sub": "integrations/${StrictWhoamiIntegration}"},
        },
    }
    parameters = {"JwtIssuer": issuer.url, "JwtAudience": f"other-audience,{AUDIENCE}"}
    with extra_api(local_stack, resources, parameters=parameters) as url:
        yield url


@pytest.fixture
def claims(local_stack: LocalStack, issuer: Issuer) -> dict[str, Any]:
    """Valid claims, on the stack's clock (which earlier tests may have moved on)."""
    now = local_stack.clock.now_ms() // 1000
    return {"iss": issuer.url, "aud": AUDIENCE, "sub": "alice", "iat": now - 5, "exp": now + 600}


def call(
    url: str, path: str, token: str | None = None, *, bearer: bool = True
) -> tuple[int, Any, Any]:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}" if bearer else token
    reply = urllib3.request("GET", url + path, headers=headers, retries=False)
    body = json.loads(reply.data) if reply.data else None
    return reply.status, body, reply.headers


def refused(reply: tuple[int, Any, Any], status: int = 401) -> str:
    code, body, headers = reply
    assert code == status, body
    assert body == {"message": "Unauthorized" if status == 401 else "Forbidden"}
    assert headers["content-type"] == "application/json"
    return str(headers["www-authenticate"])


class TestValidTokens:
    def test_claims_reach_the_function_as_api_gateway_passes_them(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        token = issuer.token(
            {
                **claims,
                "groups": ["admins", "staff"],
                "admin": True,
                "level": 3,
                "ctx": {"a": 1},
                "gone": None,
            }
        )
        status, body, _ = call(jwt_api, "/_test/whoami", token)
        assert status == 200, body
        assert body["authorizer"] == {
            "jwt": {
                "claims": {
                    "iss": issuer.url,
                    "aud": AUDIENCE,
                    "sub": "alice",
                    "iat": str(claims["iat"]),
                    "exp": str(claims["exp"]),
                    "groups": "[admins staff]",
                    "admin": "true",
                    "level": "3",
                    "ctx": '{"a":1}',
                },
                "scopes": None,
            }
        }

    def test_the_token_may_come_without_bearer(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        assert call(jwt_api, "/_test/whoami", issuer.token(claims), bearer=False)[0] == 200

    def test_client_id_stands_for_a_missing_aud(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        claims.pop("aud")
        assert (
            call(jwt_api, "/_test/whoami", issuer.token({**claims, "client_id": AUDIENCE}))[0]
            == 200
        )
        # …only when there is no aud: a wrong aud is not saved by a right client_id.
        token = issuer.token({**claims, "aud": "nope", "client_id": AUDIENCE})
        assert refused(call(jwt_api, "/_test/whoami", token)) == AUDIENCE_ERROR

    def test_an_audience_list_needs_one_match(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        token = issuer.token({**claims, "aud": ["someone-else", AUDIENCE]})
        status, body, _ = call(jwt_api, "/_test/whoami", token)
        assert status == 200
        assert body["authorizer"]["jwt"]["claims"]["aud"] == f"[someone-else {AUDIENCE}]"

    def test_a_scoped_route_needs_one_of_its_scopes(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        status, body, _ = call(
            jwt_api, "/_test/scoped", issuer.token({**claims, "scope": f"profile {SCOPE}"})
        )
        assert status == 200
        assert body["authorizer"]["jwt"]["scopes"] == ["profile", SCOPE]
        status, body, _ = call(jwt_api, "/_test/scoped", issuer.token({**claims, "scp": [SCOPE]}))
        assert (status, body["authorizer"]["jwt"]["scopes"]) == (200, [SCOPE])
        assert 'error="insufficient_scope"' in refused(
            call(jwt_api, "/_test/scoped", issuer.token({**claims, "scope": "profile"})), 403
        )
        refused(call(jwt_api, "/_test/scoped", issuer.token(claims)), 403)


class TestRefusedTokens:
    def test_no_token(self, jwt_api: str) -> None:
        assert refused(call(jwt_api, "/_test/whoami")) == 'Bearer scope=""'
        assert refused(call(jwt_api, "/_test/whoami", "")) == 'Bearer scope=""'

    def test_expired(self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]) -> None:
        token = issuer.token({**claims, "exp": claims["iat"]})
        assert 'error_description="the token has expired"' in refused(
            call(jwt_api, "/_test/whoami", token)
        )
        no_exp = {k: v for k, v in claims.items() if k != "exp"}
        refused(call(jwt_api, "/_test/whoami", issuer.token(no_exp)))

    def test_expiry_is_judged_on_the_stacks_clock(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any], local_stack: LocalStack
    ) -> None:
        token = issuer.token({**claims, "exp": claims["iat"] + 65})
        assert call(jwt_api, "/_test/whoami", token)[0] == 200
        local_stack.advance(61)
        refused(call(jwt_api, "/_test/whoami", token))

    def test_not_yet_valid(self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]) -> None:
        later = claims["iat"] + 300
        refused(call(jwt_api, "/_test/whoami", issuer.token({**claims, "nbf": later})))
        refused(call(jwt_api, "/_test/whoami", issuer.token({**claims, "iat": later})))

    def test_wrong_audience(self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]) -> None:
        token = issuer.token({**claims, "aud": "someone-else"})
        assert refused(call(jwt_api, "/_test/whoami", token)) == AUDIENCE_ERROR

    def test_wrong_issuer(self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]) -> None:
        for iss in (issuer.url + "/", "https://elsewhere.example"):
            token = issuer.token({**claims, "iss": iss})
            assert "valid issuer" in refused(call(jwt_api, "/_test/whoami", token))

    def test_bad_signature(self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]) -> None:
        forged = issuer.token(claims, key=Issuer.stranger_rsa_key())  # same kid, another key
        assert "invalid signature" in refused(call(jwt_api, "/_test/whoami", forged))
        head, _, signature = issuer.token(claims).split(".")
        tampered = issuer.token({**claims, "sub": "mallory"}).split(".")[1]
        refused(call(jwt_api, "/_test/whoami", f"{head}.{tampered}.{signature}"))

    def test_unknown_kid_fetches_the_keys_again_then_refuses(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        assert call(jwt_api, "/_test/whoami", issuer.token(claims))[0] == 200  # keys cached
        before = issuer.fetches["jwks"]
        token = issuer.token(claims, kid="rotated-key")
        assert "key" in refused(call(jwt_api, "/_test/whoami", token))
        assert issuer.fetches["jwks"] - before <= 1

    def test_only_rsa_algorithms(
        self, jwt_api: str, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        token = issuer.token(claims, key=Issuer.ec_key(), alg="ES256")
        assert "ES256" in refused(call(jwt_api, "/_test/whoami", token))
        refused(call(jwt_api, "/_test/whoami", "not.a-token"))
        refused(call(jwt_api, "/_test/whoami", "a.b.c"))


class TestTheTemplatesRoutes:
    def test_reader_routes_are_behind_the_authorizer_and_writers_are_not(
        self, jwt_api: str, api: LocalApi, issuer: Issuer, claims: dict[str, Any]
    ) -> None:
        # A writer route: not behind the JWT authorizer (IAM is not checked locally).
        reply = urllib3.request(
            "POST", f"{jwt_api}/threads", json={"userId": "alice"}, retries=False
        )
        assert reply.status == 201
        thread = json.loads(reply.data)["threadId"]
        refused(call(jwt_api, f"/threads/{thread}"))
        status, body, _ = call(jwt_api, f"/threads/{thread}", issuer.token(claims))
        assert (status, body["threadId"]) == (200, thread)
        # The stack's own API (no --jwt-issuer) serves it without a token.
        assert api.get(f"/threads/{thread}")[0] == 200

    def test_routes_follow_the_template(self, local_stack: LocalStack, issuer: Issuer) -> None:
        readers = {
            "GET /threads/{threadId}",
            "GET /threads/{threadId}/streams",
            "GET /threads/{threadId}/deltas",
            "GET /threads/{threadId}/streams/messages",
            "GET /streams/{streamId}",
        }
        with_jwt = {
            spec.method + " " + str(spec.path)
            for spec in local_stack.template.route_specs(
                {"JwtIssuer": issuer.url, "JwtAudience": AUDIENCE}
            )
            if spec.authorization_type == "JWT"
        }
        assert readers <= with_jwt
        assert not {s for s in local_stack.template.route_specs() if s.authorization_type == "JWT"}

    def test_an_unreachable_issuer_refuses(
        self, local_stack: LocalStack, claims: dict[str, Any]
    ) -> None:
        resources = function_resources(
            "StrictWhoami",
            "strict_whoami",
            timeout=5,
            route="GET /_test/whoami",
            authorization="JWT",
        )
        nowhere = Issuer()
        nowhere.close()  # its port is closed now
        parameters = {"JwtIssuer": nowhere.url, "JwtAudience": AUDIENCE}
        with extra_api(local_stack, resources, parameters=parameters) as url:
            token = nowhere.token({**claims, "iss": nowhere.url})
            assert "could not be fetched" in refused(call(url, "/_test/whoami", token))


def test_agent_streams_local_with_jwt_issuer(issuer: Issuer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent_streams_dev.cli",
            "local",
            "--port",
            "0",
            "--jwt-issuer",
            issuer.url,
            "--jwt-audience",
            AUDIENCE,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = []
        while not any("JWT" in line for line in lines):
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(lines)
            lines.append(line)
        url = next(line for line in lines if "ready on" in line).rsplit(" ", 1)[1].strip()
        assert "GET /streams/{streamId}" in lines[-1]
        now = int(time.time())  # a fresh stack's clock starts at the real time
        token = issuer.token({"iss": issuer.url, "aud": AUDIENCE, "sub": "bob", "exp": now + 600})
        assert refused(call(url, "/threads/missing")).startswith("Bearer")
        status, body, _ = call(url, "/threads/missing", token)
        assert (status, body["error"]) == (404, "ThreadNotFound")
        # The same flag puts the live reads in JWT mode, as the template does with JwtIssuer.
        status, body, headers = call(url, "/streams/missing/events")
        assert (status, body["error"]) == (401, "Unauthorized")
        assert headers["www-authenticate"] == "Bearer"
        status, body, _ = call(url, "/streams/missing/events", token)
        assert (status, body["error"]) == (404, "StreamNotFound")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_jwt_issuer_needs_an_audience() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_streams_dev.cli",
            "local",
            "--jwt-issuer",
            "https://x.example",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--jwt-audience" in done.stderr
