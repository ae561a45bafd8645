"""timeout_stream — EventBridge Scheduler target: abort a stream silent for 10 minutes,
or re-arm for ``lastHeartbeat + 10 min``."""

from agent_streams.api import Operation, lambda_handler
from agent_streams.service import lifecycle
from agent_streams_protocol.shapes import StreamRequest

OPERATION = Operation[StreamRequest, None](
    name="timeout_stream",
    arguments=StreamRequest,
    run=lifecycle.timeout_stream,
    direct=lambda _: None,
)

handler = lambda_handler(OPERATION)
