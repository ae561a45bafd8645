"""Bearer tokens of the live reads, checked as API Gateway's JWT authorizer checks them.

PyJWT is a requirement of the live-reads function (``functions/stream_events``), not of
the layer: only that function imports this module (``requests.LiveReads`` does, in
``jwt`` mode only).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field

import jwt

from agent_streams_protocol.errors import ServiceUnavailable, Unauthorized

#: Asymmetric algorithms only: a symmetric one would let a public key sign tokens.
JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


@dataclass
class JwtVerifier:
    """Signed by a key of the issuer's JWKS (its openid-configuration's ``jwks_uri``),
    ``iss`` the issuer, ``aud`` (or ``client_id``) one of the audiences, within
    ``exp``/``nbf``; and a subject."""

    issuer: str
    audiences: tuple[str, ...] = ()
    timeout: float = 3.0
    _client: jwt.PyJWKClient | None = field(default=None, repr=False)

    def _jwks(self) -> jwt.PyJWKClient:
        if self._client is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as reply:
                    jwks_uri = json.loads(reply.read())["jwks_uri"]
            except (OSError, ValueError, KeyError) as exc:
                raise ServiceUnavailable(f"cannot read the issuer's configuration: {exc}") from exc
            self._client = jwt.PyJWKClient(jwks_uri, lifespan=300, timeout=int(self.timeout))
        return self._client

    def subject(self, authorization: str | None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required")
        token = token.strip()
        try:
            key = self._jwks().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise ServiceUnavailable(f"cannot read the issuer's keys: {exc}") from exc
        except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
            raise Unauthorized(f"the token is not valid: {exc}") from exc
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=JWT_ALGORITHMS,
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is not valid: {exc}") from exc
        if self.audiences:
            aud = claims.get("aud")
            given = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
            given.add(claims.get("client_id"))
            if not given & set(self.audiences):
                raise Unauthorized("the token is not for this audience")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("the token has no subject")
        return subject
