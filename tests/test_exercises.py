"""The exercise builder and grader on a tiny hand-made chapter."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gesturelib import exercises

SOLUTION_CELL = """def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION"""

TEST_CELL = """assert double(2) == 4
### BEGIN HIDDEN TESTS
assert double(-3) == -6
### END HIDDEN TESTS"""


def _chapter():
    return new_notebook(
        cells=[
            new_markdown_cell("# Chapter"),
            new_code_cell("raise RuntimeError('the grader must not run cells before the exercises')"),
            new_code_cell("import math", metadata={"tags": ["exercise-setup"]}),
            new_code_cell(SOLUTION_CELL, metadata={"tags": ["exercise"]}),
            new_code_cell(TEST_CELL, metadata={"tags": ["autograde"]}),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def test_student_version_hides_solution_and_hidden_tests():
    student = exercises.student_version(_chapter())
    exercise, test = student.cells[3].source, student.cells[4].source
    assert "return 2 * x" not in exercise
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in exercise
    assert "double(-3)" not in test and "double(2) == 4" in test
    assert exercises.has_exercises(_chapter()) and not exercises.has_exercises(student)


def test_grader_passes_solution_and_fails_exercise(tmp_path):
    solutions, students = tmp_path / "solutions", tmp_path / "students"
    solutions.mkdir()
    nbformat.write(_chapter(), solutions / "01_demo.ipynb")
    (built,) = exercises.build(solutions, students)

    on_solution = exercises.grade(solutions / "01_demo.ipynb")
    assert [r.passed for r in on_solution] == [True]

    on_exercise = exercises.grade(built, solution_path=solutions / "01_demo.ipynb")
    assert [r.passed for r in on_exercise] == [False]
    assert "NameError" in on_exercise[0].error or "NotImplementedError" in on_exercise[0].error


def test_grader_restores_hidden_tests_a_student_removed(tmp_path):
    solution = tmp_path / "sol.ipynb"
    nbformat.write(_chapter(), solution)
    cheat = _chapter()
    cheat.cells[3].source = "def double(x):\n    return 4 if x == 2 else 0"
    cheat.cells[4].source = "assert double(2) == 4"
    student = tmp_path / "student.ipynb"
    nbformat.write(cheat, student)
    assert [r.passed for r in exercises.grade(student, solution_path=solution)] == [False]
