"""publish_events — the Streams and Threads tables' DynamoDB streams (through Lambda's event
source mappings): snapshot each ended stream, then publish the lifecycle events to
EventBridge, at least once."""

from agent_streams.api import Operation, lambda_handler
from agent_streams.service import publication
from agent_streams.service.arguments import StreamRecordsArgs

OPERATION = Operation[StreamRecordsArgs, publication.BatchResult](
    name="publish_events",
    arguments=StreamRecordsArgs,
    run=publication.publish_events,
    direct=publication.BatchResult.to_wire,
)

handler = lambda_handler(OPERATION)
