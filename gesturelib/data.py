"""Gesture clips as a torch Dataset, their augmentation, and a reproducible loader.

:class:`GestureClips` reads one split of the clip cache (preparing it on first
use) and yields ``(clip, label)`` with the clip as float32 in [0, 1], shape
``(2 [body, hand], 2 [gray, depth], T, H, W)``.

:func:`poster_augmentation` is the poster's rotation, translation and zoom, built on
``torchvision.transforms.v2.RandomAffine``. A v2 transform draws its random
parameters once per call, and a ``tv_tensors.Video`` of shape (T, C, H, W) is
one call, so every frame and both channels of a stream move together: the
augmentation changes where the gesture sits in the crop, never the motion
itself. The body and hand streams get independent draws, because they are
separate crops whose framing varies independently (the hand box follows the
hand, the body box the hips). Applied in ``__getitem__``, each clip of a batch
gets its own draw.

:func:`make_loader` makes batches *and* augmentations a function of its seed.
"""

from __future__ import annotations

import math
import os
import random
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from . import chalearn, clipcache, cropping


class GestureClips(Dataset):
    """One split of a dataset folder's gesture clips, torchvision style.

    ``root`` is the dataset folder (embedded or real ChaLearn), ``split`` one
    of its splits (``train``, ``validation``, ``test``). Items are
    ``(float32 clip (2, 2, T, H, W) in [0, 1], int label 0..19)``, the clip
    passed through ``transform`` when given. Attributes: ``labels``, ``users``
    (int64 tensors), ``sequences`` (names), ``starts``/``ends`` (gesture
    frames), ``classes`` (gesture names, index = label), ``settings``.
    """

    def __init__(self, root: str | os.PathLike, split: str, preset: str = "course",
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 cache_dir: str | os.PathLike | None = None):
        self.root = root
        self.split = split
        self.settings = cropping.settings_for(preset)
        self.transform = transform
        stored = clipcache.load_split(root, split, self.settings, cache_dir)
        self.clips: torch.Tensor = stored["clips"]
        self.labels: torch.Tensor = stored["labels"]
        self.users: torch.Tensor = stored["users"]
        self.sequences: list[str] = stored["sequences"]
        self.starts: torch.Tensor = stored["starts"]
        self.ends: torch.Tensor = stored["ends"]
        self.mirrored: torch.Tensor = stored["mirrored"]
        self.classes: list[str] = list(chalearn.GESTURES)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        clip = self.clips[index].float().div_(255)
        if self.transform is not None:
            clip = self.transform(clip)
        return clip, int(self.labels[index])

    def __repr__(self) -> str:
        return (f"GestureClips(root={str(self.root)!r}, split={self.split!r}, "
                f"preset={self.settings.name!r}, clips={len(self)})")


