"""Training: fit / evaluate / predict, with checkpoints that resume exactly.

``fit`` trains with Adam (or SGD with momentum), a per-step learning-rate
schedule and early stopping on the validation set, and restores the weights of
the best epoch at the end. It records whether the run met the convergence
criterion (:func:`plateaued`): its last epochs no longer improved the
validation accuracy (with ``patience``, training stops there). With a
``checkpoint_dir`` it writes a checkpoint after every epoch (atomically: a temporary file, then a rename) holding the
model, optimizer, schedule, history, early-stopping state and the random
number generators' states. Training killed at any point (even ``kill -9``) and
started again with the same arguments resumes from the last finished epoch
and ends with exactly the weights and metrics of an uninterrupted run: the
shuffling order of each epoch comes from a generator seeded with the seed and
the epoch number, and so do its augmentations (``data.SeededLoader``); the
RNG states in the checkpoint cover dropout.

On a CPU the model runs in the ``channels_last_3d`` memory format on all cores
(or ``TrainConfig.num_threads``). Inside ``torchrun`` (an initialised
``torch.distributed`` process group) ``fit`` wraps the model in
DistributedDataParallel, shards the data with ``DistributedSampler`` and only
rank 0 writes checkpoints and shows progress.

The command line is :mod:`gesturelib.train_cli` (``python -m gesturelib.train_cli``).
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm.auto import tqdm

from . import files, metrics
from .runtime import seed_everything
from .data import make_loader

log = logging.getLogger(__name__)

#: The convergence criterion: a run has converged when the best validation accuracy of its
#: last ``PLATEAU_EPOCHS`` epochs (or its ``patience``) beats the best before them by less than
#: ``PLATEAU_DELTA`` (a fraction: 0.005 is half a point). With that ``patience`` and
#: ``min_delta = PLATEAU_DELTA``, training stops as soon as the criterion is met.
PLATEAU_DELTA = 0.005
PLATEAU_EPOCHS = 6
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "onecycle", "constant")
MONITORS = ("val_acc", "val_loss")
AMP_DTYPES = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}
#: Clips per batch when a model only predicts (validation, test, a teacher's logits). The
#: logits do not depend on it beyond rounding, and on a CPU small batches run faster: at 64
#: the course 3D-CNN's first-layer activations (about 1 MB per clip) overflow the caches,
#: and a validation pass takes twice as long.
EVAL_BATCH_SIZE = 8
CHECKPOINT_NAME = "checkpoint.pt"
_CHECKPOINT_FORMAT = 2

#: ``criterion(logits, target, inputs) -> loss``; ``target`` is the dataset's second item, batched.
Criterion = Callable[[torch.Tensor, Any, torch.Tensor], torch.Tensor]


@dataclass
class TrainConfig:
    """Everything that decides how a model is trained (all of it goes into the model cache key)."""

    epochs: int = 12
    batch_size: int = 32
    optimizer: str = "adam"  #: "adam" or "sgd" (with ``momentum``)
    lr: float = 2e-3  #: peak learning rate
    momentum: float = 0.9  #: SGD only
    weight_decay: float = 0.0
    schedule: str = "cosine"  #: per-step "cosine" decay to 0, "onecycle", or "constant"
    patience: int | None = None  #: stop after this many epochs without a ``monitor`` better by ``min_delta``
    min_delta: float = 0.0  #: how much better ``monitor`` must get to count as progress (0.005: half a point)
    monitor: str = "val_acc"  #: "val_acc" or "val_loss": picks the best epoch and drives early stopping
    grad_clip: float | None = None  #: clip the gradient norm (helps LSTMs); None: no clipping
    seed: int = 0
    amp: str | None = None  #: mixed precision: None, "bf16" or "fp16" (fp16 with a grad scaler, CUDA)
    num_threads: int | None = None  #: CPU threads; None: all cores (shared among local torchrun ranks)
    num_workers: int = 0  #: DataLoader worker processes
    eval_batch_size: int = EVAL_BATCH_SIZE

    def __post_init__(self) -> None:
        checks = [
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (self.monitor in MONITORS, f"monitor must be one of {MONITORS}, got {self.monitor!r}"),
            (self.amp in AMP_DTYPES, f"amp must be None, 'bf16' or 'fp16', got {self.amp!r}"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be at least 1"),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (self.patience is None or self.patience >= 1, "patience must be None or at least 1"),
            (self.min_delta >= 0, f"min_delta must not be negative, got {self.min_delta}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class History:
    """Per-epoch metrics of a training run (``val_*`` are NaN without a validation set)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  #: learning rate at the epoch's first step
    seconds: list[float] = field(default_factory=list)  #: wall time of the epoch (training + validation)
    best_epoch: int | None = None  #: 1-based epoch whose weights ``fit`` restored
    stopped_early: bool = False
    converged: bool | None = None  #: the convergence criterion met (:func:`plateaued`); None: not checked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> "History":
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})

    def best(self) -> dict[str, float]:
        """The metrics of the best epoch."""
        if self.best_epoch is None:
            raise ValueError("the history has no epochs yet")
        i = self.epoch.index(self.best_epoch)
        return {name: getattr(self, name)[i] for name in ("train_loss", "train_acc", "val_loss", "val_acc")}


