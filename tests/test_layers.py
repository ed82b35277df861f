"""The library's shape: imports flow one way, and the figures sit on top of the pipeline.

Only imports that run when a module is imported count (module level, also
inside a module-level ``if`` or ``try``); an import inside a function runs
when it is called.
"""

import ast
from pathlib import Path

import gesturelib

PACKAGE = Path(gesturelib.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """The gesturelib modules that importing ``path`` imports (at module level)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("gesturelib"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                if not module.startswith("gesturelib"):
                    continue
                for alias in node.names:  # "from . import x" names a module; "from .m import f" a name in m
                    candidate = f"{module}.{alias.name}"
                    found.add(candidate if candidate in MODULES else module)
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, []))

    visit(ast.parse(path.read_text()).body)
    return {m for m in found if m != name}


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: _imported(path) for name, path in MODULES.items()}


def test_no_pipeline_module_imports_a_figure():
    offenders = {name: sorted(m for m in imports if m.startswith("gesturelib.figures"))
                 for name, imports in GRAPH.items() if not name.startswith("gesturelib.figures")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_imports_have_no_cycles():
    state: dict[str, str] = {}
    cycles = []

    def walk(name, path):
        state[name] = "open"
        for child in sorted(GRAPH.get(name, ())):
            if state.get(child) == "open":
                cycles.append(path[path.index(child):] + [child] if child in path else [name, child])
            elif child not in state:
                walk(child, path + [child])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            walk(name, [name])
    assert cycles == []


def test_the_graph_sees_the_imports_it_should():  # the checks above would pass on an empty graph
    assert "gesturelib.train" in GRAPH["gesturelib.recipes"]
    assert "gesturelib.pruning" in GRAPH["gesturelib.figures.compressviz"]
    assert "gesturelib.figures.explore" in GRAPH["gesturelib.figures.cropviz"]
