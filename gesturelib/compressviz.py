"""What compression does to a trained model, measured: the analyses and figures of chapters 07 and 08.

Chapter 07 (weight magnitudes) asks whether training with Adam pushes most
weights towards zero, as the poster says ("905 K of 1.15 M weights below
2^-100"). The tools here count weights under thresholds (``magnitude_table``,
``weights_record``), find the threshold that would really remove a given
fraction (``quantile_threshold``), compare trained weights with the initial ones
they started from (``initial_model``, ``moved_towards_zero``), measure the size
of one optimizer step against the gradient (``update_sizes``), and draw log2|w|
histograms per layer type and the floating-point number line.

Chapter 08 (pruning and fp16) prunes the distilled small student at growing
sparsity, with and without a short fine-tune that keeps the pruning masks
(``prune_and_finetune``, ``sparsity_curve``), tests the claim that the sparse
student keeps the accuracy against a dense control fine-tuned alike, over
paired seeds (``sparse_vs_dense``), and rebuilds the poster's Table 3
from files written to disk (``table3_row``, ``paper_sizes``): every size here is
``os.path.getsize`` of a file that ``compress.save_model`` wrote. One MB is
2^20 bytes, the unit that matches the poster's sizes (18.82 M fp32 parameters
= 71.8 MB, the poster's "72").
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from . import compress, config, export, models, report, stats, train

#: Layer types of the joint models, in the order the figures show them.
LAYER_TYPES: tuple[str, ...] = ("Conv3d", "LSTM", "Linear")
#: One MB in this chapter (and the poster): 2^20 bytes.
MB = 2**20
#: The poster's sparse student: 0.25 M non-zero weights of 1.15 M, i.e. 78.3 % of them removed.
POSTER_SPARSITY = 1 - 0.25 / 1.15
#: Sparsities of the accuracy-vs-sparsity curve (fraction of the weights removed).
SPARSITIES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.7, POSTER_SPARSITY, 0.85, 0.9, 0.95)
#: The sparsities that also get a fine-tune (each costs a few epochs; chapter 08's time budget allows three).
FINETUNED_SPARSITIES: tuple[float, ...] = (0.5, POSTER_SPARSITY, 0.9)
#: Learning rate of the fine-tune after pruning, relative to training's. Chosen on the validation set: the
#: course-size small student (labels only, seed 0) pruned to 78 % recovered to 47 / 60 / 72 % accuracy in two
#: epochs at 0.1 / 0.3 / 1 times the training rate (90 % unpruned), so the fine-tune keeps training's rate.
FINETUNE_LR_FACTOR = 1.0

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


# --------------------------------------------------------------------------- chapter 07: magnitudes


def initial_model(kind: str, seed: int = 0, preset: str = "course") -> nn.Module:
    """The model of ``kind`` exactly as training starts from it (the model cache seeds, then builds).

    Like training, it reseeds the global random number generators.
    """
    config.seed_everything(seed)
    return models.build(kind, preset).eval()


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


def weights_record(model: nn.Module, accuracy: float, scope: compress.Scope = "all") -> dict:
    """The results file's "weights" entry: counts below 2^-100, 2^-24 and 1e-3 out of ``total``.

    ``scope="all"`` counts every parameter, as the poster's "905 K of 1.15 M" does.
    """
    below = {tau: compress.count_below(model, tau, scope) for tau in (2.0**-100, 2.0**-24, 1e-3)}
    return {
        "total": below[1e-3].total,
        "below_2^-100": below[2.0**-100].selected,
        "below_2^-24": below[2.0**-24].selected,
        "below_1e-3": below[1e-3].selected,
        "accuracy": float(accuracy),
    }


def quantile_threshold(model: nn.Module, fraction: float, scope: compress.Scope = "all") -> float:
    """The smallest tau such that removing ``|w| < tau`` removes at least ``fraction`` of the weights."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    mags = np.sort(np.concatenate(list(compress.magnitudes(model, scope).values())))
    k = math.ceil(fraction * mags.size)  # need k weights strictly below tau
    return float(np.nextafter(mags[k - 1], np.inf))


