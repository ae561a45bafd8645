"""The repository on DynamoDB: :class:`~agent_streams.storage.repository.Repository`.

Put together from the modules that each know one part of the storage:

- ``threads``, ``streams``, ``transitions`` (appends, finish, abort), ``deltas``,
  ``snapshots``: what the service asks for, in its own terms;
- ``items`` (one item through PynamoDB's public API), ``transactions``
  (``TransactWrite`` with named items) and ``client`` (the low-level botocore
  client: queries, batch writes), the three ways they talk to DynamoDB;
- ``errors``: the one mapping of DynamoDB's failures to the contract's errors;
  nothing from botocore or PynamoDB leaves storage;
- ``spill`` and ``part_objects``: parts too large for an item, in the stack's S3 bucket.
"""

from __future__ import annotations

from agent_streams.config import Settings
from agent_streams.storage.client import DynamoClient
from agent_streams.storage.deltas import DeltaStore
from agent_streams.storage.models import bind_models
from agent_streams.storage.part_objects import PartObjects
from agent_streams.storage.snapshots import SnapshotStore
from agent_streams.storage.transitions import TransitionStore


class DynamoRepository(TransitionStore, DeltaStore, SnapshotStore):
    def __init__(self, settings: Settings, *, max_workers: int = 16) -> None:
        bind_models(settings)
        self._db = DynamoClient(settings.region, max_workers=max_workers)
        self._parts = PartObjects(settings, self._db.concurrently)

    def close(self) -> None:
        """Stop the threads that issue concurrent queries (they start on first use)."""
        self._db.close()
