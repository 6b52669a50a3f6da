"""The layering of ARCHITECTURE §2, checked on every import of `chalicelib` (also the ones inside
functions and under TYPE_CHECKING): no import cycle anywhere, and no layer importing one above
it. A review would miss the one lazy import that ties two layers together; this test does not.

    domain  <-  schemas, services, stats, exports, auth  <-  store  <-  bootstrap  <-  web, entry points

`config` and `observability` are leaves everyone may use. Entry points (`app.py`, any
`*/handlers.py` or `*/__main__.py`) wire the Lambda functions and commands: they may use the
composition root, like `web/`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"

# What each layer may import besides itself (config and observability are open to all).
ALLOWED = {
    "domain": set(),
    "schemas": {"domain"},
    "auth": {"domain"},
    "services": {"domain"},
    "stats": {"domain"},
    "exports": {"domain"},
    "store": {"domain", "stats", "auth"},
    "bootstrap": {"domain", "schemas", "auth", "services", "stats", "exports", "store"},
    "web": {"domain", "schemas", "auth", "services", "stats", "exports", "bootstrap"},
}
LEAVES = {"config", "observability"}
ENTRY_POINTS = {"handlers", "__main__"}
# Layers that must not touch AWS libraries (ARCHITECTURE §2: pure, or ports only).
NO_AWS = {"domain", "services", "stats", "exports", "schemas"}
AWS_LIBRARIES = ("boto3", "botocore", "pynamodb", "chalice")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[str]:
    """Every module of ours or library this module imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            submodules = [
                f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES
            ]
            # `from package import submodule` depends on the submodule, not on the package's
            # __init__ (already imported by then).
            found += submodules if len(submodules) == len(node.names) else [module, *submodules]
    return found


def _graph() -> dict[str, set[str]]:
    return {
        name: {m for m in _imports(name, path) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "chalicelib"


def _is_entry_point(module: str) -> bool:
    return module.rsplit(".", 1)[-1] in ENTRY_POINTS


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += graph.get(node, set())
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (a hundred modules: the
    reachability of each is cheap)."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {
        frozenset({node} | {other for other in reach[node] if node in reach[other]})
        for node in graph
        if node in reach[node]
    }
    return sorted(sorted(group) for group in groups)


def test_there_is_no_import_cycle_in_chalicelib() -> None:
    assert _cycles(_graph()) == []


def test_no_layer_imports_a_layer_above_it() -> None:
    wrong = []
    for module, deps in sorted(_graph().items()):
        layer = _layer(module)
        if layer not in ALLOWED or _is_entry_point(module):
            continue
        for dep in sorted(deps):
            target = _layer(dep)
            if target != layer and target not in ALLOWED[layer] | LEAVES:
                wrong.append(f"{module} -> {dep}")
    assert wrong == []


def test_pure_layers_do_not_import_aws_libraries() -> None:
    wrong = [
        f"{module} -> {imported}"
        for module, path in sorted(MODULES.items())
        if _layer(module) in NO_AWS and not _is_entry_point(module)
        for imported in _imports(module, path)
        if imported.split(".")[0] in AWS_LIBRARIES
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert _cycles(graph) == expected


def test_the_checks_see_lazy_imports() -> None:
    """Given a function-level import (how cycles hid before), it is in the graph."""
    imports = _imports("chalicelib.bootstrap", MODULES["chalicelib.bootstrap"])
    assert "chalicelib.store.activites" in imports  # imported inside a cached_property