def plateaued(val_acc: list[float], delta: float = PLATEAU_DELTA, window: int = PLATEAU_EPOCHS) -> bool | None:
    """The convergence criterion: the last ``window`` epochs improved the best validation
    accuracy by less than ``delta``. None when there is no validation accuracy to judge by;
    False when the run is too short to have a window and something before it.
    """
    values = [v for v in val_acc if v is not None and not math.isnan(v)]
    if not values:
        return None
    if len(values) <= window:
        return False
    return max(values[-window:]) - max(values[:-window]) < delta


def cross_entropy(logits: torch.Tensor, target: Any, inputs: torch.Tensor) -> torch.Tensor:
    """The default criterion: cross-entropy with the labels (the first element of a tuple target)."""
    return F.cross_entropy(logits, labels_of(target))


def labels_of(target: Any) -> torch.Tensor:
    """The labels in a batch's target: the target itself, or its first element."""
    return target[0] if isinstance(target, (tuple, list)) else target


# ---------------------------------------------------------------------------------------------
# Evaluation


def predict(model: nn.Module, dataset: Dataset, batch_size: int = EVAL_BATCH_SIZE, progress: bool = False
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits (N, classes) float32, labels (N,) int64)`` on CPU, in dataset order.

    Runs in eval mode (restoring the model's previous mode) on the device of its parameters.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    logits, labels = [], []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    try:
        with torch.no_grad():
            for inputs, target in tqdm(loader, desc="predict", leave=False, disable=not progress):
                logits.append(model(inputs.to(device)).float().cpu())
                labels.append(torch.as_tensor(labels_of(target)).cpu())
    finally:
        model.train(was_training)
    if not logits:
        raise ValueError("predict() got an empty dataset")
    return torch.cat(logits), torch.cat(labels).long()


def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = EVAL_BATCH_SIZE, progress: bool = False
             ) -> dict[str, float]:
    """``{"loss": mean cross-entropy, "accuracy": fraction correct, "n": clips}`` on ``dataset``."""
    logits, labels = predict(model, dataset, batch_size, progress)
    return {"loss": F.cross_entropy(logits, labels).item(), "accuracy": metrics.accuracy(logits, labels),
            "n": len(labels)}


def accuracy_percent(model: nn.Module, dataset: Dataset) -> float:
    """Accuracy in percent of ``model`` on ``dataset``."""
    return 100.0 * evaluate(model, dataset)["accuracy"]


# ---------------------------------------------------------------------------------------------
# Distributed helpers


