"""Live reads over Server-Sent Events: the ASGI app run by uvicorn behind the Lambda Web
Adapter (``run.sh``), reached through a Function URL with response streaming.

``GET /streams/{streamId}/events`` and ``GET /threads/{threadId}/stream`` in the AI
SDK's UI message stream protocol. Everything they do is the layer's
(``agent_streams.live.requests``: auth, arguments, the events); this file is the
Starlette glue. Also ``GET /healthz`` for the adapter's readiness check.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent_streams.live import SSE_HEADERS, LiveOptions
from agent_streams.live.auth import LiveAuth
from agent_streams.live.requests import LiveReads, Opened, error_headers
from agent_streams.observability import logger
from agent_streams_protocol.errors import AgentStreamsError

__all__ = ["LiveAuth", "app", "create_app"]


class SseResponse(StreamingResponse):
    """A streaming response that notices a client leaving while idle, not only at the
    next write (Starlette waits for a failed write from servers of ASGI spec 2.4)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asgi = {**scope.get("asgi", {}), "spec_version": "2.3"}
        await super().__call__({**scope, "asgi": asgi}, receive, send)


def _reply(reads: LiveReads, request: Request, opened: Opened | None) -> Response:
    if opened is None:
        return Response(status_code=204)
    return SseResponse(reads.body(opened, request.headers), headers=SSE_HEADERS)


def _error(error: AgentStreamsError) -> Response:
    return JSONResponse(error.to_body(), status_code=error.status, headers=error_headers(error))


def create_app(*, auth: LiveAuth | None = None, options: LiveOptions | None = None) -> Starlette:
    """The app. CORS is the Function URL's (its ``Cors`` in the template), not the app's."""
    reads = LiveReads(auth, options)

    async def stream_events(request: Request) -> Response:
        stream_id = str(request.path_params["streamId"])
        args = (stream_id, request.query_params, request.headers)
        try:
            opened = await asyncio.to_thread(reads.open_stream, *args)
        except AgentStreamsError as error:
            return _error(error)
        return _reply(reads, request, opened)

    async def thread_stream(request: Request) -> Response:
        thread_id = str(request.path_params["threadId"])
        args = (thread_id, request.query_params, request.headers)
        try:
            opened = await asyncio.to_thread(reads.open_thread, *args)
        except AgentStreamsError as error:
            return _error(error)
        return _reply(reads, request, opened)

    return Starlette(
        routes=[
            Route("/streams/{streamId}/events", stream_events, methods=["GET"]),
            Route("/threads/{threadId}/stream", thread_stream, methods=["GET"]),
            Route("/healthz", _healthz, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _not_found, Exception: _internal_error},
    )


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
        return JSONResponse({"message": exc.detail}, status_code=exc.status_code)
    return JSONResponse({"message": "Not Found"}, status_code=404)


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected failure")
    return JSONResponse({"error": "InternalError", "message": "internal error"}, status_code=500)


#: What uvicorn serves (``app:app``); reads its settings on the first request.
app = create_app()
