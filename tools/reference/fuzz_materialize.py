"""Differential fuzzing: random streams through the reference (Node) and the Python port.

    .venv/bin/python tools/reference/fuzz_materialize.py --cases 2000 --seed 1 \
        [--write tests/fixtures/materialize_extra.jsonl --keep 300] [--inputs FILE.jsonl]

Generates conformance-style inputs (``tests/unit/materialize/stream_gen.py``), runs
``materialize.mjs`` on them, and compares with ``derive_ui_messages`` +
``from_ui_messages`` under the rules of ``tests/fixtures/CONFORMANCE.md``. Cases
where the reference throws are counted and skipped. ``--write`` saves up to
``--keep`` compared cases (all mismatches first) as a fixture file.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "materialize"))
sys.path.insert(0, str(ROOT / "layers" / "agent_streams"))

import stream_gen  # type: ignore[import-not-found]  # noqa: E402

from agent_streams_protocol.materialize import derive_ui_messages, from_ui_messages  # noqa: E402


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k != "_creationTime" and v is not None}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def port(case: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    ui = derive_ui_messages(case["threadId"], case["streamMessages"], case["deltas"])
    docs: list[Any] = []
    for message in ui:
        stream = next(
            s for s in case["streamMessages"] if "stream:" + s["streamId"] == message["id"]
        )
        docs.extend(from_ui_messages([message], {"threadId": case["threadId"], **stream}))
    return ui, docs


def run_reference(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    text = "".join(json.dumps(c) + "\n" for c in inputs)
    result = subprocess.run(
        ["node", str(Path(__file__).with_name("materialize.mjs"))],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in result.stdout.split("\n") if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inputs", type=Path, help="JSONL of inputs instead of random ones")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--keep", type=int, default=300)
    parser.add_argument("--show", type=int, default=3)
    args = parser.parse_args()

    if args.inputs:
        inputs = [json.loads(line) for line in args.inputs.read_text().split("\n") if line.strip()]
    else:
        inputs = [
            stream_gen.random_case(random.Random(f"{args.seed}-{i}"), f"fuzz{args.seed}-{i}")
            for i in range(args.cases)
        ]
    outputs = run_reference(inputs)
    compared, thrown, bad = [], 0, []
    for expected in outputs:
        if "referenceError" in expected:
            thrown += 1
            continue
        ui, docs = port(expected)
        ok = normalise(ui) == normalise(expected["uiMessages"]) and normalise(docs) == normalise(
            expected["messageDocs"]
        )
        compared.append(expected)
        if not ok:
            bad.append(expected)
            if len(bad) <= args.show:
                print("MISMATCH", expected["id"])
                print(" got ui ", json.dumps(normalise(ui))[:3000])
                print(" want ui", json.dumps(normalise(expected["uiMessages"]))[:3000])
                if normalise(ui) == normalise(expected["uiMessages"]):
                    print(" got docs ", json.dumps(normalise(docs))[:3000])
                    print(" want docs", json.dumps(normalise(expected["messageDocs"]))[:3000])
    print(
        f"{len(outputs)} cases: {len(compared)} compared, {len(bad)} mismatches, {thrown} reference errors"
    )
    if args.write:
        keep = bad + [c for c in compared if c not in bad]
        with args.write.open("w") as f:
            for case in keep[: args.keep]:
                f.write(json.dumps(case, ensure_ascii=False, separators=(",", ":")) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
