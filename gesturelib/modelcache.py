"""Trained models, stored under a hash of everything that made them.

A notebook asks for "the joint model of the course preset, trained with these
settings on this data" through :func:`load_or_train`; the first call trains
it, every later call (from any notebook) loads it. The key hashes the model
kind, preset and architecture, the dataset's identity (``data_key``, for
example the clip cache's hash), every :class:`~gesturelib.train.TrainConfig`
field (the seed included) and ``extra_key`` (whatever else shaped the model,
such as a teacher's key and the distillation settings). Change any of them and
another model is trained.

Layout: ``<data root>/models/<kind>-<preset>-<hash>/`` holding ``model.pt``
(the weights), ``history.json`` and ``key.json`` (the key, readable).
``key.json`` is written last, so a folder without it is an unfinished run;
while training, ``checkpoint/`` holds the trainer's checkpoint, so a notebook
interrupted mid-training resumes where it stopped.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from . import runtime
from . import models
from .files import save_torch, write_json
from .train import Criterion, History, TrainConfig, fit, load_history, save_history

_KEY_FORMAT = 2  # 2: early stopping counts progress from the last epoch that made it
_ONLY_CACHED = contextvars.ContextVar("only_cached", default=False)


class NotCached(LookupError):
    """Raised by :func:`load_or_train` inside :func:`only_cached` for a model not trained yet;
    ``folder`` is where it will be stored (one folder per key)."""

    def __init__(self, folder: Path):
        super().__init__(f"{folder.name}: not trained yet")
        self.folder = folder


@contextmanager
def only_cached():
    """Inside this block :func:`load_or_train` loads what is cached and raises
    :class:`NotCached` instead of training: a dry run that finds what is missing."""
    token = _ONLY_CACHED.set(True)
    try:
        yield
    finally:
        _ONLY_CACHED.reset(token)


def architecture_id(kind: str, preset: str) -> str:
    """A short hash of the model's layers (its printed structure), so a code change retrains."""
    return hashlib.sha256(repr(models.build(kind, preset)).encode()).hexdigest()[:16]


def model_key(kind: str, preset: str, config: TrainConfig, *, data_key: Any,
              extra_key: Any = None) -> dict[str, Any]:
    """The readable key of a trained model: everything that made it (all JSON types)."""
    key = {
        "format": _KEY_FORMAT,
        "kind": kind,
        "preset": preset,
        "architecture": {**asdict(models.ARCHITECTURES[preset][kind]),
                         "layers": architecture_id(kind, preset)},
        "data": data_key,
        "train": config.to_dict(),
        "extra": extra_key,
    }
    json.dumps(key)  # fails early, naming the culprit, when a key part is not JSON
    return key


def key_hash(key: dict[str, Any]) -> str:
    """16 hex digits of the SHA-256 of the key's canonical JSON."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def cache_folder(key: dict[str, Any], cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the model of ``key`` lives (``<data root>/models`` unless ``cache_dir``)."""
    root = Path(cache_dir) if cache_dir is not None else runtime.data_root() / "models"
    return root / f"{key['kind']}-{key['preset']}-{key_hash(key)}"


def load(folder: str | os.PathLike) -> tuple[nn.Module, History]:
    """The model (eval mode, CPU) and history stored in a finished cache folder."""
    folder = Path(folder)
    key_file = folder / "key.json"
    if not key_file.exists():
        raise FileNotFoundError(f"{folder}: no finished model here ({key_file.name} missing)")
    key = json.loads(key_file.read_text())
    model = models.build(key["kind"], key["preset"])
    model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
    model.to(memory_format=torch.channels_last_3d)  # as trained: the CPU kernels are much faster in it
    return model.eval(), load_history(folder / "history.json")


def load_or_train(kind: str, preset: str, train_set: Dataset, val_set: Dataset | None,
                  config: TrainConfig, *, data_key: Any, criterion: Criterion | None = None,
                  extra_key: Any = None, cache_dir: str | os.PathLike | None = None,
                  progress: bool = True) -> tuple[nn.Module, History]:
    """The trained model of this key (eval mode, CPU) and its history: loaded if cached, trained otherwise.

    ``data_key`` names the training and validation data (and their augmentation).
    A custom ``criterion`` shapes the model too, so it needs an ``extra_key``
    that describes it (e.g. ``{"teacher": <teacher's key hash>, "T": 4, "alpha": 0.5}``).
    Training seeds with ``config.seed`` before building the model, so the same
    key always yields the same weights on a CPU.
    """
    if criterion is not None and extra_key is None:
        raise ValueError("a custom criterion changes the trained model: describe it in extra_key")
    key = model_key(kind, preset, config, data_key=data_key, extra_key=extra_key)
    folder = cache_folder(key, cache_dir)
    if (folder / "key.json").exists():
        return load(folder)
    if _ONLY_CACHED.get():
        raise NotCached(folder)
    runtime.seed_everything(config.seed)
    model = models.build(kind, preset)
    history = fit(model, train_set, val_set, config, checkpoint_dir=folder / "checkpoint",
                  criterion=criterion, progress=progress)
    save_torch(model.state_dict(), folder / "model.pt")
    save_history(history, folder / "history.json")
    write_json(folder / "key.json", key)  # last: marks the folder finished
    shutil.rmtree(folder / "checkpoint", ignore_errors=True)
    return model.cpu(), history
