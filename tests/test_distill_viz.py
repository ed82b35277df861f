"""Notebook 06's figures, drawn from hand-made numbers (figures: smoke tests, see ``figure_checks``)."""

import numpy as np
from matplotlib.figure import Figure

from figure_checks import assert_renders
from gesturelib.figures import distill_viz
from gesturelib.train import History


def _history(acc):
    return History(epoch=list(range(1, len(acc) + 1)), train_acc=acc, val_acc=[a - 0.1 for a in acc])


def test_gradient_scale_figure():
    ax = Figure().subplots()
    distill_viz.plot_gradient_scale(ax, [1.0, 2.0, 4.0], [1.0, 1.0, 1.0], [2.0, 0.5, 0.125])
    assert_renders(ax.figure, panels=1)


def test_seed_curves_average_the_runs_still_training():
    epochs, curves, mean = distill_viz.seed_curves([_history([0.2, 0.5, 0.6]), _history([0.4, 0.5, 0.8])], "train_acc")
    assert epochs.tolist() == [1, 2, 3] and curves.shape == (2, 3)
    np.testing.assert_allclose(mean, [30.0, 50.0, 70.0])
    ragged = [_history([0.2, 0.5, 0.6]), History(epoch=[1, 2], train_acc=[0.4, 0.6], val_acc=[0.3, 0.5])]
    epochs, curves, mean = distill_viz.seed_curves(ragged, "val_acc")  # the second run stopped after epoch 2
    assert np.isnan(curves[1, 2])
    np.testing.assert_allclose(mean, [20.0, 45.0, 50.0])


def test_arm_curves_figure():
    axes = Figure().subplots(1, 2)
    distill_viz.plot_arm_curves(axes, {"labels": [_history([0.2, 0.5, 0.6]), _history([0.4, 0.5, 0.8])],
                                       "teacher": [_history([0.1, 0.2, 0.3])]}, title="small")
    assert_renders(axes[0].figure, panels=2)  # training and validation accuracy
