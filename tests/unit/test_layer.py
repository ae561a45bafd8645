"""The Lambda layer ships the runtime and the shared protocol, and nothing else.

Built as ``sam build AgentStreamsLayer`` builds it (the SAM CLI of ``make tools`` runs
``layers/Makefile``; without the SAM CLI the test runs that recipe the way SAM does:
on a scratch copy of ``layers/``), for python3.13 on arm64.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-tools" / "bin" / "sam"
#: Lambda's limit on a function and its layers, unzipped.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
OURS = {"agent_streams", "agent_streams_protocol"}
#: What the requirements bring (with their own dependencies), by top-level name.
THIRD_PARTY = {
    "aws_lambda_powertools", "aws_xray_sdk", "pynamodb", "pydantic", "pydantic_core",
    "annotated_types", "typing_extensions", "typing_inspection", "botocore", "jmespath",
    "dateutil", "six", "urllib3", "wrapt", "wrapt-stubs", "bin",
}  # fmt: skip
#: Modules of the runtime, by path inside the layer: everything that ships.
RUNTIME_ROOMS = {"api", "live", "service", "storage"}


def _build(out: Path) -> Path:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    if SAM.exists():
        subprocess.run(
            [str(SAM), "build", "AgentStreamsLayer", "--template", str(ROOT / "template.yaml"),
             "--build-dir", str(out / "sam")],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        return out / "sam" / "AgentStreamsLayer" / "python"
    scratch = out / "scratch"
    shutil.copytree(ROOT / "layers", scratch, ignore=shutil.ignore_patterns("*.egg-info"))
    artifacts = out / "artifacts"
    subprocess.run(
        ["make", "-f", str(ROOT / "layers" / "Makefile"), "build-AgentStreamsLayer",
         f"ARTIFACTS_DIR={artifacts}"],
        cwd=scratch, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return artifacts / "python"


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("layer"))


def _top_level(site: Path) -> set[str]:
    names = set()
    for entry in site.iterdir():
        name = entry.name
        if name.endswith(".dist-info"):
            continue
        names.add(name.removesuffix(".py"))
    return names


def test_the_layer_holds_the_runtime_the_protocol_and_their_dependencies_only(layer):
    shipped = _top_level(layer)
    print("the layer ships:", ", ".join(sorted(shipped)))
    assert shipped >= OURS
    assert shipped - OURS - THIRD_PARTY == set()


def test_our_packages_ship_only_runtime_code(layer):
    ours = sorted(
        str(path.relative_to(layer))
        for package in OURS
        for path in (layer / package).rglob("*")
        if path.is_file()
    )
    print("\n".join(ours))
    for path in ours:
        assert not re.search(r"(^|/)(client|local|tests?|benchmarks|__pycache__)(/|$)", path), path
        assert not path.endswith((".pyc", "memory.py")), path
        assert path.endswith((".py", "py.typed")), path
    assert {
        p.split("/")[1] for p in ours if p.startswith("agent_streams/") and p.count("/") > 1
    } == (RUNTIME_ROOMS)
    assert "agent_streams_protocol/materialize/derive.py" in ours


def test_compiled_extensions_are_for_python313_on_arm64(layer):
    extensions = list(layer.rglob("*.so"))
    assert any("pydantic_core" in str(ext) for ext in extensions)
    for ext in extensions:
        if "cpython-" in ext.name:
            assert "cpython-313-aarch64" in ext.name, ext


def test_the_layer_fits_lambda(layer):
    size = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
    print(f"layer: {size / 1e6:.1f} MB unzipped")
    assert size < MAX_UNZIPPED_BYTES
