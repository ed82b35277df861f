"""Clips of every frame, resampled and padded, and the models run at other lengths (chapter 04)."""

import numpy as np
import pytest
import torch

from gesturelib import clip_lengths, models
from tiny_dataset import GESTURES

torch.set_num_threads(1)


def test_resample_frames_spans_the_clip_and_repeats_when_short():
    clip = torch.arange(10).reshape(1, 1, 10, 1, 1).expand(2, 2, 10, 1, 1)
    assert clip.shape[2] == 10
    assert clip_lengths.resample_frames(clip, 4)[0, 0, :, 0, 0].tolist() == [0, 3, 6, 9]
    long = clip_lengths.resample_frames(clip, 19)[0, 0, :, 0, 0].tolist()
    assert len(long) == 19 and long[0] == 0 and long[-1] == 9 and sorted(long) == long


def test_padded_batch_gives_each_clip_its_own_logits():
    torch.manual_seed(0)
    model = models.build("joint", "course").eval()
    short, long = torch.rand(2, 2, 8, 32, 32), torch.rand(2, 2, 13, 32, 32)
    batch, lengths = clip_lengths.pad_batch([short, long])
    assert batch.shape == (2, 2, 2, 13, 32, 32) and lengths.tolist() == [8, 13]
    assert batch[0, :, :, 8:].abs().sum() == 0 and torch.equal(batch[1], long)
    with torch.no_grad():
        together = model(batch, lengths)
        assert torch.allclose(together[0], model(short[None])[0], atol=1e-5)
        assert torch.allclose(together[1], model(long[None])[0], atol=1e-5)
    with pytest.raises(ValueError, match="at least one clip"):
        clip_lengths.pad_batch([])


def test_accuracy_by_length_on_real_format_clips(tiny_dataset):
    dataset = tiny_dataset
    data = clip_lengths.variable_length_clips(dataset, "test", progress=False)
    lengths = [end - start + 1 for _, start, end in GESTURES]
    assert data.lengths.tolist() == lengths and data.labels.tolist() == [g - 1 for g, _, _ in GESTURES]
    assert data.clips[0].dtype == torch.uint8 and data.clips[0].shape == (2, 2, lengths[0], 32, 32)
    with pytest.raises(ValueError, match="no sequence in split 'nope'"):
        clip_lengths.variable_length_clips(dataset, "nope", progress=False)

    torch.manual_seed(0)
    trained = {"joint": models.build("joint", "course").eval(), "cnn3d": models.build("cnn3d", "course").eval()}
    table = clip_lengths.accuracy_by_length(trained, data, lengths=(4, 8, 16), progress=False)
    joint = table[table["model"] == "joint"]
    assert joint["frames"].tolist() == [4, 8, 16, np.mean(lengths)] and joint["own length"].tolist()[-1]
    assert table[table["model"] == "cnn3d"]["frames"].tolist() == [16]  # the 3D-CNN reads 16 frames only
    assert table["accuracy %"].between(0, 100).all() and (table["clips"] == 2).all()
