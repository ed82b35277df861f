"""The chapters' shared recipes: which data, which training settings, which seeds.

Every chapter from 03 on trains through these functions, so the teacher that
chapter 03 trains is the very one chapters 05, 06 and 08 load from the model
cache, and a notebook run on its own trains exactly what it would have reused.
Quick mode (``GESTURELIB_QUICK=1``) swaps in a budget that runs in seconds;
the full budget is sized for the time limits of the chapters on a 2-core CPU.

Every model of the chapters trains on ONE thread, and a chapter that needs
several trains them side by side, one process per core (:func:`train_all`).
Two reasons: these small models use a second thread poorly, so two runs side
by side get more done than one run on two threads
(``benchmarks/bench_side_by_side.py``); and the numbers of a run depend on its
thread count, so one fixed count means a model is the same whichever chapter
(or process) trained it first.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import Subset
from tqdm.auto import tqdm

from . import chalearn, clipcache, cropping, data, distill, modelcache, models, runtime, stats, synth, train

#: The input / model preset of the chapters: CPU-sized (see ``models`` for ``paper``).
PRESET = "course"
#: The poster's weight of the teacher's term in the distillation loss.
ALPHA = 0.5
#: Epochs without half a point of progress in validation accuracy after which a run stops
#: (converged); the cosine learning-rate schedule runs over the budget's cap.
PATIENCE = train.PLATEAU_EPOCHS
#: The seed of the training clips' augmented views (:class:`data.EpochViews`): one stream of
#: views for every run, so that a teacher's outputs on them are computed once.
VIEW_SEED = 0
#: Temperatures the entropy rule picks from (:func:`temperature`).
TEMPERATURE_CANDIDATES = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


#: A training epoch's cost per kind relative to the teacher's (``benchmarks/bench_speed.py``, course
#: preset, one thread; distilled students share the teacher's passes over the views). They only
#: decide the order in which :func:`train_all` hands out runs, never a result.
EPOCH_COST = {"cnn3d": 1.0, "lstm": 1.35, "joint": 1.0, "student_medium": 0.25, "student_small": 0.2}


@dataclass(frozen=True)
class Budget:
    """How much training a chapter can afford.

    ``epochs``: every kind's largest number of epochs. A run stops earlier
    when its validation accuracy has not improved by half a point for
    :data:`PATIENCE` epochs (the convergence criterion, ``train.plateaued``);
    a run that reaches the cap without meeting it is recorded as not converged.
    ``table1_seeds``: seeds per model of Table 1. ``student_seeds``: paired
    seeds per student size and arm (chapter 06). ``condition_seeds``: paired
    seeds per condition of chapter 06's investigation. ``early_teacher_epochs``:
    the early-stopped teacher's budget. ``finetune_epochs``: the pruned
    student's fine-tune and its dense control (chapter 08). ``few_users``:
    training users kept in the "fewer users" condition.
    """

    epochs: dict[str, int]
    table1_seeds: tuple[int, ...]
    student_seeds: tuple[int, ...]
    condition_seeds: tuple[int, ...]
    early_teacher_epochs: int
    finetune_epochs: int
    few_users: int


FULL = Budget(
    epochs={"cnn3d": 40, "lstm": 40, "joint": 40, "student_medium": 60, "student_small": 60},
    table1_seeds=(0, 1, 2),
    student_seeds=(0, 1, 2, 3, 4),
    condition_seeds=(0, 1, 2),
    early_teacher_epochs=5,
    finetune_epochs=4,
    few_users=4,
)
QUICK = Budget(
    epochs={kind: 2 for kind in FULL.epochs},
    table1_seeds=(0, 1),
    student_seeds=(0, 1),
    condition_seeds=(0, 1),
    early_teacher_epochs=1,
    finetune_epochs=1,
    few_users=1,
)


def budget() -> Budget:
    """The budget of the current mode."""
    return QUICK if runtime.quick_mode() else FULL


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per dataset
class Splits:
    """The user-disjoint splits as Datasets; ``train`` is augmented (views that depend on the
    epoch and the clip only, :class:`data.EpochViews`), ``train_plain`` is not."""

    train: data.EpochViews
    train_plain: data.GestureClips
    validation: data.GestureClips
    test: data.GestureClips
    key: dict


@lru_cache(maxsize=4)
def _splits(dataset_dir: str, preset: str) -> Splits:
    folder = Path(dataset_dir)
    clipcache.prepare(folder, preset)
    augmentation = data.poster_augmentation(preset)
    train_plain = data.GestureClips(folder, "train", preset)
    key = {
        "dataset": folder.resolve().name,
        "clips": clipcache.cache_key(chalearn.dataset_index(folder), cropping.settings_for(preset)),
        "augmentation": repr(augmentation),
        "views": {"per": "epoch and clip", "seed": VIEW_SEED},
    }
    return Splits(
        train=data.EpochViews(train_plain, augmentation, VIEW_SEED),
        train_plain=train_plain,
        validation=data.GestureClips(folder, "validation", preset),
        test=data.GestureClips(folder, "test", preset),
        key=key,
    )


def splits(dataset_dir: str | Path | None = None, preset: str = PRESET) -> Splits:
    """The chapters' data: the embedded dataset (generated on first use) unless a folder is given."""
    return _splits(str(dataset_dir or synth.ensure_dataset()), preset)


