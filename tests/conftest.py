"""Fixtures: moto-backed AWS with the template's tables, in-memory fakes, a clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

# Never reach a real AWS account from the tests.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from agent_streams.config import Settings
from agent_streams.service.context import Services, use_services
from tests.fakes import InMemoryScheduler, InMemoryWorkflows, ManualClock
from tests.helpers import Api, FakeLambdaContext

REGION = "us-east-1"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass
class Stack:
    """The service wired to moto's DynamoDB with fake scheduler, workflows and clock."""

    settings: Settings
    services: Services
    scheduler: InMemoryScheduler
    workflows: InMemoryWorkflows
    clock: ManualClock


def create_tables(settings: Settings) -> None:
    import boto3

    from agent_streams_dev.local.template import load_template

    client = boto3.client("dynamodb", region_name=REGION)
    names = {
        "ThreadsTable": settings.threads_table,
        "StreamsTable": settings.streams_table,
        "DeltasTable": settings.deltas_table,
    }
    for logical_id, spec in load_template().tables().items():
        client.create_table(**spec.create_table_kwargs(names[logical_id]))


def create_bucket(stack_name: str) -> str:
    """The template's spill bucket, configured as the template says; its name."""
    import boto3

    from agent_streams_dev.local.buckets import ensure_buckets
    from agent_streams_dev.local.template import load_template

    names = ensure_buckets(
        load_template(), boto3.client("s3", region_name=REGION), stack_name=stack_name,
        region=REGION,
    )  # fmt: skip
    return names["SpillBucket"]


def spilled_objects(settings: Settings) -> list[str]:
    """The keys of every object in the spill bucket."""
    import boto3

    client = boto3.client("s3", region_name=REGION)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=settings.spill_bucket)
    return [entry["Key"] for page in pages for entry in page.get("Contents", [])]


def drop_bucket(settings: Settings) -> None:
    import boto3

    client = boto3.client("s3", region_name=REGION)
    for key in spilled_objects(settings):
        client.delete_object(Bucket=settings.spill_bucket, Key=key)
    client.delete_bucket(Bucket=settings.spill_bucket)


def drop_tables(settings: Settings) -> None:
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    for name in (settings.threads_table, settings.streams_table, settings.deltas_table):
        client.delete_table(TableName=name)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(scope="session")
def moto_aws() -> Iterator[None]:
    """moto for the whole session (starting it per test costs about a second); tests
    stay apart by using tables of their own."""
    from moto import mock_aws

    from agent_streams.aws import reset_clients
    from agent_streams_dev.local import moto_compat

    moto_compat.apply()
    with mock_aws():
        reset_clients()
        yield
    reset_clients()


@pytest.fixture
def stack(moto_aws: None) -> Iterator[Stack]:
    from agent_streams.storage.dynamo import DynamoRepository

    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        threads_table=f"threads-{suffix}",
        streams_table=f"streams-{suffix}",
        deltas_table=f"deltas-{suffix}",
        spill_bucket=create_bucket(f"test-{suffix}"),
        region=REGION,
    )
    create_tables(settings)
    scheduler = InMemoryScheduler()
    workflows = InMemoryWorkflows()
    clock = ManualClock(START_MS)
    services = Services(
        settings=settings,
        repository=DynamoRepository(settings),
        scheduler=scheduler,
        workflows=workflows,
        clock=clock,
    )
    use_services(services)
    yield Stack(settings, services, scheduler, workflows, clock)
    use_services(None)
    drop_tables(settings)
    drop_bucket(settings)


def snapshot(settings: Settings) -> dict[str, list[dict[str, object]]]:
    """Every item of the three tables, to show that a failed call wrote nothing."""
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    tables = {}
    for name in (settings.threads_table, settings.streams_table, settings.deltas_table):
        items = client.scan(TableName=name, ConsistentRead=True)["Items"]
        tables[name] = sorted(items, key=repr)
    return tables


@pytest.fixture
def api(stack: Stack, lambda_context: FakeLambdaContext) -> Api:
    return Api(lambda_context)


@pytest.fixture
def thread_id(api: Api) -> str:
    return str(api.direct("create_thread", {"title": "a conversation"})["threadId"])


@pytest.fixture
def stream_id(api: Api, thread_id: str) -> str:
    return str(api.direct("create_stream", {"threadId": thread_id, "order": 0, "stepOrder": 0}))
