"""The live reads' routes in the OpenAPI document: Server-Sent Events at the ``LiveUrl``.

They are not HTTP API routes (HTTP API cannot stream a reply): the
``stream_events`` function serves them behind a Function URL, so each path names
its own server. The event stream is described as ``text/event-stream`` whose
events carry AI SDK 5 UI message chunks (docs/live-reads.md has the protocol).
"""

from __future__ import annotations

from typing import Any

from agent_streams.ids import ID_PATTERN

LIVE_PATHS = ("/streams/{streamId}/events", "/threads/{threadId}/stream")

_SERVERS = [
    {
        "url": "https://{urlId}.lambda-url.{region}.on.aws",
        "description": "The live reads Function URL (the `LiveUrl` output)",
        "variables": {
            "urlId": {
                "default": "abcdefghijklmnopqrstuvwxyz012345",
                "description": "The URL's id.",
            },
            "region": {"default": "us-east-1", "description": "The stack's region."},
        },
    },
    {"url": "http://127.0.0.1:3000", "description": "`agent-streams local`"},
]

_HEADERS = {
    "x-vercel-ai-ui-message-stream": {
        "description": "`v1`: the AI SDK's UI message stream protocol.",
        "schema": {"type": "string", "const": "v1"},
    },
    "cache-control": {"schema": {"type": "string", "const": "no-cache"}},
    "x-accel-buffering": {"schema": {"type": "string", "const": "no"}},
}

_EVENTS = (
    "Server-Sent Events. Each event is `id: <position>` and `data: <UI message chunk as "
    "JSON>`; the id is where a reader is after the event, and `Last-Event-ID` (or "
    "`?cursor=`) resumes exactly after it. Comment pings (`: ping`) keep an idle "
    "connection open. At the end: `data: [DONE]`. A connection that ends without "
    "`[DONE]` (the platform's time limit) is resumed with the last id."
)


#: One event (as OpenAPI 3.2 describes an event stream: the schema of each event).
_EVENT = {
    "type": "object",
    "properties": {
        "id": {
            "type": "string",
            "maxLength": 200,
            "description": "Where the reader is after this event; send it back as `Last-Event-ID`.",
        },
        "data": {
            "type": "string",
            "description": "An AI SDK 5 UI message chunk as one line of JSON (an object with a "
            "string `type`), or `[DONE]` at the end.",
        },
    },
    "required": ["data"],
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _id_parameter(name: str, text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": text,
        "schema": {"type": "string", "pattern": ID_PATTERN.pattern},
    }


_LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "description": "Resume exactly after this event (an `id` this route sent).",
    "schema": {"type": "string", "maxLength": 200},
}


def _stream(unavailable: dict[str, Any], internal: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": "stream_events",
        "summary": "Follow a stream live: its parts as UI message chunks (SSE)",
        "description": (
            "A `TextStreamPart` stream's parts are converted as the AI SDK's "
            "`toUIMessageStream` converts them. An aborted stream that did not end with its "
            "own `abort` chunk gets one; a timed-out stream first gets "
            '`{"type":"error","errorText":"stream timed out"}`.'
        ),
        "tags": ["live"],
        "servers": _SERVERS,
        "security": [{"sigv4": []}, {"bearer": []}],
        "parameters": [
            _id_parameter("streamId", "The stream's id."),
            {
                "name": "cursor",
                "in": "query",
                "description": "Resume after this event id (a plain number is a list_deltas "
                "cursor); `Last-Event-ID` wins when both are given.",
                "schema": {"type": "string", "maxLength": 200},
            },
            {
                "name": "stored",
                "in": "query",
                "description": "`true`: the parts as written (no conversion, no closing "
                "chunks), for readers that materialise them themselves.",
                "schema": {"type": "string", "enum": ["true", "false"]},
            },
            _LAST_EVENT_ID,
        ],
        "responses": {
            "200": {
                "description": _EVENTS,
                "headers": _HEADERS,
                "content": {"text/event-stream": {"schema": _EVENT}},
            },
            "401": _error("`Unauthorized`: JWT mode, and no valid bearer token with a subject."),
            "404": _error("`StreamNotFound`: the stream does not exist (or is not yours)."),
            "422": _error("`ValidationError`: a malformed id or cursor, or an unknown parameter."),
            "503": unavailable,
            "default": internal,
        },
    }


def _thread(unavailable: dict[str, Any], internal: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": "thread_stream",
        "summary": "Resume a thread's live reply: its newest turn as one UI message stream (SSE)",
        "description": (
            "What `useChat({ resume: true })` calls (`api` = `{LiveUrl}/threads`). The "
            "newest turn with a stream in `streaming`: the streams of that order in stepOrder, "
            "as one message — one `start` (`messageId` `stream:<first stream's id>`), each "
            "stream's chunks without its own `start`/`finish`, one `finish` (or the last "
            "stream's abort). With `Last-Event-ID`, that same turn continues even if it has "
            "ended since."
        ),
        "tags": ["live"],
        "servers": _SERVERS,
        "security": [{"sigv4": []}, {"bearer": []}],
        "parameters": [_id_parameter("threadId", "The thread's id."), _LAST_EVENT_ID],
        "responses": {
            "200": {
                "description": _EVENTS,
                "headers": _HEADERS,
                "content": {"text/event-stream": {"schema": _EVENT}},
            },
            "204": {"description": "Nothing of the thread is streaming."},
            "401": _error("`Unauthorized`: JWT mode, and no valid bearer token with a subject."),
            "404": _error("`ThreadNotFound`: the thread does not exist (or is not yours)."),
            "422": _error("`ValidationError`: a malformed id or `Last-Event-ID`."),
            "503": unavailable,
            "default": internal,
        },
    }


def live_paths(unavailable: dict[str, Any], internal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The two paths; ``unavailable`` and ``internal``: the 503 and default replies, as
    every route of the document has them."""
    unavailable = {
        **unavailable,
        "description": "`ServiceUnavailable`: the issuer's keys could not be read (JWT mode), "
        "or AWS kept throttling the reads: send the same request again after `Retry-After` "
        "seconds.",
    }
    return {
        LIVE_PATHS[0]: {"get": _stream(unavailable, internal)},
        LIVE_PATHS[1]: {"get": _thread(unavailable, internal)},
    }


BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "With `JwtIssuer`: a token of that issuer; its subject reads its own threads.",
}
