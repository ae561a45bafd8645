"""Build the Lambda layer for its target runtime and check it, without Docker or python3.13.

``sam build`` needs the runtime's Python; this does what its python3.13/arm64
build does for the layer with pip's cross-platform install, then checks that
every compiled extension is built for that runtime and that the layer fits
Lambda's size limit. ``--check`` builds into a temporary folder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "agent_streams"
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
#: Lambda's limit on a function and its layers, unzipped.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024


def build(target: Path) -> Path:
    site = target / "python"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--platform", PLATFORM, "--python-version", PYTHON_VERSION,
            "--implementation", "cp", "--only-binary=:all:",
            "--target", str(site), "-r", str(LAYER / "requirements.txt"),
        ],
        check=True,
    )  # fmt: skip
    shutil.copytree(
        LAYER / "agent_streams",
        site / "agent_streams",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "local", "client"),
    )
    return site


def check(site: Path) -> list[str]:
    problems = []
    extensions = list(site.rglob("*.so"))
    for ext in extensions:
        name = ext.name
        if "cpython-" in name and "cpython-313-aarch64" not in name:
            problems.append(f"{ext.relative_to(site)} is not built for CPython 3.13 on arm64")
    if not any("pydantic_core" in str(ext) for ext in extensions):
        problems.append("pydantic_core's compiled extension is missing")
    for package in (
        "agent_streams",
        "pynamodb",
        "pydantic",
        "aws_lambda_powertools",
        "aws_xray_sdk",
    ):
        if not (site / package).is_dir():
            problems.append(f"{package} is missing from the layer")
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    if size > MAX_UNZIPPED_BYTES:
        problems.append(f"the layer is {size} bytes, over Lambda's {MAX_UNZIPPED_BYTES}")
    print(f"layer: {size / 1e6:.1f} MB unzipped, {len(extensions)} compiled extensions")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="build in a temporary folder and check"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "layer")
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            problems = check(build(Path(tmp)))
    else:
        shutil.rmtree(args.out, ignore_errors=True)
        problems = check(build(args.out))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
