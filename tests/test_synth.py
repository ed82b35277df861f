"""Tests of the embedded dataset generator (gesturelib.synth): programs, users, timing, files."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from gesturelib import chalearn, runtime
import gesturelib.synth as synth
from gesturelib.synth import GENERATOR_VERSION, ensure_dataset, generate, scales
from gesturelib.synth.__main__ import main as cli_main
from gesturelib.synth.anatomy import Body, mirror_joints
from gesturelib.synth.choreography import (CLOSE_PAIRS, SHAPE_ONLY_GROUPS, TIME_REVERSE_PAIRS, TWO_HANDED,
                                           distractors, evaluate, programs)
from gesturelib.synth.movement import (TRACKER_BIAS, body_frame_joints, canonical_tracks, sequence_motion,
                                       skeleton_rows)
from gesturelib.synth.optics import Camera
from gesturelib.synth.pacing import REAL_STATISTICS, nominal_length, plan_timeline, timing_statistics
from gesturelib.synth.performers import NUM_USERS, make_users
from gesturelib.synth.scales import Scale
from gesturelib.synth.sequence import SequenceSpec, balanced_classes, plan_sequences, write_sequence

REAL_GT = runtime.real_labels_dir()
J = chalearn.JOINT_INDEX
TINY = Scale("tiny", 160, 120, (1, 1, 1), gesture_counts=(3,), frames_scale=0.12)
PHASES = np.linspace(0.0, 1.0, 121)
BODY = Body(1.75, 1.0)


# --------------------------------------------------------------------------- generated datasets


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """The tiny dataset twice with seed 0 (2 workers, then 1) and once with seed 1."""
    root = tmp_path_factory.mktemp("synth")
    first = generate(root / "a", TINY, seed=0, workers=2, progress=False)
    again = generate(root / "b", TINY, seed=0, workers=1, progress=False)
    other = generate(root / "c", TINY, seed=1, workers=1, progress=False)
    return first, again, other


def _csv_members(folder: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".csv", ".json")}
    for path in sorted(folder.glob("Sample*.zip")):
        with zipfile.ZipFile(path) as archive:
            files.update({n: archive.read(n) for n in archive.namelist() if n.endswith(".csv")})
    return files


def test_same_seed_gives_identical_files_and_frames(datasets):
    first, again, _ = datasets
    assert _csv_members(first) == _csv_members(again)
    for path in sorted(first.glob("Sample*.zip")):
        a, b = chalearn.open_sample(path), chalearn.open_sample(again / path.name)
        for modality in ("gray", "depth", "mask"):
            x = a.read_frames(range(1, a.num_frames + 1), (modality,))[modality]
            y = b.read_frames(range(1, b.num_frames + 1), (modality,))[modality]
            assert np.array_equal(x, y), (path.name, modality)


def test_different_seed_gives_different_data(datasets):
    first, _, other = datasets
    a, b = _csv_members(first), _csv_members(other)
    assert a["Sample0001_skeleton.csv"] != b["Sample0001_skeleton.csv"]
    assert a["users.csv"] != b["users.csv"]


def test_dataset_json_is_written_and_describes_the_files(datasets):
    folder = datasets[0]
    info = json.loads((folder / "dataset.json").read_text())
    assert info["generator_version"] == GENERATOR_VERSION
    assert (info["width"], info["height"], info["seed"]) == (160, 120, 0)
    index = chalearn.dataset_index(folder)
    assert info["num_sequences"] == len(index) == 3
    assert info["num_frames"] == sum(chalearn.open_sample(s.path).num_frames for s in index)
    assert not list(folder.glob(".*tmp"))          # no temporary files left behind


def test_files_follow_the_format(datasets):
    camera = Camera.kinect(160, 120)
    for info in chalearn.dataset_index(datasets[0]):
        sample = chalearn.open_sample(info.path)
        assert (sample.width, sample.height, sample.fps) == (160, 120, 20)
        assert 2619 <= sample.max_depth <= 4095
        assert len(sample.gestures) == 3
        assert all(1 <= g <= 20 for g, _, _ in sample.gestures)
        frames = sample.read_frames(range(1, sample.num_frames + 1), ("gray", "depth", "mask"))
        assert frames["gray"].shape == (sample.num_frames, 120, 160)
        assert frames["depth"].dtype == np.uint16 and frames["mask"].dtype == bool
        skeleton = sample.skeleton()
        assert skeleton.shape == (sample.num_frames, 20, 9)
        tracked = sample.tracked()
        assert tracked.mean() > 0.8
        rows = skeleton[tracked]
        # Pixels are the camera projection of the world coordinates (written as integers).
        projected = camera.project(rows[..., chalearn.WORLD])
        assert np.abs(projected - rows[..., chalearn.PIXEL]).max() <= 0.5 + 1e-3
        assert np.allclose(np.linalg.norm(rows[..., chalearn.ROTATION], axis=-1), 1.0, atol=1e-5)
        # The user mask is where the skeleton is: the spine and head pixels fall on it.
        for joint in ("Spine", "Head"):
            px = np.rint(rows[:, J[joint], chalearn.PIXEL]).astype(int)
            inside = (px[:, 0] >= 0) & (px[:, 0] < 160) & (px[:, 1] >= 0) & (px[:, 1] < 120)
            on_mask = frames["mask"][tracked][inside, px[inside, 1], px[inside, 0]]
            assert on_mask.mean() > 0.95, joint


def test_depth_shows_the_body_at_its_skeleton_depth(datasets):
    for info in chalearn.dataset_index(datasets[0]):
        sample = chalearn.open_sample(info.path)
        skeleton, tracked = sample.skeleton(), sample.tracked()
        depth = sample.depth()
        frames = np.flatnonzero(tracked)
        spine = np.rint(skeleton[frames, J["Spine"], chalearn.PIXEL]).astype(int)
        measured = np.array([np.median(depth[f, y - 1:y + 2, x - 1:x + 2]) for f, (x, y) in zip(frames, spine)])
        expected = skeleton[frames, J["Spine"], 2] * 1000
        # The chest surface lies a little in front of the spine joint; 16 mm gray steps, mp4.
        assert np.median(np.abs(measured - (expected - 100))) < 90


def test_hands_reaching_forward_are_nearer_in_depth(tmp_path):
    user = make_users(0, 0.5)[0]
    timeline = plan_timeline(np.random.default_rng(0), [5, 7, 13, 19], user.tempo, frames_scale=0.15)
    scale = replace(TINY, width=320, height=240)
    sample = chalearn.open_sample(write_sequence(SequenceSpec(1, user, timeline), tmp_path, 0, scale))
    skeleton, depth = sample.skeleton(), sample.depth()
    nearer, checked = 0, 0
    for f in np.flatnonzero(sample.tracked()):
        sx, sy = np.rint(skeleton[f, J["Spine"], chalearn.PIXEL]).astype(int)
        for hand in ("HandRight", "HandLeft"):
            x, y = np.rint(skeleton[f, J[hand], chalearn.PIXEL]).astype(int)
            if skeleton[f, J[hand], 2] < skeleton[f, J["Spine"], 2] - 0.25 and 0 < x < 319 and 0 < y < 239:
                checked += 1
                hand_mm = np.median(depth[f, y - 1:y + 2, x - 1:x + 2])
                nearer += 0 < hand_mm < depth[f, sy, sx] - 100
    assert checked > 20
    assert nearer / checked > 0.8


# --------------------------------------------------------------------------- users and splits


def test_users_differ_and_some_are_left_handed():
    users = make_users(0, scales.DEFAULT_DIFFICULTY)
    assert len(users) == NUM_USERS == 27
    assert make_users(0, scales.DEFAULT_DIFFICULTY) == users
    for split in scales.SPLITS:
        assert any(u.left_handed for u in users if u.split == split)
    assert sum(u.left_handed for u in users) >= 3
    for attribute in ("height", "build", "distance", "offset_x", "tempo", "amplitude", "shirt_gray"):
        assert np.std([getattr(u, attribute) for u in users]) > 0, attribute
    assert len({u.shirt_texture for u in users}) >= 3
    spread = {d: np.std([u.height for u in make_users(0, d)]) for d in (0.0, 1.0)}
    assert spread[1.0] > spread[0.0]


def test_splits_are_user_disjoint(datasets):
    folder = datasets[0]
    index = chalearn.dataset_index(folder)
    users = {split: {s.user for s in index if s.split == split} for split in scales.SPLITS}
    assert all(users.values())
    for a, b in combinations(scales.SPLITS, 2):
        assert not users[a] & users[b]
    table = {int(row.split(",")[0]): row.split(",")[1]
             for row in (folder / "users.csv").read_text().splitlines()[1:]}
    assert len(table) == 27
    assert all(table[s.user] == s.split for s in index)
    plan = plan_sequences(scales.SCALES["course"], make_users(0, 0.5), 0)
    by_split = {split: {s.user.user for s in plan if s.split == split} for split in scales.SPLITS}
    assert [len(by_split[s]) for s in scales.SPLITS] == [17, 5, 5]


def test_left_handed_users_perform_the_mirror_image():
    user = make_users(0, 0.5)[0]
    right, left = replace(user, handedness="right"), replace(user, handedness="left")
    table = programs()
    for gesture_id in (8, 13, 16):
        rest = np.array([0.2, -0.15, 0.05]), np.array([-0.2, -0.15, 0.05])
        tracks = canonical_tracks(user, table[gesture_id], PHASES, *rest)
        joints_right, shapes_right, _ = body_frame_joints(right, tracks)
        joints_left, shapes_left, _ = body_frame_joints(left, tracks)
        assert np.allclose(mirror_joints(joints_left), joints_right)
        assert np.array_equal(shapes_left[:, ::-1], shapes_right)
    # A one-handed gesture: the left-hander's left hand moves, the right one stays at rest.
    tracks = canonical_tracks(user, table[8], PHASES, np.zeros(3), np.zeros(3))
    joints, _, _ = body_frame_joints(left, tracks)
    moved = {hand: np.ptp(joints[:, J[hand]], axis=0).max() for hand in ("HandLeft", "HandRight")}
    assert moved["HandLeft"] > 0.2 and moved["HandRight"] < 0.02


# --------------------------------------------------------------------------- the motion programs


def _trajectory(program, u=PHASES):
    """Both hands' targets and angles over the phases (other hand None when one-handed)."""
    tracks = evaluate(program, BODY, u)
    return tracks.dominant, tracks.other, tracks.dominant_angle, tracks.other_angle


