"""abort_streams_by_order — ``POST /threads/{threadId}/streams/abort``."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import streams
from agent_streams.service.arguments import AbortStreamsByOrderArgs

OPERATION = Operation[AbortStreamsByOrderArgs, bool](
    name="abort_streams_by_order",
    arguments=AbortStreamsByOrderArgs,
    run=streams.abort_streams_by_order,
    direct=lambda aborted: aborted,
    http=HttpRoute(
        "POST",
        "/threads/{threadId}/streams/abort",
        reply=lambda aborted: Reply(200, {"aborted": aborted}),
        summary="Abort the streaming streams of a thread at one order",
        reply_schema="Aborted",
        body=True,
        errors=(401, 404, 422),
    ),
)

handler = lambda_handler(OPERATION)
