"""streaming_messages — ``GET /threads/{threadId}/streams/messages?order=&stepOrder=&status=&error=``."""

from typing import Any

from agent_streams.api import HttpRoute, Operation, Query, Reply, lambda_handler
from agent_streams.api.http import parse_int
from agent_streams.service import messages
from agent_streams.service.arguments import StreamingMessagesArgs

OPERATION = Operation[StreamingMessagesArgs, list[dict[str, Any]]](
    name="streaming_messages",
    arguments=StreamingMessagesArgs,
    run=messages.streaming_messages,
    direct=lambda found: found,
    too_large_hint=messages.READ_INSTEAD,
    http=HttpRoute(
        "GET",
        "/threads/{threadId}/streams/messages",
        reply=lambda found: Reply(200, found),
        summary="The streams at one order, materialised into message docs",
        reply_schema="MessageWithMetadataList",
        errors=(401, 404, 413, 422),
        query={
            "order": Query(
                parse_int, "the order", {"type": "integer", "minimum": 0}, required=True
            ),
            "stepOrder": Query(
                parse_int, "the highest stepOrder", {"type": "integer", "minimum": 0}, required=True
            ),
            "status": Query(
                str, "status given to the messages", {"enum": ["success", "failed"]}, required=True
            ),
            "error": Query(str, "error given to the messages"),
        },
    ),
)

handler = lambda_handler(OPERATION)