def _same(a, b) -> bool:
    return all((x is None and y is None) or (x is not None and y is not None and np.allclose(x, y))
               for x, y in zip(a, b))


def test_twenty_programs_with_the_real_names():
    table = programs()
    assert sorted(table) == list(range(1, 21))
    assert [table[i].name for i in range(1, 21)] == list(chalearn.GESTURES)


def test_shape_only_groups_are_found_in_the_programs():
    """Classes with the same arm trajectory and different hand shapes, found by comparing all pairs."""
    table = programs()
    found = {(a, b) for a, b in combinations(table, 2)
             if _same(_trajectory(table[a]), _trajectory(table[b]))}
    assert all(table[a].shape != table[b].shape for a, b in found)
    listed = {pair for group in SHAPE_ONLY_GROUPS for pair in combinations(group, 2)}
    assert found == listed
    assert len(SHAPE_ONLY_GROUPS) >= 3


def test_time_reverse_pairs_are_found_in_the_programs():
    table = programs()
    # Pairs that match only when one is played backwards (a back-and-forth shake is its own reverse).
    found = {(a, b) for a, b in combinations(table, 2)
             if _same(_trajectory(table[a]), _trajectory(table[b], 1.0 - PHASES))
             and not _same(_trajectory(table[a]), _trajectory(table[b]))}
    assert found == set(TIME_REVERSE_PAIRS)
    assert len(found) >= 2
    # Played backwards they differ from themselves: frame order matters.
    for a, _ in found:
        assert not _same(_trajectory(table[a]), _trajectory(table[a], 1.0 - PHASES))


