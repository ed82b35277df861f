"""Figures and tables of the cropping chapter, on a tiny dataset in the real format."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from gesturelib import chalearn, cropping, data
from gesturelib.figures import cropviz
from tiny_dataset import GESTURES  # user 2 is left-handed


@pytest.fixture(scope="module")
def train(tiny_dataset, tmp_path_factory):
    dataset = tiny_dataset
    (dataset / "users.csv").write_text("user,split,handedness\n1,train,right\n2,train,left\n"
                                       "3,validation,right\n4,test,right\n5,train,right\n")
    with pytest.warns(UserWarning, match="skipped"):  # the tiny dataset has a corrupt sequence
        return data.GestureClips(dataset, "train", cache_dir=tmp_path_factory.mktemp("cropviz") / "cache")


def _all_titles(fig):
    return [ax.get_title() for ax in fig.axes]


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


def test_crop_box_figure_draws_the_librarys_boxes(train):
    sample, gesture = cropviz.locate(train, 0)
    fig = cropviz.plot_crop_boxes(sample, gesture)
    assert isinstance(fig, Figure) and len(fig.axes) == 5
    titles = _all_titles(fig)
    assert {"body · gray", "body · depth", "hand · gray", "hand · depth"} <= set(titles)
    assert "Sample0001" in fig.get_suptitle() and "3 perfetto" in fig.get_suptitle()
    geometry = cropping.crop_boxes(sample.skeleton(), gesture, (sample.width, sample.height),
                                   cropping.settings_for("course"))
    k = len(geometry.frames) // 2
    rectangles = {patch.get_label(): patch for patch in fig.axes[0].patches}
    body = rectangles["body box (1.3 h)"]
    x0, y0, x1, y1 = geometry.body[k]
    assert body.get_xy() == (x0 - 0.5, y0 - 0.5) and body.get_width() == x1 - x0
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert "1.1 x mean hip y" in legend


def test_highest_hand_figure_says_which_hand_and_mirrors(train):
    fig = cropviz.plot_highest_hand(*cropviz.locate(train, 2))      # the left-handed user
    titles = _all_titles(fig)
    assert len(fig.axes) == 3 and titles[0].startswith("highest hand: left")
    assert titles[2] == "as the crops see it: mirrored"
    recorded, seen = (ax.images[0].get_array() for ax in fig.axes[1:])
    assert np.array_equal(seen, recorded[:, ::-1])
    recorded_hand, seen_hand = fig.axes[1].patches[1], fig.axes[2].patches[1]
    assert recorded_hand.get_x() + 0.5 == recorded.shape[1] - (seen_hand.get_x() + 0.5 + seen_hand.get_width())
    titles = _all_titles(cropviz.plot_highest_hand(*cropviz.locate(train, 0)))
    assert titles[0].startswith("highest hand: right") and "not mirrored" in titles[2]


def test_stream_strips_show_the_clip_values(train):
    first, second = train[0][0], train[2][0]
    fig = cropviz.plot_streams([first, second.flip(2)], ["one", "two backwards"],
                               rows=[("hand", "gray"), ("body", "depth")], frames=4)
    assert isinstance(fig, Figure) and len(fig.axes) == 2 * 2 * 4
    assert [sub.get_suptitle() for sub in fig.subfigs] == ["one", "two backwards"]
    assert fig.axes[0].get_title() == "t=0" and fig.axes[3].get_title() == "t=15"
    assert fig.axes[0].get_ylabel() == "hand\ngray"
    assert np.allclose(fig.axes[0].images[0].get_array(), first[1, 0, 0].numpy())
    assert np.allclose(fig.axes[8].images[0].get_array(), second[1, 0, 15].numpy())   # reversed
    with pytest.raises(ValueError, match="one title per clip"):
        cropviz.plot_streams([first], ["a", "b"])
    with pytest.raises(ValueError, match="rows must be"):
        cropviz.plot_streams([first], ["a"], rows=[("hand", "colour")])


def test_augmentation_figure_is_reproducible_and_leaves_the_global_rng_alone(train):
    clip = train[0][0]
    state = torch.get_rng_state()
    fig = cropviz.plot_augmentations(clip, data.poster_augmentation("course"), draws=2, seed=3, frames=3)
    assert torch.equal(state, torch.get_rng_state())
    columns = 2 * (3 + 1) + 1                                    # 3 gray + 1 depth per stream, a gap
    assert len(fig.axes) == 3 * columns
    image = lambda f, n: f.axes[n].images[0].get_array()         # noqa: E731
    assert np.allclose(image(fig, 0), clip[0, 0, 0].numpy())    # row 0 is the original
    assert not np.allclose(image(fig, columns), image(fig, 0))   # row 1 is moved
    again = cropviz.plot_augmentations(clip, data.poster_augmentation("course"), draws=2, seed=3, frames=3)
    assert np.array_equal(image(again, columns), image(fig, columns))
    assert fig.axes[0].get_ylabel() == "original" and fig.axes[columns].get_ylabel() == "draw 1"


def test_value_table_and_histograms_on_known_values():
    stored = torch.zeros(2, 2, 2, 1, 2, 2, dtype=torch.uint8)
    stored[:, 0, 0] = 255                      # body gray all 255
    stored[0, 1, 1, 0, 0, 0] = 51              # one hand-depth pixel 0.2, the other seven 0
    table = cropviz.value_table(stored)
    assert table.loc[("body", "gray"), "min"] == 1.0 and table.loc[("body", "gray"), "zeros"] == 0.0
    assert table.loc[("hand", "depth"), "max"] == 0.2
    assert table.loc[("hand", "depth"), "mean"] == pytest.approx(0.2 / 8, abs=1e-3)
    assert table.loc[("hand", "depth"), "zeros"] == pytest.approx(7 / 8, abs=1e-3)
    fig = cropviz.plot_value_histograms(stored)
    assert len(fig.axes) == 4 and fig.axes[3].get_title() == "hand · depth: 88% zeros"
    with pytest.raises(ValueError, match="uint8"):
        cropviz.value_table(stored.float())


def test_settings_table_lists_every_field_with_its_meaning():
    table = cropviz.settings_table()
    assert list(table.index) == [field.name for field in dataclasses.fields(cropping.ClipSettings)]
    assert list(table.columns) == ["course", "paper", "meaning"]
    assert table.loc["frames", "course"] == 16 and table.loc["size", "paper"] == 64
    assert table.loc["body_bottom", "meaning"].startswith("Bottom edge of the body square")
    assert all(len(meaning) > 10 for meaning in table["meaning"])
