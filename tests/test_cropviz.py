"""Figures and tables of the cropping chapter, on a tiny dataset in the real format
(figures: smoke tests, see ``figure_checks``)."""

import dataclasses
from types import SimpleNamespace

import pytest
import torch

from figure_checks import assert_renders, pixels
from gesturelib import chalearn, cropping, data
from gesturelib.figures import cropviz
from tiny_dataset import GESTURES  # user 2 is left-handed


@pytest.fixture(scope="module")
def train(tiny_dataset, tiny_clip_cache):
    dataset = tiny_dataset
    (dataset / "users.csv").write_text("user,split,handedness\n1,train,right\n2,train,left\n"
                                       "3,validation,right\n4,test,right\n5,train,right\n")
    return data.GestureClips(dataset, "train", cache_dir=tiny_clip_cache)


def test_examples_are_found_and_located(train):
    assert train.sequences == ["Sample0001", "Sample0001", "Sample0002", "Sample0002"]
    assert cropviz.first_of_class(train, 3) == 0
    assert cropviz.first_of_class(train, 11, mirrored=True) == 3
    assert cropviz.first_of_class(train, 11, mirrored=False) == 1
    only_mirrored = SimpleNamespace(labels=torch.tensor([10]), mirrored=torch.tensor([True]))
    with pytest.raises(ValueError, match="no unmirrored clip of gesture 11 ok"):
        cropviz.first_of_class(only_mirrored, 11, mirrored=False)
    with pytest.raises(ValueError, match="no clip of gesture 5"):
        cropviz.first_of_class(train, 5)
    sample, gesture = cropviz.locate(train, 3)
    assert sample.name == "Sample0002" and gesture == GESTURES[1]
    assert "11 ok: Sample0002, frames 15-26, user 2, mirrored" == cropviz.describe(train, 3)


def test_handedness_and_mirroring_table(train, tmp_path):
    assert cropviz.handedness(train.root)[2] == "left"
    assert cropviz.handedness(tmp_path) == {}
    (tmp_path / "users.csv").write_text("user,height\n1,1.7\n")
    with pytest.raises(chalearn.FormatError, match="users.csv.*handedness"):
        cropviz.handedness(tmp_path)
    table = cropviz.mirroring_table(train)
    assert table.loc["left", "clips"] == 2 and table.loc["left", "mirrored"] == 2
    assert table.loc["right", "mirrored"] == 0 and table.loc["left", "mirrored %"] == 100.0


def test_mirrored_example_is_a_left_handed_users_clip(train):
    index = cropviz.mirrored_example(train)
    assert bool(train.mirrored[index]) and int(train.users[index]) == 2
    nothing_mirrored = SimpleNamespace(mirrored=torch.zeros(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="none was mirrored"):
        cropviz.mirrored_example(nothing_mirrored)


def test_crop_box_figure_draws(train):
    sample, gesture = cropviz.locate(train, 0)
    assert_renders(cropviz.plot_crop_boxes(sample, gesture), panels=5)  # the frame and four crops


def test_highest_hand_figure_draws_for_either_hand(train):
    for index in (2, 0):  # the left-handed user's clip (mirrored), a right-handed one
        assert_renders(cropviz.plot_highest_hand(*cropviz.locate(train, index)), panels=3)


def test_stream_strips_draw_a_panel_per_row_and_frame(train):
    first, second = train[0][0], train[2][0]
    fig = cropviz.plot_streams([first, second.flip(2)], ["one", "two backwards"],
                               rows=[("hand", "gray"), ("body", "depth")], frames=4)
    assert_renders(fig, panels=2 * 2 * 4)
    with pytest.raises(ValueError, match="one title per clip"):
        cropviz.plot_streams([first], ["a", "b"])
    with pytest.raises(ValueError, match="rows must be"):
        cropviz.plot_streams([first], ["a"], rows=[("hand", "colour")])


def test_augmentation_figure_is_reproducible_and_leaves_the_global_rng_alone(train):
    clip = train[0][0]
    state = torch.get_rng_state()
    draw = lambda seed: cropviz.plot_augmentations(clip, data.poster_augmentation("course"),  # noqa: E731
                                                   draws=2, seed=seed, frames=3)
    columns = 2 * (3 + 1) + 1                                    # 3 gray + 1 depth per stream, a gap
    first = assert_renders(draw(3), panels=3 * columns)        # the original and two draws
    assert torch.equal(state, torch.get_rng_state())
    assert pixels(draw(3)) == first                              # the same seed draws the same moves
    assert pixels(draw(4)) != first


def test_value_table_and_histograms_on_known_values():
    stored = torch.zeros(2, 2, 2, 1, 2, 2, dtype=torch.uint8)
    stored[:, 0, 0] = 255                      # body gray all 255
    stored[0, 1, 1, 0, 0, 0] = 51              # one hand-depth pixel 0.2, the other seven 0
    table = cropviz.value_table(stored)
    assert table.loc[("body", "gray"), "min"] == 1.0 and table.loc[("body", "gray"), "zeros"] == 0.0
    assert table.loc[("hand", "depth"), "max"] == 0.2
    assert table.loc[("hand", "depth"), "mean"] == pytest.approx(0.2 / 8, abs=1e-3)
    assert table.loc[("hand", "depth"), "zeros"] == pytest.approx(7 / 8, abs=1e-3)
    assert_renders(cropviz.plot_value_histograms(stored), panels=4)
    with pytest.raises(ValueError, match="uint8"):
        cropviz.value_table(stored.float())


def test_settings_table_lists_every_field_with_its_meaning():
    table = cropviz.settings_table()
    assert list(table.index) == [field.name for field in dataclasses.fields(cropping.ClipSettings)]
    assert list(table.columns) == ["course", "paper", "meaning"]
    assert table.loc["frames", "course"] == 16 and table.loc["size", "paper"] == 64
    assert table.loc["body_bottom", "meaning"].startswith("Bottom edge of the body square")
    assert all(len(meaning) > 10 for meaning in table["meaning"])
