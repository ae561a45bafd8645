"""finish_stream — ``POST /streams/{streamId}/finish``: end a stream, with its last delta."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import streams
from agent_streams.service.arguments import FinishStreamArgs
from agent_streams.types import StreamStatus

OPERATION = Operation[FinishStreamArgs, StreamStatus](
    name="finish_stream",
    arguments=FinishStreamArgs,
    run=streams.finish_stream,
    direct=lambda _: None,
    http=HttpRoute(
        "POST",
        "/streams/{streamId}/finish",
        reply=lambda status: Reply(200, {"status": status}),
        summary="Finish a stream",
        reply_schema="Status",
        body=True,
        carries_delta=True,
        errors=(404, 409, 413, 422),
    ),
)

handler = lambda_handler(OPERATION)
