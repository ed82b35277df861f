"""Figures and tables of the verdicts: paired comparisons (chapters 06 and 09) and the convergence record.

The chapters record each comparison that decides a claim as a
:func:`gesturelib.stats.paired_comparison` dict (per-seed differences, mean,
95 % interval, margin, verdict), and each trained run with whether it met the
convergence criterion. This module only reads the results file: it finds the
comparisons wherever they are recorded (``comparisons``), draws them
(``plot_comparisons``, ``draw_comparisons`` on an axes of one's own), and lists the runs with their convergence
(``convergence_frame``, ``convergence_counts``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import stats

#: The comparisons behind the poster's claims, where the chapters record them, and their names.
CLAIMS: dict[tuple[str, ...], str] = {
    ("table1", "comparisons", "joint_vs_cnn3d"): "joint 3D-CNN + LSTM minus 3D-CNN",
    ("table1", "comparisons", "cnn3d_vs_lstm"): "3D-CNN minus LSTM",
    ("table2", "comparisons", "student_medium"): "medium student: with teacher minus labels only",
    ("table2", "comparisons", "student_small"): "small student: with teacher minus labels only",
    ("table3", "sparse_vs_dense"): "sparse small student minus dense control",
}
_KEYS = {"differences", "mean", "low", "high", "verdict"}
_COLOURS = {stats.HOLDS: "tab:green", stats.DOES_NOT_HOLD: "tab:red", stats.INCONCLUSIVE: "tab:orange",
            stats.NOT_CONVERGED: "0.55"}


def _is_comparison(value) -> bool:
    return isinstance(value, Mapping) and _KEYS <= value.keys()


def _walk(value, path: tuple[str, ...], depth: int):
    if _is_comparison(value):
        yield path, value
    elif isinstance(value, Mapping) and depth > 0:
        for key, child in value.items():
            yield from _walk(child, (*path, str(key)), depth - 1)


def comparisons(res: Mapping) -> list[tuple[str, dict]]:
    """Every paired comparison recorded in ``res``, as ``(name, comparison)``.

    The claims' comparisons (:data:`CLAIMS`) come first, in that order, then any
    other comparison a chapter recorded, named by its path in the file
    ("table2 / conditions / fewer_users").
    """
    found = dict(_walk(res, (), depth=4))
    out = [(name, found.pop(path)) for path, name in CLAIMS.items() if path in found]
    out += [(" / ".join(path), found[path]) for path in sorted(found)]
    return out


def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def comparison_frame(res: Mapping) -> pd.DataFrame:
    """One row per comparison: seeds, per-seed differences, mean, interval, margin, convergence and verdict."""
    rows = []
    for name, c in comparisons(res):
        rows.append({
            "comparison (b - a, points)": name, "n": c.get("n", len(c["differences"])),
            "per-seed differences": ", ".join(f"{d:+.1f}" for d in c["differences"]),
            "mean": c["mean"],
            "95 % interval": f"[{c['low']:+.1f}, {c['high']:+.1f}]" if _finite(c.get("low")) else "none (n < 2)",
            "margin": c.get("margin", 0.0), "converged": "yes" if c.get("converged", True) else "no",
            "verdict": c["verdict"],
        })
    columns = ["comparison (b - a, points)", "n", "per-seed differences", "mean", "95 % interval", "margin",
               "converged", "verdict"]
    return pd.DataFrame(rows, columns=columns).set_index(columns[0])


def plot_comparisons(res: Mapping) -> Figure:
    """Every paired comparison of the results file, drawn by :func:`draw_comparisons`."""
    found = comparisons(res)
    fig, ax = plt.subplots(figsize=(11, 0.7 * max(len(found), 1) + 2.2), dpi=80)
    if not found:
        ax.text(0.5, 0.5, "no paired comparisons recorded yet (run chapters 03 to 08)", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    draw_comparisons(ax, found)
    ax.set_title("Paired comparisons: per-seed differences, mean and 95 % interval")
    fig.tight_layout()
    return fig


def draw_comparisons(ax: Axes, found: Sequence[tuple[str, dict]], poster: Mapping[str, float] | None = None,
                     xlabel: str = "difference of test accuracy, b - a (points)") -> Axes:
    """One row per comparison: a dot per seed (its difference, in points), the mean with its 95 %
    interval as an error bar coloured by the verdict, the claim's margin as a red dashed mark and,
    when ``poster`` names the row, the poster's single-run figure as a red x. A grey line marks zero."""
    rng = np.random.default_rng(0)  # vertical jitter only, so equal differences stay visible
    for row, (name, c) in enumerate(found):
        y = len(found) - 1 - row
        diffs = np.asarray(c["differences"], dtype=float)
        ax.scatter(diffs, y + rng.uniform(-0.12, 0.12, diffs.size), s=18, color="0.35", zorder=3,
                   label="one seed" if row == 0 else None)
        colour = _COLOURS.get(c["verdict"], "tab:blue")
        if _finite(c.get("low")) and _finite(c.get("high")):
            ax.errorbar(c["mean"], y, xerr=[[c["mean"] - c["low"]], [c["high"] - c["mean"]]], fmt="D", ms=7,
                        color=colour, capsize=4, lw=2, zorder=4)
        else:
            ax.plot(c["mean"], y, "D", ms=7, color=colour, zorder=4)
        margin = c.get("margin", 0.0)
        ax.plot([margin, margin], [y - 0.35, y + 0.35], color="tab:red", ls="--", lw=1.5, zorder=2,
                label="margin of the claim" if row == 0 else None)
        if poster and name in poster:
            ax.scatter([poster[name]], [y], marker="x", color="red", s=60, zorder=5,
                       label="poster (one run, real data)" if row == 0 else None)
    ax.axvline(0.0, color="0.7", lw=1, zorder=1)
    for verdict, colour in _COLOURS.items():
        ax.errorbar([], [], xerr=[], fmt="D", color=colour, label=f"mean, 95 % interval: {verdict}")
    ax.set_yticks(range(len(found)))
    ax.set_yticklabels([f"{name}\n({c['verdict']}, n={c.get('n', len(c['differences']))})"
                        for name, c in reversed(found)], fontsize=8)
    ax.set_ylim(-0.7, len(found) - 0.3)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    return ax


