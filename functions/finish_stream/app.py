"""finish_stream — ``POST /streams/{streamId}/finish``: end a stream, with its last delta."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import streams
from agent_streams_protocol import routes

OPERATION = served(
    routes.FINISH_STREAM,
    run=streams.finish_stream,
    direct=lambda _: None,
    reply=lambda status: {"status": status},
)

handler = lambda_handler(OPERATION)
