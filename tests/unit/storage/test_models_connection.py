"""The three PynamoDB models share one connection, on the process's DynamoDB client."""

from __future__ import annotations

from agent_streams import aws
from agent_streams.config import Settings
from agent_streams.storage.models import DeltaItem, StreamItem, ThreadItem, bind_models, connection


def _connections() -> list[object]:
    return [m._get_connection().connection for m in (ThreadItem, StreamItem, DeltaItem)]


def test_the_models_share_one_connection_through_rebinding() -> None:
    for threads in ("t-a", "t-b", "t-a"):
        bind_models(
            Settings(
                threads_table=threads, streams_table="s-a", deltas_table="d-a", region="us-east-1"
            )
        )
        first, *others = _connections()
        assert all(other is first for other in others)
        assert connection() is first
        for model in (ThreadItem, StreamItem, DeltaItem):
            table = model._get_connection()
            assert table.connection.get_meta_table(table.table_name).table_name == table.table_name


def test_the_shared_connection_uses_the_process_client() -> None:
    bind_models(
        Settings(threads_table="t", streams_table="s", deltas_table="d", region="us-east-1")
    )
    client = connection().client
    # One DynamoDB client in the process, from its one session: what the low-level
    # reads use too, made once under aws.creating_lock.
    assert client is aws.client("dynamodb", "us-east-1")
    assert client.meta.config.max_pool_connections == 32
    # One attempt a call: retries are agent_streams.retries's, inside the deadline.
    assert client.meta.config.retries["total_max_attempts"] == 1
