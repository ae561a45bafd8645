"""Each kind of DynamoDB request the repository makes, throttled at the client.

A throttle that passes within the retries is invisible; one that lasts is
``ServiceUnavailable`` with nothing written — never a missing item, a refused
condition, or a botocore/PynamoDB error leaking out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent_streams import aws, retries
from agent_streams.storage.repository import Repository
from agent_streams_protocol.errors import ServiceUnavailable
from tests.integration.reliability_faults import Faults, throttled, unprocessed

from .helpers import NOW, SETTINGS, delta, seed, stream, thread

ATTEMPTS = retries.BACKOFF.attempts


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    monkeypatch.setattr(retries, "sleep", lambda seconds: None)
    injected = Faults()
    yield injected
    injected.remove_all()


def arranged(repo: Repository) -> None:
    seed(repo, stream("s1"))
    assert repo.append("s1", delta(0, 1), NOW).written


#: (request throttled, repository method, the call, what it returns once through)
CALLS: list[tuple[str, str, Callable[[Repository], Any], Callable[[Any], bool]]] = [
    ("GetItem", "get_thread", lambda r: r.get_thread("t1"), lambda got: got == thread("t1")),
    ("GetItem", "get_stream", lambda r: r.get_stream("s1", NOW), lambda got: got.next_start == 1),
    ("PutItem", "create_thread", lambda r: r.create_thread(thread("t2")), lambda got: got is None),
    ("UpdateItem", "heartbeat", lambda r: r.heartbeat("s1", NOW + 1),
     lambda got: got.last_heartbeat == NOW + 1),
    ("UpdateItem", "begin_thread_deletion", lambda r: r.begin_thread_deletion("t1", NOW).status,
     lambda got: got == "deleting"),
    ("DeleteItem", "delete_stream", lambda r: r.delete_stream("s1"), lambda got: got is True),
    ("Query", "read_deltas", lambda r: r.read_deltas([("s1", 0)], NOW, 10),
     lambda got: len(got[0]) == 1),
    ("Query", "list_streams", lambda r: r.list_streams("t1", ["streaming"], 0, NOW, 10),
     lambda got: len(got) == 1),
    ("Query", "delta_starts", lambda r: r.delta_starts("s1", None, 10),
     lambda got: got == ([0], True)),
    ("TransactWriteItems", "append", lambda r: r.append("s1", delta(1, 2), NOW).written,
     lambda got: got),
    ("BatchWriteItem", "delete_deltas", lambda r: r.delete_deltas("s1", [0], with_stream=False),
     lambda got: True),
]  # fmt: skip


def table_items(repo: Repository) -> Any:
    import boto3

    client = boto3.client("dynamodb", region_name=SETTINGS.region)
    names = (SETTINGS.threads_table, SETTINGS.streams_table, SETTINGS.deltas_table)
    return {n: sorted(client.scan(TableName=n)["Items"], key=repr) for n in names}


@pytest.mark.parametrize(("request_name", "name", "call", "ok"), CALLS, ids=[c[1] for c in CALLS])
def test_a_passing_throttle_is_invisible(
    dynamo_repo: Repository, faults: Faults, request_name: str, name: str, call: Any, ok: Any
) -> None:
    arranged(dynamo_repo)
    fault = faults.inject(
        aws.client("dynamodb", SETTINGS.region),
        request_name,
        throttled("ThrottlingException"),
        times=ATTEMPTS - 1,
    )
    assert ok(call(dynamo_repo))
    assert fault.injected == ATTEMPTS - 1


@pytest.mark.parametrize(("request_name", "name", "call", "ok"), CALLS, ids=[c[1] for c in CALLS])
def test_a_lasting_throttle_is_service_unavailable_with_nothing_written(
    dynamo_repo: Repository, faults: Faults, request_name: str, name: str, call: Any, ok: Any
) -> None:
    arranged(dynamo_repo)
    before = table_items(dynamo_repo)
    fault = faults.inject(
        aws.client("dynamodb", SETTINGS.region),
        request_name,
        throttled("ProvisionedThroughputExceededException"),
    )
    with pytest.raises(ServiceUnavailable) as raised:
        call(dynamo_repo)
    assert raised.value.retry_after == 1
    assert fault.calls == ATTEMPTS
    assert table_items(dynamo_repo) == before
    fault.lift()
    assert ok(call(dynamo_repo))


def test_unprocessed_items_that_stay_are_service_unavailable(
    dynamo_repo: Repository, faults: Faults
) -> None:
    arranged(dynamo_repo)
    before = table_items(dynamo_repo)
    fault = faults.inject(
        aws.client("dynamodb", SETTINGS.region), "BatchWriteItem", unprocessed(lambda items: [])
    )
    with pytest.raises(ServiceUnavailable, match="unprocessed"):
        dynamo_repo.delete_deltas("s1", [0], with_stream=True)
    assert fault.calls == ATTEMPTS
    assert table_items(dynamo_repo) == before
