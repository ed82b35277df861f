"""Tests of the Montalbano V2 reader/writer, its error reporting and the Jaccard index."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from gesturelib import chalearn, runtime
from gesturelib.chalearn import FormatError, SampleWriter, jaccard_score, mean_jaccard, open_sample

WIDTH, HEIGHT, FRAMES = 64, 48, 12
GESTURES = [(3, 2, 5), (7, 8, 12)]
REAL_GT = runtime.real_labels_dir()


def _frame_content(i: int, rng: np.random.Generator):
    """One synthetic frame: smooth colour, a wall with a nearer moving block, its mask, a skeleton."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    color = np.stack([(2 * xx + 3 * i) % 256, 3 * yy + 40, np.full_like(xx, 120)], -1).astype(np.uint8)
    mask = (np.abs(xx - 20 - 2 * i) < 8) & (np.abs(yy - 24) < 14)
    depth = np.where(mask, 1500, 3000 + 5 * xx).astype(np.uint16)
    skeleton = rng.normal(size=(20, 9)).astype(np.float32)
    skeleton[:, chalearn.PIXEL] = rng.uniform(0, 60, (20, 2))
    if i == 3:
        skeleton[:] = 0  # an untracked frame
    return color, depth, mask, skeleton


def write_sample(zip_path: Path, gestures=GESTURES, seed: int = 0) -> dict[str, np.ndarray]:
    """Write a tiny sample with SampleWriter and return what went in."""
    rng = np.random.default_rng(seed)
    frames = [_frame_content(i, rng) for i in range(FRAMES)]
    with SampleWriter(zip_path, WIDTH, HEIGHT, fps=20, max_depth=4095) as writer:
        for frame in frames:
            writer.add_frame(*frame)
        writer.finish(gestures)
    color, depth, mask, skeleton = (np.stack(parts) for parts in zip(*frames))
    return {"color": color, "depth": depth, "mask": mask, "skeleton": skeleton}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    zip_path = tmp_path_factory.mktemp("good") / "Sample0001.zip"
    return zip_path, write_sample(zip_path)


def rebuild(source: Path, target: Path, replace: dict[str, bytes] | None = None,
            drop: tuple[str, ...] = ()) -> Path:
    """Copy a sample zip, replacing or dropping members given by suffix ("_labels.csv")."""
    replace = replace or {}
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            suffix = info.filename[len("Sample0001"):]
            if suffix in drop:
                continue
            dst.writestr(info, replace.get(suffix, src.read(info)))
    return target


# --------------------------------------------------------------------------- round trip


def test_round_trip_through_the_writer(good):
    zip_path, truth = good
    sample = open_sample(zip_path)
    assert (sample.name, sample.num_frames, sample.fps, sample.max_depth) == ("Sample0001", 12, 20, 4095)
    assert (sample.width, sample.height) == (WIDTH, HEIGHT)
    assert sample.gestures == GESTURES

    expected_skeleton = truth["skeleton"].copy()
    expected_skeleton[..., chalearn.PIXEL] = np.rint(expected_skeleton[..., chalearn.PIXEL])
    skeleton = sample.skeleton()
    assert skeleton.dtype == np.float32 and skeleton.shape == (12, 20, 9)
    np.testing.assert_array_equal(skeleton, expected_skeleton)  # exact: 9 digits round-trip float32
    assert sample.tracked().tolist() == [i != 3 for i in range(FRAMES)]

    depth = sample.depth()
    assert depth.dtype == np.uint16 and depth.shape == (12, HEIGHT, WIDTH)
    error = np.abs(depth.astype(int) - truth["depth"])
    step = 4095 / 255  # one gray level of the depth video, ~16 mm
    assert np.median(error) <= step and error.mean() <= 2 * step

    mask = sample.user_mask()
    assert mask.dtype == bool and np.mean(mask != truth["mask"]) < 0.01

    color, gray = sample.color(), sample.gray()
    assert color.shape == (12, HEIGHT, WIDTH, 3) and gray.shape == (12, HEIGHT, WIDTH)
    assert np.abs(color.astype(int) - truth["color"]).mean() < 8  # RGB order kept, mp4v loss small
    np.testing.assert_array_equal(gray, [cv2.cvtColor(c, cv2.COLOR_RGB2GRAY) for c in color])


