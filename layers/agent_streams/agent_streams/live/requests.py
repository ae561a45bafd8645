"""The live reads' HTTP requests, without a web framework: the function's ASGI app
(``functions/stream_events/app.py``) hands each one's path id, query and headers here
and sends back what it gets — an error's status, body and headers, nothing (204), or
the body of Server-Sent Events.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from agent_streams.ids import is_valid_id
from agent_streams.live.auth import LiveAuth
from agent_streams.live.driver import Rounds, sse_body
from agent_streams.live.options import LiveOptions, get_live_options
from agent_streams.live.reads import open_stream_events, open_thread_stream
from agent_streams.live.stream_feed import Round
from agent_streams.observability import logger
from agent_streams.service.context import services
from agent_streams_protocol.errors import (
    AgentStreamsError,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
)

if TYPE_CHECKING:
    from agent_streams.live.jwt_verifier import JwtVerifier

#: The connection ends this long before the Lambda deadline, without ``[DONE]``.
DEADLINE_MARGIN_SECONDS = 5.0

Opened = tuple[Rounds, Round]


def error_headers(error: AgentStreamsError) -> dict[str, str]:
    headers = {}
    if isinstance(error, ServiceUnavailable):
        headers["retry-after"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["www-authenticate"] = "Bearer"
    return headers


def connection_deadline(lambda_context: str | None, options: LiveOptions) -> float:
    """When to end the connection (time.monotonic()): the option, or sooner before the
    Lambda deadline the Web Adapter passes in ``x-amzn-lambda-context``."""
    end_by = time.monotonic() + options.max_seconds
    if lambda_context:
        try:
            context = json.loads(lambda_context)
            deadline_ms = float(context.get("deadline", context.get("deadline_ms")))
        except (ValueError, TypeError, AttributeError):
            return end_by
        left = deadline_ms / 1000 - time.time() - DEADLINE_MARGIN_SECONDS
        end_by = min(end_by, time.monotonic() + max(0.0, left))
    return end_by


async def _guarded(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A failure mid-stream ends the connection without ``[DONE]``: the reader resumes."""
    try:
        async for chunk in body:
            yield chunk
    except AgentStreamsError as error:
        logger.warning("live read ended early", extra={"error": error.code})
    except Exception:
        logger.exception("live read failed")


def _query(query: Mapping[str, str], known: Sequence[str]) -> dict[str, str]:
    unknown = sorted(set(query) - set(known))
    if unknown:
        raise ValidationError(
            f"unknown query parameter {unknown[0]!r} (known: {', '.join(known) or 'none'})"
        )
    return dict(query)


def _id(name: str, value: str) -> str:
    if not is_valid_id(value):
        raise ValidationError(f"{name} must be 1-40 characters of [0-9A-Za-z_-]")
    return value


class LiveReads:
    """The two routes, with their auth and options (from the environment unless given).

    ``open_*`` block (the token's keys, the first round of reads): the app runs them
    in a worker thread. They raise the contract's errors.
    """

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
        if auth.mode != "jwt":
            return None
        from agent_streams.live.jwt_verifier import JwtVerifier

        return JwtVerifier(auth.issuer, auth.audiences)

    def _subject(self, headers: Mapping[str, str]) -> str | None:
        verifier = self.verifier
        return None if verifier is None else verifier.subject(headers.get("authorization"))

    def open_stream(
        self, stream_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Opened:
        """``GET /streams/{streamId}/events``."""
        subject = self._subject(headers)
        stream_id = _id("streamId", stream_id)
        known = _query(query, ("cursor", "stored"))
        stored = known.get("stored", "false")
        if stored not in ("true", "false"):
            raise ValidationError("stored must be true or false")
        last = headers.get("last-event-id") or known.get("cursor")
        return open_stream_events(
            services(), stream_id, last, subject=subject, stored=stored == "true"
        )

    def open_thread(
        self, thread_id: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Opened | None:
        """``GET /threads/{threadId}/stream``: None when nothing of it is live (204)."""
        subject = self._subject(headers)
        thread_id = _id("threadId", thread_id)
        _query(query, ())
        return open_thread_stream(
            services(),
            thread_id,
            headers.get("last-event-id") or None,
            subject=subject,
            settle_ms=self.options.turn_settle_ms,
        )

    def body(self, opened: Opened, headers: Mapping[str, str]) -> AsyncIterator[bytes]:
        """The events of an opened read, ended in time for the Lambda deadline."""
        rounds, first = opened
        deadline = connection_deadline(headers.get("x-amzn-lambda-context"), self.options)
        return _guarded(sse_body(rounds, first, self.options, deadline=deadline))
