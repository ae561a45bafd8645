"""Storage: the only package that knows DynamoDB.

``repository`` says what the service needs (in domain terms); ``dynamo``
implements it on DynamoDB (PynamoDB for items and transactions, the low-level
client for queries and batch writes) and raises nothing but the contract's errors.
Its contract tests run on moto.
"""

from agent_streams.storage.repository import (
    AppendOutcome,
    DeltaWrite,
    Repository,
    TransitionOutcome,
)

__all__ = ["AppendOutcome", "DeltaWrite", "Repository", "TransitionOutcome"]
