"""The poster's models: a two-stream 3D-CNN, a frame LSTM and the joint 3D-CNN + LSTM.

Every model reads the clip tensor convention of the project, float
``(batch, streams=2 [body, hand], channels=2 [gray, depth], T, H, W)``, and
returns logits over the 20 gestures. Each stream (body, hand) has its own
convolutional encoder in Pigou et al.'s (2014) style: three convolutions, each
followed by 2x max-pooling, batch norm and ReLU; the two streams' features are
concatenated. The two encoders run as one network of grouped convolutions
(:class:`TwoStreamEncoder`).

- ``cnn3d``: the baseline and the teacher. The encoder sees the whole clip;
  dropout, a fully connected layer, dropout and the classifier follow.
- ``lstm``: the LSTM baseline. The encoder is a per-frame 2D CNN (written as
  3D convolutions with a temporal kernel of 1, so the code path is shared); an
  LSTM runs over the frames.
- ``joint``: the poster's model. The two-stream 3D-CNN runs over the *whole*
  clip, with temporal kernel 3 and temporal pooling 2, 2, 1, so ``T`` frames
  become ``T // 4`` time steps (:data:`GROUP_FRAMES` frames per step). Each
  step's features go through dropout and a fully connected layer with ReLU;
  an LSTM reads the steps in order and its last hidden state is classified.
  Why the whole clip and not each group of 4 frames on its own: after two
  temporal poolings a 4-frame group is a single time step, so the third
  convolution's two outer temporal taps would only ever multiply its zero
  padding (parameters that can never learn), and no motion that crosses a
  group boundary would be seen by any convolution. Over the whole clip every
  tap sees real frames and each step's receptive field (18 frames for the
  third convolution) overlaps its neighbours'. Clips of any length of at least
  4 frames work (frames after the last whole group of 4 are ignored), and
  padded batches of mixed lengths too (pass ``lengths``): the trunk then runs
  once per distinct length, on real frames only, so a clip's logits do not
  depend on what it is batched with.
- ``student_medium`` / ``student_small``: the joint model with narrower
  layers and 4x and 16x fewer parameters (the poster's ratios), derived from
  it by one rule, :data:`STUDENT_RULE` (:func:`student_architecture`):
  convolution widths and dropout times ratio^(-1/4), the FC / LSTM width
  solved for the parameter count, and convolutions that stride in place of
  max-pooling, so that a student also trains at a fraction of the teacher's
  cost.

Two presets share this one code path. A preset is one name for the input
and the widths: its clip recipe (``cropping.PRESETS``, which fixes the frames and
crop size a model reads, :data:`INPUT_SHAPES`) and its numbers in
:data:`ARCHITECTURES`: ``course`` (16 frames of 32x32, ~0.3 M parameters,
trainable on a laptop CPU) and ``paper`` (32 frames of 64x64, within 1 % of
the poster's parameter counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .cropping import PRESETS as CLIP_RECIPES

NUM_CLASSES = 20
STREAMS = 2  # body, hand
CHANNELS = 2  # gray, depth
KINDS: tuple[str, ...] = ("cnn3d", "lstm", "joint", "student_medium", "student_small")
#: The presets: one per clip recipe of ``cropping.PRESETS``.
PRESETS: tuple[str, ...] = tuple(CLIP_RECIPES)
#: Frames per LSTM step of the joint models: their 3D-CNN pools time by 4.
GROUP_FRAMES = 4
#: Dropout before each fully connected layer of the teacher, the LSTM baseline
#: and the joint model (Pigou et al. use 0.5); the students' rate follows :data:`STUDENT_RULE`.
DROPOUT = 0.5

#: Input size (T, H, W) per preset: the frames and crop size of its clip recipe.
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    name: (settings.frames, settings.size, settings.size) for name, settings in CLIP_RECIPES.items()}

#: Parameter counts in the poster (Table 2); the LSTM baseline's is not published.
POSTER_PARAMS: dict[str, float] = {
    "cnn3d": 18.82e6, "joint": 18.37e6, "student_medium": 4.59e6, "student_small": 1.15e6,
}

#: How many times fewer parameters each student has than the joint model (the poster's ratios).
STUDENT_RATIOS: dict[str, int] = {"student_medium": 4, "student_small": 16}
#: The exponent of the rule: convolution widths and dropout scale by ``ratio ** -STUDENT_EXPONENT``.
STUDENT_EXPONENT = 0.25
#: How a student is derived from the joint model (:func:`student_architecture`), in words.
STUDENT_RULE = (
    "A student with ratio r is the joint model with narrower layers: its convolution widths and its "
    "dropout rate are the joint model's times r^(-1/4), rounded (the trunk holds few parameters but "
    "all the compute of the early layers, so it shrinks slowly), and its fully connected and LSTM "
    "width is then solved so that the student has 1/r of the joint model's parameters. Its "
    "convolutions stride by the factor of the max-pool that follows them in the joint model, in "
    "place of that max-pool: the same output sizes at a fraction of the training cost."
)


@dataclass(frozen=True)
class Architecture:
    """The numbers that differ between presets and kinds.

    ``conv``: feature maps of the three convolutions of each stream.
    ``kernels``: their spatial kernel sizes (Pigou: 5, 5, 4 on 64x64 crops).
    ``fc``: units of the fully connected layer (for the recurrent models, the
    size of the per-step feature fed to the LSTM). ``lstm``: LSTM hidden units
    (0 for the 3D-CNN). ``dropout``: the rate of every dropout layer.
    ``strided``: each convolution strides by the pooling factor of its block in
    place of the max-pool after it (the students: same output sizes, a fraction
    of the compute).
    """

    conv: tuple[int, int, int]
    kernels: tuple[int, int, int]
    fc: int
    lstm: int = 0
    dropout: float = DROPOUT
    strided: bool = False


def _encoder_params(arch: Architecture, temporal_kernel: int) -> int:
    """Parameters of the two streams' convolutions (no bias) and batch norms."""
    maps = (CHANNELS, *arch.conv)
    per_stream = sum(maps[i] * maps[i + 1] * temporal_kernel * k * k + 2 * maps[i + 1]
                     for i, k in enumerate(arch.kernels))
    return STREAMS * per_stream


