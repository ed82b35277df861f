"""Notebook 06's figures, drawn from hand-made numbers and checked for what they show."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

from gesturelib.figures import distill_viz


def _rows():
    values = {"student_medium/labels": [80.0, 82.0], "student_medium/teacher": [84.0, 85.0],
              "student_small/labels": [70.0, 74.0], "student_small/teacher": [76.0, 75.0]}
    return {k: {"accuracies": v, "mean": float(np.mean(v)), "std": float(np.std(v, ddof=1))} for k, v in values.items()}


def test_gradient_scale_plots_both_curves_and_the_one_over_t2_reference():
    ax = Figure().subplots()
    temperatures = [1.0, 2.0, 4.0]
    distill_viz.plot_gradient_scale(ax, temperatures, [1.0, 1.0, 1.0], [2.0, 0.5, 0.125])
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [2.0, 0.5, 0.125])  # 2 / T^2
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_xlabel()


def test_arm_curves_draw_each_seed_and_the_mean():
    from gesturelib.train import History

    def history(acc):
        return History(epoch=[1, 2, 3], train_acc=acc, val_acc=[a - 0.1 for a in acc])

    axes = Figure().subplots(1, 2)
    distill_viz.plot_arm_curves(axes, {"labels": [history([0.2, 0.5, 0.6]), history([0.4, 0.5, 0.8])],
                                       "teacher": [history([0.1, 0.2, 0.3])]}, title="small")
    ragged = Figure().subplots(1, 2)  # runs that stopped at different epochs
    distill_viz.plot_arm_curves(ragged, {"labels": [history([0.2, 0.5, 0.6]), History(epoch=[1, 2], train_acc=[0.4, 0.6],
                                                                                       val_acc=[0.3, 0.5])]})
    np.testing.assert_allclose(ragged[0].lines[2].get_ydata(), [30.0, 55.0, 60.0])
    # 2 + 1 faint seeds and 2 means per panel
    assert len(axes[0].lines) == len(axes[1].lines) == 5
    np.testing.assert_allclose(axes[0].lines[2].get_ydata(), [30.0, 50.0, 70.0])  # mean of the labels arm
    np.testing.assert_allclose(axes[1].lines[2].get_ydata(), [20.0, 40.0, 60.0])
