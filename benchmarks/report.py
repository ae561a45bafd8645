"""The one table ``make bench`` prints: each figure with its budget and a verdict."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    section: str
    name: str
    figure: str
    budget: str
    #: True: within budget; False: exceeded; None: reported, no budget.
    ok: bool | None

    @property
    def verdict(self) -> str:
        return {True: "ok", False: "EXCEEDED", None: "-"}[self.ok]


def check(section: str, name: str, figure: str, budget: str, ok: bool) -> Row:
    return Row(section, name, figure, budget, ok)


def info(section: str, name: str, figure: str, note: str = "reported") -> Row:
    return Row(section, name, figure, note, None)


def render(rows: Sequence[Row]) -> str:
    headers = ("measure", "figure", "budget", "")
    body = [(f"{r.section}: {r.name}", r.figure, r.budget, r.verdict) for r in rows]
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(4)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(cells) for cells in body]
    return "\n".join(out)


def median_of(samples: Iterable[float]) -> float:
    return statistics.median(list(samples))


def interleaved(runs: int, *measures: Callable[[], float]) -> list[list[float]]:
    """Run each measure ``runs`` times, alternating between them, so that drift in the
    machine's speed (other work, thermal state) affects all of them alike."""
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(runs):
        for index, measure in enumerate(measures):
            samples[index].append(measure())
    return samples


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    position = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[position]


def fmt_count(n: float) -> str:
    return f"{n:,.0f}"