def moved_towards_zero(before: nn.Module, after: nn.Module, scope: compress.Scope = "weights") -> pd.DataFrame:
    """Per layer type: fraction of weights with a smaller |w| after training, fraction exactly unchanged
    (weights that never received a gradient), and the median of |w_after| / |w_before|."""
    start, end = compress.magnitudes(before, scope), compress.magnitudes(after, scope)
    if start.keys() != end.keys() or any(start[k].shape != end[k].shape for k in start):
        raise ValueError("the two models do not have the same weight tensors")
    start["all"], end["all"] = np.concatenate(list(start.values())), np.concatenate(list(end.values()))
    rows = []
    for layer_type in start:
        a, b = start[layer_type], end[layer_type]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.median(b[a > 0] / a[a > 0])
        rows.append({"layer type": layer_type, "weights": a.size, "fraction smaller": float((b < a).mean()),
                     "fraction unchanged": float((b == a).mean()), "median |w_after| / |w_before|": float(ratio)})
    return pd.DataFrame(rows).set_index("layer type")


def expected_below_if_flat(
    model: nn.Module, tau: float, reference: float = 1e-3, scope: compress.Scope = "all"
) -> float:
    """How many weights would lie below ``tau`` if their density near zero were as flat as it is up to ``reference``.

    A smooth distribution puts about ``density(0) * 2 tau`` of its mass in ``(-tau, tau)``;
    scaling the measured count below ``reference`` by ``tau / reference`` estimates it.
    """
    return compress.count_below(model, reference, scope).selected * tau / reference


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


@dataclass(frozen=True)
class UpdateSizes:
    """One optimizer step, weight by weight: the gradient and how far each weight moved (both absolute)."""

    optimizer: str
    lr: float
    step: int
    gradient: np.ndarray
    update: np.ndarray


def update_sizes(
    model: nn.Module, dataset: Dataset, config_: train.TrainConfig, steps: int = 20, batch_size: int | None = None
) -> UpdateSizes:
    """Train a copy of ``model`` for ``steps`` steps as ``config_`` would (optimizer, lr, momentum,
    weight decay, gradient clipping; constant lr) and return step ``steps`` weight by weight.

    Only weights of two or more dimensions (convolution, linear and recurrent
    matrices) are reported. ``gradient`` is the (clipped) gradient of that step.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    net = copy.deepcopy(model).cpu().float().train()
    params = [p for p in net.parameters() if p.dim() >= 2]
    if config_.optimizer == "adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=config_.lr, weight_decay=config_.weight_decay)
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=config_.lr, momentum=config_.momentum,
                                    weight_decay=config_.weight_decay)
    loader = DataLoader(dataset, batch_size=batch_size or config_.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(config_.seed))
    if len(loader) == 0:
        raise ValueError("update_sizes needs a non-empty dataset")
    batches = (batch for _ in itertools.count() for batch in loader)  # epoch after epoch
    torch.manual_seed(config_.seed)
    for step in range(1, steps + 1):
        inputs, target = next(batches)
        optimizer.zero_grad(set_to_none=True)
        train.cross_entropy(net(inputs), target, inputs).backward()
        if config_.grad_clip is not None:
            nn.utils.clip_grad_norm_(net.parameters(), config_.grad_clip)
        before = [p.detach().clone() for p in params]
        optimizer.step()
    return UpdateSizes(
        optimizer=config_.optimizer, lr=config_.lr, step=steps,
        gradient=torch.cat([p.grad.abs().flatten() for p in params]).double().numpy(),
        update=torch.cat([(p.detach() - b).abs().flatten() for p, b in zip(params, before)]).double().numpy(),
    )


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


# --------------------------------------------------------------------------- chapter 08: pruning


def finetune_config(base: train.TrainConfig, epochs: int, lr_factor: float = FINETUNE_LR_FACTOR) -> train.TrainConfig:
    """The settings of a short fine-tune after pruning: ``base`` for ``epochs`` epochs, its lr times ``lr_factor``."""
    return dataclasses.replace(base, epochs=epochs, lr=base.lr * lr_factor)


def prune_and_finetune(
    model: nn.Module,
    fraction: float,
    train_set: Dataset,
    val_set: Dataset | None,
    config_: train.TrainConfig,
    progress: bool = True,
) -> tuple[nn.Module, train.History]:
    """A copy of ``model`` with the ``fraction`` smallest weights removed (global magnitude), then fine-tuned.

    The pruning masks stay on during the fine-tune, so removed weights stay at
    zero while the others adapt; ``compress.make_permanent`` folds them in at
    the end. The fine-tune uses the labels only (cross-entropy). The copy comes
    back on CPU, in eval mode, with ordinary parameters.
    """
    pruned = copy.deepcopy(model)
    compress.prune_global_magnitude(pruned, fraction, permanent=False)
    history = train.fit(pruned, train_set, val_set, config_, progress=progress)
    compress.make_permanent(pruned)
    return pruned.cpu().eval(), history


def pruned_copy(model: nn.Module, fraction: float) -> nn.Module:
    """A copy of ``model`` with the ``fraction`` smallest weights removed (global magnitude), no fine-tune."""
    copy_ = copy.deepcopy(model)
    compress.prune_global_magnitude(copy_, fraction, permanent=True)
    return copy_.eval()


def accuracy_percent(model: nn.Module, dataset: Dataset) -> float:
    """Accuracy in percent of ``model`` on ``dataset``."""
    with torch.inference_mode():
        return 100.0 * train.evaluate(model, dataset)["accuracy"]


@dataclass
class SparsityCurve:
    """Test accuracy (%) at each sparsity right after pruning and after the fine-tune (None where
    there was none), and the fine-tuned models by sparsity."""

    sparsity: list[float]
    acc_pruned: list[float]
    acc_finetuned: list[float | None]
    finetuned: dict[float, nn.Module] = dataclasses.field(repr=False)

    def record(self) -> dict:
        """The results file's "sparsity_curve" entry."""
        return {"sparsity": self.sparsity, "acc_pruned": self.acc_pruned, "acc_finetuned": self.acc_finetuned}


