"""get_thread — ``GET /threads/{threadId}``."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import threads
from agent_streams.service.arguments import ThreadArgs
from agent_streams.types import Thread

OPERATION = Operation[ThreadArgs, Thread](
    name="get_thread",
    arguments=ThreadArgs,
    run=threads.get_thread,
    direct=Thread.to_wire,
    http=HttpRoute(
        "GET",
        "/threads/{threadId}",
        reply=lambda thread: Reply(200, thread.to_wire()),
        summary="Read a thread",
        reply_schema="Thread",
        errors=(401, 404, 422),
    ),
)

handler = lambda_handler(OPERATION)
