"""Clips of every frame of a gesture, and the models run on clips of other lengths than they were trained on.

The clip cache samples every gesture to a fixed number of frames. Chapter 04 asks
what the recurrent models do with other lengths: :func:`variable_length_clips`
cuts the same crops again with every frame kept, :func:`resample_frames` samples
a clip to ``T`` frames as the cache does, :func:`pad_batch` batches clips of
different lengths with their ``lengths``, and :func:`accuracy_by_length` runs the
models both ways.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from tqdm.auto import tqdm

from . import chalearn, cropping, models

#: Clip lengths (frames) at which :func:`accuracy_by_length` runs the recurrent models.
LENGTHS: tuple[int, ...] = (4, 8, 12, 16, 24, 32, 48)
#: Test sequences whose gestures :func:`variable_length_clips` decodes by default:
#: every frame of a gesture means decoding the videos again (seconds per sequence).
LENGTH_SEQUENCES = 6


@dataclass
class VariableLengthClips:
    """Every frame of some gestures: ``clips[i]`` uint8 (2, 2, L_i, H, W), ``labels[i]`` 0..19."""

    clips: list[torch.Tensor]
    labels: torch.Tensor
    sequences: list[str]

    @property
    def lengths(self) -> torch.Tensor:
        return torch.tensor([clip.shape[2] for clip in self.clips])

    def __len__(self) -> int:
        return len(self.clips)


def variable_length_clips(dataset_dir: str | os.PathLike, split: str = "test", preset: str = "course",
                          max_sequences: int | None = LENGTH_SEQUENCES, progress: bool = True
                          ) -> VariableLengthClips:
    """The gestures of the first ``max_sequences`` sequences of ``split`` as clips of all their frames.

    Same crops as the clip cache (:func:`cropping.sample_clips` with
    ``variable_length=True``), but no temporal sampling: a gesture of L frames
    gives a clip of L frames. Gestures that cannot be cropped are left out
    with a warning.
    """
    index = [info for info in chalearn.dataset_index(Path(dataset_dir)) if info.split == split]
    if not index:
        raise ValueError(f"{dataset_dir}: no sequence in split {split!r}")
    settings = cropping.settings_for(preset)
    out, labels, names, errors = [], [], [], []
    for info in tqdm(index[:max_sequences], desc=f"{split} clips, every frame", disable=not progress):
        for clip in cropping.sample_clips(chalearn.open_sample(info.path), settings, variable_length=True,
                                          errors=errors):
            out.append(torch.from_numpy(clip.clip))
            labels.append(clip.gesture_id - 1)
            names.append(info.name)
    if errors:
        warnings.warn(f"{dataset_dir}: skipped {len(errors)} gestures: {errors[0]}", stacklevel=2)
    return VariableLengthClips(out, torch.tensor(labels, dtype=torch.int64), names)


def resample_frames(clip: torch.Tensor, frames: int) -> torch.Tensor:
    """``frames`` frames evenly spaced from the clip's first to its last (frames repeat when
    the clip is shorter): the temporal sampling of the clip cache (:func:`cropping.sample_frames`)."""
    index = cropping.sample_frames(1, clip.shape[2], frames, "even") - 1
    return clip[:, :, torch.from_numpy(index)]


def pad_batch(clip_list: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips of different lengths as one zero-padded batch (B, 2, 2, T_max, H, W) and their lengths (B,)."""
    if not clip_list:
        raise ValueError("pad_batch() needs at least one clip")
    padded = pad_sequence([clip.movedim(2, 0) for clip in clip_list], batch_first=True)  # (B, T, 2, 2, H, W)
    return padded.movedim(1, 3), torch.tensor([clip.shape[2] for clip in clip_list])


def reads_any_length(model: nn.Module) -> bool:
    """True for the recurrent models (LSTM baseline, joint, students); the 3D-CNN reads one length."""
    return isinstance(model, models.RecurrentClassifier)


def _predicted(model: nn.Module, clip_list: Sequence[torch.Tensor], batch_size: int, padded: bool) -> torch.Tensor:
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, len(clip_list), batch_size):
                chunk = clip_list[start:start + batch_size]
                if padded:
                    batch, lengths = pad_batch(chunk)
                    logits = model(batch.float() / 255, lengths)
                else:
                    logits = model(torch.stack(chunk).float() / 255)
                out.append(logits.argmax(1))
    finally:
        model.train(was_training)
    return torch.cat(out)


def accuracy_by_length(models_by_name: Mapping[str, nn.Module], clips: VariableLengthClips,
                       lengths: Sequence[int] = LENGTHS, batch_size: int = 32, progress: bool = True
                       ) -> pd.DataFrame:
    """Accuracy of each model on the clips resampled to each length, and at their own length.

    Rows: ``model``, ``frames`` (the resampled length; for the ``own length``
    rows the mean length), ``own length`` (bool), ``accuracy %``, ``clips``.
    A model that reads a single length (the 3D-CNN) only gets that length.
    Own-length clips run as zero-padded batches with ``lengths``.
    """
    runs = []  # (model name, frames or None for the clips' own lengths)
    for name, model in models_by_name.items():
        if reads_any_length(model):
            runs += [(name, frames) for frames in lengths] + [(name, None)]
        else:
            runs.append((name, models.INPUT_SHAPES[model.preset][0]))
    rows = []
    for name, frames in tqdm(runs, desc="lengths", unit="run", disable=not progress):
        model = models_by_name[name]
        if frames is None:
            predicted = _predicted(model, clips.clips, batch_size, padded=True)
        else:
            predicted = _predicted(model, [resample_frames(c, frames) for c in clips.clips], batch_size, padded=False)
        rows.append({"model": name, "frames": clips.lengths.double().mean().item() if frames is None else float(frames),
                     "own length": frames is None,
                     "accuracy %": 100.0 * (predicted == clips.labels).double().mean().item(), "clips": len(clips)})
    return pd.DataFrame(rows)
