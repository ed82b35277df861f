"""The poster's models: a two-stream 3D-CNN, a frame LSTM and the joint 3D-CNN + LSTM.

Every model reads the clip tensor convention of the project, float
``(batch, streams=2 [body, hand], channels=2 [gray, depth], T, H, W)``, and
returns logits over the 20 gestures. Each stream (body, hand) has its own
convolutional encoder in Pigou et al.'s (2014) style: three convolutions, each
followed by 2x max-pooling, batch norm and ReLU; the two streams' features are
concatenated.

- ``cnn3d``: the baseline and the teacher. The encoder sees the whole clip;
  dropout, a fully connected layer, dropout and the classifier follow.
- ``lstm``: the LSTM baseline. The encoder is a per-frame 2D CNN (written as
  3D convolutions with a temporal kernel of 1, so the code path is shared); an
  LSTM runs over the frames.
- ``joint``: the poster's model. A 3D-CNN encodes groups of
  :data:`GROUP_FRAMES` consecutive frames; an LSTM runs over the sequence of
  group features and its last hidden state is classified. Clips of any length
  of at least one group work, and padded batches of mixed lengths too (pass
  ``lengths``).
- ``student_medium`` / ``student_small``: the joint model with about half and
  a quarter of its widths, so about 4x and 16x fewer parameters (the poster's
  ratios).

Two presets share this one code path and differ only by the numbers in
:data:`ARCHITECTURES`: ``course`` (16 frames of 32x32, ~0.3 M parameters,
trainable on a laptop CPU) and ``paper`` (32 frames of 64x64, within 1 % of
the poster's parameter counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

NUM_CLASSES = 20
STREAMS = 2  # body, hand
CHANNELS = 2  # gray, depth
KINDS: tuple[str, ...] = ("cnn3d", "lstm", "joint", "student_medium", "student_small")
PRESETS: tuple[str, ...] = ("course", "paper")
#: Frames per group that the joint models' 3D-CNN encodes into one LSTM step.
GROUP_FRAMES = 4
#: Dropout before each fully connected layer (Pigou et al. use 0.5).
DROPOUT = 0.5

#: Input size (T, H, W) per preset; the same numbers as ``clips.settings_for``.
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {"course": (16, 32, 32), "paper": (32, 64, 64)}

#: Parameter counts in the poster (Table 2); the LSTM baseline's is not published.
POSTER_PARAMS: dict[str, float] = {
    "cnn3d": 18.82e6, "joint": 18.37e6, "student_medium": 4.59e6, "student_small": 1.15e6,
}


@dataclass(frozen=True)
class Architecture:
    """The numbers that differ between presets and kinds.

    ``conv``: feature maps of the three convolutions of each stream.
    ``kernels``: their spatial kernel sizes (Pigou: 5, 5, 4 on 64x64 crops).
    ``fc``: units of the fully connected layer (for the recurrent models, the
    size of the per-step feature fed to the LSTM). ``lstm``: LSTM hidden units
    (0 for the 3D-CNN).
    """

    conv: tuple[int, int, int]
    kernels: tuple[int, int, int]
    fc: int
    lstm: int = 0


_COURSE_K = (3, 3, 3)  # half-resolution crops: Pigou's 5/5/4 kernels shrink to 3
_PAPER_K = (5, 5, 4)  # Pigou et al. 2014
#: One table for every preset and kind. The paper widths keep Pigou's 16/32/48
#: maps and solve the fully connected / LSTM sizes for the poster's counts; the
#: students halve and quarter the joint model's widths (FC / LSTM sizes then
#: rounded to the poster's counts). The LSTM baseline's size is not published:
#: it gets the joint model's widths (per-frame 2D kernels make it slightly smaller).
ARCHITECTURES: dict[str, dict[str, Architecture]] = {
    "course": {
        "cnn3d": Architecture((8, 16, 32), _COURSE_K, fc=128),
        "lstm": Architecture((8, 16, 32), _COURSE_K, fc=128, lstm=128),
        "joint": Architecture((8, 16, 32), _COURSE_K, fc=128, lstm=128),
        "student_medium": Architecture((4, 8, 16), _COURSE_K, fc=64, lstm=64),
        "student_small": Architecture((2, 4, 8), _COURSE_K, fc=32, lstm=32),
    },
    "paper": {
        "cnn3d": Architecture((16, 32, 48), _PAPER_K, fc=756),
        "lstm": Architecture((16, 32, 48), _PAPER_K, fc=1169, lstm=1169),
        "joint": Architecture((16, 32, 48), _PAPER_K, fc=1169, lstm=1169),
        "student_medium": Architecture((8, 16, 24), _PAPER_K, fc=583, lstm=583),
        "student_small": Architecture((4, 8, 12), _PAPER_K, fc=291, lstm=291),
    },
}


def _check(kind: str, preset: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")


def input_shape(preset: str) -> tuple[int, int, int, int, int]:
    """The clip shape ``(streams, channels, T, H, W)`` that models of ``preset`` read."""
    _check("cnn3d", preset)
    return (STREAMS, CHANNELS, *INPUT_SHAPES[preset])


def _conv_block(in_maps: int, out_maps: int, kernel: int, temporal_kernel: int,
                pool: tuple[int, int, int]) -> list[nn.Module]:
    """Convolution that keeps the size ("same" padding), max-pool, batch norm, ReLU.

    Pooling before batch norm and ReLU gives the same kind of block at an
    eighth of their cost: on a CPU these memory-bound layers took longer than
    the convolution itself when they ran at full resolution.
    """
    pad_t, total = temporal_kernel // 2, kernel - 1
    # Explicit zero padding (rather than padding="same") so even kernels such as
    # Pigou's 4x4 pad the same way in PyTorch and in exported ONNX graphs.
    pad = nn.ZeroPad3d((total // 2, total - total // 2, total // 2, total - total // 2, pad_t, pad_t))
    # No convolution bias: the batch norm's shift that follows does its job.
    return [pad, nn.Conv3d(in_maps, out_maps, (temporal_kernel, kernel, kernel), bias=False),
            nn.MaxPool3d(pool), nn.BatchNorm3d(out_maps), nn.ReLU(inplace=True)]


class StreamEncoder(nn.Sequential):
    """Three convolution blocks for one stream: ``(N, 2, t, H, W) -> (N, maps, t', H/8, W/8)``."""

    def __init__(self, arch: Architecture, temporal_kernel: int, temporal_pools: tuple[int, int, int]):
        layers: list[nn.Module] = []
        in_maps = CHANNELS
        for maps, kernel, tpool in zip(arch.conv, arch.kernels, temporal_pools):
            layers += _conv_block(in_maps, maps, kernel, temporal_kernel, (tpool, 2, 2))
            in_maps = maps
        super().__init__(*layers)


class TwoStreamEncoder(nn.Module):
    """Body and hand encoders with separate weights; their flattened features concatenated."""

    def __init__(self, arch: Architecture, temporal_kernel: int, temporal_pools: tuple[int, int, int]):
        super().__init__()
        self.body = StreamEncoder(arch, temporal_kernel, temporal_pools)
        self.hand = StreamEncoder(arch, temporal_kernel, temporal_pools)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.body(clips[:, 0]).flatten(1), self.hand(clips[:, 1]).flatten(1)], dim=1)


