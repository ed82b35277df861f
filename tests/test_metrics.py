"""Accuracy, confusion matrix, most confused pairs and the two figures."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gesturelib import metrics  # noqa: E402
from gesturelib.figures import modelviz  # noqa: E402
from gesturelib.train import History  # noqa: E402

LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2])
PREDICTED = np.array([0, 0, 1, 1, 1, 1, 1, 2])


def test_accuracy_from_class_indices_and_from_logits():
    assert metrics.accuracy(PREDICTED, LABELS) == pytest.approx(5 / 8)
    logits = torch.nn.functional.one_hot(torch.as_tensor(PREDICTED), 20).float()
    assert metrics.accuracy(logits, torch.as_tensor(LABELS)) == pytest.approx(5 / 8)


def test_confusion_matrix_rows_are_true_classes():
    cm = metrics.confusion_matrix(PREDICTED, LABELS, num_classes=3)
    assert cm.tolist() == [[2, 1, 0], [0, 2, 0], [0, 2, 1]]
    assert metrics.confusion_matrix(PREDICTED, LABELS).shape == (20, 20)


def test_most_confused_pairs_come_most_frequent_first():
    cm = metrics.confusion_matrix(PREDICTED, LABELS)
    pairs = metrics.most_confused(cm, top=5)
    assert [(p.true, p.predicted, p.count) for p in pairs] == [("3 perfetto", "2 vieniqui", 2),
                                                               ("1 vattene", "2 vieniqui", 1)]
    assert pairs[0].rate == pytest.approx(2 / 3)


def test_out_of_range_labels_are_rejected():
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.confusion_matrix(np.array([0]), np.array([20]))


def test_confusion_figure_names_every_class():
    cm = metrics.confusion_matrix(PREDICTED, LABELS)
    fig = modelviz.plot_confusion_matrix(cm, title="test")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == metrics.named_classes()
    assert "62.5%" in ax.get_title()
    assert ax.get_xlabel() == "predicted gesture"
    plt.close(fig)


def test_learning_curves_plot_both_sets_and_mark_the_best_epoch():
    history = History(epoch=[1, 2, 3], train_loss=[2.0, 1.0, 0.5], train_acc=[0.3, 0.6, 0.8],
                      val_loss=[2.1, 1.2, 1.3], val_acc=[0.3, 0.55, 0.5], lr=[1e-3] * 3,
                      seconds=[1.0] * 3, best_epoch=2)
    fig = modelviz.plot_learning_curves(history)
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 3  # training, validation, best epoch
    assert acc_ax.lines[1].get_ydata().tolist() == [0.3, 0.55, 0.5]
    plt.close(fig)
