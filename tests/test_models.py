"""Shapes, parameter counts and mixed-length batches of the poster's models."""

import pytest
import torch

from gesturelib import models

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["cnn3d", "joint", "student_medium", "student_small"])
def test_paper_preset_matches_the_poster_within_one_percent(kind):
    count = models.count_params(models.build(kind, "paper"))
    assert abs(count / models.POSTER_PARAMS[kind] - 1) < 0.01, count


def test_course_preset_sizes_and_student_ratios():
    counts = {kind: models.count_params(models.build(kind, "course")) for kind in models.KINDS}
    for kind in ("cnn3d", "joint", "lstm"):
        assert 0.2e6 <= counts[kind] <= 0.4e6, (kind, counts[kind])
    assert 3.5 <= counts["joint"] / counts["student_medium"] <= 4.5
    assert 14 <= counts["joint"] / counts["student_small"] <= 18


@pytest.mark.parametrize("kind", models.KINDS)
def test_course_models_map_a_batch_of_clips_to_20_logits(kind):
    model = models.build(kind, "course").eval()
    logits = model(torch.rand(3, *models.input_shape("course")))
    assert logits.shape == (3, 20)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("kind", ["cnn3d", "joint"])
def test_describe_lists_layers_with_shapes_and_all_parameters(kind):
    rows = models.describe(kind, "course")
    assert rows[-1].output_shape == (1, 20)
    assert sum(row.params for row in rows) == models.count_params(models.build(kind, "course"))
    assert any(row.layer == "Conv3d" for row in rows)


def test_describe_of_the_paper_3d_cnn_shows_pigou_maps():
    convs = [row for row in models.describe("cnn3d", "paper") if row.layer == "Conv3d"]
    assert [row.output_shape[1] for row in convs] == [16, 32, 48] * 2  # body then hand stream


@pytest.mark.parametrize("kind", ["joint", "lstm", "student_small"])
def test_padded_mixed_length_batch_equals_clips_run_one_by_one(kind):
    torch.manual_seed(0)
    model = models.build(kind, "course").eval()
    lengths = torch.tensor([16, 4, 11, 8])  # 11 frames: two groups of 4 are read, 3 frames ignored
    batch = torch.rand(4, 2, 2, 16, 32, 32)
    together = model(batch, lengths=lengths)
    for i, length in enumerate(lengths.tolist()):
        alone = model(batch[i : i + 1, :, :, :length])
        torch.testing.assert_close(together[i : i + 1], alone, atol=1e-5, rtol=1e-4)


def test_joint_model_reads_clips_longer_than_the_preset_and_one_group():
    model = models.build("joint", "course").eval()
    assert model(torch.rand(1, 2, 2, 40, 32, 32)).shape == (1, 20)
    assert model(torch.rand(1, 2, 2, models.GROUP_FRAMES, 32, 32)).shape == (1, 20)


def test_padding_content_does_not_change_a_short_clip():
    model = models.build("joint", "course").eval()
    batch = torch.rand(2, 2, 2, 16, 32, 32)
    lengths = torch.tensor([16, 8])
    changed = batch.clone()
    changed[1, :, :, 8:] = 99.0
    torch.testing.assert_close(model(batch, lengths=lengths), model(changed, lengths=lengths))


def test_channels_last_3d_gives_the_same_logits():
    torch.manual_seed(0)
    model = models.build("cnn3d", "course").eval()
    clips = torch.rand(2, *models.input_shape("course"))
    expected = model(clips)
    model.to(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(model(clips), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "kind, shape, lengths, message",
    [
        ("cnn3d", (1, 2, 2, 12, 32, 32), None, "exactly 16 frames"),
        ("joint", (1, 2, 2, 16, 64, 64), None, "32x32"),
        ("joint", (1, 2, 3, 16, 32, 32), None, "shape"),
        ("joint", (1, 2, 2, 3, 32, 32), None, "at least 4 frames"),
        ("joint", (2, 2, 2, 16, 32, 32), [16, 2], "lengths must lie"),
        ("joint", (2, 2, 2, 16, 32, 32), [16], "lengths must have shape"),
    ],
)
def test_bad_inputs_raise_clear_errors(kind, shape, lengths, message):
    model = models.build(kind, "course").eval()
    kwargs = {} if lengths is None else {"lengths": torch.tensor(lengths)}
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape), **kwargs)


def test_unknown_kind_or_preset_is_rejected():
    with pytest.raises(ValueError, match="unknown model kind"):
        models.build("resnet", "course")
    with pytest.raises(ValueError, match="unknown preset"):
        models.build("joint", "huge")


def test_input_shapes_agree_with_the_clip_presets():
    clips = pytest.importorskip("gesturelib.clips")
    for preset in models.PRESETS:
        settings = clips.settings_for(preset)
        assert models.INPUT_SHAPES[preset] == (settings.frames, settings.size, settings.size)
