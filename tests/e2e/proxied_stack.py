"""A local stack in another process, reaching a moto server through a
:class:`CountingProxy` in this one: what reaches the endpoint is counted here."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from agent_streams_dev.local.counting import CountingProxy
from tests.e2e.test_external_endpoint import free_port


def clean_env() -> dict[str, str]:
    """This environment without its AWS and moto settings (the stack brings its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}


@contextmanager
def stack_behind_proxy(script: str, *args: str) -> Iterator[tuple[CountingProxy, str]]:
    """Runs ``python -c script PROXY_URL *args``, which prints ``ready URL`` and serves
    until its stdin closes; yields the proxy and that URL."""
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    proxy = CountingProxy(f"http://127.0.0.1:{port}").start()
    stack = subprocess.Popen(
        [sys.executable, "-c", script, proxy.url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert stack.stdout is not None
        ready, _, _ = select.select([stack.stdout], [], [], 120)
        line = stack.stdout.readline() if ready else ""
        if not line.startswith("ready "):
            stack.kill()
            _, errors = stack.communicate(timeout=10)
            pytest.fail(f"the local stack did not start: {line!r} {errors[-2000:]}")
        yield proxy, line.split()[1]
    finally:
        if stack.stdin is not None:
            stack.stdin.close()
        try:
            stack.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stack.kill()
        proxy.stop()
        moto.terminate()
        try:
            moto.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: moto's teardown is slow
            moto.kill()
            moto.wait(timeout=10)
