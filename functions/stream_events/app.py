"""Live reads over Server-Sent Events: the ASGI app run by uvicorn behind the Lambda Web
Adapter (``run.sh``), reached through a Function URL with response streaming.

``GET /streams/{streamId}/events`` and ``GET /threads/{threadId}/stream`` in the AI
SDK's UI message stream protocol; everything they do is the layer's
(``agent_streams.live``): this file checks the caller, reads the request, and sends
the events the layer makes. Also ``GET /healthz`` for the adapter's readiness check.

Auth: ``iam`` (the default) trusts the Function URL's ``AWS_IAM`` authorization; ``jwt``
checks ``Authorization: Bearer`` against the issuer's JWKS here (the URL is then
``NONE``) and lets a subject read only its own threads; ``none`` is for development.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import jwt
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent_streams.ids import is_valid_id
from agent_streams.live import (
    SSE_HEADERS,
    LiveOptions,
    get_live_options,
    open_stream_events,
    open_thread_stream,
    sse_body,
)
from agent_streams.live.driver import Rounds
from agent_streams.live.stream_feed import Round
from agent_streams.observability import logger
from agent_streams.service.context import services
from agent_streams_protocol.errors import AgentStreamsError, ServiceUnavailable, ValidationError

AuthMode = Literal["iam", "jwt", "none"]
#: Asymmetric algorithms only: a symmetric one would let a public key sign tokens.
JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
#: The connection ends this long before the Lambda deadline, without ``[DONE]``.
DEADLINE_MARGIN_SECONDS = 5.0


class Unauthorized(AgentStreamsError):
    """No valid bearer token, or one without a subject (401)."""

    status = 401


@dataclass(frozen=True)
class LiveAuth:
    mode: AuthMode = "iam"
    issuer: str = ""
    audiences: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LiveAuth:
        env = os.environ if environ is None else environ
        issuer = env.get("JWT_ISSUER", "")
        audiences = tuple(a for a in env.get("JWT_AUDIENCE", "").split(",") if a)
        mode = env.get("LIVE_AUTH") or ("jwt" if issuer else "iam")
        if mode not in ("iam", "jwt", "none"):
            raise ValueError(f"LIVE_AUTH must be iam, jwt or none, not {mode!r}")
        if mode == "jwt" and not issuer:
            raise ValueError("LIVE_AUTH=jwt needs JWT_ISSUER")
        return cls(mode, issuer, audiences)  # type: ignore[arg-type]


@dataclass
class JwtVerifier:
    """Bearer tokens checked as API Gateway's JWT authorizer checks them: signed by a key
    of the issuer's JWKS (its openid-configuration's ``jwks_uri``), ``iss`` the issuer,
    ``aud`` (or ``client_id``) one of the audiences, within ``exp``/``nbf``; and a subject."""

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


def error_response(error: AgentStreamsError) -> JSONResponse:
    headers = {}
    if isinstance(error, ServiceUnavailable):
        headers["retry-after"] = "1"
    if isinstance(error, Unauthorized):
        headers["www-authenticate"] = "Bearer"
    return JSONResponse(error.to_body(), status_code=error.status, headers=headers)


def _deadline(request: Request, options: LiveOptions) -> float:
    """When to end the connection (time.monotonic()): the option, or sooner before the
    Lambda deadline the Web Adapter passes in ``x-amzn-lambda-context``."""
    end_by = time.monotonic() + options.max_seconds
    raw = request.headers.get("x-amzn-lambda-context")
    if raw:
        try:
            context = json.loads(raw)
            deadline_ms = float(context.get("deadline", context.get("deadline_ms")))
        except (ValueError, TypeError, AttributeError):
            return end_by
        left = deadline_ms / 1000 - time.time() - DEADLINE_MARGIN_SECONDS
        end_by = min(end_by, time.monotonic() + max(0.0, left))
    return end_by


class SseResponse(StreamingResponse):
    """A streaming response that notices a client leaving while idle, not only at the
    next write (Starlette waits for a failed write from servers of ASGI spec 2.4)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asgi = {**scope.get("asgi", {}), "spec_version": "2.3"}
        await super().__call__({**scope, "asgi": asgi}, receive, send)


