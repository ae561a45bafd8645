"""agent-streams' runtime: what every Lambda function of the stack runs.

``api`` (handler plumbing) → ``service`` (the rules) → ``storage`` (DynamoDB),
``scheduling`` (EventBridge Scheduler), ``workflows`` (Step Functions), ``clock``.
Materialisation, error codes and limits come from ``agent_streams_protocol``, which
the clients share. The layer ships these two packages and their dependencies only.
"""

__version__ = "0.2.0"