def _world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _all_reduce_sum(values: list[float], device: torch.device, world: int) -> list[float]:
    if world == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(tensor)
    return tensor.tolist()


def default_device() -> torch.device:
    """CUDA (this process's ``LOCAL_RANK`` GPU under torchrun) when available, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def _threads(config: TrainConfig) -> int:
    """``config.num_threads``, else ``OMP_NUM_THREADS`` when set, else the cores shared among local ranks.

    On a machine shared with other busy processes, one thread per process is
    many times faster than as many threads as cores (the threads wait on each other).
    """
    if config.num_threads is not None:
        return config.num_threads
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    return max(1, (os.cpu_count() or 1) // local_ranks)


# ---------------------------------------------------------------------------------------------
# RNG state as plain Python types and tensors (loadable with weights_only=True)


def _rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss_next],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


# ---------------------------------------------------------------------------------------------
# The training loop


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        # The fused kernel: one call per step instead of a dozen per tensor (about 4 % of a
        # small student's step on a CPU); the same update, rounded in another order.
        device = next(model.parameters()).device.type
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                fused=device in ("cpu", "cuda"))
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps: int):
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def _to_device(target: Any, device: torch.device) -> Any:
    if isinstance(target, (tuple, list)):
        return type(target)(_to_device(t, device) for t in target)
    return target.to(device, non_blocking=True) if isinstance(target, torch.Tensor) else target


def train_step(model: nn.Module, inputs: torch.Tensor, target: Any, criterion: Criterion,
               optimizer: torch.optim.Optimizer, grad_clip: float | None = None,
               scaler: torch.amp.GradScaler | None = None, autocast: dict | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step on one batch; returns the loss and the logits.

    Forward pass and loss (in mixed precision when ``autocast`` says so), gradients
    of the loss, their norm clipped to ``grad_clip`` if given, and the update. The
    ``scaler`` multiplies an fp16 loss before the backward pass so that small
    gradients do not round to zero, and divides them back before clipping and
    the update; with fp32 it does nothing.
    """
    scaler = scaler or torch.amp.GradScaler(inputs.device.type, enabled=False)
    with torch.autocast(**(autocast or {"device_type": inputs.device.type, "enabled": False})):
        logits = model(inputs)
        loss = criterion(logits, target, inputs)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if grad_clip is not None:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss, logits


def _train_loader(dataset: Dataset, config: TrainConfig, epoch: int, rank: int, world: int) -> DataLoader:
    # A fresh seed per epoch: the order of epoch e never depends on what ran before it,
    # which is what makes a resumed run shuffle exactly like an uninterrupted one. A dataset
    # of epoch-dependent views (data.EpochViews) is told the epoch; any other augmentation
    # draws from the SeededLoader's private RNG, seeded the same way, so it never depends on
    # the model either (on how many numbers its dropout drew).
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    seed = config.seed * 10_000 + epoch
    if world > 1:
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
        sampler.set_epoch(epoch)
        return make_loader(dataset, config.batch_size, shuffle=False, seed=seed,
                           num_workers=config.num_workers, sampler=sampler)
    return make_loader(dataset, config.batch_size, shuffle=True, seed=seed, num_workers=config.num_workers)


def _steps_per_epoch(dataset: Dataset, config: TrainConfig, world: int) -> int:
    return math.ceil(math.ceil(len(dataset) / world) / config.batch_size)


def _validate(model: nn.Module, dataset: Dataset | None, config: TrainConfig, device: torch.device,
              rank: int, world: int) -> tuple[float, float]:
    """Validation (cross-entropy, accuracy), each rank predicting its share of the clips."""
    if dataset is None:
        return math.nan, math.nan
    if world > 1:  # every rank validates with rank 0's batch-norm statistics
        for buffer in model.buffers():
            torch.distributed.broadcast(buffer, 0)
    shard = Subset(dataset, range(rank, len(dataset), world)) if world > 1 else dataset
    loss_sum = correct = count = 0.0
    if len(shard):
        logits, labels = predict(model, shard, config.eval_batch_size)
        loss_sum = F.cross_entropy(logits, labels, reduction="sum").item()
        correct = (logits.argmax(1) == labels).sum().item()
        count = len(labels)
    loss_sum, correct, count = _all_reduce_sum([loss_sum, correct, count], device, world)
    return loss_sum / count, correct / count


