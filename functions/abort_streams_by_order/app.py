"""abort_streams_by_order — ``POST /threads/{threadId}/streams/abort``."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import streams
from agent_streams_protocol import routes

OPERATION = served(
    routes.ABORT_STREAMS_BY_ORDER,
    run=streams.abort_streams_by_order,
    direct=lambda aborted: aborted,
    reply=lambda aborted: {"aborted": aborted},
)

handler = lambda_handler(OPERATION)
