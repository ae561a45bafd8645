"""delete_stream — ``DELETE /streams/{streamId}``: a stream and all its deltas; 204 when done
in the call, 202 with the execution that finishes it when the call's time ran out."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import deletion
from agent_streams.service.arguments import StreamArgs

OPERATION = Operation[StreamArgs, str | None](
    name="delete_stream",
    arguments=StreamArgs,
    run=deletion.delete_stream,
    direct=lambda arn: None if arn is None else {"executionArn": arn},
    http=HttpRoute(
        "DELETE",
        "/streams/{streamId}",
        reply=lambda arn: Reply(204) if arn is None else Reply(202, {"executionArn": arn}),
        summary="Delete a stream and its deltas (202: finished in the background)",
        reply_schema="Execution",
        other_success=(204,),
    ),
)

handler = lambda_handler(OPERATION)
