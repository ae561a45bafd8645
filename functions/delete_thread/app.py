"""delete_thread — ``DELETE /threads/{threadId}``: delete its streams, then the thread,
through the DeleteThreadStreams state machine."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import threads
from agent_streams.service.arguments import ThreadArgs

OPERATION = Operation[ThreadArgs, str](
    name="delete_thread",
    arguments=ThreadArgs,
    run=threads.delete_thread,
    direct=lambda arn: {"executionArn": arn},
    http=HttpRoute(
        "DELETE",
        "/threads/{threadId}",
        reply=lambda arn: Reply(202, {"executionArn": arn}),
        summary="Delete a thread and all its streams (asynchronously)",
        reply_schema="Execution",
        errors=(404, 422),
    ),
)

handler = lambda_handler(OPERATION)
