"""The figures of notebook 06: students over seeds beside the poster, learning curves per arm,
and the T^2 gradient scale (paired differences: :mod:`gesturelib.verdicts_viz`).

Each function draws on a matplotlib ``Axes`` the caller owns, from plain
numbers (rows of the results file, lists of norms, a matrix of accuracies),
so tests can check what is drawn without training anything.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

#: The student rows of Table 2, in the order the figure shows them.
STUDENT_ROWS = ("student_medium/labels", "student_medium/teacher", "student_small/labels", "student_small/teacher")


def plot_seed_results(ax: Axes, rows: Mapping[str, dict], poster: Mapping[str, tuple[float, float]],
                      keys: Sequence[str] = STUDENT_ROWS, labels: Mapping[str, str] | None = None) -> Axes:
    """Each run as a dot, the mean ± std over seeds as a wide tick with error bars, the poster's figure as a red x.

    ``rows`` maps a key to a results row (``accuracies``, ``mean``, ``std``);
    ``poster`` maps a key to the poster's ``(params in M, accuracy %)``. The poster
    measured real ChaLearn data, we measure the embedded data: compare the gaps
    between rows, not the heights. The y axis is zoomed to the numbers, so
    differences of a point or two stay visible.
    """
    legend_done = set()

    def once(label: str) -> str | None:
        if label in legend_done:
            return None
        legend_done.add(label)
        return label

    for x, key in enumerate(keys):
        row = rows[key]
        teacher = key.endswith("/teacher")
        ax.errorbar(x, row["mean"], yerr=row.get("std") or 0.0, fmt="_", markersize=30, mew=3, capsize=6,
                    color="tab:orange" if teacher else "tab:blue", zorder=2,
                    label=once("mean ± std, labels + teacher" if teacher else "mean ± std, labels only"))
        count = len(row["accuracies"])
        jitter = np.linspace(-0.12, 0.12, count) if count > 1 else np.zeros(1)
        ax.scatter(x + jitter, row["accuracies"], color="black", s=14, zorder=3, label=once("one seed"))
        if key in poster:
            ax.scatter([x], [poster[key][1]], marker="x", color="red", s=60, zorder=4,
                       label=once("poster (real ChaLearn, one run)"))
    names = [labels.get(key, key) if labels else key for key in keys]
    ax.set_xticks(range(len(keys)), names, rotation=15, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(keys) - 0.4)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Students over seeds, beside the poster's Table 2", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=0.6, handlelength=2.5)
    return ax


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
            longest = max(len(h.epoch) for h in runs)
            curves = np.full((len(runs), longest), np.nan)  # runs stop at different epochs
            for row, h in zip(curves, runs):
                row[:len(h.epoch)] = 100 * np.asarray(getattr(h, field), dtype=float)
            epochs = np.arange(1, longest + 1)
            for curve in curves:
                ax.plot(epochs, curve, color=colours[label], alpha=0.25, linewidth=0.8)
            ax.plot(epochs, np.nanmean(curves, axis=0), color=colours[label], linewidth=2,
                    label=f"{label} (mean of the {len(runs)} seeds still training)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{what} (%)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right")
    axes[0].set_title(f"{title}: training", fontsize=9)
    axes[1].set_title(f"{title}: validation users", fontsize=9)
    return axes
