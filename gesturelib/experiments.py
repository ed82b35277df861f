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
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from . import chalearn, clipcache, clips, config, data, distill, modelcache, synth, train

#: The input / model preset of the chapters: CPU-sized (see ``models`` for ``paper``).
PRESET = "course"


@dataclass(frozen=True)
class Budget:
    """How much training a chapter can afford (epochs per kind, seeds, temperatures)."""

    epochs: dict[str, int]
    seeds: tuple[int, ...]
    temperatures: tuple[float, ...]
    grid_alphas: tuple[float, ...]
    grid_temperatures: tuple[float, ...]
    grid_epochs: int
    finetune_epochs: int


# An epoch costs one core 6-10 s for a student and 14-17 s for a baseline, side by side
# with another run (the full-resolution first convolution dominates, so a student is
# barely cheaper than the teacher; a student's first run of a seed also pays for the
# teacher, 4-6 s per epoch, which TeacherMemo spares the others). The baselines'
# validation accuracy levels off after about 8 epochs (chapter 03's curves).
# Chapter 06 alone trains 3 (choice of T) + 11 (seeds) + 1 (T^2 off) + 4 (grid) students:
# their epochs are what the whole main job's time hinges on, so they get fewer.
FULL = Budget(
    epochs={"cnn3d": 9, "lstm": 9, "joint": 9, "student_medium": 3, "student_small": 3},
    seeds=(0, 1, 2),
    temperatures=(2.0, 4.0, 8.0),
    grid_alphas=(0.25, 0.5, 0.75),
    grid_temperatures=(2.0, 8.0),
    grid_epochs=3,  # the students' own: its alpha = 0.5 cells are runs of the choice of T
    finetune_epochs=2,
)
QUICK = Budget(
    epochs={kind: 2 for kind in FULL.epochs},
    seeds=(0, 1),
    temperatures=(2.0, 4.0),
    grid_alphas=(0.5,),
    grid_temperatures=(2.0, 4.0),
    grid_epochs=1,
    finetune_epochs=1,
)


def budget() -> Budget:
    """The budget of the current mode."""
    return QUICK if config.quick_mode() else FULL


@dataclass(frozen=True)
class Splits:
    """The user-disjoint splits as Datasets; ``train`` is augmented, ``train_plain`` is not."""

    train: data.GestureClips
    train_plain: data.GestureClips
    validation: data.GestureClips
    test: data.GestureClips
    key: dict


@lru_cache(maxsize=4)
def _splits(dataset_dir: str, preset: str) -> Splits:
    folder = Path(dataset_dir)
    clipcache.prepare(folder, preset)
    augmentation = data.augmentation(preset)
    train_set = data.GestureClips(folder, "train", preset, transform=augmentation)
    key = {
        "dataset": folder.resolve().name,
        "clips": clipcache.cache_key(chalearn.dataset_index(folder), clips.settings_for(preset)),
        "augmentation": repr(augmentation),
    }
    return Splits(
        train=train_set,
        train_plain=data.GestureClips(folder, "train", preset),
        validation=data.GestureClips(folder, "validation", preset),
        test=data.GestureClips(folder, "test", preset),
        key=key,
    )


def splits(dataset_dir: str | Path | None = None, preset: str = PRESET) -> Splits:
    """The chapters' data: the embedded dataset (generated on first use) unless a folder is given."""
    return _splits(str(dataset_dir or synth.ensure_dataset()), preset)


def train_config(kind: str, seed: int = 0, optimizer: str = "adam", epochs: int | None = None) -> train.TrainConfig:
    """The training settings of ``kind`` under the current budget."""
    lr = 2e-3 if optimizer == "adam" else 0.05
    return train.TrainConfig(
        epochs=epochs or budget().epochs[kind], optimizer=optimizer, lr=lr, seed=seed,
        grad_clip=5.0 if kind != "cnn3d" else None, num_threads=1,
    )


def trained(kind: str, seed: int = 0, optimizer: str = "adam", data_splits: Splits | None = None,
            progress: bool = True) -> tuple[nn.Module, train.History]:
    """``kind`` trained on the labels (loaded from the model cache when another chapter trained it)."""
    s = data_splits or splits()
    return modelcache.load_or_train(kind, PRESET, s.train, s.validation, train_config(kind, seed, optimizer),
                                    data_key=s.key, progress=progress)