def test_two_handed_gestures_move_both_hands():
    user = make_users(0, 0.5)[0]
    rest = np.array([0.2, -0.15, 0.05]), np.array([-0.2, -0.15, 0.05])
    moving = set()
    for gesture_id, program in programs().items():
        tracks = canonical_tracks(user, program, PHASES, *rest)
        if np.linalg.norm(tracks["o_pos"] - rest[1], axis=1).max() > 0.1:
            moving.add(gesture_id)
        assert np.linalg.norm(tracks["d_pos"] - rest[0], axis=1).max() > 0.1
    assert moving == set(TWO_HANDED)
    assert len(moving) >= 4


def _distance(a, b, closeness) -> float:
    table = programs(closeness)
    ta, tb = _trajectory(table[a]), _trajectory(table[b])
    return float(np.mean(np.linalg.norm(ta[0] - tb[0], axis=1)))


def test_close_pairs_are_close_and_closeness_brings_them_closer():
    ids = range(1, 21)
    pairs = {pair: _distance(*pair, 0.5) for pair in combinations(ids, 2)}
    median = np.median(list(pairs.values()))
    for a, b in CLOSE_PAIRS:
        assert pairs[(a, b)] < median / 2, (a, b)
        assert _distance(a, b, 1.0) < _distance(a, b, 0.0)


def test_distractors_are_not_gestures():
    assert all(p.gesture_id == 0 for p in distractors().values())


