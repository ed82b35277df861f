"""The poster's sparse student and its Table 3, as experiments (chapter 08).

The distilled small student is pruned at growing sparsity, with and without a
short fine-tune that keeps the pruning masks (:func:`prune_and_finetune`,
:func:`sparsity_curve`). Whether the sparse student keeps the accuracy is tested
against a dense control fine-tuned alike, over paired seeds
(:func:`sparse_vs_dense`). Table 3 is rebuilt from files written to disk
(:func:`table3_row`, :func:`paper_sizes`): every size here is
``os.path.getsize`` of a file that ``compress.save_model`` wrote. One MB is
2^20 bytes, the unit that matches the poster's sizes (18.82 M fp32 parameters
= 71.8 MB, the poster's "72").
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from . import compress, export, models, stats, train, weight_magnitudes

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


def finetune_config(base: train.TrainConfig, epochs: int, lr_factor: float = FINETUNE_LR_FACTOR) -> train.TrainConfig:
    """The settings of a short fine-tune after pruning: ``base`` for ``epochs`` epochs, its lr times ``lr_factor``."""
    return dataclasses.replace(base, epochs=epochs, lr=base.lr * lr_factor)


def prune_and_finetune(
    model: nn.Module,
    fraction: float,
    train_set: Dataset,
    val_set: Dataset | None,
    config: train.TrainConfig,
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
    history = train.fit(pruned, train_set, val_set, config, progress=progress)
    compress.make_permanent(pruned)
    return pruned.cpu().eval(), history


def pruned_copy(model: nn.Module, fraction: float) -> nn.Module:
    """A copy of ``model`` with the ``fraction`` smallest weights removed (global magnitude), no fine-tune."""
    copy_ = copy.deepcopy(model)
    compress.prune_global_magnitude(copy_, fraction, permanent=True)
    return copy_.eval()


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
        curve.acc_pruned.append(train.accuracy_percent(pruned_copy(model, fraction), test_set))
        if fraction in finetune_at:
            tuned, _ = prune_and_finetune(model, fraction, train_set, val_set, finetune, progress=False)
            curve.finetuned[fraction] = tuned
            curve.acc_finetuned.append(train.accuracy_percent(tuned, test_set))
        else:
            curve.acc_finetuned.append(None)
    return curve


def finetuned_copy(
    model: nn.Module, train_set: Dataset, val_set: Dataset | None, config: train.TrainConfig, progress: bool = True
) -> tuple[nn.Module, train.History]:
    """A copy of ``model`` trained further as ``config`` says, with no pruning: the dense control of
    :func:`prune_and_finetune` (same data, same settings, same batches for the same seed)."""
    tuned = copy.deepcopy(model)
    history = train.fit(tuned, train_set, val_set, config, progress=progress)
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
    :class:`gesturelib.recipes.Splits`). The comparison is sparse minus
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
        config = dataclasses.replace(finetune, seed=seed)
        dense, _ = finetuned_copy(model, data_splits.train, data_splits.validation, config, progress=False)
        sparse, _ = prune_and_finetune(model, sparsity, data_splits.train, data_splits.validation, config,
                                       progress=False)
        out.base[seed] = train.accuracy_percent(model, data_splits.test)
        out.dense[seed] = train.accuracy_percent(dense, data_splits.test)
        out.sparse[seed] = train.accuracy_percent(sparse, data_splits.test)
        out.converged[seed] = bool(history.converged)
        out.models[seed] = (dense, sparse)
    out.comparison = stats.paired_comparison(out.dense, out.sparse, converged=all(out.converged.values()),
                                             margin=margin)
    return out


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
        "acc_fp32": train.accuracy_percent(model, test_set),
        "acc_fp16": train.accuracy_percent(reloaded(model, kind, f"{prefix}fp16"), test_set),
        "acc_sparse": train.accuracy_percent(reloaded(model, kind, "sparse-fp32"), test_set) if sparse else None,
        "acc_int8": train.accuracy_percent(compress.quantize_int8(model), test_set),
    }


def paper_sizes(kind: str, sparsity: float | None = None, preset: str = "paper") -> dict:
    """Parameters and file sizes (MB) of the paper-preset architecture of ``kind``, from files written to disk.

    Weights do not change a dense file's size, so a freshly initialised model
    gives the trained model's sizes. With ``sparsity``, the fraction of its
    weights with the smallest magnitude is removed first (global magnitude, as
    for the course model) and the sizes are those of the sparse files; where
    the non-zeros sit changes the index bytes only a little.
    """
    model = weight_magnitudes.initial_model(kind, preset=preset)
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
