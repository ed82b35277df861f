"""Every chapter's exercises: the solution passes its autograde cells, the student version fails them.

Runs each chapter's exercise section twice in a fresh kernel (quick mode, models from the cache
that the notebooks' own nbval run fills), so it is among the slower tests.
"""


import nbformat
import pytest

from gesturelib import exercises

CHAPTERS = sorted(p for p in exercises.SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb")
                  if exercises.has_exercises(nbformat.read(p, as_version=4)))


def test_chapters_03_to_08_have_exercises():
    assert {p.name[:2] for p in CHAPTERS} >= {"03", "04", "05", "06", "07", "08"}


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name[:2])
def test_solution_passes_and_student_version_fails(chapter, tmp_path, monkeypatch):
    monkeypatch.setenv("GESTURELIB_QUICK", "1")
    (student,) = [p for p in exercises.build(chapter.parent, tmp_path) if p.name == chapter.name]
    on_solution = exercises.grade(chapter)
    assert on_solution and all(r.passed for r in on_solution), on_solution
    on_student = exercises.grade(student, solution_path=chapter)
    assert len(on_student) == len(on_solution) and not any(r.passed for r in on_student), on_student
