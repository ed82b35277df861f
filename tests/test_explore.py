"""Tests of gesturelib.figures.explore: timing statistics on hand-made labels, tables, and the data chapter's figures."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from figure_checks import assert_renders
from gesturelib import chalearn, runtime
from gesturelib.figures import explore
from gesturelib.synth import generate
from gesturelib.synth.choreography import TIME_REVERSE_PAIRS, TWO_HANDED
from gesturelib.synth.scales import Scale
from gesturelib.synth.pacing import REAL_STATISTICS

TINY = Scale("tiny", 160, 120, (1, 1, 1), gesture_counts=(3,), frames_scale=0.12)

# Two hand-made sequences; gestures deliberately out of order in the first.
SEQUENCES = [
    (100, [(2, 31, 40), (1, 11, 20), (1, 41, 50)]),   # lengths 10, 10, 10; gaps 10 (21..30), 0
    (50, [(20, 5, 9)]),                                # length 5; no gap
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A three-sequence embedded dataset (one per split, three gestures each) at 160x120."""
    return generate(tmp_path_factory.mktemp("explore") / "tiny", TINY, seed=0, workers=1, progress=False)


@pytest.fixture(scope="module")
def labels(tiny):
    return explore.dataset_labels(tiny)


# --------------------------------------------------------------------------- statistics


def test_gesture_timing_on_hand_made_labels():
    timing = explore.gesture_timing(SEQUENCES)
    assert timing.lengths.tolist() == [10, 10, 10, 5]      # sorted by start within a sequence
    assert timing.gaps.tolist() == [10, 0]
    assert timing.counts.tolist() == [3, 1]
    assert timing.frames.tolist() == [100, 50]
    expected = np.zeros(20, dtype=int)
    expected[[0, 1, 19]] = [2, 1, 1]
    assert timing.class_counts.tolist() == expected.tolist()


def test_timing_statistics_on_hand_made_labels():
    stats = explore.timing_statistics(SEQUENCES)
    assert stats["gesture_length_median"] == 10
    assert stats["gesture_length_mean"] == pytest.approx(8.75)
    assert stats["gap_median"] == 5 and stats["gap_mean"] == 5
    assert (stats["gestures_min"], stats["gestures_mean"], stats["gestures_max"]) == (1, 2.0, 3)
    assert stats["frames_mean"] == 75
    assert (stats["class_count_min"], stats["class_count_max"]) == (1, 2)


@pytest.mark.parametrize("gestures, problem", [
    ([(1, 10, 20), (2, 20, 30)], "overlap"),
    ([(21, 10, 20)], "outside 1..20"),
    ([(1, 90, 120)], "outside 1..100"),
])
def test_gesture_timing_rejects_bad_labels(gestures, problem):
    with pytest.raises(ValueError, match=problem) as error:
        explore.gesture_timing([(100, gestures)])
    assert "sequence 1" in str(error.value)


def test_published_statistics_have_the_keys_of_the_timing_statistics():
    assert set(REAL_STATISTICS) == set(explore.timing_statistics(SEQUENCES))


@pytest.mark.skipif(not runtime.real_labels_dir().is_dir(), reason="the real label files are absent")
def test_real_label_files_reproduce_the_published_summary():
    reference = explore.load_reference()
    assert reference.timing is not None and "measured" in reference.source
    stats = reference.statistics
    published = REAL_STATISTICS
    for key in ("sequences", "gestures", "gesture_length_median", "gesture_length_p5", "gesture_length_p95",
                "gestures_min", "gestures_max", "class_count_min", "class_count_max"):
        assert stats[key] == published[key], key
    # The README counts a pause as start - previous end, one more than the frames in between.
    assert stats["gap_median"] + 1 == published["gap_median"]


def test_reference_falls_back_to_the_published_summary(tmp_path, monkeypatch):
    """As on Colab, where ../shared is absent: the default folder is looked up when called."""
    monkeypatch.setenv("GESTURELIB_REAL_LABELS", str(tmp_path / "absent"))
    assert explore.real_labels() is None
    reference = explore.load_reference()
    assert reference.timing is None
    assert reference.statistics == REAL_STATISTICS
    assert "published" in reference.source


def test_reference_measured_from_loose_label_files(tmp_path):
    (tmp_path / "Sample0471_data.csv").write_text("100,20,4095\n")
    (tmp_path / "Sample0471_labels.csv").write_text("2,31,40\n1,11,20\n1,41,50\n")
    reference = explore.load_reference(tmp_path)
    assert reference.timing.lengths.tolist() == [10, 10, 10]
    assert reference.statistics["gap_median"] == 5
    (tmp_path / "Sample0472_labels.csv").write_text("1,1,10\n")
    with pytest.raises(FileNotFoundError, match="Sample0472_data.csv"):
        explore.real_labels(tmp_path)


def test_statistics_table_pairs_ours_with_the_reference():
    reference = explore.load_reference(Path("/nonexistent"))
    table = explore.statistics_table(explore.timing_statistics(SEQUENCES), reference,
                                     keys=["gesture_length_median", "gap_median"])
    assert list(table.columns) == ["embedded", "ChaLearn (published)"]
    assert table.to_numpy().tolist() == [[10.0, 39.0], [5.0, 28.0]]


# --------------------------------------------------------------------------- tables


