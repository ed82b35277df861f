"""Tests for gesturelib.figures.verdicts_viz: chapter 09's comparison figure and convergence record."""

import math

import matplotlib.pyplot as plt
import pytest

from figure_checks import assert_renders
from gesturelib import stats
from gesturelib.figures import verdicts_viz


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _row(kind, seeds, converged):
    return {"seeds": seeds, "accuracies": [80.0] * len(seeds), "converged": converged,
            "runs": [{"seed": s, "epochs": 20, "best_epoch": 18, "converged": c, "test_accuracy": 80.0}
                     for s, c in zip(seeds, converged)]}


@pytest.fixture
def res():
    joint = stats.paired_comparison({0: 80.0, 1: 81.0, 2: 79.0}, {0: 83.0, 1: 84.5, 2: 82.0})
    small = stats.paired_comparison({s: 70.0 for s in range(5)}, {s: 69.0 + 0.1 * s for s in range(5)},
                                    converged=False)
    sparse = stats.paired_comparison({0: 70.0, 1: 71.0}, {0: 69.5, 1: 71.2}, margin=-1.0)
    return {
        "table1": {"cnn3d": _row("cnn3d", [0, 1, 2], [True, True, False]),
                   "joint": _row("joint", [0, 1, 2], [True] * 3),
                   "comparisons": {"joint_vs_cnn3d": joint}},
        "table2": {"student_small/labels": _row("s", [0, 1], [True, False]),
                   "student_small/teacher": _row("s", [0, 1], [True, True]),
                   "comparisons": {"student_small": small},
                   "conditions": {"fewer_users": {"comparison": joint}}, "temperature": {"chosen": 4.0}},
        "table3": {"sparse_vs_dense": sparse, "student_small": {"acc_fp32": 70.0}},
        "weights": {"adam": {"total": 10}, "runs": {"Adam": {"optimizer": "adam", "converged": True, "epochs": 30},
                                                    "SGD": {"optimizer": "sgd", "converged": None, "epochs": 30}}},
    }


def test_comparisons_finds_the_claims_first_then_any_other(res):
    found = verdicts_viz.comparisons(res)
    names = [name for name, _ in found]
    assert names == ["joint 3D-CNN + LSTM minus 3D-CNN", "small student: with teacher minus labels only",
                     "sparse small student minus dense control", "table2 / conditions / fewer_users / comparison"]
    assert found[2][1] is res["table3"]["sparse_vs_dense"]
    assert verdicts_viz.comparisons({}) == []


def test_comparison_frame_prints_differences_interval_and_verdict(res):
    frame = verdicts_viz.comparison_frame(res)
    assert len(frame) == 4
    joint = frame.loc["joint 3D-CNN + LSTM minus 3D-CNN"]
    assert joint["per-seed differences"] == "+3.0, +3.5, +3.0" and joint["n"] == 3
    c = res["table1"]["comparisons"]["joint_vs_cnn3d"]
    assert joint["95 % interval"] == f"[{c['low']:+.1f}, {c['high']:+.1f}]" and joint["verdict"] == stats.HOLDS
    small = frame.loc["small student: with teacher minus labels only"]
    assert small["verdict"] == stats.NOT_CONVERGED and small["converged"] == "no"
    assert frame.loc["sparse small student minus dense control", "margin"] == -1.0
    one = {"table3": {"sparse_vs_dense": stats.paired_comparison({0: 1.0}, {0: 2.0})}}
    assert verdicts_viz.comparison_frame(one).iloc[0]["95 % interval"].startswith("none")


def test_plot_comparisons_draws(res):
    assert len(verdicts_viz.comparisons(res)) == 4  # what the rows show: tested with comparison_frame above
    assert_renders(verdicts_viz.plot_comparisons(res), panels=1)
    assert_renders(verdicts_viz.plot_comparisons({}), panels=1)  # says that nothing was compared


def test_convergence_record_lists_every_run_and_counts_per_kind(res):
    runs = verdicts_viz.convergence_frame(res)
    assert len(runs) == 3 + 3 + 2 + 2 + 2
    assert list(runs.columns) == ["table", "row", "kind", "seed", "epochs", "best epoch", "converged"]
    assert set(runs["converged"]) == {"yes", "no", "n/a"}
    counts = verdicts_viz.convergence_counts(res)
    assert counts.loc["cnn3d"].tolist() == [3, 2, 1]
    assert counts.loc["joint"].tolist() == [3, 3, 0]
    assert counts.loc["student_small"].tolist() == [6, 4, 2]  # table 2's two arms and chapter 07's two runs
    assert verdicts_viz.convergence_frame({}).empty and verdicts_viz.convergence_counts({}).empty
    assert not any(math.isnan(v) for v in counts.to_numpy().ravel())