class _Run:
    """The mutable state of one ``fit`` call, saved to and restored from the checkpoint."""

    def __init__(self) -> None:
        self.history = History()
        self.epochs_done = 0
        self.best_score: float | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.progress_score: float | None = None
        self.bad_epochs = 0

    def improved(self, score: float) -> bool:
        """Whether this epoch's ``score`` (higher is better) beats the best so far (its weights are then kept)."""
        if math.isnan(score):  # no validation set: the last epoch is the best
            return True
        return self.best_score is None or score > self.best_score

    def progressed(self, score: float, delta: float) -> bool:
        """Whether ``score`` beats the score of the last epoch that made progress by at least
        ``delta`` (small gains do not add up to progress; patience counts epochs without it)."""
        if math.isnan(score) or self.progress_score is None:
            return True
        return score > self.progress_score if delta == 0 else score >= self.progress_score + delta - 1e-12


def _checkpoint(run: _Run, config: TrainConfig, model: nn.Module, optimizer, scheduler, scaler,
                rng: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": _CHECKPOINT_FORMAT,
        "config": config.to_dict(),
        "epochs_done": run.epochs_done,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "history": run.history.to_dict(),
        "early_stopping": {"best_score": run.best_score, "bad_epochs": run.bad_epochs,
                           "best_weights": run.best_weights, "progress_score": run.progress_score},
        "rng": rng,
    }


