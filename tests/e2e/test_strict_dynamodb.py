"""DynamoDB's limits on the runtime's own requests while the local stack runs.

Each test sends through the runtime's DynamoDB client (``agent_streams.aws``, the one
every function uses) and, where moto alone is lenient, shows it with a plain client
on the same endpoint: the limit is the local stack's doing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from agent_streams import aws as runtime_aws
from agent_streams_dev.local.dynamo_limits import MAX_ITEM_BYTES, MAX_PAGE_BYTES, item_size
from agent_streams_dev.local.stack import LocalStack
from tests.e2e.reliability_invariants import aws

pytestmark = pytest.mark.e2e


@pytest.fixture
def table(local_stack: LocalStack) -> str:
    assert local_stack.resources is not None
    return local_stack.resources.table_names["ThreadsTable"]


@pytest.fixture
def runtime(local_stack: LocalStack) -> Any:
    """The DynamoDB client the functions use (its session carries the stack's hooks)."""
    return runtime_aws.client("dynamodb")


@pytest.fixture
def plain(local_stack: LocalStack) -> Any:
    """A client of its own session: the endpoint as it is."""
    return aws(local_stack, "dynamodb")


@pytest.fixture
def keys(plain: Any, table: str) -> Iterator[list[str]]:
    """Item keys a test writes, deleted afterwards."""
    made: list[str] = []
    yield made
    for key in made:
        plain.delete_item(TableName=table, Key={"threadId": {"S": key}})


def put(table: str, key: str, **attributes: Any) -> dict[str, Any]:
    item = {"threadId": {"S": key}, **attributes}
    return {"Put": {"TableName": table, "Item": item}}


def count(plain: Any, table: str, keys: list[str]) -> int:
    found = 0
    for key in keys:
        reply = plain.get_item(TableName=table, Key={"threadId": {"S": key}}, ConsistentRead=True)
        found += "Item" in reply
    return found


def error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


class TestTransactions:
    def test_more_than_100_actions_are_refused(
        self, runtime: Any, table: str, keys: list[str], plain: Any
    ) -> None:
        keys += [f"tx-{uuid.uuid4()}" for _ in range(101)]
        with pytest.raises(ClientError) as raised:
            runtime.transact_write_items(TransactItems=[put(table, k) for k in keys])
        code, message = error(raised)
        assert code == "ValidationException"
        assert "Member must have length less than or equal to 100" in message
        assert count(plain, table, keys) == 0
        runtime.transact_write_items(TransactItems=[put(table, k) for k in keys[:100]])
        assert count(plain, table, keys) == 100

    def test_more_than_4_mb_of_items_is_refused_where_moto_accepts_it(
        self, runtime: Any, plain: Any, table: str, keys: list[str]
    ) -> None:
        blob = {"blob": {"S": "x" * 380_000}}  # under every item limit; 12 of them pass 4 MB
        mine = [f"tx-{uuid.uuid4()}" for _ in range(12)]
        keys += mine
        with pytest.raises(ClientError) as raised:
            runtime.transact_write_items(TransactItems=[put(table, k, **blob) for k in mine])
        code, message = error(raised)
        assert (code, message.split(" (")[0]) == (
            "ValidationException",
            "Transaction request cannot be larger than 4 MB",
        )
        assert count(plain, table, mine) == 0
        # moto alone takes it.
        plain.transact_write_items(TransactItems=[put(table, k, **blob) for k in mine])
        assert count(plain, table, mine) == 12

    def test_a_put_over_400_kb_cancels_the_transaction(
        self, runtime: Any, plain: Any, table: str, keys: list[str]
    ) -> None:
        small, big = f"tx-{uuid.uuid4()}", f"tx-{uuid.uuid4()}"
        keys += [small, big]
        too_big = {"blob": {"S": "x" * (MAX_ITEM_BYTES + 1)}}
        with pytest.raises(ClientError) as raised:
            runtime.transact_write_items(
                TransactItems=[put(table, small), put(table, big, **too_big)]
            )
        assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
        reasons = raised.value.response["CancellationReasons"]
        assert [r["Code"] for r in reasons] == ["None", "ValidationError"]
        assert reasons[1]["Message"] == "Item size has exceeded the maximum allowed size"
        assert count(plain, table, [small, big]) == 0

    def test_a_client_request_token_makes_a_transaction_idempotent(
        self, local_stack: LocalStack, runtime: Any, plain: Any, table: str, keys: list[str]
    ) -> None:
        key = f"tx-{uuid.uuid4()}"
        keys.append(key)
        plain.put_item(TableName=table, Item={"threadId": {"S": key}, "n": {"N": "0"}})

        def increment(token: str, by: int = 1) -> None:
            runtime.transact_write_items(
                ClientRequestToken=token,
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"threadId": {"S": key}},
                            "UpdateExpression": "SET n = n + :by",
                            "ExpressionAttributeValues": {":by": {"N": str(by)}},
                        }
                    }
                ],
            )

        def n() -> int:
            item = plain.get_item(
                TableName=table, Key={"threadId": {"S": key}}, ConsistentRead=True
            )
            return int(item["Item"]["n"]["N"])

        token = str(uuid.uuid4())
        increment(token)
        increment(token)  # a repeat: success, not applied again
        assert n() == 1
        with pytest.raises(ClientError) as raised:
            increment(token, by=2)
        assert error(raised)[0] == "IdempotentParameterMismatchException"
        assert n() == 1
        # Ten minutes after it completed, the token is new again.
        local_stack.advance(10 * 60 + 1)
        increment(token)
        assert n() == 2
        # moto alone applies every repeat.
        plain_increment = {
            "Update": {
                "TableName": table,
                "Key": {"threadId": {"S": key}},
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        same = str(uuid.uuid4())
        plain.transact_write_items(ClientRequestToken=same, TransactItems=[plain_increment])
        plain.transact_write_items(ClientRequestToken=same, TransactItems=[plain_increment])
        assert n() == 4

    def test_a_failed_transaction_does_not_hold_its_token(
        self, runtime: Any, plain: Any, table: str, keys: list[str]
    ) -> None:
        key = f"tx-{uuid.uuid4()}"
        keys.append(key)
        only_if_absent = put(table, key)
        only_if_absent["Put"]["ConditionExpression"] = "attribute_not_exists(threadId)"
        token = str(uuid.uuid4())
        plain.put_item(TableName=table, Item={"threadId": {"S": key}})
        with pytest.raises(ClientError):
            runtime.transact_write_items(ClientRequestToken=token, TransactItems=[only_if_absent])
        plain.delete_item(TableName=table, Key={"threadId": {"S": key}})
        runtime.transact_write_items(ClientRequestToken=token, TransactItems=[only_if_absent])
        assert count(plain, table, [key]) == 1


class TestBatchesAndItems:
    def test_more_than_25_batch_writes_are_refused_where_moto_accepts_them(
        self, runtime: Any, plain: Any, table: str, keys: list[str]
    ) -> None:
        mine = [f"batch-{uuid.uuid4()}" for _ in range(26)]
        keys += mine
        requests = {table: [{"PutRequest": {"Item": {"threadId": {"S": k}}}} for k in mine]}
        with pytest.raises(ClientError) as raised:
            runtime.batch_write_item(RequestItems=requests)
        assert error(raised) == (
            "ValidationException",
            "Too many items requested for the BatchWriteItem call",
        )
        assert count(plain, table, mine) == 0
        plain.batch_write_item(RequestItems=requests)
        assert count(plain, table, mine) == 26

    def test_an_item_over_400_kb_is_refused(
        self, runtime: Any, plain: Any, table: str, keys: list[str]
    ) -> None:
        key = f"big-{uuid.uuid4()}"
        keys.append(key)
        item = {"threadId": {"S": key}, "blob": {"S": "x" * MAX_ITEM_BYTES}}
        assert item_size(item) > MAX_ITEM_BYTES
        with pytest.raises(ClientError) as raised:
            runtime.put_item(TableName=table, Item=item)
        assert error(raised) == (
            "ValidationException",
            "Item size has exceeded the maximum allowed size",
        )
        with pytest.raises(ClientError) as raised:
            runtime.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]})
        assert error(raised)[0] == "ValidationException"
        assert count(plain, table, [key]) == 0