def sparsity_curve(
    model: nn.Module,
    sparsities: Sequence[float],
    train_set: Dataset,
    val_set: Dataset | None,
    test_set: Dataset,
    finetune: train.TrainConfig,
    finetune_at: Sequence[float] | None = None,
    progress: bool = True,
) -> SparsityCurve:
    """Prune ``model`` at each sparsity (global magnitude) and measure test accuracy, then fine-tune
    at the sparsities in ``finetune_at`` (all of them when None) and measure again.

    Sparsity 0 can be fine-tuned too: the same extra training on the unpruned
    model, the fair reference for what the extra epochs alone do.
    """
    finetune_at = set(map(float, sparsities if finetune_at is None else finetune_at))
    missing = finetune_at - set(map(float, sparsities))
    if missing:
        raise ValueError(f"finetune_at has sparsities that are not on the curve: {sorted(missing)}")
    curve = SparsityCurve([], [], [], {})
    for fraction in tqdm(sparsities, desc="sparsity", disable=not progress):
        fraction = float(fraction)
        curve.sparsity.append(fraction)
        curve.acc_pruned.append(accuracy_percent(pruned_copy(model, fraction), test_set))
        if fraction in finetune_at:
            tuned, _ = prune_and_finetune(model, fraction, train_set, val_set, finetune, progress=False)
            curve.finetuned[fraction] = tuned
            curve.acc_finetuned.append(accuracy_percent(tuned, test_set))
        else:
            curve.acc_finetuned.append(None)
    return curve


def finetuned_copy(
    model: nn.Module, train_set: Dataset, val_set: Dataset | None, config_: train.TrainConfig, progress: bool = True
) -> tuple[nn.Module, train.History]:
    """A copy of ``model`` trained further as ``config_`` says, with no pruning: the dense control of
    :func:`prune_and_finetune` (same data, same settings, same batches for the same seed)."""
    tuned = copy.deepcopy(model)
    history = train.fit(tuned, train_set, val_set, config_, progress=progress)
    return tuned.cpu().eval(), history


