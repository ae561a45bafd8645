"""heartbeat_stream — ``POST /streams/{streamId}/heartbeat``: keep a quiet stream alive."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import streams
from agent_streams_protocol import routes

OPERATION = served(
    routes.HEARTBEAT_STREAM,
    run=streams.heartbeat_stream,
    direct=lambda _: None,
    reply=lambda _: None,
)

handler = lambda_handler(OPERATION)
