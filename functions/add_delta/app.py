"""add_delta — ``POST /streams/{streamId}/deltas``: append one delta, exactly once."""

from agent_streams.api import HttpRoute, Operation, Reply, lambda_handler
from agent_streams.service import appends
from agent_streams.service.arguments import DeltaArgs
from agent_streams_protocol.errors import StreamNotFound


def http_reply(result: appends.AppendResult) -> Reply:
    if result.status is None:
        return Reply(404, StreamNotFound(result.stream_id).to_body())
    return Reply(200, {"accepted": result.accepted, "status": result.status})


OPERATION = Operation[DeltaArgs, appends.AppendResult](
    name="add_delta",
    arguments=DeltaArgs,
    run=appends.add_delta,
    direct=lambda result: result.accepted,
    http=HttpRoute(
        "POST",
        "/streams/{streamId}/deltas",
        reply=http_reply,
        summary="Append a delta",
        reply_schema="Accepted",
        body=True,
        carries_delta=True,
        errors=(404, 409, 413, 422),
    ),
)

handler = lambda_handler(OPERATION)
