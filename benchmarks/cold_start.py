"""Cold start: importing each handler module, against ``import boto3`` alone.

Each figure is a fresh interpreter timing one import, laid out as Lambda lays a
function out: the function's folder first, then the layer (its requirements
and the ``agent_streams`` package, nothing else), then the runtime's boto3 and
botocore; no site-packages, so nothing the development venv happens to hold can
be imported (``python -S`` with exactly those folders on the path). The
environment is a deployed function's: Lambda's own variables
(``LAMBDA_TASK_ROOT``, the function name, X-Ray's daemon, credentials) and
``Globals.Function.Environment`` of ``template.yaml`` plus the function's own.
Runs are interleaved (boto3, then every handler, again and again) and the
figures are medians. The interpreter's start-up is outside every figure.

``import + first use`` adds what the first invocation does before its first
request (the services and their DynamoDB client are built), against
``import boto3`` and ``boto3.client("dynamodb")``.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from agent_streams.local.template import PROJECT_ROOT, Template, load_template
from benchmarks.report import Row, check, median_of

SECTION = "cold start"
BUDGET = 1.5
AIM = 1.2
LAYER = PROJECT_ROOT / "layers" / "agent_streams"
#: What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3",)

IMPORT_BOTO3 = "import boto3"
IMPORT_HANDLER = "import app"
FIRST_USE_BOTO3 = "import boto3; boto3.client('dynamodb')"
FIRST_USE_HANDLER = (
    "import app; from agent_streams.service.context import services; "
    "services().repository._client()"
)


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution ``requirements`` install (extras and markers honoured)."""
    seen: set[str] = set()
    pending = [(r, tuple(r.extras)) for r in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for raw in dist.requires or []:
            sub = Requirement(raw)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in environments):
                pending.append((sub, tuple(sub.extras)))
    return seen


def _top_level(distribution: str) -> set[Path]:
    """The importable top-level files and folders a distribution installed."""
    dist = metadata.distribution(distribution)
    found: set[Path] = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first in ("..", "__pycache__") or first.endswith((".dist-info", ".data", ".pth")):
            continue
        if len(file.parts) == 1 and not first.endswith((".py", ".so", ".pyd")):
            continue
        found.add(Path(str(dist.locate_file(first))))
    return found


def build_layout(root: Path) -> list[Path]:
    """Lambda's layout of the layer and the runtime's SDK, as symlinks under ``root``."""
    layer = root / "opt-python"
    runtime = root / "var-runtime"
    layer.mkdir()
    runtime.mkdir()
    lines = (LAYER / "requirements.txt").read_text().splitlines()
    layer_reqs = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    layer_dists = _closure(layer_reqs)
    runtime_dists = _closure([Requirement(name) for name in RUNTIME_PACKAGES]) - layer_dists
    for dists, folder in ((layer_dists, layer), (runtime_dists, runtime)):
        for dist in sorted(dists):
            for source in _top_level(dist):
                target = folder / source.name
                if not target.exists():
                    target.symlink_to(source)
    (layer / "agent_streams").symlink_to(LAYER / "agent_streams")
    return [layer, runtime]


def _resolve(value: Any, template: Template) -> str:
    """A plausible deployed value of a template intrinsic (stage ``dev``)."""
    if isinstance(value, dict):
        if "Ref" in value:
            if value["Ref"] in template.body.get("Parameters", {}):
                return str(template.parameter_default(value["Ref"]))
            return f"agent-streams-{value['Ref']}"
        if "Fn::If" in value:
            _, _, otherwise = value["Fn::If"]  # IsProd is false for the default stage
            return _resolve(otherwise, template)
        if "Fn::GetAtt" in value:
            return f"arn:aws:iam::123456789012:role/agent-streams-{value['Fn::GetAtt'][0]}"
        if "Fn::Sub" in value:
            names = {
                "AWS::Partition": "aws",
                "AWS::Region": "us-east-1",
                "AWS::AccountId": "123456789012",
                "AWS::StackName": "agent-streams",
            }
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: names.get(m.group(1), f"agent-streams-{m.group(1)}"),
                str(value["Fn::Sub"]),
            )
        raise ValueError(f"cannot resolve {value!r}")
    return str(value)


