"""Prose never states an outcome that a rerun can change.

The chapters' markdown gives the question, the method and how to read a
figure; numbers, rankings and verdicts about our results are printed by code.
``gesturelib.prose`` flags markdown sentences that read like results; this
file checks that it can fail (unit tests on result and method sentences) and
runs it over every markdown cell of every numbered chapter.
"""

from pathlib import Path

import pytest

from gesturelib import prose

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
#: Chapters being rewritten in the fair-test issue: their violations are expected to be fixed there.

RESULT_SENTENCES = [
    "The joint model beats the 3D-CNN by 3 points.",
    "Accuracy barely moves after pruning.",
    "int8 is faster than fp32.",
    "Distillation helps the small student.",
    "Our teacher reaches 97.5 % on test users.",
    "The joint model outperforms the LSTM baseline.",
    "The joint model wins on the test users.",
    "With our training, the claim does not hold, and it could not hold for a network trained this way.",
    "Most weights end larger than they started.",
    "The classifier keeps most of its weights.",
    "fp16 halves every dense file at no measurable cost in accuracy.",
    "The sparse student is not faster than the dense one.",
    "The fine-tune recovers most of the loss.",
    "Past 80 % sparsity the accuracy falls quickly, down to chance.",
    "Our paper-preset dense sizes land on the poster's.",
    "The fp32 file weighs 71.8 MB.",
    "Unlike the poster, our joint model gains 3 points.",
    "Pruning costs little accuracy up to a point.",
]

METHOD_SENTENCES = [
    "Each clip has 16 frames of 32x32.",
    "Their mean and its 95 % Student-t interval decide the verdict.",
    'A fair test of "distillation helps" needs paired seeds.',
    "The poster reports 90.1 % for the 3D-CNN.",
    "Compare the gaps, not the heights.",
    "A claim holds when the interval lies above 0.",
    "Does the joint model beat the 3D-CNN?",
    "What carries over is the shape of each claim: does the joint model beat the 3D-CNN, does the teacher help.",
    "The poster's claim is that the joint model beats the 3D-CNN by about 3 points.",
    "For the model comparison (one seed), a lead of at least one point holds, a smaller lead is partly.",
    "A verdict of *does not hold* is a finding, not a failure.",
    "The poster reports 93.2 % for this model against 90.1 % for the 3D-CNN and 86.6 % for the LSTM baseline.",
    "Four frames from 10 % to 90 % of its interval are shown.",
    "The sparse model keeps 0.25 M of 1.15 M parameters, i.e. $1 - 0.25/1.15 = 78.3\\,\\%$ of the weights removed.",
    "Zero its 80 % smallest entries by magnitude.",
    "The real data are 640x480, with $T = 4$ groups and alpha = 0.5.",
    "The poster's $\\tau = 2^{-100}$ lies 76 octaves below fp16's smallest number.",
    "If the teacher learned the structure, the related pairs get several times more probability than unrelated ones.",
    "Read the `all` rows: a median ratio above 1 means training grew the weights on balance.",
    "Store the name of the tensor whose pruning hurts most in `most_sensitive`.",
    f"Our model lands on the poster's numbers. {prose.OPT_OUT}",
]


@pytest.mark.parametrize("sentence", RESULT_SENTENCES)
def test_result_sentences_are_flagged(sentence):
    assert prose.result_statements(sentence) == [sentence], prose.why(sentence)


@pytest.mark.parametrize("sentence", METHOD_SENTENCES)
def test_method_sentences_pass(sentence):
    assert prose.result_statements(sentence) == [], prose.why(sentence)


def test_sentences_split_markdown_and_skip_code():
    markdown = (
        "## The poster's claim\n\nFirst sentence, e.g. with an abbreviation. Second one\nwraps a line.\n\n"
        "- a list item\n- another\n\n```python\nprint('the joint model beats everything')\n```\n"
        "$$J = \\frac{|A \\cap B|}{|A \\cup B|}$$"
    )
    assert prose.sentences(markdown) == [
        "## The poster's claim",
        "First sentence, e.g. with an abbreviation.",
        "Second one wraps a line.",
        "- a list item",
        "- another",
        "FORMULA",
    ]


def test_a_paragraph_with_one_result_is_reported_by_that_sentence():
    markdown = "Compare the two curves. Accuracy barely moves after pruning. The dotted line is chance."
    assert prose.result_statements(markdown) == ["Accuracy barely moves after pruning."]


def test_notebook_violations_name_notebook_cell_and_sentence(tmp_path):
    import json

    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["# Title\n", "Compare the gaps."]},
        {"cell_type": "code", "source": "print('int8 is faster')", "outputs": []},
        {"cell_type": "markdown", "source": "Setup. int8 is faster than fp32."},
    ]}
    path = tmp_path / "99_fake.ipynb"
    path.write_text(json.dumps(notebook))
    (violation,) = prose.notebook_violations(path)
    assert (violation.notebook, violation.cell, violation.sentence) == ("99_fake.ipynb", 2, "int8 is faster than fp32.")
    assert "99_fake.ipynb cell 2" in str(violation)


def _violations(chapters):
    return [v for path in chapters for v in prose.notebook_violations(path)]


def _report(violations) -> str:
    return "markdown states results (print them from code instead):\n" + "\n".join(f"  {v}" for v in violations)


def test_the_chapters_are_found():
    assert len(CHAPTERS) >= 9


def test_prose_states_no_results():
    """No chapter's markdown states a result: outcomes are printed by code."""
    violations = _violations(CHAPTERS)
    assert not violations, _report(violations)
