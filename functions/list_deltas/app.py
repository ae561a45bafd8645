"""list_deltas — ``GET /threads/{threadId}/deltas?cursors=<streamId>:<n>,…``."""

from agent_streams.api import Reply, lambda_handler, served
from agent_streams.api.replies import deltas_json
from agent_streams.service import appends
from agent_streams_protocol import routes

OPERATION = served(
    routes.LIST_DELTAS,
    run=appends.list_deltas,
    direct=lambda deltas: [d.to_wire() for d in deltas],
    # The stored parts go out as they are stored, not decoded and encoded again.
    reply=lambda deltas: Reply(routes.LIST_DELTAS.status, raw_body=deltas_json(deltas)),
)

handler = lambda_handler(OPERATION)
