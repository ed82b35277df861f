"""Packaging: the dependency lists agree (pyproject.toml is the source, environment.yml mirrors
it), and the repository URL is one setting that the Colab cells, the badges and pyproject share."""

import json
import re
import tomllib
from pathlib import Path

from gesturelib import runtime

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


def test_colab_setup_cells_badges_and_pyproject_name_one_repository():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Repository"] == runtime.REPO_URL
    owner_name = runtime.REPO_URL.removeprefix("https://github.com/")
    readme = (ROOT / "README.md").read_text()
    badges = re.findall(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/main/notebooks/([\w.]+\.ipynb)", readme)
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(name for _, name in badges) == notebooks  # one badge per chapter
    assert {repo for repo, _ in badges} == {owner_name}
    for name in notebooks:
        cells = json.loads((ROOT / "notebooks" / name).read_text())["cells"]
        setup = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        # Colab only, and importable in the same kernel: the ONNX extra, and the checkout on sys.path
        # (an editable install's path file is read only when the interpreter starts).
        assert 'os.path.exists("/content")' in setup, name
        assert re.findall(r"git clone -q (\S+)", setup) == [runtime.REPO_URL], name
        assert "[compress]" in setup and "sys.path.insert(0" in setup, name
        # torch and ipywidgets come with Colab: the project's ranges admit Colab's versions
        assert "torch" not in setup and "ipywidgets" not in setup, name
