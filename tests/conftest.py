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

from agent_streams.clock import ManualClock
from agent_streams.config import Settings
from agent_streams.scheduling import InMemoryScheduler
from agent_streams.service.context import Services, use_services
from agent_streams.workflows import InMemoryWorkflows
from tests.helpers import FakeLambdaContext

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

    from agent_streams.local.template import load_template

    client = boto3.client("dynamodb", region_name=REGION)
    names = {
        "ThreadsTable": settings.threads_table,
        "StreamsTable": settings.streams_table,
        "DeltasTable": settings.deltas_table,
    }
    for logical_id, spec in load_template().tables().items():
        client.create_table(**spec.create_table_kwargs(names[logical_id]))


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def moto_aws() -> Iterator[None]:
    from moto import mock_aws

    from agent_streams.aws import reset_clients

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
