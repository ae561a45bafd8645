"""delete_thread_streams — ``DELETE /threads/{threadId}/streams``: the thread's streams (the
thread stays); 204 when done in the call, 202 with the execution that finishes it when the
call's time ran out."""

from agent_streams.api import Reply, lambda_handler, served
from agent_streams.service import deletion
from agent_streams_protocol import routes

OPERATION = served(
    routes.DELETE_THREAD_STREAMS,
    run=deletion.delete_thread_streams,
    direct=lambda arn: None if arn is None else {"executionArn": arn},
    reply=lambda arn: Reply(204) if arn is None else {"executionArn": arn},
)

handler = lambda_handler(OPERATION)
