"""list_deltas — ``GET /threads/{threadId}/deltas?cursors=<streamId>:<n>,…``."""

from agent_streams.api import HttpRoute, Operation, Query, Reply, lambda_handler
from agent_streams.api.replies import deltas_json, parse_cursors
from agent_streams.service import appends
from agent_streams.service.arguments import ListDeltasArgs
from agent_streams.types import Delta

OPERATION = Operation[ListDeltasArgs, list[Delta]](
    name="list_deltas",
    arguments=ListDeltasArgs,
    run=appends.list_deltas,
    direct=lambda deltas: [d.to_wire() for d in deltas],
    http=HttpRoute(
        "GET",
        "/threads/{threadId}/deltas",
        reply=lambda deltas: Reply(200, raw_body=deltas_json(deltas)),
        summary="Read deltas from per-stream cursors",
        reply_schema="StreamDeltaList",
        errors=(401, 404, 422),
        query={
            "cursors": Query(
                parse_cursors,
                "comma-separated <streamId>:<cursor> pairs (at most 100)",
                required=True,
            )
        },
    ),
)

handler = lambda_handler(OPERATION)