class ClipAugmentation(torch.nn.Module):
    """Random rotation, translation and zoom of a clip: one draw per stream, shared by
    all its frames and both channels. Takes and returns (2, 2, T, H, W) tensors.

    ``self.affine``, a ``v2.RandomAffine``, defines the warp; ``reference``
    applies it the plain way, one v2 call per stream. ``forward`` gives
    bit-identical clips (``tests/test_data.py`` checks it) in less than half
    the time: it draws each stream's parameters with the same calls as
    ``v2.RandomAffine.make_params``, builds the inverse matrix with the same
    arithmetic as v2's kernel (:func:`inverse_affine_matrix`), and warps both
    streams in one ``grid_sample`` call (and their masks in another) over a
    sampling grid whose constant part is computed once. On 32x32 crops v2's
    per-call overhead made augmentation about a fifth of a student's epoch.
    """

    def __init__(self, rotation: float, translation: float, zoom: tuple[float, float]):
        super().__init__()
        # Imported here, not at the top: importing torchvision takes about a second, and only
        # augmentation needs it (a chapter that loads trained models never augments).
        from torchvision.transforms import v2

        self.affine = v2.RandomAffine(degrees=rotation, translate=(translation, translation), scale=zoom,
                                      interpolation=v2.InterpolationMode.BILINEAR, fill=0)
        self._base_grids: dict[tuple[int, int], torch.Tensor] = {}

    def reference(self, clip: torch.Tensor) -> torch.Tensor:
        """The same augmentation through one ``v2.RandomAffine`` call per stream."""
        from torchvision import tv_tensors

        streams = []
        for stream in clip:  # (C, T, H, W) -> a (T, C, H, W) video: one parameter draw
            video = tv_tensors.Video(stream.transpose(0, 1))
            streams.append(self.affine(video).as_subclass(torch.Tensor).transpose(0, 1))
        return torch.stack(streams)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        streams, channels, frames, height, width = clip.shape
        matrices = [inverse_affine_matrix(*self._draw(height, width)) for _ in range(streams)]
        # v2's _affine_grid, batched over the streams: pixel-centre coordinates times
        # the inverse matrix, normalised to [-1, 1].
        theta = torch.tensor(matrices, dtype=clip.dtype).reshape(streams, 2, 3)
        scaled = theta.transpose(1, 2).div_(torch.tensor([0.5 * width, 0.5 * height], dtype=clip.dtype))
        grid = self._base_grid(height, width, clip.dtype).expand(streams, -1, -1).bmm(scaled)
        # v2's _apply_grid_transform with fill 0: warping a plane of ones marks where the
        # warp reached outside the crop, and those pixels are scaled towards 0.
        grid = grid.view(streams, height, width, 2)
        warped = F.grid_sample(clip.reshape(streams, channels * frames, height, width), grid,
                               mode="bilinear", padding_mode="zeros", align_corners=False)
        mask = F.grid_sample(torch.ones(streams, 1, height, width, dtype=clip.dtype), grid,
                             mode="bilinear", padding_mode="zeros", align_corners=False)
        return warped.mul_(mask).reshape(clip.shape)

    def _draw(self, height: int, width: int) -> tuple[float, int, int, float]:
        """(angle, tx, ty, scale): the numbers ``v2.RandomAffine.make_params`` draws, in its order."""
        (low, high), (dx, dy), (small, large) = self.affine.degrees, self.affine.translate, self.affine.scale
        angle = torch.empty(1).uniform_(low, high).item()
        max_dx, max_dy = float(dx * width), float(dy * height)
        tx = int(round(float(torch.empty(1).uniform_(-max_dx, max_dx).item())))
        ty = int(round(float(torch.empty(1).uniform_(-max_dy, max_dy).item())))
        return angle, tx, ty, torch.empty(1).uniform_(small, large).item()

    def _base_grid(self, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
        """(1, H*W, 3) rows ``(x, y, 1)`` of pixel centres, origin at the crop centre."""
        key = (height, width)
        if key not in self._base_grids:
            base = torch.empty(1, height, width, 3, dtype=dtype)
            base[..., 0].copy_(torch.linspace((1.0 - width) * 0.5, (width - 1.0) * 0.5, steps=width))
            base[..., 1].copy_(torch.linspace((1.0 - height) * 0.5, (height - 1.0) * 0.5, steps=height).unsqueeze_(-1))
            base[..., 2].fill_(1)
            self._base_grids[key] = base.view(1, height * width, 3)
        return self._base_grids[key]


class EpochViews(Dataset):
    """Augmented views of a dataset's clips that depend only on (epoch, index), never on the run.

    Item ``index`` in epoch ``e`` (set by the trainer through :meth:`set_epoch`)
    is ``augmentation`` applied to ``dataset[index]`` with torch's generator
    seeded from ``(seed, e, index)``, inside ``torch.random.fork_rng`` so the
    caller's random state is untouched. Every run, whatever its own seed, model
    or loss, sees the same view of a clip in a given epoch, and a clip listed
    twice (a repeated subset) gets two views. So the views of an epoch are a
    fixed part of the data, like the clips: a teacher's outputs on them can be
    computed once and shared by every student (``distill.TeacherTargets``),
    and a seed varies what it should, the initial weights, the batch order and
    dropout.
    """

    def __init__(self, dataset: Dataset, augmentation: Callable[[torch.Tensor], torch.Tensor], seed: int = 0):
        self.dataset = dataset
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0
        self._kept: tuple[int, list[tuple[torch.Tensor, int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Serve the views of ``epoch`` (0-based; the trainer calls it before each epoch)."""
        self.epoch = epoch
        if self._kept is not None and self._kept[0] != epoch:
            self._kept = None

    def keep(self, epoch: int, items: list[tuple[torch.Tensor, int]]) -> None:
        """Serve ``items``, every item of ``epoch`` as :meth:`view` made it, without making
        them again, until another epoch is set. The teacher's pass over the current epoch
        (``distill.TeacherTargets``) hands its views on to the student's own batches."""
        self._kept = (epoch, items)

    def view(self, index: int, epoch: int) -> tuple[torch.Tensor, int]:
        """Item ``index`` as epoch ``epoch`` sees it: (augmented clip, label)."""
        if self._kept is not None and self._kept[0] == epoch:
            return self._kept[1][index]
        clip, label = self.dataset[index]
        with torch.random.fork_rng(devices=[]):
            # The CPU generator alone: torch.manual_seed also seeds every other device
            # type, which takes a hundred times longer than the seeding itself.
            torch.default_generator.manual_seed(((self.seed * 1_000_003 + epoch) * 1_000_000_007 + index) % 2**63)
            return self.augmentation(clip), label

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.view(index, self.epoch)

    def __getattr__(self, name: str):
        # The wrapped dataset's metadata (labels, users, classes, ...) reads through.
        if name.startswith("__") or name in ("dataset", "_kept"):  # unpickling asks before they exist
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self) -> int:
        return len(self.dataset)

    def __repr__(self) -> str:
        return f"EpochViews({self.dataset!r}, {self.augmentation!r}, seed={self.seed})"


def inverse_affine_matrix(angle: float, tx: float, ty: float, scale: float) -> list[float]:
    """The 2x3 matrix (row-major) that maps an output pixel back to where it samples the input,
    for a rotation by ``angle`` degrees and a zoom by ``scale`` about the crop centre, then a
    shift by ``(tx, ty)`` pixels: ``x_in = R(angle)^-1 (x_out - t) / scale``.

    The arithmetic of torchvision's affine kernel with no shear, step for step, so that the
    fast path of :class:`ClipAugmentation` matches ``v2.RandomAffine`` bit for bit.
    """
    rotation = math.radians(angle)
    cos, sin = math.cos(rotation), math.sin(rotation)
    matrix = [cos / scale, sin / scale, 0.0, -sin / scale, cos / scale, 0.0]
    matrix[2] += 0.0 - matrix[0] * tx - matrix[1] * ty
    matrix[5] += 0.0 - matrix[3] * tx - matrix[4] * ty
    return matrix


def poster_augmentation(preset: str = "course", rotation: float = 10.0, translation: float = 0.1,
                        zoom: tuple[float, float] = (0.9, 1.1)) -> ClipAugmentation:
    """The poster's augmentation (rotation, translation, zoom) for clips of ``preset``.

    ``rotation``: maximum angle in degrees (uniform in +-rotation);
    ``translation``: maximum shift as a fraction of the crop side;
    ``zoom``: range of the scale factor. The poster gives no magnitudes: these
    are mild values that keep the hand inside its crop. They are fractions of
    the crop, so both presets use the same ones.
    """
    cropping.settings_for(preset)  # unknown preset names fail here, not at the first batch
    return ClipAugmentation(rotation, translation, zoom)


class SeededLoader(DataLoader):
    """A DataLoader whose batches and augmentations depend only on its generator's seed.

    With worker processes, PyTorch seeds worker ``i``'s torch RNG with
    ``base_seed + i``, where ``base_seed`` is drawn from the loader's generator
    at each epoch; :func:`_seed_worker` derives NumPy's and Python's seeds
    from it. So the same seed and the same ``num_workers`` give the same
    augmentations (a different worker count deals items to other workers).
    Without workers, ``__getitem__`` runs in this process, where training code
    also draws from torch's global RNG (dropout): the loader then keeps a
    private RNG state of its own, seeded from its generator at each epoch and
    swapped in only while a batch is fetched.
    """

    def __iter__(self) -> Iterator:
        if self.num_workers > 0:
            yield from super().__iter__()
            return
        epoch_seed = int(torch.randint(2**62, (), generator=self.generator))
        private = torch.Generator().manual_seed(epoch_seed).get_state()
        batches = super().__iter__()
        while True:
            outer = torch.get_rng_state()
            torch.set_rng_state(private)
            try:
                batch = next(batches)
            except StopIteration:
                return
            finally:
                private = torch.get_rng_state()
                torch.set_rng_state(outer)
            yield batch


def _seed_worker(worker_id: int) -> None:
    """NumPy and Python seeds of a worker, from the torch seed PyTorch gave it."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0,
                num_workers: int = 0, **kwargs) -> SeededLoader:
    """A :class:`SeededLoader`: same seed -> same batches, in the same order, with the
    same augmentations. Extra keyword arguments go to ``DataLoader``."""
    generator = torch.Generator().manual_seed(seed)
    return SeededLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                        num_workers=num_workers, worker_init_fn=_seed_worker if num_workers else None,
                        **kwargs)
