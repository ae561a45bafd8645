"""agent_streams_protocol.materialize stays cheap to import: standard library only."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("boto3", "botocore", "pydantic", "pynamodb", "aws_lambda_powertools", "asyncio", "decimal")


def test_imports_nothing_heavy() -> None:
    code = (
        "import sys, json; before = set(sys.modules);"
        "import agent_streams_protocol.materialize;"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    third_party = {
        m.split(".")[0]
        for m in loaded
        if not m.startswith("agent_streams") and m.split(".")[0] not in sys.stdlib_module_names
    }
    assert third_party == set()
