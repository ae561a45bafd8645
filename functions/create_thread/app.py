"""create_thread — ``POST /threads``: start a conversation."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import threads
from agent_streams.service.arguments import CreateThreadArgs
from agent_streams.types import Thread

OPERATION = Operation[CreateThreadArgs, Thread](
    name="create_thread",
    arguments=CreateThreadArgs,
    run=threads.create_thread,
    direct=Thread.to_wire,
    http=HttpRoute(
        "POST",
        "/threads",
        reply=lambda thread: Reply(201, thread.to_wire()),
        summary="Create a thread",
        reply_schema="Thread",
        body=True,
    ),
)

handler = lambda_handler(OPERATION)
