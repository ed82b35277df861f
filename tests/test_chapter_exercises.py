"""Every chapter's exercises: the solution passes its autograde cells, the student version fails them.

Runs each chapter's exercise section twice in a fresh kernel (quick mode, models from the cache
that the notebooks' own nbval run fills), so it is among the slower tests.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import nbformat
import pytest

from gesturelib import exercises

CHAPTERS = sorted(p for p in exercises.SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb")
                  if exercises.has_exercises(nbformat.read(p, as_version=4)))


def test_every_chapter_has_exercises_and_says_where_to_write_them():
    every = sorted(exercises.SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert len(every) == 10 and CHAPTERS == every
    for chapter in CHAPTERS:
        cells = nbformat.read(chapter, as_version=4).cells
        intro = next(c.source for c in cells if c.cell_type == "markdown" and "## Exercises" in c.source)
        # the reader of the solution chapter learns that the student version holds the empty cell
        assert "`# YOUR CODE HERE`" in intro and "make exercises" in intro, chapter.name
        assert f"grade exercises/{chapter.name}" in intro, chapter.name


def _check(chapter, student):
    """What is wrong with one chapter's exercises (an empty list when nothing is)."""
    on_solution = exercises.grade(chapter)
    on_student = exercises.grade(student, solution_path=chapter)
    problems = []
    if not on_solution or not all(r.passed for r in on_solution):
        problems.append(f"the solution does not pass: {on_solution}")
    if len(on_student) != len(on_solution) or any(r.passed for r in on_student):
        problems.append(f"the student version does not fail every test: {on_student}")
    return problems


@pytest.mark.slow
def test_every_solution_passes_and_every_student_version_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("GESTURELIB_QUICK", "1")  # the graders' kernels inherit it
    students = {p.name: p for p in exercises.build(exercises.SOLUTIONS_DIR, tmp_path)}
    # Each check starts fresh kernels (mostly start-up work): two chapters at a time, one per core.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = dict(zip((c.name for c in CHAPTERS), pool.map(_check, CHAPTERS, [students[c.name] for c in CHAPTERS])))
    assert not {name: problems for name, problems in outcomes.items() if problems}
