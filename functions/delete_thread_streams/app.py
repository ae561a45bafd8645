"""delete_thread_streams — ``DELETE /threads/{threadId}/streams``: the thread's streams (the
thread stays); 204 when done in the call, 202 with the execution that finishes it when the
call's time ran out."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import deletion
from agent_streams.service.arguments import ThreadArgs

OPERATION = Operation[ThreadArgs, str | None](
    name="delete_thread_streams",
    arguments=ThreadArgs,
    run=deletion.delete_thread_streams,
    direct=lambda arn: None if arn is None else {"executionArn": arn},
    http=HttpRoute(
        "DELETE",
        "/threads/{threadId}/streams",
        reply=lambda arn: Reply(204) if arn is None else Reply(202, {"executionArn": arn}),
        summary="Delete all streams of a thread (202: finished in the background)",
        reply_schema="Execution",
        other_success=(204,),
    ),
)

handler = lambda_handler(OPERATION)
