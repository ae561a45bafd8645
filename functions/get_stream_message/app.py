"""get_stream_message — ``GET /streams/{streamId}/message``: a stream's UI message, from its
snapshot once it ended (two DynamoDB requests whatever its length), else from its deltas."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import messages
from agent_streams.service.arguments import StreamArgs
from agent_streams.service.snapshots import READ_STREAM_INSTEAD, StreamUIMessage

OPERATION = Operation[StreamArgs, StreamUIMessage](
    name="get_stream_message",
    arguments=StreamArgs,
    run=messages.get_stream_message,
    direct=StreamUIMessage.to_wire,
    too_large_hint=READ_STREAM_INSTEAD,
    http=HttpRoute(
        "GET",
        "/streams/{streamId}/message",
        reply=lambda found: Reply(200, found.to_wire()),
        summary="Read a stream's UI message (its snapshot once ended)",
        reply_schema="StreamUIMessage",
        errors=(401, 404, 413, 422),
    ),
)

handler = lambda_handler(OPERATION)
