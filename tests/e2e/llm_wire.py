"""A local LLM provider for the real SDKs: each provider's streaming wire format, replayed.

The docs' pipelines call the real ``anthropic``, ``openai`` and ``boto3`` SDKs; pointed
here (``ANTHROPIC_BASE_URL``, ``OPENAI_BASE_URL``, ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``,
dummy keys) they get a streamed reply in the format the provider sends:

- Anthropic Messages: ``POST /v1/messages``, Server-Sent Events ``event: <type>`` +
  ``data: <json>``;
- OpenAI Chat Completions: ``POST /v1/chat/completions``, ``data: <chunk>`` lines ending
  with ``data: [DONE]``; a request with ``tools`` and no tool result yet gets tool calls;
- OpenAI Responses: ``POST /v1/responses``, ``event: <type>`` + ``data: <json>``;
- Bedrock ``converse_stream``: ``POST /model/<id>/converse-stream``, the AWS event stream
  (``application/vnd.amazon.eventstream``): each message a prelude (total and headers
  lengths, big-endian, and their CRC32), string headers (``:event-type``,
  ``:content-type``, ``:message-type``), the JSON payload and the message's CRC32 —
  what botocore's ``EventStream`` parser checks.

The replies are the SDK event sequences of the client's adapter tests
(``tests/unit/client/adapter_events.py``, validated there against the SDKs' types).
"""

from __future__ import annotations

import binascii
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.unit.client import adapter_events as ev

#: The text each provider's reply carries, for a test to look for in the stored message.
REPLY_TEXT = {
    "openai_chat": "Hello",
    "openai_chat_tools": "Checking.",
    "openai_responses": "".join(
        e["delta"] for e in ev.RESPONSES_TEXT if e["type"] == "response.output_text.delta"
    ),
    "anthropic": "".join(
        e["delta"]["text"]
        for e in ev.ANTHROPIC_TOOL
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    ),
    "bedrock": "Looking it up.",
}


def _sse(events: list[dict[str, Any]], *, named: bool, done: bool) -> bytes:
    out = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", 7, len(raw_value))
        + raw_value
    )


def event_stream_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream message (the vnd.amazon.eventstream framing)."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack("!I", binascii.crc32(message))


def _bedrock(events: list[dict[str, Any]]) -> bytes:
    return b"".join(event_stream_message(*next(iter(e.items()))) for e in events)


class LlmWire:
    """The server; ``requests`` lists ``(path, body)`` of every request, in order."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        wire = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(
                    self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}"
                )
                wire.requests.append((self.path, body))
                content_type, data = wire.reply(self.path, body)
                self.send_response(200 if data else 404)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def reply(self, path: str, body: dict[str, Any]) -> tuple[str, bytes]:
        sse = "text/event-stream"
        if path == "/v1/chat/completions":
            answered = any(m.get("role") == "tool" for m in body.get("messages", []))
            events = ev.CHAT_TOOLS if body.get("tools") and not answered else ev.CHAT_TEXT
            return sse, _sse(events, named=False, done=True)
        if path == "/v1/responses":
            return sse, _sse(ev.RESPONSES_TEXT, named=True, done=False)
        if path == "/v1/messages":
            return sse, _sse(ev.ANTHROPIC_TOOL, named=True, done=False)
        if path.startswith("/model/") and path.endswith("/converse-stream"):
            return "application/vnd.amazon.eventstream", _bedrock(ev.BEDROCK_TOOL)
        return "application/json", b""

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def __enter__(self) -> LlmWire:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def environment(self) -> dict[str, str]:
        """What points the SDKs here: their documented variables, dummy keys."""
        return {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "sk-ant-local",
            "OPENAI_BASE_URL": f"{self.url}/v1",
            "OPENAI_API_KEY": "sk-local",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
