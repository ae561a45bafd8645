"""No import cycle inside any of the repository's packages.

Every import counts: at the top of a module, inside a function (imported "when
used" to dodge a cycle at load time), and under ``TYPE_CHECKING``. A circle
hidden that way is still a circle: the modules cannot be understood, tested or
moved one without the other. The graph is read from the source with ``ast``,
so nothing is imported to check it.

An edge goes to the module named: ``from a.b import c`` reaches ``a.b.c`` when
that is a module and ``a.b`` (its ``__init__``) otherwise. Importing ``a.b.c``
also runs ``a/__init__.py`` and ``a/b/__init__.py``; that is not an edge, or
every package whose ``__init__`` re-exports its modules would be one circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: (folder holding the package, package): the runtime, the protocol, the client, the dev tools.
PACKAGES = [
    ("layers/agent_streams", "agent_streams"),
    ("layers/agent_streams_protocol", "agent_streams_protocol"),
    ("clients/python", "agent_streams_client"),
    ("devtools", "agent_streams_dev"),
]


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of ``package`` under ``root``."""
    modules: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` (at ``path``) imports, anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in known:
                    found.add(submodule)
                elif target in known:
                    found.add(target)
    found.discard(name)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = package_modules(root, package)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One closed path per strongly connected group of modules (Tarjan), e.g. [a, b, a]."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_closed_path(graph, group) for group in groups]


def _closed_path(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest circle through the group's first module, to show in the failure."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no circle through {start}")  # a group always has one


@pytest.mark.parametrize(("folder", "package"), PACKAGES, ids=[p for _, p in PACKAGES])
def test_no_import_cycle(folder: str, package: str) -> None:
    graph = import_graph(ROOT / folder, package)
    assert len(graph) > 5, f"{package}: modules not found under {folder}"
    found = cycles(graph)
    assert found == [], f"{package} has import cycles:\n" + "\n".join(
        " -> ".join(path) for path in found
    )


def test_the_client_layers_point_one_way() -> None:
    """Transport, then operations, then the writer and followers, then ``StreamsClient``."""
    graph = import_graph(ROOT / "clients/python", "agent_streams_client")

    def reaches(source: str) -> set[str]:
        seen: set[str] = set()
        todo = [source]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    client = "agent_streams_client."
    for below in ("operations", "delta_streamer", "follower", "live_follower", "transport"):
        assert client + "streams_client" not in reaches(client + below), below
    assert client + "operations" in graph[client + "delta_streamer"]
    assert client + "operations" in graph[client + "follower"]
    assert {client + m for m in ("delta_streamer", "follower", "live_follower")} <= graph[
        client + "streams_client"
    ]


def test_the_walker_finds_hidden_cycles(tmp_path: Path) -> None:
    """Cycles through TYPE_CHECKING, a function's import and a relative import are found."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.a import A\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\nA = 1\n"
    )
    (pkg / "b.py").write_text("def f():\n    from pkg import c\n    return c\nB = 2\n")
    (pkg / "c.py").write_text("from . import a\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "d.py").write_text("from ..sub import e\n")
    (pkg / "sub" / "e.py").write_text("import pkg.sub.d\nfrom .. import a\n")
    (pkg / "ok.py").write_text("from pkg import a, b\nimport json\n")

    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg"] == {"pkg.a"}
    assert graph["pkg.ok"] == {"pkg.a", "pkg.b"}
    assert sorted(map(tuple, cycles(graph))) == [
        ("pkg.a", "pkg.b", "pkg.c", "pkg.a"),
        ("pkg.sub.d", "pkg.sub.e", "pkg.sub.d"),
    ]
