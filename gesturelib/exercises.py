"""Course assignments: student versions of the chapters, built from the solutions, and a grader.

A chapter's solution notebook ends with an *Exercises* section that follows
nbgrader's conventions, so an instructor never maintains two copies:

- the section starts with a code cell tagged ``exercise-setup`` (imports and
  whatever the exercises need, loaded through the cached gesturelib functions);
- a code cell tagged ``exercise`` holds the solution between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``; the student version replaces
  that block by ``# YOUR CODE HERE`` and ``raise NotImplementedError()``;
- a code cell tagged ``autograde`` checks the answer with ``assert``s; a block
  between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is removed
  from the student version and kept for grading.

``python -m gesturelib.exercises build`` writes the student versions to
``exercises/``; ``python -m gesturelib.exercises grade NOTEBOOK`` runs a
(student's) notebook's exercise section, puts the hidden tests back in from the
solution, and prints a score per exercise.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import files, runtime

SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S)
SOLUTIONS_DIR = runtime.REPO_ROOT / "notebooks"
EXERCISES_DIR = runtime.REPO_ROOT / "exercises"


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def has_exercises(nb) -> bool:
    """True when the notebook has at least one exercise cell with a solution block."""
    return any("exercise" in _tags(c) and SOLUTION.search(c.source) for c in nb.cells)


def student_version(nb):
    """The notebook as handed out: solutions and hidden tests removed, outputs cleared."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        cell.source = SOLUTION.sub(lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()\n", cell.source)
        cell.source = HIDDEN.sub("", cell.source).rstrip("\n")
        cell.outputs = []
        cell.execution_count = None
    return out


def build(solutions_dir: Path = SOLUTIONS_DIR, out_dir: Path = EXERCISES_DIR) -> list[Path]:
    """Write the student version of every chapter that has exercises; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if not has_exercises(nb):
            continue
        target = out_dir / path.name
        with files.atomic_path(target) as temporary:
            nbformat.write(student_version(nb), str(temporary))
        written.append(target)
    return written


@dataclass
class GradeResult:
    """One autograde cell's outcome."""

    cell: int
    passed: bool
    error: str = ""


def exercise_section(nb, solution=None):
    """The cells the grader runs: from the ``exercise-setup`` cell on, hidden tests restored from ``solution``."""
    cells = nb.cells
    start = next((i for i, c in enumerate(cells) if "exercise-setup" in _tags(c)), None)
    if start is None:
        raise ValueError("notebook has no cell tagged 'exercise-setup'")
    section = copy.deepcopy(cells[start:])
    if solution is not None:
        hidden = [c for c in solution.cells if "autograde" in _tags(c)]
        graded = [c for c in section if "autograde" in _tags(c)]
        if len(hidden) != len(graded):
            raise ValueError(f"the notebook has {len(graded)} autograde cells, the solution {len(hidden)}")
        for mine, reference in zip(graded, hidden):
            mine.source = reference.source  # a student may not edit the tests away
    return section


def grade(path: Path, solution_path: Path | None = None, timeout: int = 600) -> list[GradeResult]:
    """Run a notebook's exercise section in a fresh kernel; one result per autograde cell."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    solution = nbformat.read(solution_path, as_version=4) if solution_path else None
    graded_nb = nbformat.v4.new_notebook(metadata=nb.metadata, cells=exercise_section(nb, solution))
    NotebookClient(
        graded_nb, timeout=timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    results = []
    for index, cell in enumerate(graded_nb.cells):
        if "autograde" not in _tags(cell):
            continue
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        results.append(GradeResult(index, not errors, f"{errors[0].ename}: {errors[0].evalue}" if errors else ""))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build student versions of the chapters, or grade one.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help=f"write student notebooks to {EXERCISES_DIR.relative_to(runtime.REPO_ROOT)}/")
    grade_p = sub.add_parser("grade", help="grade a student's notebook")
    grade_p.add_argument("notebook", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        for path in build():
            print("wrote", path)
        return 0
    solution = SOLUTIONS_DIR / args.notebook.name
    outcome = grade(args.notebook, solution if solution.exists() else None)
    for r in outcome:
        print(f"exercise cell {r.cell}: {'PASS' if r.passed else 'FAIL ' + r.error}")
    print(f"score: {sum(r.passed for r in outcome)}/{len(outcome)}")
    return 0 if all(r.passed for r in outcome) else 1


if __name__ == "__main__":
    sys.exit(main())
