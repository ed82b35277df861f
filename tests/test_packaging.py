"""The dependency lists agree: pyproject.toml is the source, environment.yml mirrors it."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    pip_lines = [
        line.strip()[2:].strip()
        for line in (ROOT / "environment.yml").read_text().splitlines()
        if line.strip().startswith("- ") and line.startswith(" " * 6)
    ]
    mirrored = {_name(r): r.replace(" ", "") for r in pip_lines if not r.startswith("-e")}
    assert mirrored == required
    assert any(r.startswith("-e .[") for r in pip_lines), "environment.yml must install the package itself"


def test_dependencies_are_ranges_not_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert "==" not in requirement, f"{requirement}: use a range, not an exact pin"
        assert ">=" in requirement, f"{requirement}: give a lower bound"
