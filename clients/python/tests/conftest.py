"""The client's own tests: the installed client and an agent-streams HTTP endpoint, nothing else.

The endpoint is ``AGENT_STREAMS_URL`` (e.g. ``agent-streams local`` running
elsewhere; the repository's suite starts one and runs these tests in a fresh
venv that holds only this distribution). Without it, an ``agent-streams local``
found on PATH or beside this Python is started for the session.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

READY = "agent-streams local: ready on "
START_TIMEOUT_S = 90.0


def _local_command() -> list[str] | None:
    beside = Path(sys.executable).parent / "agent-streams"
    found = str(beside) if beside.exists() else shutil.which("agent-streams")
    return None if found is None else [found, "local", "--port", "0"]


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    given = os.environ.get("AGENT_STREAMS_URL")
    if given:
        yield given.rstrip("/")
        return
    command = _local_command()
    if command is None:
        pytest.skip("no endpoint: set AGENT_STREAMS_URL, or install agent-streams-dev")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT_S)
            if line.startswith(READY):
                yield line[len(READY) :].strip()
                return
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def title() -> str:
    """A title of the test's own, to tell its threads apart in a shared stack."""
    return f"client-test-{uuid.uuid4().hex[:8]}"