def deployed_environment(template: Template, operation: str) -> dict[str, str]:
    spec = template.functions()[operation]
    function = f"agent-streams-{operation}"
    env = {
        # What Lambda sets for every Python function.
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2025/01/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
    }
    globals_env = template.body["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    own = template.resources[spec.logical_id]["Properties"].get("Environment", {})
    for name, value in {**globals_env, **own.get("Variables", {})}.items():
        env[name] = _resolve(value, template)
    return env


def _time(statement: str, code_dir: Path, path: list[Path], env: dict[str, str]) -> float:
    code = (
        "import time; started = time.process_time(); "
        f"{statement}; print(time.process_time() - started)"
    )
    reply = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={**env, "PYTHONPATH": os.pathsep.join(str(p) for p in [code_dir, *path])},
        cwd=code_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if reply.returncode != 0:
        raise RuntimeError(f"{statement!r} in {code_dir.name} failed:\n{reply.stderr}")
    return float(reply.stdout.strip().splitlines()[-1])


def measure(runs: int, operations: list[str] | None = None) -> dict[str, Any]:
    """Median import seconds of boto3 and of each handler, and of their first use."""
    template = load_template()
    specs = template.functions()
    names = sorted(specs) if operations is None else operations
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as tmp:
        path = build_layout(Path(tmp))
        envs = {name: deployed_environment(template, name) for name in names}
        anchor = names[0]
        # Warm the byte-code caches and the page cache: every run then starts alike.
        for name in names:
            _time(FIRST_USE_HANDLER, specs[name].code_dir, path, envs[name])
        _time(FIRST_USE_BOTO3, specs[anchor].code_dir, path, envs[anchor])

        boto3: list[float] = []
        boto3_first: list[float] = []
        handlers: dict[str, list[float]] = {name: [] for name in names}
        first_use: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(runs):
            boto3.append(_time(IMPORT_BOTO3, specs[anchor].code_dir, path, envs[anchor]))
            for name in names:
                handlers[name].append(_time(IMPORT_HANDLER, specs[name].code_dir, path, envs[name]))
            boto3_first.append(_time(FIRST_USE_BOTO3, specs[anchor].code_dir, path, envs[anchor]))
            for name in names:
                first_use[name].append(
                    _time(FIRST_USE_HANDLER, specs[name].code_dir, path, envs[name])
                )
    return {
        "boto3": median_of(boto3),
        "boto3_first_use": median_of(boto3_first),
        "handlers": {name: median_of(v) for name, v in handlers.items()},
        "first_use": {name: median_of(v) for name, v in first_use.items()},
    }


def run(runs: int) -> list[Row]:
    found = measure(runs)
    base = found["boto3"]
    rows = []
    for name, seconds in found["handlers"].items():
        ratio = seconds / base
        rows.append(
            check(
                SECTION,
                f"import {name}",
                f"{ratio:.2f}x ({seconds * 1000:.0f} ms / {base * 1000:.0f} ms)",
                f"<= {BUDGET}x (aim {AIM}x)",
                ratio <= BUDGET,
            )
        )
    first_base = found["boto3_first_use"]
    worst = max(found["first_use"], key=lambda name: found["first_use"][name])
    seconds = found["first_use"][worst]
    ratio = seconds / first_base
    rows.append(
        check(
            SECTION,
            "import + first use, slowest handler",
            f"{ratio:.2f}x ({worst}: {seconds * 1000:.0f} ms / {first_base * 1000:.0f} ms)",
            f"<= {BUDGET}x",
            ratio <= BUDGET,
        )
    )
    return rows


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    ops = sys.argv[2:] or None
    result = measure(runs, ops)
    print(f"boto3 {result['boto3'] * 1000:.1f} ms, + client {result['boto3_first_use'] * 1000:.1f}")
    for op, s in result["handlers"].items():
        f = result["first_use"][op]
        print(
            f"{op:28s} {s * 1000:7.1f} ms {s / result['boto3']:5.2f}x   "
            f"first use {f * 1000:7.1f} ms {f / result['boto3_first_use']:5.2f}x"
        )