@dataclass
class SparseVsDense:
    """The sparse student against its dense control, seed by seed (test accuracy in %).

    ``base``: the student before the extra epochs; ``dense``: the same student
    fine-tuned without pruning (the control); ``sparse``: pruned to ``sparsity``
    and fine-tuned with the masks on. ``converged``: whether each seed's base
    student met the convergence criterion. ``comparison``: sparse minus dense,
    paired by seed (:func:`gesturelib.stats.paired_comparison`, non-inferiority
    margin ``margin``).
    """

    sparsity: float
    finetune_epochs: int
    base: dict[int, float]
    dense: dict[int, float]
    sparse: dict[int, float]
    converged: dict[int, bool]
    comparison: dict
    models: dict[int, tuple[nn.Module, nn.Module]] = dataclasses.field(repr=False, default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """One row per seed: the three accuracies, the paired difference, and the base run's convergence."""
        return pd.DataFrame({
            "base student (%)": self.base, "dense control, fine-tuned (%)": self.dense,
            "sparse, fine-tuned (%)": self.sparse,
            "sparse - dense (points)": {s: self.sparse[s] - self.dense[s] for s in self.sparse},
            "base student converged": self.converged,
        }).rename_axis("seed")

    def record(self) -> dict:
        """The results file's "table3" / "sparse_vs_dense" entry: the comparison plus the per-seed arms."""
        seeds = self.comparison["seeds"]
        return {**self.comparison, "sparsity": self.sparsity, "finetune_epochs": self.finetune_epochs,
                "base_accuracies": [self.base[s] for s in seeds], "dense_accuracies": [self.dense[s] for s in seeds],
                "sparse_accuracies": [self.sparse[s] for s in seeds],
                "base_converged": [self.converged[s] for s in seeds]}


def sparse_vs_dense(
    students_by_seed: Mapping[int, tuple[nn.Module, train.History]],
    data_splits,
    finetune: train.TrainConfig,
    sparsity: float = POSTER_SPARSITY,
    margin: float = -1.0,
    progress: bool = True,
) -> SparseVsDense:
    """Does the pruned student keep the accuracy? The fair protocol, seed by seed.

    For every ``seed: (model, history)`` of ``students_by_seed``: (a) prune the
    model to ``sparsity`` (global magnitude) and fine-tune it with the masks on
    (:func:`prune_and_finetune`); (b) its control, the same dense model
    fine-tuned for the same epochs with the same settings and no pruning
    (:func:`finetuned_copy`). Both fine-tunes of a seed use ``finetune`` with
    that seed, so they see the same batches: the pair differs only by the
    pruning. Extra epochs alone can move the accuracy, so the sparse model is
    compared with the control, not with the student before them.

    ``data_splits`` needs ``train``, ``validation`` and ``test`` datasets (an
    :class:`gesturelib.experiments.Splits`). The comparison is sparse minus
    dense, with the non-inferiority ``margin`` (-1: "keeps the accuracy" holds
    when the 95 % interval lies above -1 point); it is "not tested (not
    converged)" unless every base student met the convergence criterion. The
    fine-tunes themselves are a few epochs, too short for that criterion.
    """
    if not students_by_seed:
        raise ValueError("sparse_vs_dense needs at least one student")
    out = SparseVsDense(sparsity=float(sparsity), finetune_epochs=finetune.epochs, base={}, dense={}, sparse={},
                        converged={}, comparison={})
    for seed, (model, history) in tqdm(sorted(students_by_seed.items()), desc="seed", disable=not progress):
        seed = int(seed)
        config_ = dataclasses.replace(finetune, seed=seed)
        dense, _ = finetuned_copy(model, data_splits.train, data_splits.validation, config_, progress=False)
        sparse, _ = prune_and_finetune(model, sparsity, data_splits.train, data_splits.validation, config_,
                                       progress=False)
        out.base[seed] = accuracy_percent(model, data_splits.test)
        out.dense[seed] = accuracy_percent(dense, data_splits.test)
        out.sparse[seed] = accuracy_percent(sparse, data_splits.test)
        out.converged[seed] = bool(history.converged)
        out.models[seed] = (dense, sparse)
    out.comparison = stats.paired_comparison(out.dense, out.sparse, converged=all(out.converged.values()),
                                             margin=margin)
    return out


def layer_sparsity(models_: Mapping[str, nn.Module], scope: compress.Scope = "weights") -> pd.DataFrame:
    """Fraction of exact zeros in each weight tensor (rows), one column per model."""
    columns = {}
    for label, model in models_.items():
        per_layer = compress.sparsity(model, scope).per_layer
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


# --------------------------------------------------------------------------- chapter 08: Table 3


class _Fp16Inference(nn.Module):
    """Runs a half-precision copy of a model on fp32 inputs (cast in) and returns fp32 logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = compress.to_fp16(model)

    def forward(self, clips: Tensor) -> Tensor:
        return self.model(clips.half()).float()


def fp16_inference(model: nn.Module) -> nn.Module:
    """A half-precision copy of ``model`` (weights and arithmetic) that takes and returns fp32 tensors."""
    return _Fp16Inference(model).eval()


def nonzero_params(model: nn.Module) -> int:
    """Parameters that are not exactly zero (every parameter, biases and batch norm included)."""
    return sum(int((p != 0).sum()) for p in model.parameters())


def file_sizes_mb(model: nn.Module, formats: Sequence[str] = compress.FORMATS) -> dict[str, float]:
    """Size in MB (2^20 bytes) of the file ``compress.save_model`` writes for each format."""
    return {fmt: compress.saved_size_bytes(model, fmt) / MB for fmt in formats}


def reloaded(model: nn.Module, kind: str, fmt: str, preset: str = "course") -> nn.Module:
    """``model`` written to a file in ``fmt``, read back into a fresh fp32 ``kind`` model: what a user of the file gets.

    ``fmt`` is "fp32", "fp16" (values rounded to half precision, computed in
    fp32 after loading), "sparse-fp32" or "sparse-fp16".
    """
    if fmt not in ("fp32", "fp16", "sparse-fp32", "sparse-fp16"):
        raise ValueError(f"fmt must be fp32, fp16, sparse-fp32 or sparse-fp16, got {fmt!r}")
    with tempfile.TemporaryDirectory(prefix="gesturelib-reload-") as folder:
        path = Path(folder) / f"model.{fmt}"
        compress.save_model(model, path, fmt)
        if fmt.startswith("sparse-"):
            state = compress.load_sparse(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    fresh = models.build(kind, preset)
    fresh.load_state_dict(state)  # copies into the fp32 parameters
    return fresh.eval()


def table3_row(model: nn.Module, kind: str, test_set: Dataset, sparse: bool = False) -> dict:
    """Our columns of the poster's Table 3 for one model (course preset, measured): sizes and accuracies.

    Dense model: ``fp32_mb`` / ``fp16_mb`` are the dense files, ``int8_mb`` the
    int8 dynamic file; ``sparse_mb`` and ``acc_sparse`` are None. Sparse model
    (``sparse=True``), like the poster's sparse row: ``fp32_mb`` / ``fp16_mb``
    are the sparse files with fp32 / fp16 values (``sparse_mb`` = the fp32 one),
    ``params`` counts the non-zero parameters. Each accuracy is that of the
    model read back from its file (``reloaded``): ``acc_fp16`` is the fp16
    file's weights computed in fp32, as a CPU runs it; ``acc_int8`` the int8
    dynamic model.
    """
    sizes = file_sizes_mb(model)
    prefix = "sparse-" if sparse else ""
    return {
        "params": nonzero_params(model) if sparse else models.count_params(model),
        "fp32_mb": sizes[f"{prefix}fp32"],
        "fp16_mb": sizes[f"{prefix}fp16"],
        "sparse_mb": sizes["sparse-fp32"] if sparse else None,
        "int8_mb": sizes["int8"],
        "acc_fp32": accuracy_percent(model, test_set),
        "acc_fp16": accuracy_percent(reloaded(model, kind, f"{prefix}fp16"), test_set),
        "acc_sparse": accuracy_percent(reloaded(model, kind, "sparse-fp32"), test_set) if sparse else None,
        "acc_int8": accuracy_percent(compress.quantize_int8(model), test_set),
    }


def paper_sizes(kind: str, sparsity: float | None = None, preset: str = "paper") -> dict:
    """Parameters and file sizes (MB) of the paper-preset architecture of ``kind``, from files written to disk.

    Weights do not change a dense file's size, so a freshly initialised model
    gives the trained model's sizes. With ``sparsity``, the fraction of its
    weights with the smallest magnitude is removed first (global magnitude, as
    for the course model) and the sizes are those of the sparse files; where
    the non-zeros sit changes the index bytes only a little.
    """
    model = initial_model(kind, preset=preset)
    if sparsity is None:
        sizes = file_sizes_mb(model, ("fp32", "fp16"))
        return {"paper_params": models.count_params(model), "paper_fp32_mb": sizes["fp32"],
                "paper_fp16_mb": sizes["fp16"]}
    compress.prune_global_magnitude(model, sparsity)
    sizes = file_sizes_mb(model, ("sparse-fp32", "sparse-fp16"))
    return {"paper_params": nonzero_params(model), "paper_fp32_mb": sizes["sparse-fp32"],
            "paper_fp16_mb": sizes["sparse-fp16"]}


#: The model kind behind each row of Table 3 (the results file's keys).
TABLE3_KINDS: dict[str, str] = {
    "teacher": "cnn3d", "joint": "joint", "student_small": "student_small", "student_small_sparse": "student_small",
}


def table3_rows(
    models_: Mapping[str, nn.Module], test_set: Dataset, sparsity: float = POSTER_SPARSITY, progress: bool = True
) -> dict[str, dict]:
    """Table 3 as the results file holds it: ``table3_row`` plus ``paper_sizes`` for each of ``TABLE3_KINDS``' keys.

    The "_sparse" row is measured as sparse; its paper-preset sizes are those of
    the paper architecture pruned to ``sparsity``.
    """
    unknown = set(models_) - TABLE3_KINDS.keys()
    if unknown:
        raise ValueError(f"unknown Table 3 rows {sorted(unknown)}; expected some of {list(TABLE3_KINDS)}")
    rows = {}
    for key, model in tqdm(models_.items(), desc="Table 3", disable=not progress):
        kind, sparse = TABLE3_KINDS[key], key.endswith("_sparse")
        rows[key] = {**table3_row(model, kind, test_set, sparse=sparse),
                     **paper_sizes(kind, sparsity if sparse else None)}
    return rows


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


def accuracy_size_figure(rows: Mapping[str, dict]) -> Figure:
    """Test accuracy against file size (log scale): colour = model, marker = storage form."""
    forms = (("fp32", "fp32_mb", "acc_fp32", "o"), ("fp16", "fp16_mb", "acc_fp16", "s"),
             ("int8", "int8_mb", "acc_int8", "^"))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=80)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (key, r) in zip(colors, rows.items()):
        points = [(r[size], r[acc], marker) for _, size, acc, marker in forms
                  if r.get(size) is not None and r.get(acc) is not None]
        for size, acc, marker in points:
            ax.scatter(size, acc, marker=marker, color=color, s=50, alpha=0.85)
        ax.plot([p[0] for p in points], [p[1] for p in points], color=color, lw=0.8, alpha=0.5, label=key)
    for form, _, _, marker in forms:
        ax.scatter([], [], marker=marker, color="0.4", label=form)
    ax.set_xscale("log")
    ax.set_xlabel("file size (MB = 2^20 bytes, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy against size (the sparse row's fp32 / fp16 are its sparse files)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def fp32_latency_ms(
    models_: Mapping[str, nn.Module], clips: Tensor, runs: int = 50, threads: int = 1
) -> dict[str, float]:
    """Median ms per clip (batch 1, fp32 PyTorch, ``threads`` threads) of each model, timed alike.

    For comparing models that run the same kernels, such as a model and its
    pruned copy, without the export and the other forms of ``export.cpu_latencies``.
    """
    x = clips[:1].detach().cpu().float()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        medians = {}
        for label, model in models_.items():
            net = copy.deepcopy(model).cpu().float().eval()
            with torch.inference_mode():
                medians[label] = float(np.median(export.time_calls(lambda: net(x), runs=runs)))
        return medians
    finally:
        torch.set_num_threads(before)


def latency_record(latencies: Sequence[export.Latency]) -> dict:
    """The results file's "latency_ms" entry from ``export.cpu_latencies``."""
    by_form = {lat.form: lat for lat in latencies}
    missing = {"fp32", "int8", "onnxruntime", "fp16"} - by_form.keys()
    if missing:
        raise ValueError(f"latencies lack the forms {sorted(missing)}")
    record = {form: by_form[form].median_ms for form in ("fp32", "int8", "onnxruntime", "fp16")}
    record["fp16_note"] = by_form["fp16"].note
    return record


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