def _check_input(clips: torch.Tensor, preset: str, min_frames: int, exact_frames: bool) -> None:
    frames, height, width = INPUT_SHAPES[preset]
    if clips.dim() != 6 or tuple(clips.shape[1:3]) != (STREAMS, CHANNELS):
        raise ValueError(f"expected clips of shape (batch, 2, 2, T, H, W), got {tuple(clips.shape)}")
    if tuple(clips.shape[-2:]) != (height, width):
        raise ValueError(f"the {preset} preset reads {height}x{width} frames, got "
                         f"{clips.shape[-2]}x{clips.shape[-1]}")
    if exact_frames and clips.shape[3] != frames:
        raise ValueError(f"the {preset} 3D-CNN reads exactly {frames} frames, got {clips.shape[3]}")
    if clips.shape[3] < min_frames:
        raise ValueError(f"clips need at least {min_frames} frames, got {clips.shape[3]}")


class CNN3D(nn.Module):
    """Two-stream 3D-CNN (Pigou et al. 2014): encoder, dropout, FC, dropout, classifier."""

    def __init__(self, arch: Architecture, preset: str):
        super().__init__()
        self.preset = preset
        frames, height, width = INPUT_SHAPES[preset]
        self.encoder = TwoStreamEncoder(arch, temporal_kernel=3, temporal_pools=(2, 2, 2))
        features = STREAMS * arch.conv[-1] * (frames // 8) * (height // 8) * (width // 8)
        self.fc = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(features, arch.fc), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(arch.fc, NUM_CLASSES))

    def extra_repr(self) -> str:
        return f"preset={self.preset!r}"

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        _check_input(clips, self.preset, min_frames=8, exact_frames=True)
        return self.classifier(self.fc(self.encoder(clips)))


