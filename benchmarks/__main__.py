"""``python -m benchmarks [--aws-endpoint URL] [--quick]``: one table, exit 1 if a budget is exceeded."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from benchmarks.report import Row, check, info, render


@dataclass(frozen=True)
class Sizes:
    import_runs: int
    overhead_calls: int
    concurrency_rounds: int
    writer_parts: int
    e2e_runs: int
    follow_parts: int
    materialize_parts: int
    materialize_repeats: int
    streams: int
    deltas: int
    message_parts: int
    sync_deltas: int
    spill_runs: int


FULL = Sizes(
    import_runs=9,
    overhead_calls=300,
    concurrency_rounds=60,
    writer_parts=10_000,
    e2e_runs=3,
    follow_parts=300,
    materialize_parts=10_000,
    materialize_repeats=5,
    streams=10,
    deltas=10_000,
    message_parts=10_000,
    sync_deltas=100_000,
    spill_runs=5,
)
QUICK = Sizes(
    import_runs=3,
    overhead_calls=60,
    concurrency_rounds=15,
    writer_parts=2_000,
    e2e_runs=1,
    follow_parts=100,
    materialize_parts=2_000,
    materialize_repeats=2,
    streams=10,
    deltas=1_000,
    message_parts=2_000,
    sync_deltas=10_000,
    spill_runs=2,
)


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The functions' own output (Powertools' metrics) is not the table's."""
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


def section(name: str, rows: list[Row], measure: Callable[[], list[Row]]) -> None:
    progress(f"{name}...")
    started = time.monotonic()
    try:
        with quiet_stdout():
            rows += measure()
    except Exception as exc:
        traceback.print_exc()
        rows.append(check(name, "failed", f"{type(exc).__name__}: {exc}"[:120], "runs", False))
    progress(f"{name}: {time.monotonic() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--aws-endpoint",
        default=None,
        help="count at this endpoint (e.g. a moto_server) instead of an embedded moto",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and smaller data (not for the README)"
    )
    parser.add_argument(
        "--live-seconds",
        type=float,
        default=None,
        help="how long the live reads' reply is written, per phase (default 60; --quick: 10)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    live_seconds = args.live_seconds or (10.0 if args.quick else 60.0)
    rows: list[Row] = []

    from benchmarks import bench_materialize, cold_start

    # Before the stack starts: nothing else of ours competes for the CPUs.
    section("cold start", rows, lambda: cold_start.run(sizes.import_runs))

    def materialize() -> list[Row]:
        found = bench_materialize.run(sizes.materialize_parts, sizes.materialize_repeats)
        label = f"{sizes.materialize_parts:,}-part stream"
        return [
            info("materialize", f"full, {label}", f"{found['full_parts_per_s']:,.0f} parts/s"),
            info(
                "materialize",
                f"incremental, {label}",
                f"{found['incremental_parts_per_s']:,.0f} parts/s",
            ),
        ]

    section("materialize", rows, materialize)

    from benchmarks import (
        concurrency,
        deletion,
        end_to_end,
        gsi,
        live_reads,
        messages,
        overhead,
        requests_per_op,
        spill,
    )
    from benchmarks.environment import Bench

    progress("starting the local stack" + (f" on {args.aws_endpoint}" if args.aws_endpoint else ""))
    with quiet_stdout():
        bench = Bench(args.aws_endpoint).start()
    try:
        section("requests", rows, lambda: requests_per_op.run(bench))
        # While the tables are small (moto's queries slow down as they grow).
        section("messages", rows, lambda: messages.run(bench, sizes.message_parts, sizes.e2e_runs))
        section("spill", rows, lambda: spill.run(bench, sizes.spill_runs))
        section("gsi", rows, lambda: gsi.run(bench))
        section("overhead", rows, lambda: overhead.run(bench, sizes.overhead_calls))
        section("concurrency", rows, lambda: concurrency.run(bench, sizes.concurrency_rounds))
        section(
            "end to end",
            rows,
            lambda: end_to_end.run(bench, sizes.writer_parts, sizes.e2e_runs, sizes.follow_parts),
        )
        section("live reads", rows, lambda: live_reads.run(bench, live_seconds))
        section("deletion", rows, lambda: deletion.run(bench, sizes.streams, sizes.deltas))
        section("sync deletion", rows, lambda: deletion.run_sync(bench, sizes.sync_deltas))
    finally:
        with quiet_stdout():
            bench.stop()

    endpoint = args.aws_endpoint or "embedded moto (ThreadedMotoServer)"
    print(f"agent-streams benchmarks, {datetime.date.today()}{' (quick)' if args.quick else ''}")
    print(f"machine: {machine()}")
    print(f"endpoint: {endpoint}, counted by agent_streams_dev.local.counting.CountingProxy")
    print()
    print(render(rows))
    exceeded = [r for r in rows if r.ok is False]
    print()
    if exceeded:
        print(f"{len(exceeded)} budget(s) exceeded: " + "; ".join(r.name for r in exceeded))
        return 1
    print(f"every budget met ({sum(1 for r in rows if r.ok)} checked, "
          f"{sum(1 for r in rows if r.ok is None)} reported)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