def test_read_frames_equals_the_full_read(good):
    sample = open_sample(good[0])
    got = sample.read_frames([9, 2, 2, 5], modalities=("mask", "gray", "color", "depth"))
    assert list(got) == ["frames", "mask", "gray", "color", "depth"]
    assert got["frames"].tolist() == [2, 5, 9]
    index = [1, 4, 8]
    np.testing.assert_array_equal(got["gray"], sample.gray()[index])
    np.testing.assert_array_equal(got["color"], sample.color()[index])
    np.testing.assert_array_equal(got["depth"], sample.depth()[index])
    np.testing.assert_array_equal(got["mask"], sample.user_mask()[index])
    assert sample.read_frames([])["gray"].shape == (0, HEIGHT, WIDTH)
    with pytest.raises(ValueError, match="1..12"):
        sample.read_frames([13])
    with pytest.raises(ValueError, match="unknown modalities"):
        sample.read_frames([1], modalities=("infrared",))


def test_iter_video_yields_the_wanted_frames_and_windows_convert_like_full_frames(good):
    sample = open_sample(good[0])
    numbers = [number for number, _ in sample.iter_video("depth", [9, 2, 2, 5])]
    assert numbers == [2, 5, 9]
    window = (slice(3, 17), slice(5, 30))
    for number, frame in sample.iter_video("depth", [2, 5, 9]):
        full = sample.convert("depth", frame)
        np.testing.assert_array_equal(full, sample.depth()[number - 1])
        np.testing.assert_array_equal(sample.convert("depth", frame[window]), full[window])
    every = list(sample.iter_video("user"))
    assert [number for number, _ in every] == list(range(1, 13))
    assert list(sample.iter_video("color", [])) == []
    with pytest.raises(ValueError, match="unknown video"):
        list(sample.iter_video("infrared"))


def test_same_inputs_give_byte_identical_csv_members(tmp_path, good):
    again = tmp_path / "Sample0001.zip"
    write_sample(again)
    with zipfile.ZipFile(good[0]) as first, zipfile.ZipFile(again) as second:
        for suffix in ("_data.csv", "_labels.csv", "_skeleton.csv"):
            assert first.read("Sample0001" + suffix) == second.read("Sample0001" + suffix)
        assert first.read("Sample0001_data.csv") == b"12,20,4095\n"
        assert first.read("Sample0001_labels.csv") == b"3,2,5\n7,8,12\n"
        rows = first.read("Sample0001_skeleton.csv").decode().splitlines()
    assert len(rows) == 12 and all(row.count(",") == 179 for row in rows)
    assert rows[3] == ",".join(["0"] * 180)


def test_extracted_folder_reads_like_the_zip(tmp_path, good):
    folder = tmp_path / "Sample0001"
    with zipfile.ZipFile(good[0]) as archive:
        archive.extractall(folder)
    from_zip, from_folder = open_sample(good[0]), open_sample(folder)
    assert from_folder.name == "Sample0001" and from_folder.gestures == from_zip.gestures
    np.testing.assert_array_equal(from_folder.skeleton(), from_zip.skeleton())
    np.testing.assert_array_equal(from_folder.depth(), from_zip.depth())


def test_one_enclosing_folder_in_the_zip_is_tolerated(tmp_path, good):
    nested = tmp_path / "Sample0001.zip"
    with zipfile.ZipFile(good[0]) as src, zipfile.ZipFile(nested, "w") as dst:
        for info in src.infolist():
            dst.writestr("Sample0001/" + info.filename, src.read(info))
    np.testing.assert_array_equal(open_sample(nested).gray(), open_sample(good[0]).gray())


def test_temporary_file_fallback_decodes_the_same_and_cleans_up(tmp_path, good, monkeypatch):
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    streamed = open_sample(good[0]).depth()
    copies = []
    make_temp = tempfile.mkstemp
    monkeypatch.setattr(chalearn, "_STREAM_CAPTURE", False)
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.setattr(tempfile, "mkstemp", lambda **kw: copies.append(make_temp(**kw)) or copies[-1])
    np.testing.assert_array_equal(open_sample(good[0]).depth(), streamed)
    assert len(copies) == 2  # the header probe and the decode pass each used a private copy
    assert all(Path(name).parent == private_tmp and "Sample" not in name for _, name in copies)
    assert list(private_tmp.iterdir()) == []  # and deleted it


