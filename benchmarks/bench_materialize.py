"""Materialisation throughput: parts per second, full derivation and live following.

    .venv/bin/python benchmarks/bench_materialize.py [parts] [repeats]

The stream is a realistic UIMessageChunk reply (reasoning, text streamed a few
characters at a time, tool calls with streamed JSON input and their results,
sources, data parts, several steps) of ``parts`` parts, cut into ~100-part deltas
as a throttled writer would. "full" derives the UI message from all deltas at
once (``derive_ui_messages``); "incremental" applies the deltas one by one to a
``StreamMaterializer`` and reads ``ui_messages()`` after each, like a follower.
Figures are medians over ``repeats`` runs.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from typing import Any

from agent_streams_protocol.materialize import StreamMaterializer, derive_ui_messages

STREAM: dict[str, Any] = {
    "streamId": "bench",
    "status": "streaming",
    "format": "UIMessageChunk",
    "order": 0,
    "stepOrder": 0,
    "agentName": "assistant",
}
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "the",
    "lazy",
    "dog",
    "while",
    "the",
    "café",
    "stays",
    "naïve",
    "→",
    "😀",
]


def realistic_chunks(parts: int, seed: int = 7) -> list[dict[str, Any]]:
    """About ``parts`` UIMessageChunk parts of a multi-step agent reply."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = [{"type": "start", "messageMetadata": {"model": "m"}}]
    step = 0
    while len(out) < parts - 2:
        out.append({"type": "start-step"})
        if step % 3 == 0:
            out.append({"type": "reasoning-start", "id": f"r{step}"})
            for _ in range(rng.randint(20, 60)):
                out.append(
                    {"type": "reasoning-delta", "id": f"r{step}", "delta": rng.choice(WORDS) + " "}
                )
            out.append({"type": "reasoning-end", "id": f"r{step}"})
        out.append({"type": "text-start", "id": f"t{step}"})
        for _ in range(rng.randint(200, 600)):
            out.append({"type": "text-delta", "id": f"t{step}", "delta": rng.choice(WORDS) + " "})
        out.append({"type": "text-end", "id": f"t{step}"})
        for call in range(rng.randint(0, 2)):
            cid = f"call_{step}_{call}"
            args = json.dumps(
                {
                    "query": " ".join(rng.choices(WORDS, k=30)),
                    "limit": 10,
                    "filters": {"lang": "en"},
                }
            )
            out.append({"type": "tool-input-start", "toolCallId": cid, "toolName": "search"})
            for i in range(0, len(args), 4):
                out.append(
                    {
                        "type": "tool-input-delta",
                        "toolCallId": cid,
                        "inputTextDelta": args[i : i + 4],
                    }
                )
            out.append(
                {
                    "type": "tool-input-available",
                    "toolCallId": cid,
                    "toolName": "search",
                    "input": json.loads(args),
                }
            )
            out.append({"type": "data-progress", "id": "progress", "data": {"step": step}})
            out.append(
                {"type": "tool-output-available", "toolCallId": cid, "output": {"hits": [1, 2, 3]}}
            )
            out.append(
                {"type": "source-url", "sourceId": f"s{cid}", "url": "https://example.com/" + cid}
            )
        out.append({"type": "finish-step"})
        step += 1
    out = out[: parts - 1]
    out.append({"type": "finish", "finishReason": "stop"})
    return out


def as_deltas(chunks: list[dict[str, Any]], per_delta: int = 100) -> list[dict[str, Any]]:
    return [
        {
            "streamId": STREAM["streamId"],
            "start": i,
            "end": i + len(chunks[i : i + per_delta]),
            "parts": chunks[i : i + per_delta],
        }
        for i in range(0, len(chunks), per_delta)
    ]


def _full(deltas: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    derive_ui_messages("thread", [STREAM], deltas)
    return time.perf_counter() - started


def _incremental(deltas: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    follower = StreamMaterializer("thread", STREAM)
    for delta in deltas:
        follower.apply([delta])
        follower.ui_messages()
    return time.perf_counter() - started


def run(parts: int = 10_000, repeats: int = 5) -> dict[str, float]:
    """Median parts per second for a full derivation and for following live."""
    chunks = realistic_chunks(parts)
    deltas = as_deltas(chunks)
    full = statistics.median(_full(deltas) for _ in range(repeats))
    incremental = statistics.median(_incremental(deltas) for _ in range(repeats))
    return {
        "full_parts_per_s": len(chunks) / full,
        "incremental_parts_per_s": len(chunks) / incremental,
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    for name, value in run(n, reps).items():
        print(f"{name}: {value:,.0f}")
