"""Handler plumbing shared by every function.

A function file declares its :class:`Operation` (its route from the protocol, or for
a direct-only operation its arguments' shape; the service function; how to shape its
replies) and gets its Lambda handler from :func:`lambda_handler`, which serves both the
API Gateway HTTP API (v2) event of its route and a direct invoke whose event is the
arguments object.
"""

from agent_streams.api.handler import lambda_handler
from agent_streams.api.operation import HttpRoute, Operation, Reply, served

__all__ = ["HttpRoute", "Operation", "Reply", "lambda_handler", "served"]
