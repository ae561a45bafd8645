"""streaming_messages — ``GET /threads/{threadId}/streams/messages?order=&stepOrder=&status=&error=``."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import messages
from agent_streams_protocol import routes

OPERATION = served(
    routes.STREAMING_MESSAGES,
    run=messages.streaming_messages,
    direct=lambda found: found,
    reply=lambda found: found,
    too_large_hint=messages.READ_INSTEAD,
)

handler = lambda_handler(OPERATION)
