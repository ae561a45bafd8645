"""delete_stream — ``DELETE /streams/{streamId}``: a stream and all its deltas, now."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import deletion
from agent_streams.service.arguments import StreamArgs

OPERATION = Operation[StreamArgs, None](
    name="delete_stream",
    arguments=StreamArgs,
    run=deletion.delete_stream,
    direct=lambda _: None,
    http=HttpRoute(
        "DELETE",
        "/streams/{streamId}",
        reply=lambda _: Reply(204),
        summary="Delete a stream and its deltas synchronously",
    ),
)

handler = lambda_handler(OPERATION)
