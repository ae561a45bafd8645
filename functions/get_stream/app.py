"""get_stream — ``GET /streams/{streamId}``: a stream with its state."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import streams
from agent_streams.types import Stream
from agent_streams_protocol import routes

OPERATION = served(
    routes.GET_STREAM,
    run=streams.get_stream,
    direct=Stream.state,
    reply=Stream.state,
)

handler = lambda_handler(OPERATION)
