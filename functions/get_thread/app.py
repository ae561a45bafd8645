"""get_thread — ``GET /threads/{threadId}``."""

from agent_streams.api import lambda_handler, served
from agent_streams.service import threads
from agent_streams.types import Thread
from agent_streams_protocol import routes

OPERATION = served(
    routes.GET_THREAD,
    run=threads.get_thread,
    direct=Thread.to_wire,
    reply=Thread.to_wire,
)

handler = lambda_handler(OPERATION)
