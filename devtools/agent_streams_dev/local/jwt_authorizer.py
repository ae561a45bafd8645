"""API Gateway's HTTP API JWT authorizer, emulated (``agent-streams local --jwt-issuer``).

What API Gateway documents (developer guide, "Control access to HTTP APIs with JWT
authorizers" and "Troubleshooting issues with HTTP API JWT authorizers"; quotas from
"Quotas for configuring and running an HTTP API"), and what this does:

1. The token is read from the identity source (``$request.header.Authorization``),
   alone or prefixed with ``Bearer``; none → 401.
2. The issuer's keys come from ``{issuer}/.well-known/openid-configuration`` →
   ``jwks_uri`` (each fetch within 1.5 s, the key set at most 150,000 bytes) and
   are cached; a token whose ``kid`` is not in the cached set makes one fresh fetch
   (at most every 10 s).
3. Only RSA-based algorithms are supported (RS256, RS384, RS512); the header's
   ``kid`` must name an RSA key of the set and the signature must verify.
4. ``iss`` must equal the configured issuer exactly; ``aud`` must match one of the
   configured audiences, or, only when there is no ``aud``, ``client_id``; ``exp``
   must be after now, ``nbf`` and ``iat`` (when present) not after now — judged on
   the local stack's clock, so advancing it can expire a token.
5. A route with ``AuthorizationScopes`` needs one of them in the token's ``scp`` or
   ``scope`` claim, else 403 ``{"message":"Forbidden"}``.

Any other failure is 401 ``{"message":"Unauthorized"}`` with a ``www-authenticate``
header in the form AWS documents (``Bearer scope="" error="invalid_token"
error_description="the token does not have a valid audience"`` is AWS's own wording;
the other descriptions are this emulation's, in the same style).

On success the function's event carries ``requestContext.authorizer.jwt`` as payload
2.0 does: every claim as a string (numbers and booleans printed, arrays as
``[a b c]``, objects as JSON, null claims left out) and ``scopes`` — the token's
scopes on a route that has scopes, else ``null``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from agent_streams_dev.local.template import JwtAuthorizerSpec

#: The HTTP API quotas on the issuer's endpoints.
FETCH_TIMEOUT_S = 1.5
MAX_JWKS_BYTES = 150_000
#: How long fetched keys are trusted, and how often an unknown ``kid`` may refetch them.
KEYS_TTL_S = 300.0
REFETCH_INTERVAL_S = 10.0
RSA_ALGORITHMS = ("RS256", "RS384", "RS512")


class Refused(Exception):
    """The request is refused: ``status`` with ``{"message": message}`` and ``headers``."""

    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _unauthorized(description: str | None) -> Refused:
    challenge = 'Bearer scope=""'
    if description is not None:
        challenge += f' error="invalid_token" error_description="{description}"'
    return Refused(401, "Unauthorized", {"www-authenticate": challenge})


def _forbidden(scopes: tuple[str, ...]) -> Refused:
    challenge = (
        f'Bearer scope="{" ".join(scopes)}" error="insufficient_scope" '
        'error_description="the token does not have any of the scopes the route requires"'
    )
    return Refused(403, "Forbidden", {"www-authenticate": challenge})


@dataclass(frozen=True)
class Authorized:
    claims: dict[str, str]
    scopes: list[str] | None

    def request_context(self) -> dict[str, Any]:
        """The ``requestContext.authorizer`` of a payload 2.0 event."""
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


def render_claim(value: Any) -> str | None:
    """A claim as payload 2.0 carries it: a string (None: the claim is left out)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(r for r in (render_claim(v) for v in value) if r is not None) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _b64(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise _unauthorized("the token is malformed") from None


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(segment))
    except ValueError:
        raise _unauthorized("the token is malformed") from None
    if not isinstance(value, dict):
        raise _unauthorized("the token is malformed")
    return value


