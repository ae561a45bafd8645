"""Runs one doc's Python blocks in order, in one namespace, as a reader pasting them would.

Usage: ``python docs_runner.py STEPS.json``; each step is ``{"label", "code", "argv"?}``.
A block may use top-level ``await`` (as in ``python -m asyncio``): it runs on one event
loop kept across blocks, which is not running between them, so a block's own
``asyncio.run(...)`` works too. Each step prints ``### <label>`` first; an exception's
traceback names the label (``docs/x.md:LINE``) and ends the run with status 1.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import sys
from typing import Any


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        steps: list[dict[str, Any]] = json.load(file)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    loop = asyncio.new_event_loop()
    for step in steps:
        print(f"### {step['label']}", flush=True)
        if "argv" in step:
            sys.argv = list(step["argv"])
        code = compile(step["code"], step["label"], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # the docs' own code, run on purpose
        if inspect.iscoroutine(result):
            loop.run_until_complete(result)
        sys.stdout.flush()
    loop.close()


if __name__ == "__main__":
    main()