def test_a_query_page_holds_at_most_1_mb(local_stack: LocalStack, runtime: Any, plain: Any) -> None:
    assert local_stack.resources is not None
    deltas = local_stack.resources.table_names["DeltasTable"]
    stream = f"page-{uuid.uuid4()}"
    for start in range(12):  # 12 x 100 KB
        plain.put_item(
            TableName=deltas,
            Item={"streamId": {"S": stream}, "start": {"N": str(start)}, "p": {"S": "x" * 100_000}},
        )
    try:
        pages, last_key, sizes = 0, None, []
        while True:
            kwargs = {"ExclusiveStartKey": last_key} if last_key else {}
            reply = runtime.query(
                TableName=deltas,
                KeyConditionExpression="streamId = :s",
                ExpressionAttributeValues={":s": {"S": stream}},
                **kwargs,
            )
            pages += 1
            sizes.append(sum(item_size(i) for i in reply["Items"]))
            last_key = reply.get("LastEvaluatedKey")
            if last_key is None:
                break
        assert pages == 2
        assert all(size <= MAX_PAGE_BYTES for size in sizes)
        assert sum(sizes) > MAX_PAGE_BYTES
    finally:
        for start in range(12):
            plain.delete_item(
                TableName=deltas, Key={"streamId": {"S": stream}, "start": {"N": str(start)}}
            )
