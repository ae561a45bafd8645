"""delete_thread_streams_page — the DeleteThreadStreams state machine's task: delete a
thread's streams until done or this invocation's time is nearly up."""

from agent_streams.api import Operation, lambda_handler
from agent_streams.service import deletion
from agent_streams.service.arguments import DeleteThreadStreamsPageArgs

OPERATION = Operation[DeleteThreadStreamsPageArgs, deletion.PageResult](
    name="delete_thread_streams_page",
    arguments=DeleteThreadStreamsPageArgs,
    run=deletion.delete_thread_streams_page,
    direct=deletion.PageResult.to_wire,
)

handler = lambda_handler(OPERATION)
