"""get_stream — ``GET /streams/{streamId}``: a stream with its state."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import streams
from agent_streams.service.arguments import StreamArgs
from agent_streams.types import Stream

OPERATION = Operation[StreamArgs, Stream](
    name="get_stream",
    arguments=StreamArgs,
    run=streams.get_stream,
    direct=Stream.state,
    http=HttpRoute(
        "GET",
        "/streams/{streamId}",
        reply=lambda stream: Reply(200, stream.state()),
        summary="Read a stream and its state",
        reply_schema="StreamState",
        errors=(401, 404, 422),
    ),
)

handler = lambda_handler(OPERATION)