# --------------------------------------------------------------------------- timing


def _course_timelines():
    plan = plan_sequences(scales.SCALES["course"], make_users(0, 0.5), 0)
    return plan, [(s.timeline.num_frames, s.timeline.gestures) for s in plan]


def test_timelines_are_valid_and_classes_balanced():
    plan, sequences = _course_timelines()
    for num_frames, gestures in sequences:
        assert 8 <= len(gestures) <= 22
        ordered = sorted(gestures, key=lambda g: g[1])
        assert ordered[0][1] >= 1 and ordered[-1][2] <= num_frames
        assert all(b[1] > a[2] for a, b in zip(ordered, ordered[1:]))          # no overlap
        assert all(a[0] != b[0] for a, b in zip(ordered, ordered[1:]))        # no immediate repeat
    for split in scales.SPLITS:
        counts = np.bincount([g for s in plan if s.split == split for g, _, _ in s.timeline.gestures],
                             minlength=21)[1:]
        assert counts.max() - counts.min() <= 1, split
    train = sum(len(s.timeline.gestures) for s in plan if s.split == "train")
    assert train / 20 > 50     # about 60 training clips per class


def test_balanced_classes_avoid_repeats_even_when_short():
    sequences = balanced_classes(np.random.default_rng(0), [3, 3, 3, 10, 1])
    assert [len(s) for s in sequences] == [3, 3, 3, 10, 1]
    assert sorted(sum(sequences, [])) == list(range(1, 21))        # 20 gestures: each class once
    assert all(a != b for s in sequences for a, b in zip(s, s[1:]))
    repeated = balanced_classes(np.random.default_rng(1), [15] * 9)
    assert np.ptp(np.bincount(sum(repeated, []), minlength=21)[1:]) <= 1


def test_timing_follows_the_documented_real_statistics():
    _, sequences = _course_timelines()
    stats = timing_statistics(sequences)
    for key in ("gesture_length_median", "gap_median"):
        assert abs(stats[key] - REAL_STATISTICS[key]) <= 0.15 * REAL_STATISTICS[key], key


@pytest.mark.skipif(not REAL_GT.is_dir(), reason="the real ChaLearn ground truth (../shared) is absent")
def test_timing_matches_the_real_label_files():
    real = []
    for labels in sorted(REAL_GT.glob("Sample*_labels.csv")):
        data = chalearn.read_data(labels.with_name(labels.name.replace("_labels", "_data")))
        real.append((data.num_frames, chalearn.read_labels(labels, data.num_frames)))
    real_stats = timing_statistics(real)
    _, sequences = _course_timelines()
    stats = timing_statistics(sequences)
    for key in ("gesture_length_median", "gap_median", "gesture_length_p5", "gesture_length_p95"):
        assert abs(stats[key] - real_stats[key]) <= 0.15 * real_stats[key], (key, stats[key], real_stats[key])
    assert abs(stats["gap_mean"] - real_stats["gap_mean"]) <= 0.25 * real_stats["gap_mean"]
    assert abs(stats["frames_mean"] - real_stats["frames_mean"]) <= 0.1 * real_stats["frames_mean"]
    assert stats["gestures_min"] >= real_stats["gestures_min"]
    assert stats["gestures_max"] <= real_stats["gestures_max"]


def test_classes_that_must_differ_only_in_shape_or_order_share_their_speed():
    for group in (*SHAPE_ONLY_GROUPS, *TIME_REVERSE_PAIRS):
        assert len({nominal_length(g) for g in group}) == 1, group
    assert len({nominal_length(g) for g in range(1, 21)}) > 5     # other classes keep the real spread


def test_plan_timeline_keeps_the_class_order():
    timeline = plan_timeline(np.random.default_rng(0), [4, 7, 19], tempo=1.0)
    assert [g for g, _, _ in timeline.gestures] == [4, 7, 19]


# --------------------------------------------------------------------------- skeleton rows


def test_labels_move_a_little_but_stay_in_order_and_inside():
    from gesturelib.synth.sequence import annotate

    rng = np.random.default_rng(0)
    timeline = plan_timeline(rng, [1, 2, 3, 4, 5, 6, 7, 8] * 2, 1.0)
    assert annotate(timeline, np.random.default_rng(1), 0.0) == timeline.gestures
    labels = annotate(timeline, np.random.default_rng(1), 1.0)
    assert labels != timeline.gestures and [g for g, _, _ in labels] == [g for g, _, _ in timeline.gestures]
    assert all(1 <= s <= e <= timeline.num_frames for _, s, e in labels)
    assert all(a[2] < b[1] for a, b in zip(labels, labels[1:]))
    for (_, s0, e0), (_, s1, e1) in zip(timeline.gestures, labels):
        assert e1 - s1 + 1 >= (e0 - s0 + 1) // 2


