"""abort_stream — ``POST /streams/{streamId}/abort``: end a stream as aborted."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import streams
from agent_streams.service.arguments import AbortStreamArgs

OPERATION = Operation[AbortStreamArgs, bool](
    name="abort_stream",
    arguments=AbortStreamArgs,
    run=streams.abort_stream,
    direct=lambda aborted: aborted,
    http=HttpRoute(
        "POST",
        "/streams/{streamId}/abort",
        reply=lambda aborted: Reply(200, {"aborted": aborted}),
        summary="Abort a stream",
        reply_schema="Aborted",
        body=True,
        carries_delta=True,
        errors=(401, 404, 409, 413, 422),
    ),
)

handler = lambda_handler(OPERATION)
