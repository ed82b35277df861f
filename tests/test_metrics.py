"""Accuracy, confusion matrix, most confused pairs and the two figures (smoke tests, see ``figure_checks``)."""

import numpy as np
import pytest
import torch

from figure_checks import assert_renders
from gesturelib import metrics
from gesturelib.figures import modelviz
from gesturelib.train import History

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


def test_named_classes_give_the_id_then_the_italian_name():
    names = metrics.named_classes()
    assert len(names) == 20 and names[0] == "1 vattene" and names[-1] == "20 sonostufo"


def test_confusion_figure():
    assert_renders(modelviz.plot_confusion_matrix(metrics.confusion_matrix(PREDICTED, LABELS), title="test"),
                   panels=2)  # the matrix and its colour bar


def test_learning_curves_figure():
    history = History(epoch=[1, 2, 3], train_loss=[2.0, 1.0, 0.5], train_acc=[0.3, 0.6, 0.8],
                      val_loss=[2.1, 1.2, 1.3], val_acc=[0.3, 0.55, 0.5], lr=[1e-3] * 3,
                      seconds=[1.0] * 3, best_epoch=2)
    assert_renders(modelviz.plot_learning_curves(history), panels=2)  # loss and accuracy
