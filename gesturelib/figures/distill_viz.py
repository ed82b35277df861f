"""The figures of notebook 06: learning curves per arm and the T^2 gradient scale
(paired differences: :mod:`gesturelib.figures.verdicts_viz`).

Each function draws on a matplotlib ``Axes`` the caller owns, from plain
numbers (training histories, lists of norms), so nothing needs training to
draw them; :func:`seed_curves` computes what the learning-curve panels show.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

def plot_gradient_scale(ax: Axes, temperatures: Sequence[float], with_t2: Sequence[float],
                        without_t2: Sequence[float]) -> Axes:
    """Norm of the soft term's gradient against T, with and without T^2, and the 1/T^2 slope for reference."""
    temperatures = np.asarray(temperatures, dtype=float)
    ax.plot(temperatures, with_t2, marker="o", label="with $T^2$ (Hinton et al.)")
    ax.plot(temperatures, without_t2, marker="s", label="without $T^2$")
    reference = without_t2[0] * (temperatures[0] / temperatures) ** 2
    ax.plot(temperatures, reference, color="gray", linestyle="--", label="$\\propto 1/T^2$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("temperature T (log scale)")
    ax.set_ylabel("gradient norm w.r.t. student logits (log scale)")
    ax.set_title("Soft term's gradient: $T^2$ keeps its scale", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def seed_curves(runs: Sequence, field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(epochs, curves, mean)`` of one arm's runs (:class:`~gesturelib.train.History` objects):
    each run's ``field`` in percent per epoch, NaN after the run stopped (runs stop when they
    converge), and the mean over the runs still training at each epoch."""
    longest = max(len(h.epoch) for h in runs)
    curves = np.full((len(runs), longest), np.nan)
    for row, h in zip(curves, runs):
        row[:len(h.epoch)] = 100 * np.asarray(getattr(h, field), dtype=float)
    return np.arange(1, longest + 1), curves, np.nanmean(curves, axis=0)


def plot_arm_curves(axes: Sequence[Axes], histories: Mapping[str, Sequence], title: str = "") -> Sequence[Axes]:
    """Each arm's accuracy per epoch, the mean over the seeds still training with each seed faint
    (runs stop when they converge): training accuracy
    (augmented batches, dropout on) on ``axes[0]``, validation accuracy on ``axes[1]``.

    ``histories`` maps an arm's label to its runs' :class:`~gesturelib.train.History` objects.
    """
    colours = dict(zip(histories, ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")))
    for ax, field, what in ((axes[0], "train_acc", "training accuracy (augmented)"),
                            (axes[1], "val_acc", "validation accuracy")):
        for label, runs in histories.items():
            epochs, curves, mean = seed_curves(runs, field)
            for curve in curves:
                ax.plot(epochs, curve, color=colours[label], alpha=0.25, linewidth=0.8)
            ax.plot(epochs, mean, color=colours[label], linewidth=2,
                    label=f"{label} (mean of the {len(runs)} seeds still training)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{what} (%)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right")
    axes[0].set_title(f"{title}: training", fontsize=9)
    axes[1].set_title(f"{title}: validation users", fontsize=9)
    return axes