def _fetch_json(url: str, limit: int | None = None) -> Any:
    request = urllib.request.Request(url, headers={"accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as reply:
        data = reply.read(limit + 1 if limit is not None else -1)
    if limit is not None and len(data) > limit:
        raise ValueError(f"{url} answered more than {limit} bytes")
    return json.loads(data)


class JwtAuthorizer:
    """One ``AWS::ApiGatewayV2::Authorizer`` of type JWT."""

    def __init__(
        self,
        spec: JwtAuthorizerSpec,
        now_s: Callable[[], float],
        fetch_json: Callable[..., Any] = _fetch_json,
    ) -> None:
        sources = [s for s in spec.identity_sources if s.startswith("$request.header.")]
        if len(sources) != len(spec.identity_sources) or len(sources) != 1:
            raise ValueError(
                f"{spec.logical_id}: the local stack reads one header identity source, "
                f"not {list(spec.identity_sources)}"
            )
        self.spec = spec
        self.header = sources[0].removeprefix("$request.header.").lower()
        self._now_s = now_s
        self._fetch_json = fetch_json
        self._keys: dict[str, Any] = {}
        self._fetched_at = -1e9
        self._lock = threading.Lock()

    # -- keys -------------------------------------------------------------------------

    def _refresh(self) -> None:
        issuer = self.spec.issuer.rstrip("/")
        discovery = self._fetch_json(f"{issuer}/.well-known/openid-configuration")
        jwks = self._fetch_json(str(discovery["jwks_uri"]), MAX_JWKS_BYTES)
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from jwt import InvalidKeyError
        from jwt.algorithms import RSAAlgorithm

        keys = {}
        for key in jwks.get("keys", []):
            if key.get("kty") == "RSA" and key.get("kid") and key.get("use", "sig") == "sig":
                try:
                    imported = RSAAlgorithm.from_jwk(key)
                except InvalidKeyError as exc:
                    raise ValueError(f"a key of the set is not an RSA key: {exc}") from None
                if isinstance(imported, RSAPrivateKey):  # a set that (wrongly) holds a private key
                    imported = imported.public_key()
                keys[str(key["kid"])] = imported
        self._keys = keys

    def _key(self, kid: str) -> Any:
        with self._lock:
            stale = time.monotonic() - self._fetched_at > KEYS_TTL_S
            may_refetch = time.monotonic() - self._fetched_at > REFETCH_INTERVAL_S
            if stale or (kid not in self._keys and may_refetch):
                try:
                    self._refresh()
                except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
                    raise _unauthorized("the issuer's keys could not be fetched") from None
                finally:
                    self._fetched_at = time.monotonic()
            found = self._keys.get(kid)
        if found is None:
            raise _unauthorized("the token's key is not in the issuer's key set")
        return found

    # -- a request ----------------------------------------------------------------------

    def authorize(self, headers: Mapping[str, str], route_scopes: tuple[str, ...]) -> Authorized:
        """The verified claims for a request's ``headers`` (lower-case names), or Refused."""
        raw = (headers.get(self.header) or "").strip()
        scheme, _, rest = raw.partition(" ")
        if scheme.lower() == "bearer":
            raw = rest.strip()
        if not raw:
            raise _unauthorized(None)
        parts = raw.split(".")
        if len(parts) != 3:
            raise _unauthorized("the token is malformed")
        header = _json_segment(parts[0])
        claims = _json_segment(parts[1])
        algorithm = header.get("alg")
        if algorithm not in RSA_ALGORITHMS:
            raise _unauthorized(f"the token's signing method {algorithm} is not supported")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _unauthorized("the token has no key id")
        self._verify(raw, self._key(kid), str(algorithm))
        self._check_claims(claims)
        scopes = None
        if route_scopes:
            scopes = _token_scopes(claims)
            if not set(scopes) & set(route_scopes):
                raise _forbidden(route_scopes)
        rendered = {name: render_claim(value) for name, value in claims.items()}
        return Authorized({k: v for k, v in rendered.items() if v is not None}, scopes)

    @staticmethod
    def _verify(token: str, key: Any, algorithm: str) -> None:
        from jwt import PyJWS, PyJWTError

        try:
            # The signature alone: the claims are judged below, as API Gateway judges them.
            PyJWS().decode_complete(token, key, algorithms=[algorithm])
        except (PyJWTError, ValueError):
            raise _unauthorized("the token has an invalid signature") from None

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.spec.issuer:
            raise _unauthorized("the token does not have a valid issuer")
        audiences = claims["aud"] if "aud" in claims else claims.get("client_id")
        if isinstance(audiences, str):
            audiences = [audiences]
        if not isinstance(audiences, list) or not set(map(str, audiences)) & set(
            self.spec.audiences
        ):
            raise _unauthorized("the token does not have a valid audience")
        now = self._now_s()
        expires = claims.get("exp")
        if not _is_number(expires) or expires <= now:
            raise _unauthorized("the token has expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not _is_number(value) or value > now):
                raise _unauthorized(f"the token is not valid yet ({name})")


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _token_scopes(claims: Mapping[str, Any]) -> list[str]:
    for name in ("scp", "scope"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.split()
        if isinstance(value, list) and value:
            return [str(v) for v in value]
    return []
