"""Fixtures of the fault suites: faults at the AWS clients, retries that do not sleep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agent_streams import aws, retries
from tests.conftest import REGION
from tests.integration.reliability_faults import Fault, Faults
from tests.reliability_report import record


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries without sleeping; returns the sleeps they asked for."""
    slept: list[float] = []
    monkeypatch.setattr(retries, "sleep", slept.append)
    return slept


@pytest.fixture
def faults() -> Iterator[Faults]:
    injected = Faults()
    yield injected
    injected.remove_all()


def survived(faults: Faults) -> None:
    """Count this test's faults (called at its end, so only when it passed)."""
    assert faults.injected > 0, "the fault never fired"
    record("fault", injected=faults.injected, survived=faults.injected, tests=1)


def dynamodb_client() -> Any:
    """The process's one DynamoDB client: PynamoDB's models and the low-level reads use it."""
    return aws.client("dynamodb", REGION)


def inject_dynamodb(faults: Faults, operation: str, answer: Any, **kwargs: Any) -> Fault:
    return faults.inject(dynamodb_client(), operation, answer, **kwargs)
