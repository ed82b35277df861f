"""What the models of chapters 03 and 04 are, and where and why they fail: their tables and figures.

Built on :mod:`gesturelib.models`, :mod:`gesturelib.train`, :mod:`gesturelib.metrics`,
:mod:`gesturelib.probe` and :mod:`gesturelib.recipes`, for the baselines and the joint model:

- what a model is: a per-layer summary (:func:`layer_table`), a block diagram drawn
  from the model (:func:`plot_architecture`) and parameter counts of both presets
  beside the poster's (:func:`params_table`);
- every run of a kind over its seeds: learning curves with the window that the
  convergence criterion looks at (:func:`plot_seed_curves`, :func:`plot_learning_curves`)
  and a table of the runs (:func:`run_table`);
- the difficulty yardstick beside the teacher (:func:`yardstick_table`), how many
  inputs each model's fully connected layer reads (:func:`fc_input_table`), and how many frames
  one output of an encoder sees (:func:`temporal_receptive_field`);
- errors by the structure of the embedded classes (:func:`structure_table`, from
  :func:`gesturelib.metrics.structure_scores`) and under input probes
  (:func:`plot_probes`, from :func:`gesturelib.probe.probe_table`);
- whether two models differ by more than chance on the same test clips
  (:func:`comparison_table`, McNemar's test :func:`gesturelib.metrics.mcnemar`);
- the recurrent models on clips of other lengths than they were trained on
  (:func:`length_table`, :func:`plot_accuracy_by_length`, from
  :func:`gesturelib.clip_lengths.accuracy_by_length`);
- a confusion matrix (:func:`plot_confusion_matrix`) and several models'
  validation accuracy epoch by epoch (:func:`plot_validation_curves`).

Most figures are plain :class:`matplotlib.figure.Figure` objects, not registered
with pyplot, so a notebook shows each one once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import MaxNLocator
from torch import nn

from .. import metrics, models, probe, recipes
from ..train import PLATEAU_EPOCHS, History

DPI = 85
#: The model kinds of Table 1, in the poster's order.
TABLE1_KINDS: tuple[str, ...] = ("lstm", "cnn3d", "joint")
#: The column of :func:`comparison_table` that says whether McNemar's p lies below 0.05.
SIGNIFICANT = "significant at 5 %"

# Layers without parameters that leave the shape unchanged: left out of the summaries.
_QUIET_LAYERS = ("ReLU", "Dropout")


# ---------------------------------------------------------------------------------------------
# What a model is


def layer_table(kind: str, preset: str = "course") -> pd.DataFrame:
    """Layers of ``models.build(kind, preset)`` with their output shape (one clip) and parameters.

    The encoder's rows hold both streams side by side (grouped convolutions:
    twice the maps of one stream, half of them the body's); ReLU and dropout
    rows are left out (no parameters, same shape); the last row is the total,
    which equals :func:`models.count_params`.
    """
    rows = [(layer.name, layer.layer, str(layer.output_shape), layer.params)
            for layer in models.describe(kind, preset) if layer.layer not in _QUIET_LAYERS]
    total = models.count_params(models.build(kind, preset))
    rows.append(("total", "", "", total))
    return pd.DataFrame(rows, columns=["layer", "type", "output shape", "params"]).set_index("layer")


@dataclass(frozen=True)
class Block:
    """One box of an architecture diagram: a group of layers, what comes out of it, its parameters."""

    name: str
    layers: tuple[str, ...]
    output_shape: tuple[int, ...]  #: for one clip, without the batch axis
    params: int


def architecture_blocks(kind: str, preset: str = "course") -> list[Block]:
    """``models.build(kind, preset)`` as a chain of blocks, read from the model (:func:`models.describe`).

    The input, one block per convolution of the two-stream encoder (the
    convolution with the pooling, batch norm and ReLU after it), then the
    fully connected layer, the LSTM (recurrent models) and the classifier.
    """
    blocks = [Block("input", ("2 streams x 2 channels",), tuple(models.input_shape(preset)), 0)]
    convolutions = 0
    for layer in models.describe(kind, preset):
        name = layer.name.split(".")[0]  # encoder, fc, lstm or classifier
        if name == "encoder" and layer.layer == "Conv3d":
            convolutions += 1
            name = f"conv block {convolutions}"
        elif name == "encoder":  # pooling, batch norm, ReLU: the block of the convolution before them
            name = blocks[-1].name
        if blocks[-1].name == name:
            last = blocks.pop()
            blocks.append(Block(name, last.layers + (layer.layer,), layer.output_shape[1:], last.params + layer.params))
        else:
            blocks.append(Block(name, (layer.layer,), layer.output_shape[1:], layer.params))
    return blocks


_SHORT_LAYER_NAMES = {"MaxPool3d": "MaxPool", "BatchNorm3d": "BN"}
_BLOCK_COLOURS = {"input": "#eeeeee", "conv": "#cfe2f3", "fc": "#fce5cd", "lstm": "#d9ead3", "classifier": "#e6e6e6"}


def plot_architecture(kind: str, preset: str = "course", ax=None):
    """The block diagram of ``kind`` (the poster's figures 1-3), drawn from the model itself.

    Each box names its block, its layers, its output shape for one clip and its
    parameters; the encoder's maps hold both streams (grouped convolutions, the
    body's maps first). Returns the Axes.
    """
    blocks = architecture_blocks(kind, preset)
    if ax is None:
        ax = Figure(figsize=(1.9 * len(blocks), 2.4), dpi=DPI, layout="constrained").subplots()
    width, gap = 1.6, 0.35
    for i, block in enumerate(blocks):
        x = i * (width + gap)
        colour = _BLOCK_COLOURS.get(block.name.split()[0], "#ffffff")
        ax.add_patch(FancyBboxPatch((x, 0), width, 1, boxstyle="round,pad=0.04", facecolor=colour, edgecolor="#555555"))
        names = [_SHORT_LAYER_NAMES.get(layer, layer) for layer in dict.fromkeys(block.layers)]
        layers = " + ".join(names[:2]) + ("\n+ " + " + ".join(names[2:]) if len(names) > 2 else "")
        shape = " x ".join(str(n) for n in block.output_shape)
        params = f"{block.params:,} params" if block.params else ""
        ax.text(x + width / 2, 0.5, f"{block.name}\n{layers}\n{shape}\n{params}", ha="center", va="center",
                fontsize=7.5)
        if i:
            ax.add_patch(FancyArrowPatch((x - gap, 0.5), (x, 0.5), arrowstyle="-|>", mutation_scale=10, color="#555555"))
    ax.set_xlim(-0.1, len(blocks) * (width + gap) - gap + 0.1)
    ax.set_ylim(-0.15, 1.15)
    ax.axis("off")
    total = models.count_params(models.build(kind, preset))
    ax.set_title(f"{kind} ({preset} preset): {total:,} parameters. Shapes for one clip: encoder maps x T x H x W "
                 "(both streams' maps), then time steps x features", fontsize=9)
    return ax


def params_table(kinds: Sequence[str] = TABLE1_KINDS) -> pd.DataFrame:
    """Parameters of each kind in the course and paper presets, beside the poster's count."""
    rows = []
    for kind in kinds:
        course = models.count_params(models.build(kind, "course"))
        paper = models.count_params(models.build(kind, "paper"))
        poster = models.POSTER_PARAMS.get(kind)
        rows.append({
            "model": kind, "course": course, "paper": paper,
            "poster": "not published" if poster is None else f"{poster / 1e6:.2f} M",
            "paper vs poster": "" if poster is None else f"{100 * (paper - poster) / poster:+.2f} %",
        })
    return pd.DataFrame(rows).set_index("model")


def run_table(records_by_kind: Mapping[str, Sequence[dict]],
              histories: Mapping[str, Mapping[int, History]] | None = None) -> pd.DataFrame:
    """One row per run (``recipes.records``): its epochs, best epoch, best validation and test
    accuracy and whether it met the convergence criterion (``train.plateaued``).

    With ``histories`` (kind -> seed -> History), a column gives the criterion's measure: how
    much the last window of epochs raised the best validation accuracy, in points.
    """
    rows = []
    for kind, run_records in records_by_kind.items():
        for r in run_records:
            seed = int(r.get("seed", 0))
            row = {"model": kind, "seed": seed, "epochs": r["epochs"], "best epoch": r["best_epoch"],
                   "best val. acc. %": r["best_val_accuracy"], "test acc. %": r["test_accuracy"]}
            if histories is not None:
                row["gain in last window (points)"] = plateau_gain(histories[kind][seed])
            row["converged"] = "yes" if r["converged"] else "no"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "seed"]).round(1)


