"""Names say one thing: no module, function and parameter of the library share a name.

A parameter named like a module hides the module inside its function (and
makes a reader wonder which one is meant); a parameter named like a
module-level function hides the function. Methods and properties are
attributes (``sample.gestures``), so they may share a name with a parameter.
"""

import ast
from collections import defaultdict
from pathlib import Path

import gesturelib

PACKAGE = Path(gesturelib.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def _names():
    """``(modules, functions, module-level functions, parameters)``: each name -> where it is defined."""
    modules = {path.stem: str(path.relative_to(PACKAGE.parent)) for path in SOURCES
               if path.stem not in ("__init__", "__main__")}
    functions, top_level, parameters = defaultdict(list), defaultdict(list), defaultdict(list)
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                top_level[node.name].append(_where(path, node))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions[node.name].append(_where(path, node))
                arguments = node.args
                for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs:
                    if arg.arg not in ("self", "cls"):
                        parameters[arg.arg].append(f"{_where(path, node)} {node.name}()")
    return modules, functions, top_level, parameters


def test_the_checker_sees_the_library():
    modules, functions, top_level, parameters = _names()
    assert {"cropping", "models", "distill", "choreography"} <= set(modules)
    assert "crop_boxes" in top_level and "forward" in functions
    assert any("crop_boxes()" in where for where in parameters["skeleton"])


def test_no_function_or_parameter_is_named_like_a_module():
    modules, functions, _, parameters = _names()
    clashes = {name: functions.get(name, []) + parameters.get(name, []) for name in modules
               if name in functions or name in parameters}
    assert not clashes, f"named like a module of gesturelib: {clashes}"


def test_no_parameter_is_named_like_a_module_level_function():
    _, _, top_level, parameters = _names()
    clashes = {name: {"function": top_level[name], "parameter": parameters[name]}
               for name in top_level if name in parameters}
    assert not clashes, f"a parameter hides a function of the same name: {clashes}"
