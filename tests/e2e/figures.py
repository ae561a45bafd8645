"""A module's figures, printed after its tests."""

from __future__ import annotations

import pytest


def report_figures(request: pytest.FixtureRequest, title: str, figures: list[str]) -> None:
    """Prints a module's figures after its tests, past pytest's output capture."""
    if not figures:
        return
    lines = ["", f"{title}:", *(f"  {line}" for line in figures)]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # an xdist worker: visible with -s / -rP
        print("\n".join(lines))
        return
    # Output capture is on during fixture teardown; the figures go past it.
    with capture.global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)
