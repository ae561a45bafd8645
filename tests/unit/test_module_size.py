"""Small modules: no Python file under ``layers/`` (what the Lambda layer and the shared
protocol ship) is over 500 lines. Past that a module holds more than one thing;
split it by what its parts are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500


def test_no_module_under_layers_is_over_500_lines() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "layers").rglob("*.py")
        if not {".aws-sam", "build"} & set(path.relative_to(ROOT).parts)
    }
    assert len(sizes) > 50, "the layers' modules were not found"
    too_long = {path: lines for path, lines in sorted(sizes.items()) if lines > MAX_LINES}
    assert too_long == {}, f"over {MAX_LINES} lines: {too_long}"
