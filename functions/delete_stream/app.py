"""delete_stream — ``DELETE /streams/{streamId}``: a stream and all its deltas; 204 when done
in the call, 202 with the execution that finishes it when the call's time ran out."""

from agent_streams.api import Reply, lambda_handler, served
from agent_streams.service import deletion
from agent_streams_protocol import routes

OPERATION = served(
    routes.DELETE_STREAM,
    run=deletion.delete_stream,
    direct=lambda arn: None if arn is None else {"executionArn": arn},
    reply=lambda arn: Reply(204) if arn is None else {"executionArn": arn},
)

handler = lambda_handler(OPERATION)
