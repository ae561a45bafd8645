"""Counting what the reliability suites did: races run, faults injected and survived,
requests fuzzed, 5xx replies seen.

With ``AGENT_STREAMS_RELIABILITY_REPORT=<file>`` set, each test appends one JSON line
to the file (safe across pytest-xdist workers: one short ``O_APPEND`` write each);
``python -m tests.reliability_report <file>`` adds them up. Without it, nothing is
written.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

ENV = "AGENT_STREAMS_RELIABILITY_REPORT"


def record(kind: str, **counts: int) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"kind": kind, **counts}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def totals(path: Path) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        kind = entry.pop("kind")
        found.setdefault(kind, Counter()).update(entry)
    return found


def main(argv: list[str]) -> int:
    for kind, counts in sorted(totals(Path(argv[1])).items()):
        print(kind + ": " + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