def _runs(res: Mapping):
    """``(table, row, kind, run)`` for every recorded run: Table 1 and Table 2 rows' ``runs``, and chapter 07's."""
    for section in ("table1", "table2"):
        for key, row in res.get(section, {}).items():
            if isinstance(row, Mapping) and isinstance(row.get("runs"), list):
                for run in row["runs"]:
                    yield section, key, key.split("/")[0], run
    weights_runs = res.get("weights", {}).get("runs", {})
    if isinstance(weights_runs, Mapping):
        for name, run in weights_runs.items():
            yield "weights", f"student_small/labels, {name}", "student_small", run


def convergence_frame(res: Mapping) -> pd.DataFrame:
    """Every run recorded in the results file, one row each: its table, row, model kind, seed, epochs,
    best epoch, and whether it met the convergence criterion ("yes" / "no" / "n/a" when not recorded)."""
    rows = []
    for section, key, kind, run in _runs(res):
        converged = run.get("converged")
        rows.append({"table": section, "row": key, "kind": kind, "seed": run.get("seed", 0),
                     "epochs": run.get("epochs"), "best epoch": run.get("best_epoch"),
                     "converged": "n/a" if converged is None else "yes" if converged else "no"})
    return pd.DataFrame(rows, columns=["table", "row", "kind", "seed", "epochs", "best epoch", "converged"])


def convergence_counts(res: Mapping) -> pd.DataFrame:
    """Per model kind: how many runs the results file records and how many met the convergence criterion."""
    runs = convergence_frame(res)
    columns = ["runs", "converged", "not converged"]
    if runs.empty:
        return pd.DataFrame(columns=columns).rename_axis("kind")
    met = runs["converged"] == "yes"
    counts = pd.DataFrame({"runs": runs.groupby("kind", sort=False).size(),
                           "converged": met.groupby(runs["kind"], sort=False).sum().astype(int)})
    counts["not converged"] = counts["runs"] - counts["converged"]
    return counts[columns]