def _step_features(arch: Architecture, preset: str) -> int:
    """Size of one LSTM step's encoder features: both streams' last maps at 1/8 of the crop."""
    _, height, width = INPUT_SHAPES[preset]
    return STREAMS * arch.conv[-1] * (height // 8) * (width // 8)


def recurrent_params(arch: Architecture, preset: str, temporal_kernel: int = 3) -> int:
    """Parameter count of a joint-style model of ``arch``, without building it.

    Encoder + FC (``features x fc`` weights and biases) + LSTM (``4 lstm (fc +
    lstm)`` weights, two biases of ``4 lstm``) + classifier.
    """
    fc, hidden = arch.fc, arch.lstm
    return (_encoder_params(arch, temporal_kernel) + (_step_features(arch, preset) + 1) * fc
            + 4 * hidden * (fc + hidden) + 8 * hidden + (hidden + 1) * NUM_CLASSES)


def student_architecture(joint: Architecture, ratio: int, preset: str) -> Architecture:
    """The student of ``ratio`` times fewer parameters than ``joint`` (:data:`STUDENT_RULE`).

    A student with ratio r is the joint model with narrower layers: its
    convolution widths and its dropout rate are the joint model's times
    r^(-1/4), rounded (the trunk holds few parameters but all the compute of
    the early layers, so it shrinks slowly), and its fully connected and LSTM
    width is then solved so that the student has 1/r of the joint model's
    parameters. Its convolutions stride by the factor of the max-pool that
    follows them in the joint model, in place of that max-pool: the same
    output sizes at a fraction of the training cost.

    The width ``h`` (FC = LSTM units) is the positive root of the quadratic
    ``recurrent_params(h) = recurrent_params(joint) / r``, rounded to the
    nearest integer. ``preset`` gives the crop size, which sets the FC layer's
    input size.

    Why the stride: with max-pooling, each convolution computes every output
    position and the pool then keeps a quarter (space) or an eighth (space and
    time) of them; a strided convolution computes only those, the same
    output sizes and parameter count, and the max-pool layers (whose backward
    pass zero-fills a full-resolution gradient) disappear. Training epochs
    on one CPU thread, as a share of the teacher's
    (``benchmarks/bench_student_cost.py --options``): small student with the
    joint model's max-pool blocks 0.77, first convolution strided in space
    0.52, in space and time 0.45, every convolution strided 0.28 (medium
    student: 0.97, 0.67, 0.56, 0.32).
    """
    if ratio < 1:
        raise ValueError(f"ratio must be at least 1, got {ratio}")
    scale = ratio ** -STUDENT_EXPONENT
    conv = tuple(max(1, round(maps * scale)) for maps in joint.conv)
    target = recurrent_params(joint, preset) / ratio
    # params(h) = a h^2 + b h + c with fc = lstm = h
    trunk = replace(joint, conv=conv, fc=0, lstm=0)
    c = recurrent_params(trunk, preset)
    a, b = 8, _step_features(trunk, preset) + 1 + 8 + NUM_CLASSES
    if target <= c:
        raise ValueError(f"ratio {ratio} leaves no parameters for the FC and LSTM layers")
    width = round((-b + math.sqrt(b * b + 4 * a * (target - c))) / (2 * a))
    return Architecture(conv, joint.kernels, fc=width, lstm=width,
                        dropout=round(joint.dropout * scale, 4), strided=True)


_COURSE_K = (3, 3, 3)  # half-resolution crops: Pigou's 5/5/4 kernels shrink to 3
_PAPER_K = (5, 5, 4)  # Pigou et al. 2014


def _table() -> dict[str, dict[str, Architecture]]:
    table = {
        "course": {
            "cnn3d": Architecture((8, 16, 32), _COURSE_K, fc=128),
            "lstm": Architecture((8, 16, 32), _COURSE_K, fc=128, lstm=128),
            "joint": Architecture((8, 16, 32), _COURSE_K, fc=128, lstm=128),
        },
        "paper": {
            "cnn3d": Architecture((16, 32, 48), _PAPER_K, fc=756),
            "lstm": Architecture((16, 32, 48), _PAPER_K, fc=1169, lstm=1169),
            "joint": Architecture((16, 32, 48), _PAPER_K, fc=1169, lstm=1169),
        },
    }
    for preset, rows in table.items():
        for kind, ratio in STUDENT_RATIOS.items():
            rows[kind] = student_architecture(rows["joint"], ratio, preset)
    return table


#: One table for every preset and kind. The paper widths keep Pigou's 16/32/48
#: maps and solve the fully connected / LSTM sizes for the poster's counts; the
#: students are derived from the joint model by :func:`student_architecture`.
#: The LSTM baseline's size is not published: it gets the joint model's widths
#: (per-frame 2D kernels make it slightly smaller).
ARCHITECTURES: dict[str, dict[str, Architecture]] = _table()


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
                pool: tuple[int, int, int], strided: bool = False, streams: int = 1) -> list[nn.Module]:
    """Convolution that keeps the size ("same" padding), max-pool, batch norm, ReLU.

    Pooling before batch norm and ReLU gives the same kind of block at an
    eighth of their cost: on a CPU these memory-bound layers took longer than
    the convolution itself when they ran at full resolution.

    ``strided`` (the students): the convolution strides by ``pool`` and there
    is no max-pool; the output has the same size.

    ``streams``: how many streams the block serves side by side, each with its
    own weights: ``in_maps`` and ``out_maps`` per stream, a convolution with
    ``groups=streams`` (each stream's output maps read only that stream's
    input maps), and batch norm and ReLU, which act on each map alone anyway.
    """
    pad_t, total = temporal_kernel // 2, kernel - 1
    shape = (temporal_kernel, kernel, kernel)
    maps_in, maps_out = in_maps * streams, out_maps * streams
    # No convolution bias: the batch norm's shift that follows does its job.
    stride = pool if strided else 1
    if kernel % 2:  # odd kernel: the convolution pads by itself, with no padded copy of its input
        conv = [nn.Conv3d(maps_in, maps_out, shape, stride=stride, padding=(pad_t, total // 2, total // 2),
                          bias=False, groups=streams)]
    else:
        # An even kernel (Pigou's 4x4) pads one more pixel after than before: explicit
        # zero padding (rather than padding="same") pads alike in PyTorch and in ONNX graphs.
        pad = nn.ZeroPad3d((total // 2, total - total // 2, total // 2, total - total // 2, pad_t, pad_t))
        conv = [pad, nn.Conv3d(maps_in, maps_out, shape, stride=stride, bias=False, groups=streams)]
    pooling = [] if strided else [nn.MaxPool3d(pool)]
    return [*conv, *pooling, nn.BatchNorm3d(maps_out), nn.ReLU(inplace=True)]


class TwoStreamEncoder(nn.Sequential):
    """The body and hand encoders, three convolution blocks each with weights of their own,
    run as one network.

    Every convolution has ``groups=2`` (AlexNet's trick for its two GPUs): the
    first half of its output maps reads only the body stream's maps, the
    second half only the hand stream's. Batch norm and ReLU act on each map
    alone, so this is exactly two separate encoders, in half the operations:
    on a CPU a student's training step costs about a third less than with one
    encoder per stream (``benchmarks/bench_speed.py``).

    ``maps``: ``(N, 2, 2, T, H, W) -> (N, 2 x maps, T', h, w)``, the body's maps first.
    ``forward``: those maps flattened, ``(N, features)`` (the 3D-CNN). ``steps``: the
    same per time step, ``(N, T', features per step)`` (the recurrent models).
    """

    def __init__(self, arch: Architecture, temporal_kernel: int, temporal_pools: tuple[int, int, int]):
        layers: list[nn.Module] = []
        in_maps = CHANNELS
        for maps, kernel, tpool in zip(arch.conv, arch.kernels, temporal_pools):
            layers += _conv_block(in_maps, maps, kernel, temporal_kernel, (tpool, 2, 2), arch.strided, STREAMS)
            in_maps = maps
        super().__init__(*layers)

    def maps(self, clips: torch.Tensor) -> torch.Tensor:
        x = clips.flatten(1, 2)  # (N, 4, T, H, W): body gray, body depth, hand gray, hand depth
        # Hand the input to the convolutions in their memory format (channels_last_3d on a
        # CPU): converted once here, rather than by the first convolution in the forward
        # pass and again in the backward pass. The same numbers in less time.
        first = next(m for m in self if isinstance(m, nn.Conv3d))
        if first.weight.is_contiguous(memory_format=torch.channels_last_3d):
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return super().forward(x)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.maps(clips).flatten(1)

    def steps(self, clips: torch.Tensor) -> torch.Tensor:
        # (N, 2 x maps, T', h, w) -> (N, T', 2 x maps x h x w)
        return self.maps(clips).transpose(1, 2).flatten(2)


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
        self.fc = nn.Sequential(nn.Dropout(arch.dropout), nn.Linear(features, arch.fc), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(arch.dropout), nn.Linear(arch.fc, NUM_CLASSES))

    def extra_repr(self) -> str:
        return f"preset={self.preset!r}"

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        _check_input(clips, self.preset, min_frames=8, exact_frames=True)
        return self.classifier(self.fc(self.encoder(clips)))


class RecurrentClassifier(nn.Module):
    """A CNN turns the clip into time steps of ``group_frames`` frames; an LSTM reads the steps.

    ``group_frames=4`` (joint model, students): a 3D-CNN over the whole clip
    pools time by 4, so neighbouring steps share frames in their receptive
    fields. ``group_frames=1`` (LSTM baseline): a per-frame 2D CNN. Each step
    then goes through dropout, FC + ReLU and the LSTM; the last hidden state is
    classified.

    ``forward(clips, lengths=None)``: ``lengths`` (batch,) gives each clip's
    true number of frames in a padded batch; frames past the last whole group
    are ignored. The encoder runs once per distinct length on that length's
    clips cut to their real frames (a temporal kernel reaching into the padding
    would change the last real step), and the LSTM reads a packed sequence, so
    a clip's logits do not depend on what it is batched with. (In training mode
    batch norm then normalises each length's clips by their own statistics.)
    """

    def __init__(self, arch: Architecture, preset: str, group_frames: int):
        super().__init__()
        self.preset = preset
        self.group_frames = group_frames
        # Either way the encoder pools time by group_frames.
        if group_frames == 1:  # a per-frame 2D CNN
            temporal_kernel, temporal_pools = 1, (1, 1, 1)
        elif group_frames == 4:
            temporal_kernel, temporal_pools = 3, (2, 2, 1)
        else:
            raise ValueError(f"group_frames must be 1 or 4, got {group_frames}")
        self.encoder = TwoStreamEncoder(arch, temporal_kernel, temporal_pools)
        features = _step_features(arch, preset)
        self.fc = nn.Sequential(nn.Dropout(arch.dropout), nn.Linear(features, arch.fc), nn.ReLU(inplace=True))
        self.lstm = nn.LSTM(arch.fc, arch.lstm, batch_first=True)
        self.classifier = nn.Sequential(nn.Dropout(arch.dropout), nn.Linear(arch.lstm, NUM_CLASSES))

    def extra_repr(self) -> str:
        # "whole clip": the trunk runs over the whole clip (not group by group), which
        # also tells trained models of the earlier group-wise design apart in caches.
        trunk = ", trunk='whole clip'" if self.group_frames > 1 else ""
        return f"preset={self.preset!r}, group_frames={self.group_frames}{trunk}"

    def steps(self, clips: torch.Tensor) -> torch.Tensor:
        """``(N, 2, 2, T, H, W)`` -> the LSTM's inputs ``(N, T // group_frames, fc)``."""
        used = clips.shape[3] // self.group_frames * self.group_frames
        return self.fc(self.encoder.steps(clips[:, :, :, :used]))

    def forward(self, clips: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        _check_input(clips, self.preset, min_frames=self.group_frames, exact_frames=False)
        if lengths is None:
            _, (hidden, _) = self.lstm(self.steps(clips))
            return self.classifier(hidden[-1])
        batch, frames = clips.shape[0], clips.shape[3]
        g = self.group_frames
        lengths = torch.as_tensor(lengths, device=clips.device)
        if lengths.shape != (batch,):
            raise ValueError(f"lengths must have shape ({batch},), got {tuple(lengths.shape)}")
        if int(lengths.min()) < g or int(lengths.max()) > frames:
            raise ValueError(f"lengths must lie in [{g}, {frames}] (one group to the padded "
                             f"length), got {lengths.tolist()}")
        counts = lengths // g
        steps = None
        for count in torch.unique(counts).tolist():
            rows = (counts == count).nonzero().squeeze(1)
            part = self.steps(clips[rows, :, :, : count * g])
            if steps is None:
                steps = part.new_zeros(batch, frames // g, part.shape[2])
            steps[rows, :count] = part
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
    time axis of the last encoder rows holds the LSTM's time steps.
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
