"""add_delta — ``POST /streams/{streamId}/deltas``: append one delta, exactly once."""

from agent_streams.api import Reply, lambda_handler, served
from agent_streams.service import appends
from agent_streams_protocol import routes, shapes
from agent_streams_protocol.errors import StreamNotFound


def http_reply(result: appends.AppendResult) -> shapes.Accepted | Reply:
    if result.status is None:
        return Reply(404, StreamNotFound(result.stream_id).to_body())
    return {"accepted": result.accepted, "status": result.status}


OPERATION = served(
    routes.ADD_DELTA,
    run=appends.add_delta,
    direct=lambda result: result.accepted,
    reply=http_reply,
)

handler = lambda_handler(OPERATION)
