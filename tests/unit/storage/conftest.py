"""The ``repo`` fixture: the repository contract runs on DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_streams.storage.repository import Repository

from .helpers import BACKENDS, SETTINGS, create_template_tables


def new_dynamo_repository(request: pytest.FixtureRequest) -> Repository:
    from agent_streams.storage.dynamo import DynamoRepository

    request.getfixturevalue("moto_aws")
    create_template_tables(SETTINGS)
    return DynamoRepository(SETTINGS)


def _close(repository: Repository) -> None:
    # DynamoRepository keeps a thread pool for concurrent queries: do not leak one per test.
    close = getattr(repository, "close", None)
    if close is not None:
        close()


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    repository = new_dynamo_repository(request)
    yield repository
    _close(repository)


@pytest.fixture
def dynamo_repo(request: pytest.FixtureRequest) -> Iterator[Repository]:
    repository = new_dynamo_repository(request)
    yield repository
    _close(repository)
