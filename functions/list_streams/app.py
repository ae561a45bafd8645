"""list_streams — ``GET /threads/{threadId}/streams?startOrder=&statuses=``."""

from agent_streams.api import HttpRoute, Operation, Query, Reply, lambda_handler
from agent_streams.api.http import parse_int, parse_list
from agent_streams.service import streams
from agent_streams.service.arguments import ListStreamsArgs
from agent_streams.types import Stream

OPERATION = Operation[ListStreamsArgs, list[Stream]](
    name="list_streams",
    arguments=ListStreamsArgs,
    run=streams.list_streams,
    direct=lambda found: [s.message() for s in found],
    too_large_hint="ask for fewer streams with startOrder or statuses",
    http=HttpRoute(
        "GET",
        "/threads/{threadId}/streams",
        reply=lambda found: Reply(200, [s.message() for s in found]),
        summary="List a thread's streams, newest first (at most 100)",
        reply_schema="StreamMessageList",
        errors=(401, 404, 413, 422),
        query={
            "startOrder": Query(
                parse_int, "only streams with order >= this", {"type": "integer", "minimum": 0}
            ),
            "statuses": Query(parse_list, "comma-separated statuses (default: streaming)"),
        },
    ),
)

handler = lambda_handler(OPERATION)
