"""delete_thread_streams — ``DELETE /threads/{threadId}/streams``: all of a thread's
streams, now; the thread stays."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import deletion
from agent_streams.service.arguments import ThreadArgs

OPERATION = Operation[ThreadArgs, None](
    name="delete_thread_streams",
    arguments=ThreadArgs,
    run=deletion.delete_thread_streams,
    direct=lambda _: None,
    http=HttpRoute(
        "DELETE",
        "/threads/{threadId}/streams",
        reply=lambda _: Reply(204),
        summary="Delete all streams of a thread synchronously",
    ),
)

handler = lambda_handler(OPERATION)