def teacher(data_splits: Splits | None = None) -> nn.Module:
    """The poster's teacher: the 3D-CNN baseline trained on the labels."""
    return trained("cnn3d", data_splits=data_splits)[0]


def student(kind: str, seed: int = 0, with_teacher: bool = True, T: float = 4.0, alpha: float = 0.5,
            t2_scaling: bool = True, epochs: int | None = None, data_splits: Splits | None = None,
            progress: bool = True) -> tuple[nn.Module, train.History]:
    """A student trained with labels only, or with labels and the 3D-CNN teacher (online, augmented input).

    Runs of one seed share the teacher's logits through a :class:`distill.TeacherMemo`
    under the data folder: only the first of them pays for the teacher.
    """
    s = data_splits or splits()
    cfg = train_config(kind, seed, epochs=epochs)
    return distill.train_student(
        kind, PRESET, s.train, s.validation, cfg, data_key=s.key,
        teacher=teacher(s) if with_teacher else None, T=T, alpha=alpha, t2_scaling=t2_scaling,
        teacher_mode="online", teacher_memo=config.data_root() / "teacher-logits", progress=progress,
    )


def test_accuracy(model: nn.Module, data_splits: Splits | None = None) -> float:
    """Accuracy in percent on the user-disjoint test split."""
    s = data_splits or splits()
    with torch.inference_mode():
        return 100.0 * train.evaluate(model, s.test)["accuracy"]



_RECIPES = {"trained": trained, "student": student}


@dataclass(frozen=True)
class Run:
    """One model of a chapter: the arguments of :func:`trained` or :func:`student`.

    Make one with :func:`run`; calling it returns what the recipe returns.
    """

    recipe: str
    kind: str
    options: tuple[tuple[str, Any], ...] = ()

    def __call__(self, data_splits: Splits | None = None, progress: bool = False) -> tuple[nn.Module, train.History]:
        return _RECIPES[self.recipe](self.kind, data_splits=data_splits, progress=progress, **dict(self.options))


def run(recipe: str, kind: str, **options: Any) -> Run:
    """``run("student", "student_small", seed=1, T=2.0)`` stands for ``student("student_small", seed=1, T=2.0)``."""
    if recipe not in _RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose from {', '.join(_RECIPES)}")
    return Run(recipe, kind, tuple(sorted(options.items())))


def _train_in_worker(model_run: Run, dataset_dir: str | None) -> None:
    torch.set_num_threads(1)
    model_run(splits(dataset_dir))


def train_all(runs: Sequence[Run], dataset_dir: str | Path | None = None, workers: int | None = None,
              progress: bool = True) -> int:
    """Put every run in the model cache, training the missing ones side by side.

    One process per core (``workers``, default all cores), each training one
    model on one thread; a student's teacher is trained (or loaded) first, here,
    so that every process finds it in the cache. Afterwards each run loads from
    the cache at once, in any chapter. Returns how many models were trained.
    """
    s = splits(dataset_dir)
    if any(r.recipe == "student" and dict(r.options).get("with_teacher", True) for r in runs):
        teacher(s)
    by_folder: dict[Path, Run] = {}  # one run per model: two calls can name the same model
    for model_run in runs:
        try:
            with modelcache.only_cached():
                model_run(s)
        except modelcache.NotCached as not_cached:
            by_folder.setdefault(not_cached.folder, model_run)
    missing = list(by_folder.values())
    workers = min(workers or os.cpu_count() or 1, len(missing))
    directory = None if dataset_dir is None else str(dataset_dir)
    with tqdm(total=len(missing), desc=f"training on {max(workers, 1)} cores", unit="model",
              disable=not progress or not missing) as bar:
        if workers <= 1:
            for model_run in missing:
                model_run(s)
                bar.update()
            return len(missing)
        # "spawn": fresh processes, the same on every OS and safe beside a notebook kernel's threads.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(_train_in_worker, r, directory) for r in missing]):
                future.result()
                bar.update()
    return len(missing)
