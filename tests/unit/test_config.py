"""Settings read from the environment: the optional ones keep their defaults, bad values
are a clear ConfigurationError."""

from __future__ import annotations

import pytest

from agent_streams.config import ConfigurationError, settings_from_env


def test_the_sync_deletion_budget_is_unset_by_default() -> None:
    assert settings_from_env({}).sync_deletion_budget_seconds is None
    assert (
        settings_from_env({"SYNC_DELETION_BUDGET_SECONDS": ""}).sync_deletion_budget_seconds is None
    )


@pytest.mark.parametrize(("raw", "seconds"), [("2", 2.0), ("0.25", 0.25), (" 7.5 ", 7.5)])
def test_the_sync_deletion_budget_is_read_in_seconds(raw: str, seconds: float) -> None:
    found = settings_from_env({"SYNC_DELETION_BUDGET_SECONDS": raw})
    assert found.sync_deletion_budget_seconds == seconds


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf"])
def test_a_bad_sync_deletion_budget_is_refused_by_name(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="SYNC_DELETION_BUDGET_SECONDS"):
        settings_from_env({"SYNC_DELETION_BUDGET_SECONDS": raw})