def test_writer_refuses_bad_input_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="even"):
        SampleWriter(tmp_path / "Sample0002.zip", 63, 48)
    target = tmp_path / "Sample0002.zip"
    color, depth, mask, skeleton = _frame_content(0, np.random.default_rng(0))
    with SampleWriter(target, WIDTH, HEIGHT) as writer:
        with pytest.raises(ValueError, match="depth_mm"):
            writer.add_frame(color, depth.astype(np.float32), mask, skeleton)
        writer.add_frame(color, depth, mask, skeleton)
        with pytest.raises(ValueError, match="outside 1..1"):
            writer.finish([(1, 1, 2)])
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bad input

NO_SKELETON_ROW = ",".join(["0"] * 180) + "\n"


def _skeleton_text(good_zip: Path) -> str:
    with zipfile.ZipFile(good_zip) as archive:
        return archive.read("Sample0001_skeleton.csv").decode()


OPEN_ERRORS = {
    # case: (members to replace, members to drop, words the message must contain)
    "missing member": ({}, ("_skeleton.csv",), "missing member Sample0001_skeleton.csv"),
    "data columns": ({"_data.csv": b"12,20\n"}, (), "2 columns, expected 3"),
    "data non-numeric": ({"_data.csv": b"12,twenty,4095\n"}, (), "non-integer"),
    "labels columns": ({"_labels.csv": b"3,2,5,1\n"}, (), "4 columns, expected 3"),
    "labels non-numeric": ({"_labels.csv": b"3,two,5\n"}, (), "non-integer"),
    "label id 0": ({"_labels.csv": b"0,2,5\n"}, (), "id 0, outside 1..20"),
    "label id 21": ({"_labels.csv": b"21,2,5\n"}, (), "id 21, outside 1..20"),
    "label past the end": ({"_labels.csv": b"3,10,13\n"}, (), "outside 1..12"),
    "label before frame 1": ({"_labels.csv": b"3,0,4\n"}, (), "outside 1..12"),
    "start after end": ({"_labels.csv": b"3,6,5\n"}, (), "after its end"),
    "overlap": ({"_labels.csv": b"3,2,5\n7,5,8\n"}, (), "overlap"),
}


@pytest.mark.parametrize("case", OPEN_ERRORS)
def test_bad_csv_members_raise_on_open(tmp_path, good, case):
    replace, drop, words = OPEN_ERRORS[case]
    bad = rebuild(good[0], tmp_path / "Sample0001.zip", replace, drop)
    with pytest.raises(FormatError, match=words) as caught:
        open_sample(bad)
    assert str(bad) in str(caught.value)
    if case != "missing member":
        assert f"member Sample0001{next(iter(replace))}" in str(caught.value)


def test_not_a_zip(tmp_path):
    bad = tmp_path / "Sample0001.zip"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(FormatError, match="not a zip file") as caught:
        open_sample(bad)
    assert str(bad) in str(caught.value)


@pytest.mark.parametrize("case,edit,words", [
    ("columns", lambda rows: [rows[0].rsplit(",", 1)[0]] + rows[1:], "line 1 has 179 columns"),
    ("non-numeric", lambda rows: ["abc" + rows[0][rows[0].index(","):]] + rows[1:], "line 1, column 1"),
    ("not finite", lambda rows: rows[:2] + ["nan" + rows[2][rows[2].index(","):]] + rows[3:],
     "line 3, column 1"),
    ("row count", lambda rows: rows[:-1], "11 skeleton rows, but numFrames is 12"),
])
def test_bad_skeleton_raises_when_read(tmp_path, good, case, edit, words):
    rows = edit(_skeleton_text(good[0]).splitlines())
    skeleton = ("\n".join(rows) + "\n").encode()
    bad = rebuild(good[0], tmp_path / "Sample0001.zip", {"_skeleton.csv": skeleton})
    sample = open_sample(bad)  # lazy: the skeleton is not read yet
    with pytest.raises(FormatError, match=words) as caught:
        sample.skeleton()
    assert f"{bad} (member Sample0001_skeleton.csv)" in str(caught.value)


def test_video_shorter_than_num_frames(tmp_path, good):
    bad = rebuild(good[0], tmp_path / "Sample0001.zip", {
        "_data.csv": b"13,20,4095\n",
        "_skeleton.csv": (_skeleton_text(good[0]) + NO_SKELETON_ROW).encode()})
    sample = open_sample(bad)
    assert sample.skeleton().shape[0] == 13
    with pytest.raises(FormatError, match="ends after 12 frames, but numFrames is 13") as caught:
        sample.gray()
    assert f"{bad} (member Sample0001_color.mp4)" in str(caught.value)
    with pytest.raises(FormatError, match="member Sample0001_user.mp4"):
        sample.read_frames([13], modalities=("mask",))
    assert sample.read_frames([12], modalities=("mask",))["mask"].shape == (1, HEIGHT, WIDTH)