async def _guarded(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A failure mid-stream ends the connection without ``[DONE]``: the reader resumes."""
    try:
        async for chunk in body:
            yield chunk
    except AgentStreamsError as error:
        logger.warning("live read ended early", extra={"error": error.code})
    except Exception:
        logger.exception("live read failed")


class LiveApp:
    """The routes, with their auth and options (from the environment unless given)."""

    def __init__(self, auth: LiveAuth | None = None, options: LiveOptions | None = None) -> None:
        self._auth = auth
        self._options = options

    @cached_property
    def auth(self) -> LiveAuth:
        return self._auth or LiveAuth.from_env()

    @cached_property
    def options(self) -> LiveOptions:
        return self._options or get_live_options()

    @cached_property
    def verifier(self) -> JwtVerifier | None:
        auth = self.auth
        return JwtVerifier(auth.issuer, auth.audiences) if auth.mode == "jwt" else None

    async def _subject(self, request: Request) -> str | None:
        verifier = self.verifier
        if verifier is None:
            return None
        return await asyncio.to_thread(verifier.subject, request.headers.get("authorization"))

    @staticmethod
    def _query(request: Request, known: Sequence[str]) -> dict[str, str]:
        query = dict(request.query_params)
        unknown = sorted(set(query) - set(known))
        if unknown:
            raise ValidationError(
                f"unknown query parameter {unknown[0]!r} (known: {', '.join(known) or 'none'})"
            )
        return query

    @staticmethod
    def _id(request: Request, name: str) -> str:
        value = str(request.path_params[name])
        if not is_valid_id(value):
            raise ValidationError(f"{name} must be 1-40 characters of [0-9A-Za-z_-]")
        return value

    def _events(self, request: Request, opened: tuple[Rounds, Round]) -> SseResponse:
        rounds, first = opened
        body = sse_body(rounds, first, self.options, deadline=_deadline(request, self.options))
        return SseResponse(_guarded(body), headers=SSE_HEADERS)

    async def stream_events(self, request: Request) -> Response:
        try:
            subject = await self._subject(request)
            stream_id = self._id(request, "streamId")
            query = self._query(request, ("cursor", "stored"))
            stored = query.get("stored", "false")
            if stored not in ("true", "false"):
                raise ValidationError("stored must be true or false")
            last = request.headers.get("last-event-id") or query.get("cursor")
            opened = await asyncio.to_thread(
                open_stream_events,
                services(),
                stream_id,
                last,
                subject=subject,
                stored=stored == "true",
            )
        except AgentStreamsError as error:
            return error_response(error)
        return self._events(request, opened)

    async def thread_stream(self, request: Request) -> Response:
        try:
            subject = await self._subject(request)
            thread_id = self._id(request, "threadId")
            self._query(request, ())
            opened = await asyncio.to_thread(
                open_thread_stream,
                services(),
                thread_id,
                request.headers.get("last-event-id") or None,
                subject=subject,
                settle_ms=self.options.turn_settle_ms,
            )
        except AgentStreamsError as error:
            return error_response(error)
        if opened is None:
            return Response(status_code=204)
        return self._events(request, opened)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
        return JSONResponse({"message": exc.detail}, status_code=exc.status_code)
    return JSONResponse({"message": "Not Found"}, status_code=404)


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected failure")
    return JSONResponse({"error": "InternalError", "message": "internal error"}, status_code=500)


def create_app(*, auth: LiveAuth | None = None, options: LiveOptions | None = None) -> Starlette:
    """The app. CORS is the Function URL's (its ``Cors`` in the template), not the app's."""
    live = LiveApp(auth, options)
    return Starlette(
        routes=[
            Route("/streams/{streamId}/events", live.stream_events, methods=["GET"]),
            Route("/threads/{threadId}/stream", live.thread_stream, methods=["GET"]),
            Route("/healthz", _healthz, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _not_found, Exception: _internal_error},
    )


#: What uvicorn serves (``app:app``); reads its settings on the first request.
app = create_app()