def test_vocabulary_and_structure_tables():
    vocabulary = explore.vocabulary_table()
    assert vocabulary.index.tolist() == list(range(1, 21))
    assert vocabulary["gesture"].tolist() == list(chalearn.GESTURES)
    assert vocabulary.loc[1, "meaning"] == "go away"
    structure = explore.structure_table()
    assert (structure["hands"] == 2).sum() == len(TWO_HANDED)
    for a, b in TIME_REVERSE_PAIRS:
        assert structure.loc[a, "time reverse of"].startswith(f"{b} ")
        assert structure.loc[b, "time reverse of"].startswith(f"{a} ")
    assert (structure["same arm path as"] != "").sum() >= 6


def test_dataset_labels_and_split_table(tiny, labels):
    assert [s.split for s in labels] == ["train", "validation", "test"]
    assert all(len(s.gestures) == 3 and s.user > 0 for s in labels)
    table = explore.split_table(labels)
    assert table["sequences"].tolist() == [1, 1, 1]
    assert table["users also in another split"].tolist() == [0, 0, 0]
    assert "embedded dataset, scale 'tiny'" in explore.dataset_description(tiny)


def test_users_table(tiny, labels):
    users = explore.users_table(tiny)
    assert len(users) == 27 and users["sequences"].sum() == len(labels)
    assert set(users["handedness"]) == {"left", "right"}
    assert users["height"].dtype.kind == "f"


def test_real_like_folder_without_users_or_sequences_csv(tiny, tmp_path):
    """The real data's layout: zips only, official split by number, users unknown."""
    for path in chalearn.list_samples(tiny):
        shutil.copy(path, tmp_path / path.name)
    assert explore.users_table(tmp_path) is None
    table = explore.split_table(explore.dataset_labels(tmp_path))
    assert table.loc["train", "users"] == "unknown"
    assert "no dataset.json" in explore.dataset_description(tmp_path)


def test_dataset_labels_skips_a_corrupt_zip_with_a_warning(tiny, tmp_path):
    for path in chalearn.list_samples(tiny):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "Sample0004.zip").write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="Sample0004.zip"):
        found = explore.dataset_labels(tmp_path)
    assert [s.name for s in found] == ["Sample0001", "Sample0002", "Sample0003"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no labelled"):
        explore.dataset_labels(empty)


def test_format_overview_and_csv_columns(labels):
    path = labels[0].path
    assert explore.csv_columns(path) == {"_data.csv": 3, "_labels.csv": 3, "_skeleton.csv": 180}
    text = explore.format_overview(path, lines=2)
    for suffix in ("_color.mp4", "_depth.mp4", "_user.mp4", "_skeleton.csv"):
        assert f"{labels[0].name}{suffix}" in text
    first_gesture = labels[0].gestures[0]
    assert ",".join(map(str, first_gesture)) in text


# --------------------------------------------------------------------------- figures


def test_plot_modalities_and_skeleton(labels):
    sample = chalearn.open_sample(labels[0].path)
    assert_renders(explore.plot_modalities(sample), panels=5)  # colour, depth and its colour bar, mask, skeleton
    with pytest.raises(ValueError, match="outside"):
        explore.plot_modalities(sample, frame=sample.num_frames + 1)
    ax = Figure().subplots()
    assert explore.draw_skeleton(ax, np.zeros((20, 9))) is False          # an untracked frame draws nothing
    assert explore.draw_skeleton(ax, sample.skeleton()[sample.tracked()][0]) is True


def test_plot_timeline(labels):
    sample = chalearn.open_sample(labels[0].path)
    assert_renders(explore.plot_timeline(sample), panels=2)
    assert_renders(explore.plot_timeline(sample, show_hands=False), panels=1)


def test_plot_class_balance_and_timing(labels):
    timing = explore.gesture_timing([(s.num_frames, s.gestures) for s in labels])
    measured = explore.Reference(explore.timing_statistics(SEQUENCES), explore.gesture_timing(SEQUENCES), "m")
    published = explore.load_reference(Path("/nonexistent"))
    for reference in (measured, published):  # real files measured, or only their published summary
        assert_renders(explore.plot_class_balance(timing, reference), panels=1)
        assert_renders(explore.plot_timing(timing, reference), panels=3)


def test_plot_users(tiny):
    assert_renders(explore.plot_users(explore.users_table(tiny)), panels=1)


def test_gesture_strip(labels):
    present = sorted({g[0] for s in labels for g in s.gestures})
    fig = explore.gesture_strip(labels, classes=present[:3], frames=4, columns=2)
    assert_renders(fig, panels=len(fig.axes))
    assert sum(ax.has_data() for ax in fig.axes) == 3 * 4                # a frame per panel
    hand = explore.gesture_strip(labels, classes=present[:1], frames=2, region="hand", size=32)
    assert sum(ax.has_data() for ax in hand.axes) == 2
    missing = next(c for c in range(1, 21) if c not in present)
    with pytest.raises(ValueError, match=f"\\[{missing}\\]"):
        explore.gesture_strip(labels, classes=[missing])
    with pytest.raises(ValueError, match="region"):
        explore.gesture_strip(labels, region="feet")


def test_hand_paths_in_person_heights(labels):
    first, second = labels[0].gestures[0][0], labels[0].gestures[1][0]
    paths = explore.hand_paths(labels, [first, second], per_class=2)
    performed = {c: sum(g[0] == c for s in labels for g in s.gestures) for c in (first, second)}
    for gesture_id in (first, second):
        assert len(paths[gesture_id]) == min(2, performed[gesture_id])
        for path in paths[gesture_id]:
            assert path.shape == (2, explore.PATH_POINTS)
            assert np.abs(path).max() < 2.0           # within two person heights of the body
            assert path[1].max() > path[1, 0]         # a gesture raises the hand above where it starts
    assert_renders(explore.plot_hand_paths(labels, pairs=[(first, second)], per_class=2), panels=2)
