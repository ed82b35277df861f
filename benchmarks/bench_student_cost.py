"""Seconds per training epoch of every model kind, side by side, on one CPU thread.

    python benchmarks/bench_student_cost.py                 # the five kinds, course preset
    python benchmarks/bench_student_cost.py --options       # and the student trunks that were tried
    python benchmarks/bench_student_cost.py --clips 256 --rounds 1   # a quick look

What a student must cost: its training epoch at most 1/3 of the 3D-CNN
teacher's. Each measurement is a real ``train.fit`` run (Adam, cosine
schedule, channels_last_3d, batch 32, no validation, 2 epochs) with
``torch.set_num_threads(1)`` on ``--clips`` random uint8 clips of the course
size, read the way ``data.GestureClips`` reads them (``uint8 -> float / 255``)
and passed through ``data.poster_augmentation("course")``, so the epoch includes the
data path of a real run. A kind's time is its fastest epoch over all rounds;
the kinds take turns within each round (cnn3d, lstm, joint, students, cnn3d,
...), so slow phases of a shared machine hit all of them. The first row, the
data path alone, is the floor under every epoch.

``--options`` adds the student trunks that were tried, built from the same
:func:`models.student_architecture` widths (same parameter counts):

- ``max-pool``: the joint model's blocks (conv, max-pool, batch norm, ReLU);
- ``stem 1x2x2``: only the first convolution strides 2 in space, its block
  still max-pools time by 2;
- ``stem 2x2x2``: only the first convolution strides 2 in space and time, its
  block has no max-pool;
- the students as built (``strided``): every convolution strides by its
  block's pooling factor, no max-pool at all, and odd kernels pad inside the
  convolution (no padded copy of the input).

Measured on the project's 2-core machine (one thread, 1136 clips, other
work running), fastest epoch as a share of the teacher's (3.5 s): the data
path alone 0.06; small student 0.28 as built, 0.77 with max-pool blocks,
0.52 with a 1x2x2 stem, 0.45 with a 2x2x2 stem; medium student 0.32, 0.97,
0.67, 0.56. So the students stride every convolution (in
:func:`models.student_architecture`); the stem-only options stay here as
flags of this script, not of the library.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch
from torch import nn
from torch.utils.data import Dataset

from gesturelib import data, models, train

PRESET = "course"


class RandomClips(Dataset):
    """Random uint8 clips of the course size, read like ``data.GestureClips`` (float in [0, 1])."""

    def __init__(self, count: int, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.clips = torch.randint(0, 256, (count, *models.input_shape(PRESET)), dtype=torch.uint8,
                                   generator=generator)
        self.labels = torch.randint(0, models.NUM_CLASSES, (count,), generator=generator)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.clips[index].float().div_(255), int(self.labels[index])  # as GestureClips.__getitem__


def augmented_clips(count: int, seed: int = 0) -> data.EpochViews:
    """``count`` random clips with the course augmentation, as the chapters train on them."""
    return data.EpochViews(RandomClips(count, seed), data.poster_augmentation(PRESET))


def _stem_only(model: models.RecurrentClassifier, stride: tuple[int, int, int]) -> nn.Module:
    """A max-pool student whose first convolution strides by ``stride`` (its pool keeps the rest)."""
    encoder = model.encoder
    conv, pool = encoder[1], encoder[2]
    encoder[1] = nn.Conv3d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=stride, bias=False,
                           groups=conv.groups)
    rest = tuple(p // s for p, s in zip(pool.kernel_size, stride))
    encoder[2] = nn.MaxPool3d(rest) if rest != (1, 1, 1) else nn.Identity()
    return model


def _builders(options: bool) -> dict[str, callable]:
    builders = {kind: (lambda kind=kind: models.build(kind, PRESET)) for kind in models.KINDS}
    if not options:
        return builders
    for kind in models.STUDENT_RATIOS:
        pooled = dataclasses.replace(models.ARCHITECTURES[PRESET][kind], strided=False)
        short = kind.removeprefix("student_")
        builders[f"{short} max-pool"] = lambda a=pooled: models.RecurrentClassifier(a, PRESET, 4)
        builders[f"{short} stem 1x2x2"] = lambda a=pooled: _stem_only(models.RecurrentClassifier(a, PRESET, 4),
                                                                      (1, 2, 2))
        builders[f"{short} stem 2x2x2"] = lambda a=pooled: _stem_only(models.RecurrentClassifier(a, PRESET, 4),
                                                                      (2, 2, 2))
    return builders


def data_seconds(dataset: Dataset, batch_size: int) -> float:
    """One epoch of the training loader alone (augmentation, conversion, batching)."""
    start = time.perf_counter()
    for _ in data.make_loader(dataset, batch_size, shuffle=True):
        pass
    return time.perf_counter() - start


def epoch_seconds(model: nn.Module, dataset: Dataset, batch_size: int) -> list[float]:
    config = train.TrainConfig(epochs=2, batch_size=batch_size, num_threads=1)
    return train.fit(model, dataset, None, config, progress=False).seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1136)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="turns of every kind (fastest epoch kept)")
    parser.add_argument("--options", action="store_true", help="also the student trunks that were tried")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = augmented_clips(args.clips)
    builders = _builders(args.options)
    params = {name: models.count_params(build()) for name, build in builders.items()}

    times: dict[str, list[float]] = {"data path alone": [], **{name: [] for name in builders}}
    for round_ in range(args.rounds):
        times["data path alone"].append(data_seconds(dataset, args.batch_size))
        for name, build in builders.items():
            torch.manual_seed(0)
            times[name] += epoch_seconds(build(), dataset, args.batch_size)
            print(f"round {round_ + 1}: {name:<22}" + " ".join(f"{s:6.2f}" for s in times[name]), flush=True)

    teacher = min(times["cnn3d"])
    print(f"\ntorch {torch.__version__}, 1 thread; {args.clips} random clips {models.input_shape(PRESET)}, "
          f"batch {args.batch_size}, course augmentation; fastest of {2 * args.rounds} epochs")
    print(f"{'kind':<22}{'params':>9}{'s/epoch':>9}{'x cnn3d':>9}")
    for name, seconds in times.items():
        count = f"{params[name]:,}" if name in params else ""
        print(f"{name:<22}{count:>9}{min(seconds):>9.2f}{min(seconds) / teacher:>9.2f}")


if __name__ == "__main__":
    main()
