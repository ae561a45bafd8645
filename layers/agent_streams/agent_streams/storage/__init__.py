"""Storage: the only package that knows DynamoDB (and the S3 bucket of spilled parts).

``repository`` says what the service needs (in domain terms); ``dynamo``
implements it on DynamoDB (PynamoDB for items and transactions, the low-level
client for queries and batch writes), with parts too large for an item in S3
(``spill``, ``part_objects``), and raises nothing but the contract's errors.
Its contract tests run on moto.
"""

from agent_streams.storage.repository import (
    AppendOutcome,
    DeltaWrite,
    Repository,
    TransitionOutcome,
)

__all__ = ["AppendOutcome", "DeltaWrite", "Repository", "TransitionOutcome"]
