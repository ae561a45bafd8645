"""cleanup_stream — EventBridge Scheduler target: delete an ended stream and its deltas once
its retention is over (5 minutes after it finished by default; the reference's
``deleteStreamAsync``)."""

from agent_streams.api import Operation, lambda_handler
from agent_streams.service import lifecycle
from agent_streams.service.arguments import CleanupStreamArgs

OPERATION = Operation[CleanupStreamArgs, None](
    name="cleanup_stream",
    arguments=CleanupStreamArgs,
    run=lifecycle.cleanup_stream,
    direct=lambda _: None,
)

handler = lambda_handler(OPERATION)
