"""The browser tests' world: the local stack in real time, its live reads behind the
test's fault seam, the test pages built by esbuild, one headless Chromium.

Run apart from the other suites (``make browser-test``): the local stack owns the
process's AWS endpoint while it runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_streams.live import LiveOptions
from agent_streams_dev.local.asgi import AsgiBridge
from agent_streams_dev.local.stack import LocalStack
from agent_streams_dev.local.template import PROJECT_ROOT

from .faults import SseFaults
from .page_driver import BrowserPage, PageBuild, missing_prerequisites, package_versions

#: The live reads end each connection after this long (the deployed app does so before
#: Lambda's limit, 14 minutes): short here, so the page resumes with Last-Event-ID
#: several times during each reply.
CONNECTION_SECONDS = 2.0
#: Where the screenshots go (gitignored); ``$TEST_ARTIFACTS`` overrides.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or PROJECT_ROOT / "test-artifacts") / "browser"


@pytest.fixture(scope="session")
def page_build() -> PageBuild:
    missing = missing_prerequisites()
    if missing:
        pytest.fail("the browser tests need " + ", ".join(missing) + " — `make browser-test`")
    return PageBuild()


@pytest.fixture(scope="session")
def live_faults() -> SseFaults:
    """The live reads app as the local stack deploys it (open, no JWT), wrapped."""
    return SseFaults(AsgiBridge.live_reads(options=LiveOptions(max_seconds=CONNECTION_SECONDS)).app)


@pytest.fixture(scope="session")
def stack(page_build: PageBuild, live_faults: SseFaults) -> Iterator[LocalStack]:
    # (page_build: the pages build while the stack starts)
    with LocalStack(port=0, real_time=True, live=AsgiBridge(live_faults)) as local:
        yield local


@pytest.fixture(scope="session")
def browser(page_build: PageBuild) -> Iterator[BrowserPage]:
    report(f"pages built in {page_build.wait():.1f} s (npm run browser-build)")
    report(
        "packages: "
        + ", ".join(f"{name} {version}" for name, version in package_versions().items())
    )
    page = BrowserPage()
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


#: Lines the tests report (timings, versions, artifacts): printed at the end of the run
#: and kept in ``test-artifacts/browser/report.txt``.
REPORT: list[str] = []


def report(line: str) -> None:
    REPORT.append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    terminalreporter.section("browser tests")
    for line in REPORT:
        terminalreporter.write_line(line)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.txt").write_text("\n".join(REPORT) + "\n", encoding="utf-8")