def test_untracked_frames_are_zero_rows_and_jitter_is_small():
    user = make_users(0, 1.0)[0]
    table, extra = programs(1.0), distractors()
    camera = Camera.kinect(320, 240)
    untracked_runs = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        timeline = plan_timeline(rng, [1, 2, 3, 4, 5, 6, 7, 8], user.tempo)
        motion = sequence_motion(user, timeline, table, extra, rng, 1.0)
        rows = skeleton_rows(motion, camera, rng, 1.0)
        tracked = np.any(rows != 0, axis=(1, 2))
        assert np.all(rows[tracked][..., 2] > 0.5)            # tracked rows are complete
        untracked_runs += int(np.sum(np.diff(tracked.astype(int)) == -1) + (not tracked[0]))
        offset = rows[tracked][..., :3] - motion.joints[tracked]
        bias = offset.mean(axis=0)                   # the tracker's offset, constant over the recording
        jitter = np.linalg.norm(offset - bias, axis=-1)
        assert np.median(jitter) < 0.03
        assert np.median(np.linalg.norm(bias, axis=-1)) < 3 * TRACKER_BIAS
    assert untracked_runs > 0


# --------------------------------------------------------------------------- entry points


def test_refuses_to_write_over_foreign_samples(tmp_path):
    (tmp_path / "Sample0001.zip").write_bytes(b"real data")
    with pytest.raises(FileExistsError, match="did not write"):
        generate(tmp_path, TINY, progress=False)
    assert (tmp_path / "Sample0001.zip").read_bytes() == b"real data"


def test_ensure_dataset_generates_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GESTURELIB_DATA", str(tmp_path))
    monkeypatch.setenv("GESTURELIB_QUICK", "1")
    monkeypatch.setitem(scales.SCALES, "quick", replace(TINY, name="quick"))
    monkeypatch.setattr(synth, "DEFAULT_WORKERS", 1)
    folder = ensure_dataset()
    assert folder == tmp_path / "quick" / "embedded-quick"
    stamp = (folder / "dataset.json").stat().st_mtime_ns
    assert ensure_dataset() == folder
    assert (folder / "dataset.json").stat().st_mtime_ns == stamp
    # Changed scale settings make the stored dataset stale: it is generated again.
    monkeypatch.setitem(scales.SCALES, "quick", replace(TINY, name="quick", width=128, height=96))
    assert ensure_dataset() == folder
    assert json.loads((folder / "dataset.json").read_text())["width"] == 128
    assert chalearn.open_sample(folder / "Sample0001.zip").width == 128


def test_command_line_rejects_a_bad_size(capsys):
    with pytest.raises(SystemExit):
        cli_main(["--out", "x", "--size", "big"])
    assert "320x240" in capsys.readouterr().err


def test_presets_validate_their_settings():
    with pytest.raises(ValueError, match="even"):
        Scale("odd", 161, 120)
    with pytest.raises(ValueError, match="difficulty"):
        scales.resolve("course", difficulty=2.0)
    with pytest.raises(ValueError, match="unknown scale"):
        scales.resolve("huge")
    assert scales.resolve("course", size=(640, 480)).width == 640


def test_one_table_of_class_relations_follows_the_design():
    from gesturelib.synth.choreography import CLOSE_PAIRS, SHAPE_ONLY_GROUPS, TIME_REVERSE_PAIRS, related, relation

    a, b = TIME_REVERSE_PAIRS[0]
    assert relation(a, b) == relation(b, a) == "time reverse" and related(a, "time reverse") == [b]
    a, b = SHAPE_ONLY_GROUPS[0][:2]
    assert relation(a, b) == "same trajectory, other hand shape"
    a, b = CLOSE_PAIRS[0]
    assert relation(b, a) == "close in the real data"
    assert relation(a, a) == "unrelated"  # a class is not its own partner
    pairs = {frozenset(p) for p in TIME_REVERSE_PAIRS + CLOSE_PAIRS} | {
        frozenset((x, y)) for g in SHAPE_ONLY_GROUPS for x in g for y in g if x != y}
    unrelated = next((x, y) for x in range(1, 21) for y in range(x + 1, 21) if frozenset((x, y)) not in pairs)
    assert relation(*unrelated) == "unrelated"
    with pytest.raises(ValueError, match="unknown relation"):
        related(1, "cousins")
