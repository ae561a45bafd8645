"""delete_thread — ``DELETE /threads/{threadId}``: delete its streams, then the thread,
through the DeleteThreadStreams state machine."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import threads
from agent_streams_protocol import routes

OPERATION = served(
    routes.DELETE_THREAD,
    run=threads.delete_thread,
    direct=lambda arn: {"executionArn": arn},
    reply=lambda arn: {"executionArn": arn},
)

handler = lambda_handler(OPERATION)
