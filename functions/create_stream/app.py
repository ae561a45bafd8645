"""create_stream — ``POST /threads/{threadId}/streams``: open a stream for one model reply."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import streams
from agent_streams_protocol import routes

OPERATION = served(
    routes.CREATE_STREAM,
    run=streams.create_stream,
    direct=lambda stream_id: stream_id,
    reply=lambda stream_id: {"streamId": stream_id},
)

handler = lambda_handler(OPERATION)
