"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-lambda``) invoking the local stack.

``tests/e2e/node/`` holds the Node side: its ``package.json`` and ``package-lock.json``
(installed here with ``npm ci`` when ``node_modules`` is missing or older than the lock)
and ``invoke.test.mjs``, run with Node's own test runner against this process's stack.
The docs' Node example runs too. Skipped, saying why, only where ``node``/``npm`` are absent.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from agent_streams_dev.local.functions import ACCOUNT_ID
from agent_streams_dev.local.stack import LocalStack
from tests.e2e.test_lambda_invoke_e2e import DOCS_URL, docs_block, user_env

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def node_project() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the JavaScript SDK tests (Node 20 or later)")
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    # Two test workers may get here at once: one installs, the other waits for it.
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lockfile = NODE_DIR / "package-lock.json"
        if not installed.exists() or installed.stat().st_mtime < lockfile.stat().st_mtime:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return NODE_DIR


def node_env(stack: LocalStack) -> dict[str, str]:
    return {
        **user_env(),
        "LOCAL_STACK_URL": stack.url,
        "STACK_NAME": stack.stack_name,
        "AWS_REGION": stack.region,
        "ACCOUNT_ID": ACCOUNT_ID,
    }


def test_the_javascript_sdk_invokes_the_stacks_functions(
    node_project: Path, local_stack: LocalStack
) -> None:
    done = subprocess.run(
        ["node", "--test", "--test-reporter=tap", "invoke.test.mjs"],
        cwd=node_project,
        capture_output=True,
        text=True,
        timeout=300,
        env=node_env(local_stack),
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tests = re.findall(r"^test\(", (node_project / "invoke.test.mjs").read_text(), flags=re.M)
    counts = dict(re.findall(r"^# (pass|fail|skipped|cancelled) (\d+)$", done.stdout, flags=re.M))
    assert counts == {"pass": str(len(tests)), "fail": "0", "skipped": "0", "cancelled": "0"}


def test_the_docs_node_example_runs_against_the_stack(
    node_project: Path, local_stack: LocalStack
) -> None:
    code = docs_block("js").replace(DOCS_URL, local_stack.url)
    # Beside node_modules, so that its import resolves as in a user's project.
    script = node_project / f".docs-example-{uuid.uuid4().hex}.mjs"
    script.write_text(code, encoding="utf-8")
    try:
        done = subprocess.run(
            ["node", script.name],
            cwd=node_project,
            capture_output=True,
            text=True,
            timeout=120,
            env=node_env(local_stack),
            check=False,
        )
    finally:
        os.unlink(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["true"], done.stdout
