"""The difficulty yardstick: how far a plain linear classifier on tiny clips gets.

A dataset is a fair test of a 3D-CNN only when the classes cannot be told
apart by templates: if every clip of a class had its key poses at the same
frames, a linear classifier on the clips shrunk to 8x8 pixels would match
them. :func:`linear_probe` trains exactly that (multinomial logistic
regression on the clips average-pooled to ``size`` x ``size``, all frames,
both streams and channels) on the training users and scores it on other
users; ``order=False`` averages the frames first, so the probe sees no motion
at all. Chapter 03 reports it beside the teacher, and the embedded dataset's
difficulty knob was calibrated so that it stays far below the teacher
(``tools/calibrate_difficulty.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from . import metrics
from .train import predict

#: Side of the pooled frames the probe reads.
PROBE_SIZE = 8
#: L2 penalties tried; the one with the best validation accuracy is kept.
PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1)


@dataclass(frozen=True)
class ProbeResult:
    """Accuracies (fractions) of the best probe, and the penalty chosen on validation."""

    train: float
    validation: float
    test: float | None
    penalty: float
    features: int


def pooled_features(dataset: Dataset, size: int = PROBE_SIZE, order: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features (N, D), labels (N,))``: every clip average-pooled to ``size`` x ``size``
    (and, with ``order=False``, averaged over its frames)."""
    features, labels = [], []
    for clips, target in DataLoader(dataset, batch_size=256, shuffle=False):
        batch, streams, channels, frames, height, width = clips.shape
        pooled = F.adaptive_avg_pool2d(clips.flatten(0, 3), size).unflatten(0, (batch, streams, channels, frames))
        if not order:
            pooled = pooled.mean(dim=3)
        features.append(pooled.flatten(1))
        labels.append(torch.as_tensor(target))
    return torch.cat(features), torch.cat(labels).long()


def _fit(x: torch.Tensor, y: torch.Tensor, classes: int, penalty: float) -> torch.nn.Linear:
    torch.manual_seed(0)
    model = torch.nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=300, history_size=20,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y) + penalty * model.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return model


def linear_probe(train_set: Dataset, validation_set: Dataset, test_set: Dataset | None = None,
                 size: int = PROBE_SIZE, order: bool = True, classes: int = 20) -> ProbeResult:
    """Logistic regression on pooled clips: fitted on ``train_set``, penalty chosen on ``validation_set``."""
    x_train, y_train = pooled_features(train_set, size, order)
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    standardise = lambda x: (x - mean) / std  # noqa: E731
    x_train = standardise(x_train)
    x_val, y_val = pooled_features(validation_set, size, order)
    x_val = standardise(x_val)

    def accuracy(model, x, y) -> float:
        with torch.no_grad():
            return metrics.accuracy(model(x), y)

    fits = {penalty: _fit(x_train, y_train, classes, penalty) for penalty in PENALTIES}
    penalty = max(fits, key=lambda p: accuracy(fits[p], x_val, y_val))
    best = fits[penalty]
    test_acc = None
    if test_set is not None:
        x_test, y_test = pooled_features(test_set, size, order)
        test_acc = accuracy(best, standardise(x_test), y_test)
    return ProbeResult(accuracy(best, x_train, y_train), accuracy(best, x_val, y_val), test_acc,
                       penalty, x_train.shape[1])


def reverse_frames(clip: torch.Tensor) -> torch.Tensor:
    """The clip played backwards (time is axis 2 of a (2, 2, T, H, W) clip)."""
    return clip.flip(2)


def blank_stream(index: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """A probe that sets one stream (0: body, 1: hand) of a clip to zero (black, no user)."""
    def blank(clip: torch.Tensor) -> torch.Tensor:
        out = clip.clone()
        out[index] = 0
        return out
    return blank


#: The probes of :func:`probe_table`: name -> what it does to one clip.
PROBES: dict[str, Callable[[torch.Tensor], torch.Tensor] | None] = {
    "as recorded": None,
    "frames reversed": reverse_frames,
    "hand stream blanked": blank_stream(1),
    "body stream blanked": blank_stream(0),
}


class Probed(Dataset):
    """``dataset`` with ``alteration`` applied to every clip (None: the clips as recorded)."""

    def __init__(self, dataset: Dataset, alteration: Callable[[torch.Tensor], torch.Tensor] | None):
        self.dataset, self.alteration = dataset, alteration

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        clip, target = self.dataset[index]
        return (clip if self.alteration is None else self.alteration(clip)), target


def probe_table(models_by_name: Mapping[str, nn.Module], dataset: Dataset,
                probes: Mapping[str, Callable | None] = PROBES, progress: bool = True) -> pd.DataFrame:
    """Every model under every probe: :func:`metrics.structure_scores` as long rows.

    Columns: ``model``, ``probe``, ``subset`` (a structure, the other classes,
    all classes), ``clips``, ``accuracy %`` (against the true labels) and
    ``as partner %``.
    """
    rows = []
    runs = [(name, model, probe_name, probe) for name, model in models_by_name.items()
            for probe_name, probe in probes.items()]
    for name, model, probe_name, probe in tqdm(runs, desc="probes", unit="run", disable=not progress):
        logits, labels = predict(model, Probed(dataset, probe))
        scores = metrics.structure_scores(logits, labels).reset_index(names="subset")
        scores.insert(0, "probe", probe_name)
        scores.insert(0, "model", name)
        rows.append(scores)
    return pd.concat(rows, ignore_index=True)
