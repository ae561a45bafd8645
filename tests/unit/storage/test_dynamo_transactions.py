"""Guards for what DynamoRepository assumes about PynamoDB transactions.

``storage.transactions.Transaction`` names its items and reads a cancelled
transaction's reasons by name, computing where each item was sent: PynamoDB
sends a transaction's items grouped as condition checks, deletes, puts, then
updates, whatever order the code added them in (the repository adds the update
first). If PynamoDB ever sends them in call order, these tests fail before
appends start misreading conflicts.
"""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.connection.base import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from agent_streams.storage.models import DeltaItem, StreamItem, ThreadItem, connection
from agent_streams.storage.repository import Repository

from .helpers import LIVE, NOW, PARTS, SETTINGS, delta, seed, stream

Captured = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Captured:
    """Every request PynamoDB makes, as (operation, arguments)."""
    captured: Captured = []
    original = Connection._make_api_call

    def spy(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        captured.append((operation_name, operation_kwargs))
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", spy)
    return captured


def item_kinds(request: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (kind, body["TableName"])
        for item in request["TransactItems"]
        for kind, body in item.items()
    ]


def test_pynamodb_sends_checks_deletes_puts_then_updates(
    dynamo_repo: Repository, sent: Captured
) -> None:
    seed(dynamo_repo, stream("s1"), stream("s2"))
    sent.clear()
    with TransactWrite(connection=connection()) as tx:  # added in the reverse order
        tx.update(StreamItem("s1"), actions=[StreamItem.last_heartbeat.set(NOW)])
        tx.save(DeltaItem("s1", 0, end=1, parts=PARTS, expires_at=LIVE))
        tx.delete(StreamItem("s2"))
        tx.condition_check(ThreadItem, "t1", condition=ThreadItem.status == "active")
    (request,) = [kwargs for op, kwargs in sent if op == "TransactWriteItems"]
    assert [kind for kind, _ in item_kinds(request)] == [
        "ConditionCheck",
        "Delete",
        "Put",
        "Update",
    ]


def test_cancellation_reasons_follow_the_sent_order(dynamo_repo: Repository) -> None:
    seed(dynamo_repo, stream("s1", next_start=5))
    DeltaItem("s1", 0, end=1, parts=PARTS, expires_at=LIVE).save()

    def both_conditions_fail() -> None:
        with TransactWrite(connection=connection()) as tx:
            # Added update first, as DynamoRepository does; both ask for the item found.
            tx.update(
                StreamItem("s1"),
                actions=[StreamItem.next_start.set(1)],
                condition=StreamItem.next_start == 0,
                return_values="ALL_OLD",
            )
            tx.save(
                DeltaItem("s1", 0, end=1, parts=PARTS, expires_at=LIVE),
                condition=DeltaItem.stream_id.does_not_exist(),
                return_values="ALL_OLD",
            )

    with pytest.raises(TransactWriteError) as caught:
        both_conditions_fail()
    reasons = caught.value.cancellation_reasons
    assert len(reasons) == 2
    put_reason, update_reason = reasons
    assert put_reason is not None
    assert put_reason.raw_item is not None
    assert update_reason is not None
    assert update_reason.raw_item is not None
    assert put_reason.raw_item["parts"] == {"S": PARTS}  # the delta comes first
    assert update_reason.raw_item["nextStart"] == {"N": "5"}  # the stream last


@pytest.mark.parametrize("operation", ["append", "finish", "abort"])
def test_an_append_is_one_transaction_delta_put_first(
    dynamo_repo: Repository, sent: Captured, operation: str
) -> None:
    seed(dynamo_repo, stream("s1"))
    sent.clear()
    if operation == "append":
        assert dynamo_repo.append("s1", delta(0, 1), NOW).written
    elif operation == "finish":
        assert dynamo_repo.finish("s1", NOW, delta(0, 1), "cleanup-s1-0", LIVE).changed
    else:
        assert dynamo_repo.abort("s1", "stop", NOW, delta(0, 1), None).changed
    transactions = [kwargs for op, kwargs in sent if op == "TransactWriteItems"]
    assert len(transactions) == 1
    assert item_kinds(transactions[0]) == [
        ("Put", SETTINGS.deltas_table),
        ("Update", SETTINGS.streams_table),
    ]


def test_a_transactions_names_follow_the_order_it_is_sent_in(
    dynamo_repo: Repository, sent: Captured
) -> None:
    from agent_streams.storage.transactions import Transaction

    seed(dynamo_repo, stream("s1"))
    sent.clear()
    tx = Transaction()  # added in the reverse of the sent order
    tx.update("stream", StreamItem("s1"), [StreamItem.last_heartbeat.set(NOW)],
              StreamItem.status == "streaming")  # fmt: skip
    tx.put("delta", DeltaItem("s1", 0, end=1, parts=PARTS, expires_at=LIVE),
           DeltaItem.stream_id.does_not_exist())  # fmt: skip
    tx.check("thread", ThreadItem, "t1", ThreadItem.status == "active")
    tx.commit()
    (request,) = [kwargs for op, kwargs in sent if op == "TransactWriteItems"]
    kinds = {"thread": "ConditionCheck", "delta": "Put", "stream": "Update"}
    assert [kinds[name] for name in tx.names()] == [kind for kind, _ in item_kinds(request)]
