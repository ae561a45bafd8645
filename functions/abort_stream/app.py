"""abort_stream — ``POST /streams/{streamId}/abort``: end a stream as aborted."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import streams
from agent_streams_protocol import routes

OPERATION = served(
    routes.ABORT_STREAM,
    run=streams.abort_stream,
    direct=lambda aborted: aborted,
    reply=lambda aborted: {"aborted": aborted},
)

handler = lambda_handler(OPERATION)
