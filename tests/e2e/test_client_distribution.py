"""The Python client installs alone, and its own tests pass where it is alone.

A fresh venv gets ``pip install ./clients/python`` (from a copy of the checkout, so no
build output lands in the tree; the client finds the protocol beside it) and nothing
else: its distributions are the client, the protocol and urllib3 — no Powertools, X-Ray
SDK, PynamoDB, boto3/botocore (the ``aws`` extra is not asked for) or pydantic. Then
pytest is added and ``clients/python/tests`` run in that venv against
``agent-streams local``, started from this (the development) venv.

Packages come from pip's cache or index as for any user; pip is this venv's, run
for the fresh interpreter (``pip --python``), so the venv holds only what is
installed into it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "agent_streams_protocol": ROOT / "layers" / "agent_streams_protocol",
    "agent_streams_client": ROOT / "clients" / "python",
}
#: What a user who asked for the client gets: it, the protocol it shares, urllib3.
EXPECTED = {"agent-streams-client", "agent-streams-protocol", "urllib3"}
#: What it must never pull in (the runtime's dependencies, and the extras' ones).
FORBIDDEN = {"aws-lambda-powertools", "aws-xray-sdk", "pynamodb", "boto3", "botocore", "pydantic"}
READY = "agent-streams local: ready on "
INSTALL_TIMEOUT_S = 300


def _pip(python: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *args],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
        capture_output=True,
        env=env,
    )


def _distributions(python: Path, cwd: Path) -> set[str]:
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps(sorted(d.metadata['Name'].lower() for d in m.distributions())))"
    )
    # Run outside the repository: a working directory holding *.egg-info would count.
    found = subprocess.run(
        [str(python), "-c", script], cwd=cwd, check=True, capture_output=True, text=True
    )
    return set(json.loads(found.stdout))


@pytest.fixture(scope="module")
def local_url() -> Iterator[str]:
    """``agent-streams local`` from the development venv, on a port of its own."""
    command = Path(sys.executable).parent / "agent-streams"
    process = subprocess.Popen(
        [str(command), "local", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=120)
            if line.startswith(READY):
                yield line[len(READY) :].strip()
                return
    finally:
        process.terminate()
        process.wait(10)


def test_the_client_installs_alone_and_its_tests_pass(tmp_path: Path, local_url: str) -> None:
    checkout = tmp_path / "checkout"  # the repository's layout, without build output
    for source in SOURCES.values():
        shutil.copytree(
            source,
            checkout / source.relative_to(ROOT),
            ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__", ".pytest_cache"),
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # As a user would: the client alone; it finds the protocol beside it in the checkout.
    env = {k: v for k, v in os.environ.items() if k != "AGENT_STREAMS_PROTOCOL_FROM_INDEX"}
    _pip(python, str(checkout / "clients" / "python"), env=env)

    installed = _distributions(python, tmp_path)
    print(f"\ninstalled with the client: {sorted(installed)}")
    assert installed & FORBIDDEN == set()
    assert installed == EXPECTED

    # The client's tests need pytest; the same version as here, from the same cache.
    _pip(python, f"pytest=={importlib.metadata.version('pytest')}")
    report = tmp_path / "report.xml"
    run = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            str(SOURCES["agent_streams_client"] / "tests"),
        ],
        cwd=tmp_path,
        # No bytecode written beside the sources (the tests run from the tree).
        env={**os.environ, "AGENT_STREAMS_URL": local_url, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}
    print(f"the client's own tests in that venv: {counts}")
    # Every one ran: the one that needs botocore absent does here.
    assert counts["tests"] >= 10
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0
    # And they ran on the installed copy, not on the source tree.
    where = subprocess.run(
        [str(python), "-c", "import agent_streams_client; print(agent_streams_client.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(venv)
