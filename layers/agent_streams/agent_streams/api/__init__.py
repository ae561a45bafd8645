"""Handler plumbing shared by every function.

A function file declares its :class:`Operation` (arguments model, the service
function, how to shape its replies) and gets its Lambda handler from
:func:`lambda_handler`, which serves both the API Gateway HTTP API (v2) event
of its route and a direct invoke whose event is the arguments object.
"""

from agent_streams.api.handler import lambda_handler
from agent_streams.api.operation import HttpRoute, Operation, Query, Reply

__all__ = ["HttpRoute", "Operation", "Query", "Reply", "lambda_handler"]