def _restore(path: Path, run: _Run, config: TrainConfig, model: nn.Module, optimizer, scheduler, scaler,
             rank: int, world: int, device: torch.device) -> None:
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a gesturelib checkpoint (format {state.get('format')!r})")
    saved = state["config"]
    changed = sorted(k for k, v in config.to_dict().items() if saved.get(k) != v and k != "num_threads")
    if changed:
        raise ValueError(f"{path}: checkpoint of a run with other settings ({', '.join(changed)}); "
                         "use another checkpoint_dir or delete it to start over")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    run.history = History.from_dict(state["history"])
    run.epochs_done = state["epochs_done"]
    stopping = state["early_stopping"]
    run.best_score, run.bad_epochs, run.best_weights = (
        stopping["best_score"], stopping["bad_epochs"], stopping["best_weights"])
    run.progress_score = stopping["progress_score"]
    if len(state["rng"]) == world:
        _set_rng_state(state["rng"][rank])
    else:  # resumed with another number of processes: the dropout streams cannot match anyway
        log.warning("%s: saved by %d processes, resumed by %d; reseeding the RNGs",
                    path, len(state["rng"]), world)
        seed_everything(config.seed * 10_000 + run.epochs_done * 100 + rank)


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset | None, config: TrainConfig,
        checkpoint_dir: str | os.PathLike | None = None, criterion: Criterion | None = None,
        progress: bool = True) -> History:
    """Train ``model`` in place and return its :class:`History`.

    ``criterion(logits, target, inputs) -> loss`` defaults to cross-entropy;
    ``target`` is whatever the dataset yields as its second item (labels, or a
    tuple whose first element is the labels). Validation always measures plain
    cross-entropy and accuracy on the labels, so runs with different criteria
    compare. At the end the weights of the best epoch (by ``config.monitor``)
    are restored and the model is left in eval mode on the training device.

    With ``checkpoint_dir``, a checkpoint is written after every epoch and an
    existing one is resumed (its settings must match ``config``).

    Seed before building the model (``runtime.seed_everything``) for runs that
    repeat exactly: ``fit`` seeds the training RNGs, not the initial weights.
    """
    criterion = criterion or cross_entropy
    rank, world = _world()
    device = default_device()
    if device.type == "cpu":
        torch.set_num_threads(_threads(config))
    seed_everything(config.seed * 10_000 + rank)
    model.to(device)
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last_3d)
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimizer = _optimizer(model, config)
    steps = _steps_per_epoch(train_set, config, world)
    scheduler = _scheduler(optimizer, config, steps * config.epochs)
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
    autocast = dict(device_type=device.type, dtype=AMP_DTYPES[config.amp], enabled=config.amp is not None)

    run = _Run()
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if path is not None and path.exists():
        _restore(path, run, config, model, optimizer, scheduler, scaler, rank, world, device)
        if rank == 0:
            log.info("%s: resuming after epoch %d of %d", path, run.epochs_done, config.epochs)

    show = progress and rank == 0
    epochs = tqdm(total=config.epochs, initial=run.epochs_done, desc=f"train {type(model).__name__}",
                  disable=not show, unit="epoch")
    for epoch in range(run.epochs_done, config.epochs):
        if run.history.stopped_early:
            break
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        net.train()
        loss_sum = correct = count = 0.0
        batches = tqdm(_train_loader(train_set, config, epoch, rank, world), desc=f"epoch {epoch + 1}",
                       leave=False, disable=not show, total=steps, unit="batch")
        for inputs, target in batches:
            inputs = inputs.to(device, non_blocking=True)
            target = _to_device(target, device)
            loss, logits = train_step(net, inputs, target, criterion, optimizer, config.grad_clip, scaler, autocast)
            scheduler.step()
            labels = labels_of(target)
            loss_sum += loss.item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            count += len(labels)
        loss_sum, correct, count = _all_reduce_sum([loss_sum, correct, count], device, world)
        val_loss, val_acc = _validate(model, val_set, config, device, rank, world)

        history = run.history
        history.epoch.append(epoch + 1)
        history.train_loss.append(loss_sum / count)
        history.train_acc.append(correct / count)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        history.lr.append(lr)
        history.seconds.append(time.perf_counter() - start)
        score = {"val_acc": val_acc, "val_loss": -val_loss}[config.monitor]
        progressed = run.progressed(score, config.min_delta)
        if run.improved(score):
            run.best_score = score
            run.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.best_epoch = epoch + 1
        if progressed:
            run.progress_score = score
            run.bad_epochs = 0
        else:
            run.bad_epochs += 1
            history.stopped_early = config.patience is not None and run.bad_epochs >= config.patience
        run.epochs_done = epoch + 1
        epochs.update()
        epochs.set_postfix(loss=f"{history.train_loss[-1]:.3f}", acc=f"{history.train_acc[-1]:.3f}",
                           val_acc=f"{val_acc:.3f}")

        if path is not None:
            rng = [_rng_state()]
            if world > 1:
                rng = [None] * world
                torch.distributed.all_gather_object(rng, _rng_state())
            if rank == 0:
                files.save_torch(_checkpoint(run, config, model, optimizer, scheduler, scaler, rng), path)
    epochs.close()
    run.history.converged = plateaued(run.history.val_acc, window=config.patience or PLATEAU_EPOCHS)

    if run.best_weights is not None:
        model.load_state_dict(run.best_weights)
    model.eval()
    return run.history


def save_history(history: History, path: str | os.PathLike) -> None:
    """Write a history as JSON (atomically); NaN is written as null."""
    files.write_json(path, history.to_dict())


def load_history(path: str | os.PathLike) -> History:
    """Read a history written by :func:`save_history`."""
    import json

    data = json.loads(Path(path).read_text())
    for name in ("val_loss", "val_acc"):
        data[name] = [math.nan if v is None else v for v in data[name]]
    return History.from_dict(data)
