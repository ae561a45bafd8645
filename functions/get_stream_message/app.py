"""get_stream_message — ``GET /streams/{streamId}/message``: a stream's UI message, from its
snapshot once it ended (two DynamoDB requests whatever its length), else from its deltas."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import messages
from agent_streams.service.snapshots import READ_STREAM_INSTEAD, StreamUIMessage
from agent_streams_protocol import routes

OPERATION = served(
    routes.GET_STREAM_MESSAGE,
    run=messages.get_stream_message,
    direct=StreamUIMessage.to_wire,
    reply=StreamUIMessage.to_wire,
    too_large_hint=READ_STREAM_INSTEAD,
)

handler = lambda_handler(OPERATION)
