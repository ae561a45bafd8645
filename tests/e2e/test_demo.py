"""``make run`` ends by itself, having shown what it says it shows."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_runs_to_completion() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    done = subprocess.run(
        [sys.executable, "-m", "agent_streams_dev.cli", "demo", "--speed", "0"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "demo complete" in out
    assert "stream gone: True" in out
    assert "reason 'timeout'" in out
    assert "execution SUCCEEDED" in out
    assert "It is 18 °C and partly cloudy in Paris" in out
