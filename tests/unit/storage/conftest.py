"""The ``repo`` fixture: every contract test runs on the fake and on DynamoDB (moto)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agent_streams.config import Settings
from agent_streams.storage.memory import InMemoryRepository
from agent_streams.storage.repository import Repository
from tests.conftest import REGION

from .helpers import BACKENDS


def _unique_settings() -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        threads_table=f"contract-threads-{suffix}",
        streams_table=f"contract-streams-{suffix}",
        deltas_table=f"contract-deltas-{suffix}",
        region=REGION,
    )


#: Unique to this test process, and the same for every test in it: moto_aws starts each
#: test with no tables, and keeping the names lets PynamoDB keep its connections (a new
#: name makes it build three botocore clients, about a second per test).
SETTINGS = _unique_settings()


@functools.cache
def _dynamodb_client() -> Any:
    import boto3

    # moto intercepts every botocore client, whenever it was made; one client for the
    # whole run saves building one per test (tests.conftest.create_tables does).
    return boto3.session.Session().client("dynamodb", region_name=REGION)


def create_template_tables(settings: Settings) -> None:
    """tests.conftest.create_tables, with a client kept for the run: the template's tables."""
    from agent_streams.local.template import load_template

    names = {
        "ThreadsTable": settings.threads_table,
        "StreamsTable": settings.streams_table,
        "DeltasTable": settings.deltas_table,
    }
    for logical_id, spec in load_template().tables().items():
        _dynamodb_client().create_table(**spec.create_table_kwargs(names[logical_id]))


def new_dynamo_repository(request: pytest.FixtureRequest) -> Repository:
    from agent_streams.storage.dynamo import DynamoRepository

    request.getfixturevalue("moto_aws")
    create_template_tables(SETTINGS)
    return DynamoRepository(SETTINGS)


def _close(repository: Repository) -> None:
    # DynamoRepository keeps a thread pool for concurrent queries: do not leak one per test.
    executor = getattr(repository, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True)


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "memory":
        yield InMemoryRepository()
        return
    repository = new_dynamo_repository(request)
    yield repository
    _close(repository)


@pytest.fixture
def dynamo_repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    repository = new_dynamo_repository(request)
    yield repository
    _close(repository)
