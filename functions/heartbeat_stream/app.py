"""heartbeat_stream — ``POST /streams/{streamId}/heartbeat``: keep a quiet stream alive."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import streams
from agent_streams.service.arguments import StreamArgs

OPERATION = Operation[StreamArgs, None](
    name="heartbeat_stream",
    arguments=StreamArgs,
    run=streams.heartbeat_stream,
    direct=lambda _: None,
    http=HttpRoute(
        "POST",
        "/streams/{streamId}/heartbeat",
        reply=lambda _: Reply(204),
        summary="Record a heartbeat",
        body=True,
        errors=(404, 422),
    ),
)

handler = lambda_handler(OPERATION)
