"""What a classifier gets right and wrong: accuracy, per-class accuracy, confusions, curves.

Functions take ``predictions`` as either logits / scores ``(N, classes)`` or
class indices ``(N,)`` (torch or numpy) and ``labels`` ``(N,)``. The confusion
matrix has true classes as rows and predicted classes as columns.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from .chalearn import GESTURES, NUM_CLASSES
from .train import History


def class_names() -> list[str]:
    """Readable class names, ``"1 vattene"`` ... ``"20 sonostufo"`` (the gesture id, then its name)."""
    return [f"{i + 1} {name}" for i, name in enumerate(GESTURES)]


def _classes(predictions) -> np.ndarray:
    predictions = np.asarray(predictions.detach().cpu() if hasattr(predictions, "detach") else predictions)
    return predictions.argmax(axis=1) if predictions.ndim == 2 else predictions.astype(np.int64)


def _labels(labels) -> np.ndarray:
    return np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels).astype(np.int64)


def accuracy(predictions, labels) -> float:
    """Fraction of clips whose predicted class is the label."""
    predicted, labels = _classes(predictions), _labels(labels)
    if len(labels) == 0 or len(predicted) != len(labels):
        raise ValueError(f"need as many predictions as labels (>0), got {len(predicted)} and {len(labels)}")
    return float((predicted == labels).mean())


def confusion_matrix(predictions, labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts ``(num_classes, num_classes)``: entry [t, p] = clips of class t predicted as p."""
    predicted, labels = _classes(predictions), _labels(labels)
    if len(predicted) != len(labels):
        raise ValueError(f"need as many predictions as labels, got {len(predicted)} and {len(labels)}")
    for name, values in (("labels", labels), ("predictions", predicted)):
        if len(values) and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes}), got {values.min()}..{values.max()}")
    return np.bincount(labels * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


class Confusion(NamedTuple):
    """One off-diagonal cell: how often class ``true`` was predicted as ``predicted``."""

    true: str
    predicted: str
    count: int
    rate: float  #: count / clips of the true class


def most_confused(cm: np.ndarray, names: Sequence[str] | None = None, top: int = 10) -> list[Confusion]:
    """The ``top`` largest off-diagonal cells of a confusion matrix, most frequent first."""
    cm = np.asarray(cm)
    names = list(names) if names is not None else class_names()[: len(cm)]
    totals = cm.sum(axis=1)
    cells = [(int(cm[t, p]), t, p) for t in range(len(cm)) for p in range(len(cm)) if t != p and cm[t, p] > 0]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [Confusion(names[t], names[p], count, count / totals[t]) for count, t, p in cells[:top]]


def plot_confusion_matrix(cm: np.ndarray, names: Sequence[str] | None = None, title: str = "Confusion matrix",
                          ax: plt.Axes | None = None) -> plt.Figure:
    """Heatmap of the row-normalised matrix (% of each true class); cells show % when non-zero."""
    cm = np.asarray(cm)
    names = list(names) if names is not None else class_names()[: len(cm)]
    totals = cm.sum(axis=1, keepdims=True)
    percent = np.divide(100.0 * cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    labels = np.where(cm > 0, np.vectorize(lambda v: f"{v:.0f}")(percent), "")
    if ax is None:
        fig, ax = plt.subplots(figsize=(9.5, 8), dpi=90)
    else:
        fig = ax.figure
    sns.heatmap(percent, annot=labels, fmt="", annot_kws={"fontsize": 7}, cmap="Blues", vmin=0, vmax=100,
                square=True, linewidths=0.3, linecolor="0.9", xticklabels=names, yticklabels=names,
                cbar_kws={"label": "% of the true class", "shrink": 0.8}, ax=ax)
    ax.set_xlabel("predicted gesture")
    ax.set_ylabel("true gesture")
    ax.set_title(f"{title} (accuracy {np.trace(cm) / max(cm.sum(), 1):.1%}, {cm.sum()} clips)")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.tick_params(axis="y", labelrotation=0, labelsize=8)
    fig.tight_layout()
    return fig


def plot_learning_curves(history: History, title: str = "Learning curves") -> plt.Figure:
    """Loss and accuracy per epoch, training and validation, with the restored best epoch marked."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=90)
    has_val = not all(math.isnan(v) for v in history.val_loss)
    for ax, name, label in ((loss_ax, "loss", "cross-entropy"), (acc_ax, "acc", "accuracy")):
        ax.plot(history.epoch, getattr(history, f"train_{name}"), "o-", ms=3, label="training")
        if has_val:
            ax.plot(history.epoch, getattr(history, f"val_{name}"), "o-", ms=3, label="validation")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="0.5", ls="--", lw=1, label=f"best epoch ({history.best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    acc_ax.set_ylim(0, 1)
    acc_ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