@lru_cache(maxsize=8)
def fewer_users(data_splits: Splits, users: int) -> tuple[data.EpochViews, dict]:
    """The augmented training clips of the first ``users`` training users (by id), each listed as
    many times as it takes to fill an epoch of the full training set, and their data key.

    An epoch of it takes as many steps as one on all users (each clip seen several times, with
    a view of its own each time), so runs on fewer users keep the epoch count, patience and
    validation schedule of the others.
    """
    plain = data_splits.train_plain
    kept = sorted(plain.users.unique().tolist())[:users]
    indices = [i for i, u in enumerate(plain.users.tolist()) if u in kept]
    repeats = max(1, round(len(plain) / len(indices)))
    views = data.EpochViews(Subset(plain, indices * repeats), data_splits.train.augmentation, VIEW_SEED)
    return views, {**data_splits.key, "train_users": kept, "repeats": repeats}


def train_config(kind: str, seed: int = 0, optimizer: str = "adam", epochs: int | None = None) -> train.TrainConfig:
    """The training settings of ``kind`` under the current budget."""
    lr = 2e-3 if optimizer == "adam" else 0.05
    return train.TrainConfig(
        epochs=epochs or budget().epochs[kind], optimizer=optimizer, lr=lr, seed=seed,
        grad_clip=5.0 if kind != "cnn3d" else None, num_threads=1,
        patience=PATIENCE, min_delta=train.PLATEAU_DELTA,
    )


def trained(kind: str, seed: int = 0, optimizer: str = "adam", epochs: int | None = None,
            data_splits: Splits | None = None, progress: bool = True) -> tuple[nn.Module, train.History]:
    """``kind`` trained on the labels (loaded from the model cache when another chapter trained it)."""
    s = data_splits or splits()
    return modelcache.load_or_train(kind, PRESET, s.train, s.validation, train_config(kind, seed, optimizer, epochs),
                                    data_key=s.key, progress=progress)


def trained_teacher(data_splits: Splits | None = None, epochs: int | None = None) -> nn.Module:
    """The poster's teacher: the 3D-CNN baseline (seed 0) trained on the labels for its budget,
    or for ``epochs`` (an early-stopped teacher: the schedule of a shorter run)."""
    return trained("cnn3d", epochs=epochs, data_splits=data_splits)[0]


@lru_cache(maxsize=8)
def _temperature(data_splits: Splits, teacher_epochs: int | None) -> float:
    logits, _ = train.predict(trained_teacher(data_splits, teacher_epochs), data_splits.train_plain)
    return distill.entropy_temperature(logits, TEMPERATURE_CANDIDATES)


def temperature(data_splits: Splits | None = None, teacher_epochs: int | None = None) -> float:
    """The distillation temperature, fixed before any student trains (chapter 05's entropy rule):
    the smallest candidate at which the teacher's softened outputs on the (un-augmented)
    training clips carry, on average, at least half the maximum entropy, ``log2(20) / 2`` bits."""
    return _temperature(data_splits or splits(), teacher_epochs)


