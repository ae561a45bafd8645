"""create_stream — ``POST /threads/{threadId}/streams``: open a stream for one model reply."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import streams
from agent_streams.service.arguments import CreateStreamArgs

OPERATION = Operation[CreateStreamArgs, str](
    name="create_stream",
    arguments=CreateStreamArgs,
    run=streams.create_stream,
    direct=lambda stream_id: stream_id,
    http=HttpRoute(
        "POST",
        "/threads/{threadId}/streams",
        reply=lambda stream_id: Reply(201, {"streamId": stream_id}),
        summary="Create a stream",
        reply_schema="StreamId",
        body=True,
        errors=(404, 409, 422),
    ),
)

handler = lambda_handler(OPERATION)
