"""What a classifier gets right and wrong: accuracy, confusions, and errors by the structure of the classes.

Functions take ``predictions`` as either logits / scores ``(N, classes)`` or
class indices ``(N,)`` (torch or numpy) and ``labels`` ``(N,)``. The confusion
matrix has true classes as rows and predicted classes as columns.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from .chalearn import GESTURES, NUM_CLASSES
from .synth.choreography import SHAPE_ONLY_GROUPS, TIME_REVERSE_PAIRS


def named_classes() -> list[str]:
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
    names = list(names) if names is not None else named_classes()[: len(cm)]
    totals = cm.sum(axis=1)
    cells = [(int(cm[t, p]), t, p) for t in range(len(cm)) for p in range(len(cm)) if t != p and cm[t, p] > 0]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [Confusion(names[t], names[p], count, count / totals[t]) for count, t, p in cells[:top]]


#: Classes whose members only one cue separates (gesture ids), by the cue's name.
STRUCTURES: dict[str, tuple[tuple[int, ...], ...]] = {
    "time-reversed pairs": TIME_REVERSE_PAIRS,
    "shape-only groups": SHAPE_ONLY_GROUPS,
}
OTHER = "other classes"
#: The row of :func:`structure_scores` over every clip.
ALL = "all classes"


def _group_lookup() -> dict[int, tuple[str, tuple[int, ...]]]:
    """label (0-based) -> (structure name, the labels of its group)."""
    lookup = {}
    for structure, groups in STRUCTURES.items():
        for group in groups:
            for gesture_id in group:
                lookup[gesture_id - 1] = (structure, tuple(g - 1 for g in group))
    return lookup


def structure_scores(predictions, labels) -> pd.DataFrame:
    """Accuracy and within-group confusion on each structure of the classes.

    Rows: the time-reversed pairs, the shape-only groups, the other classes and
    all classes. Columns: ``clips``, ``accuracy %`` and ``as partner %``, the
    share of the row's clips predicted as *another member of their own group*
    (the mistake that missing the separating cue makes; empty for the rows
    that are not groups).
    """
    predicted, labels = _classes(predictions), _labels(labels)
    if len(predicted) != len(labels) or not len(labels):
        raise ValueError(f"need as many predictions as labels (>0), got {len(predicted)} and {len(labels)}")
    lookup = _group_lookup()
    rows = []
    for name in (*STRUCTURES, OTHER, ALL):
        if name == ALL:
            member = np.ones(len(labels), bool)
        elif name == OTHER:
            member = np.array([label not in lookup for label in labels])
        else:
            member = np.array([lookup.get(label, ("",))[0] == name for label in labels])
        n = int(member.sum())
        correct = predicted[member] == labels[member]
        partner = [p != t and p in lookup[t][1] for p, t in zip(predicted[member], labels[member])] \
            if name in STRUCTURES else []
        rows.append({
            "": name, "clips": n,
            "accuracy %": 100.0 * correct.mean() if n else math.nan,
            "as partner %": 100.0 * np.mean(partner) if n and name in STRUCTURES else math.nan,
        })
    return pd.DataFrame(rows).set_index("")


def mcnemar(predictions_a, predictions_b, labels) -> dict[str, float]:
    """Two models on the same clips: accuracies, the clips only one gets right, and the
    exact two-sided McNemar p-value (how likely so lopsided a split of the disagreements
    would be if both models were equally good).

    The exact test is a binomial tail; computed with ``math.comb`` because the
    project does not depend on SciPy for this one formula.
    """
    a, b, labels = _classes(predictions_a), _classes(predictions_b), _labels(labels)
    if not len(labels) == len(a) == len(b) or not len(labels):
        raise ValueError(f"need the same number (>0) of predictions and labels, got {len(a)}, {len(b)}, {len(labels)}")
    right_a, right_b = a == labels, b == labels
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    n = only_a + only_b
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2**n if n else 1.0
    return {"clips": len(labels), "accuracy_a": 100.0 * right_a.mean(), "accuracy_b": 100.0 * right_b.mean(),
            "only_a": only_a, "only_b": only_b, "p_value": min(1.0, 2 * tail)}
