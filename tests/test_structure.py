"""The package's shape: its parts import each other one way, and Inspect only publicly."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ping_inspect"
COMPAT = PACKAGE / "inspect_compat.py"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports, at any depth (``TYPE_CHECKING`` left out)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
                   for statement in node.body for n in ast.walk(statement)}
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = ".".join(base[: len(base) - node.level + 1] + ([module] if module else []))
            found |= {f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module
                      for a in node.names}
    return {m for m in found if m in modules and m != name}


def _part(module: str) -> str:
    """The package's part a module belongs to (``ping_inspect.webdojo``, ``...agents``)."""
    return ".".join(module.split(".")[:2])


def _part_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        for target in _imports(name, path, modules):
            source, dest = _part(name), _part(target)
            if source != dest and "." in source and "." in dest:
                graph.setdefault(source, set()).add(dest)
                graph.setdefault(dest, set())
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_the_packages_parts() -> None:
    graph = _part_graph()
    assert "ping_inspect.contracts" in graph  # the walk sees the package
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_contracts_import_nothing_of_the_package() -> None:
    modules = _modules()
    assert _imports("ping_inspect.contracts", modules["ping_inspect.contracts"], modules) == set()


def test_only_the_compat_module_imports_inspects_private_names() -> None:
    offenders = []
    roots = [PACKAGE, *(PACKAGE.parent / d for d in ("tasks", "solvers", "scorers"))]
    for path in (p for root in roots for p in root.rglob("*.py")):
        if path == COMPAT:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.startswith("inspect_ai._") or "._" in n.removeprefix("inspect_ai")
                   for n in names if n.startswith("inspect_ai")):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, f"private inspect_ai imports outside inspect_compat.py: {offenders}"
