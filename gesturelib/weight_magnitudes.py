"""What training does to the weights (chapter 07): counts below thresholds, the threshold that
removes a given fraction, how the weights moved from where they started, and the size of one
optimizer step against its gradient.

The poster says that training with Adam pushes most weights towards zero
("905 K of 1.15 M weights below 2^-100"). :func:`weights_record` counts the
weights under the poster's threshold and two others, :func:`quantile_threshold`
finds the threshold that would really remove a given fraction,
:func:`initial_model` rebuilds the weights a run started from, so that
:func:`moved_towards_zero` can compare, and :func:`update_sizes` measures one
optimizer step weight by weight.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import compress, models, runtime, train


def initial_model(kind: str, seed: int = 0, preset: str = "course") -> nn.Module:
    """The model of ``kind`` exactly as training starts from it (the model cache seeds, then builds).

    Like training, it reseeds the global random number generators.
    """
    runtime.seed_everything(seed)
    return models.build(kind, preset).eval()


def weights_record(model: nn.Module, accuracy_pct: float, scope: compress.Scope = "all") -> dict:
    """The results file's "weights" entry: counts below 2^-100, 2^-24 and 1e-3 out of ``total``,
    and the model's accuracy in percent (``accuracy_pct``).

    ``scope="all"`` counts every parameter, as the poster's "905 K of 1.15 M" does.
    """
    below = {tau: compress.count_below(model, tau, scope) for tau in (2.0**-100, 2.0**-24, 1e-3)}
    return {
        "total": below[1e-3].total,
        "below_2^-100": below[2.0**-100].selected,
        "below_2^-24": below[2.0**-24].selected,
        "below_1e-3": below[1e-3].selected,
        "accuracy": float(accuracy_pct),
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


@dataclass(frozen=True)
class UpdateSizes:
    """One optimizer step, weight by weight: the gradient and how far each weight moved (both absolute)."""

    optimizer: str
    lr: float
    step: int
    gradient: np.ndarray
    update: np.ndarray


def update_sizes(
    model: nn.Module, dataset: Dataset, config: train.TrainConfig, steps: int = 20, batch_size: int | None = None
) -> UpdateSizes:
    """Train a copy of ``model`` for ``steps`` steps as ``config`` would (optimizer, lr, momentum,
    weight decay, gradient clipping; constant lr) and return step ``steps`` weight by weight.

    Only weights of two or more dimensions (convolution, linear and recurrent
    matrices) are reported. ``gradient`` is the (clipped) gradient of that step.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    net = copy.deepcopy(model).cpu().float().train()
    params = [p for p in net.parameters() if p.dim() >= 2]
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                    weight_decay=config.weight_decay)
    loader = DataLoader(dataset, batch_size=batch_size or config.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(config.seed))
    if len(loader) == 0:
        raise ValueError("update_sizes needs a non-empty dataset")
    batches = (batch for _ in itertools.count() for batch in loader)  # epoch after epoch
    torch.manual_seed(config.seed)
    for step in range(1, steps + 1):
        inputs, target = next(batches)
        optimizer.zero_grad(set_to_none=True)
        train.cross_entropy(net(inputs), target, inputs).backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
        before = [p.detach().clone() for p in params]
        optimizer.step()
    return UpdateSizes(
        optimizer=config.optimizer, lr=config.lr, step=steps,
        gradient=torch.cat([p.grad.abs().flatten() for p in params]).double().numpy(),
        update=torch.cat([(p.detach() - b).abs().flatten() for p, b in zip(params, before)]).double().numpy(),
    )