def plateau_gain(history: History) -> float:
    """What :func:`train.plateaued` compares with its threshold, in points: the best validation
    accuracy of the last ``train.PLATEAU_EPOCHS`` epochs minus the best before them (NaN for a
    run too short to have both)."""
    values = 100 * np.asarray(history.val_acc, dtype=float)
    window = PLATEAU_EPOCHS
    if len(values) <= window or np.isnan(values).all():
        return math.nan
    return float(np.nanmax(values[-window:]) - np.nanmax(values[:-window]))


def plot_seed_curves(histories: Mapping[str, Mapping[int, History]]) -> Figure:
    """Validation accuracy per epoch of every seed of every kind (training accuracy dashed), one
    panel per kind; a dotted line marks where each run stopped (the convergence criterion met, or
    the budget's cap reached)."""
    kinds = list(histories)
    fig = Figure(figsize=(5.2 * len(kinds) + 1.5, 3.9), dpi=DPI)
    axes = np.atleast_1d(fig.subplots(1, len(kinds), sharey=True, squeeze=False)[0])
    for ax, kind in zip(axes, kinds):
        runs = histories[kind]
        for i, (seed, history) in enumerate(sorted(runs.items())):
            ax.axvline(len(history.epoch), color=f"C{i}", linestyle=":", linewidth=1)
            mark = {True: "converged", False: "not converged", None: "not checked"}[history.converged]
            ax.plot(history.epoch, 100 * np.asarray(history.val_acc), "o-", ms=3, color=f"C{i}",
                    label=f"seed {seed}: validation ({mark})")
            ax.plot(history.epoch, 100 * np.asarray(history.train_acc), "--", color=f"C{i}", alpha=0.6,
                    label=f"seed {seed}: training (augmented)")
        converged = sum(bool(h.converged) for h in runs.values())
        ax.set_title(f"{kind}: {converged} of {len(runs)} runs converged", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, max(len(h.epoch) for h in runs.values()) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("accuracy (%)")
    fig.tight_layout()
    return fig


def yardstick_table(ordered, unordered, teacher_val_accuracy: float, teacher_test_accuracy: float) -> pd.DataFrame:
    """The linear probes (``probe.linear_probe`` results, fractions), frames in order and
    averaged, beside the teacher's best validation and test accuracy (percent)."""
    rows = [{"": f"linear probe, {name}", "inputs": result.features, "training %": 100 * result.train,
             "validation %": 100 * result.validation,
             "test %": math.nan if result.test is None else 100 * result.test}
            for name, result in (("frames in order", ordered), ("frames averaged", unordered))]
    rows.append({"": "3D-CNN teacher (seed 0)", "inputs": math.prod(models.input_shape(recipes.PRESET)),
                 "training %": math.nan, "validation %": teacher_val_accuracy, "test %": teacher_test_accuracy})
    return pd.DataFrame(rows).set_index("").round(1)


def temporal_receptive_field(kind: str, preset: str = "course") -> pd.DataFrame:
    """How far along time each output of the encoder of ``models.build(kind, preset)`` sees.

    One row per convolution and max-pool: its temporal kernel and stride, the number of input
    frames between two neighbouring outputs (``frames per output step``), and the number of
    input frames one output depends on (``receptive field (frames)``; at the clip's ends part of
    it is zero padding). The usual recursion: a layer of kernel ``k`` adds ``(k - 1)`` times
    the current step to the field, and its stride multiplies the step.
    """
    field, step, rows = 1, 1, []
    for name, layer in models.build(kind, preset).encoder.named_children():
        if not isinstance(layer, (nn.Conv3d, nn.MaxPool3d)):
            continue
        kernel = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
        stride = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
        field += (kernel - 1) * step
        step *= stride
        rows.append({"layer": f"encoder.{name}", "type": type(layer).__name__, "temporal kernel": kernel,
                     "temporal stride": stride, "frames per output step": step, "receptive field (frames)": field})
    return pd.DataFrame(rows).set_index("layer")


def fc_input_table(presets: Sequence[str] = models.PRESETS) -> pd.DataFrame:
    """Inputs of the fully connected layer after the encoder: the 3D-CNN's reads the whole clip's
    features, the joint model's one LSTM step's; per preset, with their ratio."""
    rows = []
    for preset in presets:
        cnn3d, joint = models.build("cnn3d", preset), models.build("joint", preset)
        whole, step = cnn3d.fc[1].in_features, joint.fc[1].in_features
        rows.append({"preset": preset, "clip (T, H, W)": "x".join(map(str, models.INPUT_SHAPES[preset])),
                     "3D-CNN fc inputs (whole clip)": whole, "joint fc inputs (one step)": step,
                     "LSTM steps per clip": models.INPUT_SHAPES[preset][0] // models.GROUP_FRAMES,
                     "times fewer inputs": whole / step})
    return pd.DataFrame(rows).set_index("preset")


# ---------------------------------------------------------------------------------------------
# Errors by the structure of the classes


def structure_table(predictions: Mapping[str, object], labels) -> pd.DataFrame:
    """:func:`gesturelib.metrics.structure_scores` of several models side by side (columns: model, then score)."""
    tables = {name: metrics.structure_scores(pred, labels) for name, pred in predictions.items()}
    first = next(iter(tables.values()))
    wide = pd.concat({name: t[["accuracy %", "as partner %"]] for name, t in tables.items()}, axis=1)
    wide.insert(0, ("", "clips"), first["clips"])
    return wide.round(1)


# ---------------------------------------------------------------------------------------------
# Probes: change the input on purpose


def plot_probes(table: pd.DataFrame) -> Figure:
    """Three panels from :func:`gesturelib.probe.probe_table`: what reversing the frames does to the
    time-reversed pairs, what blanking the hand does to the shape-only groups, and
    the accuracy on all classes under every probe."""
    panels = [
        ("time-reversed pairs", "as partner %", ["as recorded", "frames reversed"],
         "Time-reversed pairs", "predicted as the partner (%)"),
        ("shape-only groups", "as partner %", ["as recorded", "hand stream blanked"],
         "Shape-only groups", "predicted as another member (%)"),
        (metrics.ALL, "accuracy %", [p for p in probe.PROBES if p in set(table["probe"])], "All test clips", "accuracy (%)"),
    ]
    model_names = list(dict.fromkeys(table["model"]))
    fig = Figure(figsize=(13, 3.8), dpi=DPI)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2, 2, 4]})
    width = 0.8 / max(len(model_names), 1)
    for ax, (subset, column, probe_names, title, ylabel) in zip(axes, panels):
        for m, model in enumerate(model_names):
            values = [table.loc[(table["model"] == model) & (table["probe"] == p) & (table["subset"] == subset),
                                column].iloc[0] for p in probe_names]
            positions = np.arange(len(probe_names)) + (m - (len(model_names) - 1) / 2) * width
            ax.bar(positions, values, width, label=model)
        clips_n = int(table.loc[table["subset"] == subset, "clips"].iloc[0])
        ax.set_title(f"{title} ({clips_n} clips)", fontsize=10)
        ax.set_xticks(np.arange(len(probe_names)), [p.replace(" ", "\n", 1) for p in probe_names], fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Is a difference between two models more than chance?


def _standard_error(percent: float, count: int) -> float:
    """Binomial standard error of an accuracy measured on ``count`` clips, in points."""
    p = percent / 100
    return 100 * math.sqrt(p * (1 - p) / count)


def comparison_table(predictions: Mapping[str, object], labels, reference: str) -> pd.DataFrame:
    """Each model against ``reference`` with :func:`gesturelib.metrics.mcnemar`, and the binomial
    standard error of the model's accuracy (how much one test set's luck moves it).

    ``McNemar p`` is printed in scientific notation (a tiny p must not read as 0.0), and
    the next column says whether it lies below 0.05. This tests one pair of trained models on
    one test set; whether a claim holds over seeds is :func:`recipes.compare`'s verdict.
    """
    rows = []
    for name, pred in predictions.items():
        if name == reference:
            continue
        c = metrics.mcnemar(pred, predictions[reference], labels)
        rows.append({"model": name, "accuracy %": c["accuracy_a"], f"{reference} accuracy %": c["accuracy_b"],
                     "difference (points)": c["accuracy_a"] - c["accuracy_b"],
                     "right only by this model": c["only_a"], f"right only by {reference}": c["only_b"],
                     "McNemar p": f"{c['p_value']:.1e}", SIGNIFICANT: "yes" if c["p_value"] < 0.05 else "no",
                     "test clips": c["clips"],
                     "s.e. of an accuracy (points)": _standard_error(c["accuracy_a"], c["clips"])})
    return pd.DataFrame(rows).set_index("model").round(3)


# ---------------------------------------------------------------------------------------------
# Clips of other lengths (computed by gesturelib.clip_lengths)


def length_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`gesturelib.clip_lengths.accuracy_by_length` as a grid: one row per length (own length last), one column per model."""
    grid = table[~table["own length"]].pivot(index="frames", columns="model", values="accuracy %")
    grid.index = [f"{frames:.0f}" for frames in grid.index]
    own = table[table["own length"]]
    if len(own):
        grid.loc[f"own length (mean {own['frames'].mean():.0f})"] = own.set_index("model")["accuracy %"]
    grid.index.name = "frames per clip"
    return grid[list(dict.fromkeys(table["model"]))].round(1)


def plot_accuracy_by_length(table: pd.DataFrame, trained_frames: int) -> Figure:
    """Accuracy against frames per clip (from :func:`gesturelib.clip_lengths.accuracy_by_length`); the own-length
    runs are marked at their mean length, the training length by a dashed line."""
    fig = Figure(figsize=(9.5, 4), dpi=DPI)
    ax = fig.subplots()
    for i, model in enumerate(dict.fromkeys(table["model"])):
        rows = table[table["model"] == model]
        fixed = rows[~rows["own length"]].sort_values("frames")
        color = f"C{i}"
        if len(fixed) > 1:
            ax.plot(fixed["frames"], fixed["accuracy %"], "o-", color=color, ms=6, label=f"{model}: resampled")
        else:  # a model that reads one length only
            ax.plot(fixed["frames"], fixed["accuracy %"], "s", color=color, ms=9,
                    label=f"{model}: {fixed['frames'].iloc[0]:.0f} frames only")
        own = rows[rows["own length"]]
        if len(own):
            ax.plot(own["frames"], own["accuracy %"], "*", color=color, ms=14, mec="k",
                    label=f"{model}: every frame (mean length)")
    ax.axvline(trained_frames, color="0.5", ls="--", lw=1, label=f"trained on {trained_frames} frames")
    ax.set_xscale("log", base=2)
    ticks = sorted(set(table.loc[~table["own length"], "frames"].astype(int)))
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("frames per clip (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"The same {int(table['clips'].iloc[0])} test gestures at different lengths")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def plot_validation_curves(histories: Mapping[str, History]) -> Figure:
    """Validation accuracy per epoch of several models (training accuracy dashed)."""
    fig = Figure(figsize=(9.5, 3.8), dpi=DPI)
    ax = fig.subplots()
    for i, (name, history) in enumerate(histories.items()):
        ax.plot(history.epoch, 100 * np.asarray(history.val_acc), "o-", ms=3, color=f"C{i}", label=f"{name}: validation")
        ax.plot(history.epoch, 100 * np.asarray(history.train_acc), "--", color=f"C{i}", alpha=0.6,
                label=f"{name}: training (augmented)")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Accuracy per epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: np.ndarray, names: Sequence[str] | None = None, title: str = "Confusion matrix",
                          ax: plt.Axes | None = None) -> plt.Figure:
    """Heatmap of the row-normalised matrix (% of each true class); cells show % when non-zero."""
    cm = np.asarray(cm)
    names = list(names) if names is not None else metrics.named_classes()[: len(cm)]
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
