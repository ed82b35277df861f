"""Figures and tables of chapters 07 (weight magnitudes) and 08 (pruning and fp16).

The numbers come from the pipeline: :mod:`gesturelib.weight_magnitudes` (what training does
to the weights), :mod:`gesturelib.pruning` (pruning, the sparse student against its
dense control, Table 3) and :mod:`gesturelib.export` (latencies). Here they are
drawn: magnitude tables, log2|w| histograms per layer type on the floating-point
number line, optimizer step sizes, layer sparsity, accuracy against sparsity and
against file size, and Table 3 beside the poster's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from torch import nn

from .. import compress, export, models, report
from ..pruning import POSTER_SPARSITY, SparsityCurve
from ..weight_magnitudes import UpdateSizes

#: Layer types of the joint models, in the order the figures show them.
LAYER_TYPES: tuple[str, ...] = ("Conv3d", "LSTM", "Linear")

# Landmarks of the floating-point number line (log2 of a magnitude).
_LANDMARKS = (
    (-149, "fp32 min subnormal"),
    (-126, "fp32 min normal"),
    (-100, "poster's tau"),
    (-24, "fp16 min subnormal"),
    (-14, "fp16 min normal"),
    (math.log2(1e-3), "1e-3"),
)


def _threshold_label(tau: float) -> str:
    exponent = math.log2(tau)
    return f"2^{exponent:.0f}" if exponent == round(exponent) else f"{tau:g}"


def magnitude_table(
    models_: Mapping[str, nn.Module],
    thresholds: Sequence[float] = compress.DEFAULT_THRESHOLDS,
    scope: compress.Scope = "weights",
) -> pd.DataFrame:
    """Per model and layer type (and "all"): count, zeros, smallest / median |w|, and counts below each tau."""
    rows = []
    for label, model in models_.items():
        groups = compress.magnitudes(model, scope)
        groups["all"] = np.concatenate(list(groups.values()))
        for layer_type, mags in groups.items():
            nonzero = mags[mags > 0]
            row = {
                "model": label, "layer type": layer_type, "weights": mags.size, "zeros": int((mags == 0).sum()),
                "min |w| > 0": float(nonzero.min()) if nonzero.size else float("nan"),
                "median |w|": float(np.median(mags)),
            }
            row.update({f"< {_threshold_label(tau)}": int((mags < tau).sum()) for tau in thresholds})
            rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "layer type"])


def _shared_edges(models_: Mapping[str, nn.Module], scope: compress.Scope, low: float) -> np.ndarray:
    logs = [np.log2(m[m > 0]) for model in models_.values() for m in compress.magnitudes(model, scope).values()]
    finite = [lg for lg in logs if lg.size]
    lo = min(low, np.floor(min(lg.min() for lg in finite))) if finite else low
    hi = np.ceil(max(lg.max() for lg in finite)) if finite else 0.0
    return np.arange(lo, hi + 1)


def log2_histogram_figure(
    models_: Mapping[str, nn.Module],
    thresholds: Sequence[float] = compress.DEFAULT_THRESHOLDS,
    scope: compress.Scope = "weights",
) -> Figure:
    """One row per model, one column per layer type: counts of log2|w| per octave, zeros apart.

    Every panel has the same bins (one octave wide, from 2^-26 or the smallest
    weight up) so the rows compare. Dashed lines mark the thresholds that fall on
    the axis; a threshold far to the left (the poster's 2^-100) is named in the
    title instead of stretching the axis.
    """
    edges = _shared_edges(models_, scope, low=-26.0)
    fig, axes = plt.subplots(len(models_), len(LAYER_TYPES), figsize=(11, 2.3 * len(models_) + 0.6),
                             sharex=True, squeeze=False, dpi=80)
    off_axis = [tau for tau in thresholds if math.log2(tau) < edges[0]]
    for row, (label, model) in enumerate(models_.items()):
        hists = compress.log2_histograms(model, scope=scope, group_by="layer_type", edges=edges)
        for col, layer_type in enumerate(LAYER_TYPES):
            ax = axes[row, col]
            h = hists.get(layer_type)
            if h is None:
                ax.set_axis_off()
                continue
            ax.bar(h.edges[:-1], h.counts, width=1.0, align="edge", color="tab:blue" if row else "tab:gray")
            for tau in thresholds:
                if math.log2(tau) >= edges[0]:
                    ax.axvline(math.log2(tau), color="tab:red", ls="--", lw=1)
                    if row == 0:
                        ax.text(math.log2(tau), ax.get_ylim()[1] * 0.9, f" {_threshold_label(tau)}",
                                color="tab:red", fontsize=8, va="top")
            ax.set_yscale("symlog", linthresh=1)
            ax.set_title(f"{label}: {layer_type} ({h.total:,} weights, {h.zeros:,} zeros)", fontsize=9)
            if col == 0:
                ax.set_ylabel("weights per octave")
            if row == len(models_) - 1:
                ax.set_xlabel("log2 |w|")
    note = ", ".join(f"{_threshold_label(t)} (at log2 = {math.log2(t):.0f})" for t in off_axis)
    fig.suptitle("Histograms of log2|w| per layer type" + (f"; off the axis to the left: {note}" if note else ""),
                 fontsize=10)
    fig.tight_layout()
    return fig


def magnitude_scale_figure(models_: Mapping[str, nn.Module], scope: compress.Scope = "all") -> Figure:
    """The log2 number line from fp32's smallest number to 1: where each model's |w| lie, and the landmarks.

    A thin bar spans each model's smallest nonzero to largest |w|, a thick one its
    1st to 99th percentile.
    """
    fig, ax = plt.subplots(figsize=(11, 2.4 + 0.4 * len(models_)), dpi=80)
    for i, (label, model) in enumerate(models_.items()):
        mags = np.concatenate(list(compress.magnitudes(model, scope).values()))
        logs = np.log2(mags[mags > 0])
        ax.plot([logs.min(), logs.max()], [i, i], color="tab:blue", lw=2)
        ax.plot(np.percentile(logs, [1, 99]), [i, i], color="tab:blue", lw=8, solid_capstyle="butt")
        ax.text(logs.max() + 1.5, i, label, ha="left", va="center", fontsize=9)
    for value, name in _LANDMARKS:
        ax.axvline(value, color="tab:red" if "poster" in name else "0.5", ls="--", lw=1)
        ax.text(value - 0.5, len(models_) + 3.4, f"{name} (2^{value:.0f})" if value == round(value) else name,
                rotation=90, fontsize=8, va="top", ha="right")
    ax.set_xlim(-155, 18)
    ax.set_ylim(-0.7, len(models_) + 3.5)
    ax.set_yticks([])
    ax.set_xlabel("log2 |w|  (thin bar: smallest to largest nonzero weight; thick: 1st to 99th percentile)")
    ax.set_title("Where the weights live on the floating-point number line")
    fig.tight_layout()
    return fig


def update_size_figure(measured: Sequence[UpdateSizes]) -> Figure:
    """Per optimizer: |update| / lr against |gradient|, one point per weight (log-log)."""
    fig, axes = plt.subplots(1, len(measured), figsize=(5 * len(measured), 3.8), squeeze=False, sharex=True,
                             sharey=True, dpi=80)
    for ax, m in zip(axes[0], measured):
        keep = (m.gradient > 0) & (m.update > 0)
        ax.hexbin(np.log10(m.gradient[keep]), np.log10(m.update[keep] / m.lr), gridsize=40, bins="log", cmap="Blues")
        ax.axhline(0, color="tab:red", ls="--", lw=1)
        ax.text(ax.get_xlim()[0], 0, " |update| = lr", color="tab:red", va="bottom", fontsize=8)
        ax.set_xlabel("log10 |gradient|")
        ax.set_ylabel("log10 (|update| / lr)")
        ax.set_title(f"{m.optimizer}, lr = {m.lr:g}: step {m.step}, median |update| / lr = "
                     f"{np.median(m.update / m.lr):.2g}", fontsize=9)
    fig.tight_layout()
    return fig


def layer_sparsity(models_: Mapping[str, nn.Module], scope: compress.Scope = "weights") -> pd.DataFrame:
    """Fraction of exact zeros in each weight tensor (rows), one column per model."""
    columns = {}
    for label, model in models_.items():
        per_layer = compress.zero_weights(model, scope).per_layer
        columns[label] = {name: zeros / total for name, (zeros, total) in per_layer.items()}
    return pd.DataFrame(columns)


def sparsity_curve_figure(curve: SparsityCurve, dense_accuracy: float, marked: float = POSTER_SPARSITY) -> Figure:
    """Test accuracy against the fraction of weights removed, without and with the fine-tune."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=80)
    x = 100 * np.asarray(curve.sparsity)
    ax.plot(x, curve.acc_pruned, "o-", label="pruned (global magnitude)")
    tuned = [(xi, acc) for xi, acc in zip(x, curve.acc_finetuned) if acc is not None]
    ax.plot([t[0] for t in tuned], [t[1] for t in tuned], "s-", label="pruned, then fine-tuned (masks kept)")
    ax.axhline(dense_accuracy, color="0.4", ls=":", label=f"unpruned: {dense_accuracy:.1f} %")
    ax.axhline(100 / models.NUM_CLASSES, color="0.7", ls="-.", label=f"chance: {100 / models.NUM_CLASSES:.0f} %")
    ax.axvline(100 * marked, color="tab:red", ls="--", lw=1, label=f"the poster's sparsity ({100 * marked:.1f} %)")
    ax.set_xlabel("weights removed (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy against sparsity: the distilled small student")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def table3_frame(rows: Mapping[str, dict]) -> pd.DataFrame:
    """Table 3 for display: the poster's numbers beside ours (course measured, paper preset computed)."""
    poster = report.POSTER["table3"]  # params (M), fp32 MB, fp32 acc, fp16 MB, fp16 acc
    out = []
    for key, r in rows.items():
        p = poster.get(key, (None,) * 5)
        out.append({
            "model": key,
            "params (poster)": p[0] and f"{p[0]:.2f} M",
            "params (paper preset)": r.get("paper_params"),
            "params (course)": r["params"],
            "fp32 MB (poster)": p[1], "fp32 MB (paper preset)": r.get("paper_fp32_mb"),
            "fp32 MB (course)": r["fp32_mb"],
            "fp16 MB (poster)": p[3], "fp16 MB (paper preset)": r.get("paper_fp16_mb"),
            "fp16 MB (course)": r["fp16_mb"],
            "sparse MB (course)": r["sparse_mb"], "int8 MB (course)": r["int8_mb"],
            "acc fp32 (poster)": p[2], "acc fp32": r["acc_fp32"],
            "acc fp16 (poster)": p[4], "acc fp16": r["acc_fp16"],
            "acc sparse": r["acc_sparse"], "acc int8": r["acc_int8"],
        })
    return pd.DataFrame(out).set_index("model")


def plot_accuracy_vs_size(rows: Mapping[str, dict], poster: bool = False) -> Figure:
    """Test accuracy against file size (log scale) of every model and storage form of Table 3's ``rows``
    (:func:`gesturelib.report.size_accuracy_points`): colour = model, marker = form, a thin line joins a
    model's forms. ``poster=True`` adds the poster's Table 3 beside it."""
    fig = Figure(figsize=(12 if poster else 8, 4.5), dpi=90, layout="constrained")
    axes = fig.subplots(1, 2 if poster else 1, squeeze=False)[0]
    ours = axes[0]
    markers = {"fp32": "o", "fp16": "s", "sparse": "^", "int8": "D"}
    points = report.size_accuracy_points(rows)
    names = list(dict.fromkeys(p["model"] for p in points))
    colours = dict(zip(names, plt.cm.tab10.colors))
    for name in names:
        mine = [p for p in points if p["model"] == name]
        ours.plot([p["mb"] for p in mine], [p["accuracy"] for p in mine], color=colours[name], lw=0.8, alpha=0.5,
                  label=name)
        for p in mine:
            ours.scatter(p["mb"], p["accuracy"], marker=markers[p["form"]], color=colours[name], s=55, alpha=0.85)
    for form, marker in markers.items():
        ours.scatter([], [], marker=marker, color="0.4", label=form)
    ours.set(xlabel="file size (MB = 2^20 bytes, log scale)", ylabel="test accuracy (%)",
             title="Ours: course preset, embedded dataset")
    if points:
        ours.set_xscale("log")
        ours.legend(fontsize=8, loc="lower right")
    else:
        ours.text(0.5, 0.5, "no compression results yet\n(run chapter 08)", ha="center", transform=ours.transAxes)
    if poster:
        theirs = axes[1]
        for key, (_, mb32, acc32, mb16, acc16) in report.POSTER["table3"].items():
            theirs.plot([mb32, mb16], [acc32, acc16], "o-", label=report.MODEL_NAMES[key])
        theirs.set(xscale="log", xlabel="model size (MB, log scale); fp32 then fp16", ylabel="accuracy (%)",
                   title="The poster (Table 3), ChaLearn 2014")
        theirs.legend(fontsize=8, loc="lower right")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    return fig


def latency_frame(by_model: Mapping[str, Sequence[export.Latency]]) -> pd.DataFrame:
    """``export.cpu_latencies`` of one or more models as a table: median ms per clip, one row per form."""
    table = {name: {lat.form: lat.median_ms for lat in lats} for name, lats in by_model.items()}
    frame = pd.DataFrame(table)
    frame.columns = [f"{name} (ms)" for name in frame.columns]
    first = next(iter(by_model.values()))
    frame["runs"] = [lat.runs for lat in first]
    frame["note"] = [lat.note for lat in first]
    frame.index.name = f"form (batch 1, {first[0].threads} thread)"
    return frame