def trained_student(kind: str, seed: int = 0, with_teacher: bool = True, T: float | None = None, alpha: float = ALPHA,
                    t2_scaling: bool = True, epochs: int | None = None, teacher_epochs: int | None = None,
                    train_users: int | None = None, data_splits: Splits | None = None,
                    progress: bool = True) -> tuple[nn.Module, train.History]:
    """A student trained with labels only, or with labels and a teacher (online, on the augmented batch).

    ``T`` None is :func:`temperature`. ``teacher_epochs`` takes an early-stopped
    teacher (the 3D-CNN trained for that many epochs). ``train_users`` keeps only
    that many training users, their clips repeated to fill an epoch
    (:func:`fewer_users`). Every run sees the same views of the clips
    (:class:`data.EpochViews`), so the teacher's logits on them are computed
    once, by the first run that needs an epoch, and shared under the data
    folder (:class:`distill.TeacherTargets`).
    """
    s = data_splits or splits()
    train_set, data_key = _student_data(s, train_users)
    taught_by = trained_teacher(s, teacher_epochs) if with_teacher else None
    if with_teacher and T is None:
        T = temperature(s, teacher_epochs)
    return distill.train_student(
        kind, PRESET, train_set, s.validation, train_config(kind, seed, epochs=epochs), data_key=data_key,
        teacher=taught_by, T=T or 1.0, alpha=alpha, t2_scaling=t2_scaling,  # T, alpha: unused without a teacher
        teacher_mode="online", teacher_targets=_teacher_targets_folder(), progress=progress,
    )


def _student_data(s: Splits, train_users: int | None) -> tuple[data.EpochViews, dict]:
    return fewer_users(s, train_users) if train_users is not None else (s.train, s.key)


def _teacher_targets_folder() -> Path:
    return runtime.data_root() / "teacher-targets"


def test_accuracy(model: nn.Module, data_splits: Splits | None = None) -> float:
    """Accuracy in percent on the user-disjoint test split."""
    return train.accuracy_percent(model, (data_splits or splits()).test)


def run_record(model: nn.Module, history: train.History, data_splits: Splits | None = None) -> dict:
    """What the results file keeps of one run: test accuracy, epochs, best epoch, convergence."""
    return {"test_accuracy": test_accuracy(model, data_splits), "epochs": len(history.epoch),
            "best_epoch": history.best_epoch, "converged": history.converged,
            "best_val_accuracy": 100.0 * history.best()["val_acc"]}


_RECIPES = {"trained": trained, "student": trained_student}


@dataclass(frozen=True)
class Run:
    """One model of a chapter: the arguments of :func:`trained` or :func:`trained_student`.

    Make one with :func:`run_recipe`; calling it returns what the recipe returns.
    """

    recipe: str
    kind: str
    options: tuple[tuple[str, Any], ...] = ()

    def __call__(self, data_splits: Splits | None = None, progress: bool = False) -> tuple[nn.Module, train.History]:
        return _RECIPES[self.recipe](self.kind, data_splits=data_splits, progress=progress, **dict(self.options))


def run_recipe(recipe: str, kind: str, **options: Any) -> Run:
    """``run_recipe("student", "student_small", seed=1, T=2.0)`` stands for
    ``trained_student("student_small", seed=1, T=2.0)``."""
    if recipe not in _RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose from {', '.join(_RECIPES)}")
    return Run(recipe, kind, tuple(sorted(options.items())))


def expected_cost(model_run: Run) -> float:
    """A run's training cost at its cap of epochs, in teacher epochs (:data:`EPOCH_COST`)."""
    epochs = dict(model_run.options).get("epochs") or budget().epochs[model_run.kind]
    return EPOCH_COST.get(model_run.kind, 1.0) * epochs


def _train_in_worker(model_run: Run, dataset_dir: str | None) -> None:
    torch.set_num_threads(1)
    model_run(splits(dataset_dir))


def _teacher_run(model_run: Run) -> Run | None:
    """The run of the teacher that a distilled student learns from (None for other runs)."""
    options = dict(model_run.options)
    if model_run.recipe != "student" or not options.get("with_teacher", True):
        return None
    epochs = options.get("teacher_epochs")
    return run_recipe("trained", "cnn3d", **({"epochs": epochs} if epochs else {}))


def _missing(runs: Sequence[Run], data_splits: Splits) -> list[Run]:
    """The runs whose model is not in the cache yet, one per model (two runs can name the same
    model), the most expensive first, so that the last run to finish is a short one."""
    by_folder: dict[Path, Run] = {}
    for model_run in runs:
        try:
            with modelcache.only_cached():
                model_run(data_splits)
        except modelcache.NotCached as not_cached:
            by_folder.setdefault(not_cached.folder, model_run)
    return sorted(by_folder.values(), key=expected_cost, reverse=True)


