"""list_streams — ``GET /threads/{threadId}/streams?startOrder=&statuses=``."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import streams
from agent_streams_protocol import routes

OPERATION = served(
    routes.LIST_STREAMS,
    run=streams.list_streams,
    direct=lambda found: [s.message() for s in found],
    reply=lambda found: [s.message() for s in found],
    too_large_hint="ask for fewer streams with startOrder or statuses",
)

handler = lambda_handler(OPERATION)
