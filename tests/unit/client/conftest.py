"""The client's tests run against the real handlers (tests/conftest.py's moto stack)."""

from __future__ import annotations

import pytest

from tests.helpers import Api

from .service import Service


@pytest.fixture
def service(api: Api) -> Service:
    return Service(api)