def test_video_longer_than_num_frames(tmp_path, good):
    rows = _skeleton_text(good[0]).splitlines()[:11]
    bad = rebuild(good[0], tmp_path / "Sample0001.zip", {
        "_data.csv": b"11,20,4095\n", "_labels.csv": b"3,2,5\n",
        "_skeleton.csv": ("\n".join(rows) + "\n").encode()})
    with pytest.raises(FormatError, match="more frames than numFrames") as caught:
        open_sample(bad).depth()
    assert f"{bad} (member Sample0001_depth.mp4)" in str(caught.value)


def test_undecodable_video(tmp_path, good):
    bad = rebuild(good[0], tmp_path / "Sample0001.zip", {"_user.mp4": b"\x00not a video" * 50})
    with pytest.raises(FormatError, match="cannot decode the video") as caught:
        open_sample(bad).user_mask()
    assert f"{bad} (member Sample0001_user.mp4)" in str(caught.value)


def test_corrupted_member_is_an_error_not_a_crash(tmp_path, good):
    # Flip bytes inside the stored colour video: its CRC no longer matches. An
    # exception inside OpenCV's stream callback would kill the interpreter.
    bad = tmp_path / "Sample0001.zip"
    data = bytearray(good[0].read_bytes())
    with zipfile.ZipFile(good[0]) as archive:
        info = archive.getinfo("Sample0001_color.mp4")
    body = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[body + 600:body + 640] = bytes(40)
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="member Sample0001_color.mp4") as caught:
        open_sample(bad).color()
    assert str(bad) in str(caught.value) and "CRC" in str(caught.value)


@pytest.mark.parametrize("evil", ["../evil.csv", "/tmp/evil-absolute.csv", "dir/../../evil.csv"])
def test_member_leaving_its_folder_is_refused_and_never_written(tmp_path, good, evil):
    inner = tmp_path / "inner"
    bad = rebuild(good[0], inner / "Sample0001.zip")
    with zipfile.ZipFile(bad, "a") as archive:
        archive.writestr(evil, b"escaped")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(FormatError, match="leaves the archive's folder") as caught:
        open_sample(bad)
    assert str(bad) in str(caught.value)
    assert sorted(tmp_path.rglob("*")) == before
    assert not (tmp_path / "evil.csv").exists() and not Path("/tmp/evil-absolute.csv").exists()


def test_loose_label_and_data_files(tmp_path):
    labels, data = tmp_path / "Sample0009_labels.csv", tmp_path / "Sample0009_data.csv"
    labels.write_text("5,10,40\n2,50,80\n")
    data.write_text("100,20,3000\n")
    assert chalearn.read_labels(labels) == [(5, 10, 40), (2, 50, 80)]
    assert chalearn.read_data(data) == chalearn.SampleData(100, 20, 3000)
    with pytest.raises(FormatError, match="outside 1..60") as caught:
        chalearn.read_labels(labels, num_frames=60)
    assert str(labels) in str(caught.value)


# --------------------------------------------------------------------------- dataset folders


def test_list_samples_and_official_split(tmp_path):
    for name in ("Sample0701.zip", "Sample0001.zip", "Train1.zip", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "Sample0471").mkdir()
    (tmp_path / "Sample0001").mkdir()  # extracted next to its zip: the zip is listed
    assert [p.name for p in chalearn.list_samples(tmp_path)] == [
        "Sample0001.zip", "Sample0471", "Sample0701.zip"]
    index = chalearn.dataset_index(tmp_path)
    assert [(i.name, i.user, i.split) for i in index] == [
        ("Sample0001", -1, "train"), ("Sample0471", -1, "validation"), ("Sample0701", -1, "test")]


