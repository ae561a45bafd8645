"""Where moto's DynamoDB differs from DynamoDB in ways this project depends on.

Applied by the local stack and the tests (never in Lambda):

- **Atomicity.** moto's server handles requests on many threads without locks,
  so two transactions could interleave item by item. DynamoDB never lets them:
  every backend call here runs under one lock.
- **Cost of a transaction.** moto snapshots every table a transaction touches
  (a deep copy of all its items) so it can roll back; with thousands of deltas
  that makes each append O(table size). Here only the items the transaction
  names are saved and restored, with the same all-or-nothing result — their
  DynamoDB stream records included: moto writes a transaction item by item, so a
  cancelled one would otherwise leave records of changes that never happened.
- **Stream records kept.** moto keeps every stream record for ever (and every
  shard iterator it ever handed out). DynamoDB keeps records 24 hours; here the
  newest :data:`RETAINED_RECORDS` of a shard are kept, and an iterator is
  forgotten once used (a reader goes on with the ``NextShardIterator``).

The guards that moto does not enforce (400 KB items, 25-item batches, 100-item
and 4 MB transactions) are the project's own, in the storage layer.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

_lock = threading.RLock()
_applied = False
#: Stream records a shard keeps (older ones are dropped, as DynamoDB drops them after
#: 24 hours): far more than a poller that keeps up ever leaves behind.
RETAINED_RECORDS = 20_000

_LOCKED_METHODS = (
    "create_table",
    "delete_table",
    "update_table",
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
    "batch_write_item",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)


def apply() -> None:
    """Patch moto's DynamoDB backend (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        import moto.dynamodb.models as models
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table

        class _TablesAreNotCopied:
            """Stands in for ``copy`` inside moto's transaction: tables are not deep-copied."""

            @staticmethod
            def deepcopy(value: Any, memo: Any = None) -> Any:
                return value if isinstance(value, Table) else copy.deepcopy(value, memo)

        original_transact = DynamoDBBackend.transact_write_items

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
            with _lock:
                saved = _save_items(self, transact_items, DynamoType)
                records = _record_counts(self, transact_items)
                setattr(models, "copy", _TablesAreNotCopied)  # noqa: B010 - a module global
                try:
                    return original_transact(self, transact_items)
                except BaseException:
                    for table, hash_key, range_key, item in reversed(saved):
                        _restore(table, hash_key, range_key, item)
                    for shard, kept in records:
                        del shard.items[kept:]
                    raise
                finally:
                    setattr(models, "copy", copy)  # noqa: B010

        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _bound_stream_records()
        for name in _LOCKED_METHODS:
            method = getattr(DynamoDBBackend, name, None)
            if method is not None:
                setattr(DynamoDBBackend, name, _locked(method))
        _applied = True


def _record_counts(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, int]]:
    """The stream shards of the tables a transaction writes, and their records so far."""
    shards = {}
    for entry in transact_items:
        try:
            ((_, op),) = entry.items()
            table = backend.tables[op["TableName"]]
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
        if table.stream_shard is not None:
            shards[id(table.stream_shard)] = table.stream_shard
    return [(shard, len(shard.items)) for shard in shards.values()]


def _bound_stream_records() -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_add = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        # Dropped records leave a None behind, so sequence numbers (moto derives them
        # from positions) stay what they were.
        dropped = len(self.items) - RETAINED_RECORDS - 1
        if dropped >= 0:
            self.items[dropped] = None

    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        first = max(0, start - self.starting_sequence_number)
        return [r.to_json() for r in self.items[first : first + quantity] if r is not None]

    original_get_records = DynamoDBStreamsBackend.get_records

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        with _lock:  # not while a transaction is half written
            result = original_get_records(self, iterator_arn, limit)
            self.shard_iterators.pop(iterator_arn, None)
        return dict(result)

    StreamShard.add = add  # type: ignore[method-assign]
    StreamShard.get = get  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    return call


def _save_items(backend: Any, transact_items: list[dict[str, Any]], dynamo_type: Any) -> list[Any]:
    saved = []
    for entry in transact_items:
        try:
            ((op_type, op),) = entry.items()
            table = backend.tables[op["TableName"]]
            key = op["Item"] if op_type == "Put" else op["Key"]
            hash_key = dynamo_type(key[table.hash_key_attr])
            range_key = dynamo_type(key[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, ValueError, TypeError, AttributeError):
            continue  # malformed: moto rejects it before writing anything
        saved.append(
            (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
        )
    return saved


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item