class RecurrentClassifier(nn.Module):
    """A CNN encodes each group of ``group_frames`` frames; an LSTM reads the groups.

    ``forward(clips, lengths=None)``: ``lengths`` (batch,) gives each clip's
    true number of frames in a padded batch; frames past the last whole group
    are ignored. Only real groups are encoded and the LSTM reads a packed
    sequence, so a clip's logits do not depend on what it is batched with.
    """

    def __init__(self, arch: Architecture, preset: str, group_frames: int):
        super().__init__()
        self.preset = preset
        self.group_frames = group_frames
        _, height, width = INPUT_SHAPES[preset]
        # Either way the encoder pools a group down to one time step.
        if group_frames == 1:  # a per-frame 2D CNN
            temporal_kernel, temporal_pools = 1, (1, 1, 1)
        elif group_frames == 4:
            temporal_kernel, temporal_pools = 3, (2, 2, 1)
        else:
            raise ValueError(f"group_frames must be 1 or 4, got {group_frames}")
        self.encoder = TwoStreamEncoder(arch, temporal_kernel, temporal_pools)
        features = STREAMS * arch.conv[-1] * (height // 8) * (width // 8)
        self.fc = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(features, arch.fc), nn.ReLU(inplace=True))
        self.lstm = nn.LSTM(arch.fc, arch.lstm, batch_first=True)
        self.classifier = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(arch.lstm, NUM_CLASSES))

    def extra_repr(self) -> str:
        return f"preset={self.preset!r}, group_frames={self.group_frames}"

    def forward(self, clips: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        _check_input(clips, self.preset, min_frames=self.group_frames, exact_frames=False)
        batch, frames = clips.shape[0], clips.shape[3]
        g = self.group_frames
        steps_max = frames // g
        # (B, S, C, n*g, H, W) -> (B, n, S, C, g, H, W): one row per group of frames.
        groups = clips[:, :, :, : steps_max * g].unflatten(3, (steps_max, g)).permute(0, 3, 1, 2, 4, 5, 6)
        if lengths is None:
            steps = self.fc(self.encoder(groups.flatten(0, 1))).unflatten(0, (batch, steps_max))
            _, (hidden, _) = self.lstm(steps)
        else:
            lengths = torch.as_tensor(lengths, device=clips.device)
            if lengths.shape != (batch,):
                raise ValueError(f"lengths must have shape ({batch},), got {tuple(lengths.shape)}")
            if int(lengths.min()) < g or int(lengths.max()) > frames:
                raise ValueError(f"lengths must lie in [{g}, {frames}] (one group to the padded "
                                 f"length), got {lengths.tolist()}")
            counts = lengths // g
            real = torch.arange(steps_max, device=clips.device)[None, :] < counts[:, None]
            features = self.fc(self.encoder(groups[real]))
            steps = features.new_zeros(batch, steps_max, features.shape[1])
            steps[real] = features
            packed = pack_padded_sequence(steps, counts.cpu(), batch_first=True, enforce_sorted=False)
            _, (hidden, _) = self.lstm(packed)
        return self.classifier(hidden[-1])


def build(kind: str, preset: str = "course") -> nn.Module:
    """A freshly initialised model of ``kind`` for ``preset`` (see :data:`ARCHITECTURES`)."""
    _check(kind, preset)
    arch = ARCHITECTURES[preset][kind]
    if kind == "cnn3d":
        return CNN3D(arch, preset)
    return RecurrentClassifier(arch, preset, group_frames=1 if kind == "lstm" else GROUP_FRAMES)


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class Layer(NamedTuple):
    """One row of :func:`describe`: a layer, its output shape and its own parameter count."""

    name: str
    layer: str
    output_shape: tuple[int, ...]
    params: int


def describe(kind: str, preset: str = "course") -> list[Layer]:
    """Per-layer summary of ``build(kind, preset)`` run on one clip of the preset's size.

    Output shapes are those of a batch of one clip; in the recurrent models the
    encoder rows have one entry per group of frames (the LSTM's time steps).
    The zero-padding layers are left out: they belong to the convolution after them.
    """
    model = build(kind, preset).eval()
    rows: list[Layer] = []

    def hook(name: str):
        def record(module: nn.Module, inputs, output) -> None:
            if isinstance(output, tuple):  # LSTM: (outputs (batch, steps, hidden), (h, c))
                output = output[0]
            params = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(Layer(name, type(module).__name__, tuple(output.shape), params))
        return record

    handles = [module.register_forward_hook(hook(name)) for name, module in model.named_modules()
               if name and not list(module.children()) and not isinstance(module, nn.ZeroPad3d)]
    with torch.no_grad():
        model(torch.zeros(1, *input_shape(preset)))
    for handle in handles:
        handle.remove()
    return rows