def train_all(runs: Sequence[Run], dataset_dir: str | Path | None = None, workers: int | None = None,
              progress: bool = True) -> int:
    """Put every run in the model cache, training the missing ones side by side.

    One process per core (``workers``, default all cores), each training one
    model on one thread. A teacher that distilled students need and that is
    not trained yet trains first, beside the runs that do not need it; its
    students are handed out when it is done. The teacher's logits on the
    views are computed by the students as they go, each epoch once
    (:class:`distill.TeacherTargets`). Afterwards each run loads from the
    cache at once, in any chapter. Returns how many models were trained.
    """
    s = splits(dataset_dir)
    teachers = {model_run: _teacher_run(model_run) for model_run in runs}
    missing_teachers = _missing(list(dict.fromkeys(t for t in teachers.values() if t is not None)), s)
    waiting = {t: [r for r in runs if teachers[r] == t] for t in missing_teachers}
    # One run per model (a chapter's own 3D-CNN run can be a teacher too), the teachers first.
    first = _missing(missing_teachers + [r for r in runs if teachers[r] not in waiting], s)
    first.sort(key=lambda r: r not in missing_teachers)
    total = len(first) + sum(map(len, waiting.values()))  # at most: a waiting student may be cached
    workers = min(workers or os.cpu_count() or 1, total)
    directory = None if dataset_dir is None else str(dataset_dir)
    trained_now = 0
    with tqdm(total=len(first), unit="run", disable=not progress or not total,
              desc=f"training on {max(workers, 1)} cores") as bar:
        if workers <= 1:
            for model_run in first:
                model_run(s)
                trained_now += 1
                bar.update()
            for model_run in _missing([r for students in waiting.values() for r in students], s):
                model_run(s)
                trained_now += 1
                bar.total += 1
                bar.update()
            return trained_now
        # "spawn": fresh processes, the same on every OS and safe beside a notebook kernel's threads.
        # Tasks start in the order they are submitted: the missing teachers first.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending = {pool.submit(_train_in_worker, r, directory): r for r in first}
            while pending:
                future = next(as_completed(pending))
                future.result()
                students = waiting.pop(pending.pop(future), [])
                for model_run in _missing(students, s):  # its teacher is in the cache now
                    pending[pool.submit(_train_in_worker, model_run, directory)] = model_run
                    bar.total += 1
                trained_now += 1
                bar.update()
    return trained_now


def records(runs: Sequence[Run], data_splits: Splits | None = None) -> list[dict]:
    """Train what is missing (side by side), then :func:`run_record` of every run, in order."""
    s = data_splits or splits()
    train_all(runs, dataset_dir=None if data_splits is None else data_splits.train_plain.root)
    out = []
    for model_run in runs:
        model, history = model_run(s)
        out.append({**dict(model_run.options), **run_record(model, history, s)})
    return out


def seed_row(run_records: Sequence[dict], params: int) -> dict:
    """One row of a results table over seeds: per-seed test accuracies (%), mean, spread, convergence.

    ``std`` is the sample standard deviation (None for one seed).
    """
    if not run_records:
        raise ValueError("a row over seeds needs at least one run")
    accuracies = [float(r["test_accuracy"]) for r in run_records]
    converged = [bool(r["converged"]) for r in run_records]
    return {"seeds": [int(r.get("seed", 0)) for r in run_records], "accuracies": accuracies,
            "mean": statistics.fmean(accuracies),
            "std": statistics.stdev(accuracies) if len(accuracies) > 1 else None,
            "converged": converged, "all_converged": all(converged), "params": int(params),
            "runs": list(run_records)}


def table1_row(kind: str, run_records: Sequence[dict]) -> dict:
    """The results-file row of section ``table1`` for ``kind``: :func:`seed_row`
    of its runs (one per seed), its parameter count and that of its paper preset."""
    row = seed_row(run_records, models.count_params(models.build(kind, PRESET)))
    row["params_paper"] = models.count_params(models.build(kind, "paper"))
    return row


def compare(row_a: dict, row_b: dict, margin: float = 0.0) -> dict:
    """Row ``b`` minus row ``a``, paired by seed, with its 95 % interval and verdict (:mod:`stats`)."""
    return stats.paired_comparison(dict(zip(row_a["seeds"], row_a["accuracies"])),
                                   dict(zip(row_b["seeds"], row_b["accuracies"])),
                                   converged=row_a["all_converged"] and row_b["all_converged"], margin=margin)