def test_dataset_index_reads_sequences_csv(tmp_path):
    for name in ("Sample0002.zip", "Sample0001.zip"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sequences.csv").write_text("sample,user,split\nSample0002,7,test\nSample0001,3,train\n")
    index = chalearn.dataset_index(tmp_path)
    assert index == [chalearn.SequenceInfo(tmp_path / "Sample0001.zip", "Sample0001", 3, "train"),
                     chalearn.SequenceInfo(tmp_path / "Sample0002.zip", "Sample0002", 7, "test")]
    (tmp_path / "sequences.csv").write_text("sample,user,split\nSample0003,1,train\n")
    with pytest.raises(FormatError, match="sequences.csv: line 2: no Sample0003"):
        chalearn.dataset_index(tmp_path)


# --------------------------------------------------------------------------- Jaccard


def test_jaccard_by_hand():
    gt = [(1, 1, 4), (2, 6, 10)]
    pred = [(1, 2, 5), (3, 7, 8)]
    # Challenge definition, frames end-inclusive:
    #   class 1: A={1,2,3,4}, B={2,3,4,5}: |A∩B|=3, |A∪B|=5 -> 0.6
    #   class 2: A={6..10}, B={} -> 0;  class 3 (false positive): -> 0
    #   mean over {1,2,3} = 0.6 / 3 = 0.2
    assert jaccard_score(gt, pred, 10) == pytest.approx(0.2)
    # Official code: end frame dropped, predicted-only classes ignored:
    #   class 1: A={1,2,3}, B={2,3,4}: 2/4 = 0.5;  class 2: A={6..9}, B={} -> 0
    #   mean over {1,2} = 0.25
    assert jaccard_score(gt, pred, 10, official=True) == pytest.approx(0.25)


def test_jaccard_repeated_class_and_false_positives():
    gt = [(4, 1, 3), (4, 7, 9)]
    pred = [(4, 2, 8)]
    # A={1,2,3,7,8,9}, B={2..8}: A∩B={2,3,7,8} (4), A∪B={1..9} (9) -> 4/9
    assert jaccard_score(gt, pred, 10) == pytest.approx(4 / 9)
    # end dropped: A={1,2,7,8}, B={2..7}: A∩B={2,7} (2), A∪B={1..8} (8) -> 0.25
    assert jaccard_score(gt, pred, 10, official=True) == pytest.approx(0.25)
    # a perfect match plus one false positive: (1 + 0) / 2, but 1.0 officially
    gt, pred = [(5, 3, 6)], [(5, 3, 6), (7, 8, 9)]
    assert jaccard_score(gt, pred, 10) == pytest.approx(0.5)
    assert jaccard_score(gt, pred, 10, official=True) == pytest.approx(1.0)


def test_mean_jaccard_and_invalid_input():
    sequences = [([(1, 1, 4), (2, 6, 10)], [(1, 2, 5), (3, 7, 8)], 10),  # 0.2 (above)
                 ([(5, 3, 6)], [(5, 3, 6)], 10)]                          # 1.0
    assert mean_jaccard(sequences) == pytest.approx(0.6)
    assert mean_jaccard(sequences, official=True) == pytest.approx((0.25 + 1.0) / 2)
    with pytest.raises(ValueError, match="outside 1..20"):
        jaccard_score([(21, 1, 2)], [], 10)
    with pytest.raises(ValueError, match="not within 1..10"):
        jaccard_score([(1, 5, 11)], [], 10)
    with pytest.raises(ValueError, match="undefined"):
        jaccard_score([], [], 10)
    with pytest.raises(ValueError, match="0/0"):
        jaccard_score([(1, 4, 4)], [], 10, official=True)


# --------------------------------------------------------------------------- real ground truth


def _real_ground_truth():
    if not REAL_GT.is_dir():
        pytest.skip(f"real ChaLearn validation ground truth not found at {REAL_GT}")
    pairs = []
    for labels in sorted(REAL_GT.glob("Sample*_labels.csv")):
        data = chalearn.read_data(labels.with_name(labels.name.replace("_labels", "_data")))
        pairs.append((data, chalearn.read_labels(labels, data.num_frames)))
    return pairs


def test_real_validation_ground_truth_reads():
    pairs = _real_ground_truth()
    assert len(pairs) == 230
    assert {data.fps for data, _ in pairs} == {20}
    assert min(data.num_frames for data, _ in pairs) == 1013
    assert max(data.num_frames for data, _ in pairs) == 1903
    counts = [len(labels) for _, labels in pairs]
    assert min(counts) == 8 and max(counts) == 22 and sum(counts) == 3454
    assert {g for _, labels in pairs for g, _, _ in labels} == set(range(1, 21))


def test_real_ground_truth_against_itself_scores_one():
    pairs = _real_ground_truth()
    sequences = [(labels, labels, data.num_frames) for data, labels in pairs]
    assert mean_jaccard(sequences, official=True) == 1.0
    assert mean_jaccard(sequences) == 1.0
