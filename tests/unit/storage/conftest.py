"""The ``repo`` fixture: every contract test runs on the fake and on DynamoDB (moto)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import pytest

from agent_streams.config import Settings
from agent_streams.storage.memory import InMemoryRepository
from agent_streams.storage.repository import Repository
from tests.conftest import REGION

from .helpers import BACKENDS, SETTINGS


@functools.cache
def _dynamodb_client() -> Any:
    import boto3

    # moto intercepts every botocore client, whenever it was made; one client for the
    # whole run saves building one per test (tests.conftest.create_tables does).
    return boto3.session.Session().client("dynamodb", region_name=REGION)


def create_template_tables(settings: Settings) -> None:
    """tests.conftest.create_tables with a client kept for the run, replacing old tables.

    moto does not always forget its tables between mock_aws contexts (its reset loses
    track of cached backends, getmoto/moto#6592), so a table of an earlier test can
    still be there: drop it first.
    """
    from agent_streams.local.template import load_template

    client = _dynamodb_client()
    names = {
        "ThreadsTable": settings.threads_table,
        "StreamsTable": settings.streams_table,
        "DeltasTable": settings.deltas_table,
    }
    for logical_id, spec in load_template().tables().items():
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=names[logical_id])
        client.create_table(**spec.create_table_kwargs(names[logical_id]))


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
