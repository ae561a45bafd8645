"""Storage: the only package that knows DynamoDB.

``repository`` says what the service needs (in domain terms), ``dynamo``
implements it on DynamoDB with PynamoDB, ``memory`` is the in-memory fake used
by unit tests. Both pass the same contract tests.
"""

from agent_streams.storage.repository import (
    AppendOutcome,
    DeltaWrite,
    Repository,
    TransitionOutcome,
)

__all__ = ["AppendOutcome", "DeltaWrite", "Repository", "TransitionOutcome"]
