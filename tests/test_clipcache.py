"""The clip cache on a tiny dataset written in the real format (reuse, rebuild, crash, skips)."""

import dataclasses
import json
import shutil
import time

import numpy as np
import pytest
import torch

from gesturelib import chalearn, clipcache, clips

WIDTH, HEIGHT, FRAMES = 96, 72, 30
GESTURES = [(3, 3, 12), (11, 15, 26)]


def scene(t):
    """Frame t of a right-handed user raising the hand on the image's right side."""
    hand_x, hand_y = 64 + 2 * (t % 3), 22
    gray = np.full((HEIGHT, WIDTH), 90, np.uint8)
    depth = np.full((HEIGHT, WIDTH), 3500, np.uint16)
    mask = np.zeros((HEIGHT, WIDTH), bool)
    gray[12:64, 36:60], depth[12:64, 36:60], mask[12:64, 36:60] = 150, 2000, True  # body
    hand = (slice(hand_y - 4, hand_y + 4), slice(hand_x - 4, hand_x + 4))
    gray[hand], depth[hand], mask[hand] = 240, 1500, True
    joints = np.zeros((20, 9), np.float32)
    joints[:, 2] = 2.0
    joints[:, 7:9] = (48, 56)
    joints[chalearn.JOINT_INDEX["Head"], 7:9] = (48, 16)
    joints[chalearn.JOINT_INDEX["HandRight"], 7:9] = (hand_x, hand_y)
    joints[chalearn.JOINT_INDEX["HandLeft"], 7:9] = (34, 62)
    return gray, depth, mask, joints


def write_sequence(path, left_handed=False, untracked=()):
    """One sequence with GESTURES; ``left_handed`` mirrors everything; ``untracked`` frames get zero skeletons."""
    with chalearn.SampleWriter(path, WIDTH, HEIGHT, max_depth=4000) as writer:
        for t in range(1, FRAMES + 1):
            gray, depth, mask, joints = scene(t)
            if left_handed:
                gray, depth, mask = gray[:, ::-1], depth[:, ::-1], mask[:, ::-1]
                joints = clips.mirror_skeleton(joints[None], WIDTH)[0]
            if t in untracked:
                joints = np.zeros_like(joints)
            color = np.repeat(np.ascontiguousarray(gray)[..., None], 3, axis=2)
            writer.add_frame(color, np.ascontiguousarray(depth), np.ascontiguousarray(mask), joints)
        writer.finish(GESTURES)


def write_dataset(folder):
    """Five sequences: two train users (one left-handed), a validation one whose second
    gesture is untracked throughout, a test one, and a corrupt train zip."""
    folder.mkdir(parents=True, exist_ok=True)
    write_sequence(folder / "Sample0001.zip")
    write_sequence(folder / "Sample0002.zip", left_handed=True)
    write_sequence(folder / "Sample0003.zip", untracked=range(14, 28))
    write_sequence(folder / "Sample0004.zip")
    (folder / "Sample0005.zip").write_bytes(b"this is not a zip file")
    rows = ["sample,user,split", "1,1,train", "2,2,train", "3,3,validation", "4,4,test", "5,5,train"]
    (folder / "sequences.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("tiny") / "tiny")


def prepare(dataset, cache_dir, preset="course", workers=1):
    with pytest.warns(UserWarning, match="skipped 2"):
        return clipcache.prepare(dataset, preset, cache_dir=cache_dir, workers=workers, progress=False)


def test_prepare_stores_every_gesture_with_labels_users_and_a_skip_report(dataset, tmp_path):
    files = prepare(dataset, tmp_path)
    assert sorted(files) == ["test", "train", "validation"]
    assert files["train"].parent.name.startswith("tiny-course-")
    train = torch.load(files["train"], weights_only=True)
    assert train["clips"].dtype == torch.uint8 and train["clips"].shape == (4, 2, 2, 16, 32, 32)
    assert train["labels"].tolist() == [2, 10, 2, 10]
    assert train["users"].tolist() == [1, 1, 2, 2]
    assert train["sequences"] == ["Sample0001"] * 2 + ["Sample0002"] * 2
    assert train["starts"].tolist() == [3, 15, 3, 15] and train["ends"].tolist() == [12, 26, 12, 26]
    assert train["mirrored"].tolist() == [False, False, True, True]
    validation = torch.load(files["validation"], weights_only=True)
    assert validation["labels"].tolist() == [2]  # the untracked gesture is left out

    report = clipcache.skip_report(files["train"])
    assert [(entry["file"].rsplit("/", 1)[-1], entry["gesture"]) for entry in report] == [
        ("Sample0003.zip", [11, 15, 26]), ("Sample0005.zip", None)]
    assert "untracked in every frame" in report[0]["reason"]
    assert "not a zip" in report[1]["reason"]


def test_left_handed_sequence_gives_the_right_handed_clips(dataset, tmp_path):
    train = torch.load(prepare(dataset, tmp_path)["train"], weights_only=True)
    right, left = train["clips"][:2].float(), train["clips"][2:].float()
    assert (right - left).abs().mean() < 2.0  # the same scene, mirrored, up to mp4v noise
    assert (right - right.flip(-1)).abs().mean() > 10  # while the scene itself is not symmetric


def test_cache_is_reused_when_nothing_changed(dataset, tmp_path, monkeypatch):
    files = prepare(dataset, tmp_path)
    written = {split: path.stat().st_mtime_ns for split, path in files.items()}

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cache was rebuilt")
    monkeypatch.setattr(clipcache, "_run", no_rebuild)
    assert clipcache.prepare(dataset, "course", cache_dir=tmp_path, progress=False) == files
    assert {split: path.stat().st_mtime_ns for split, path in files.items()} == written


def test_cache_is_rebuilt_when_a_setting_or_a_source_file_changes(dataset, tmp_path):
    files = prepare(dataset, tmp_path)
    wider_hand = dataclasses.replace(clips.settings_for("course"), hand_side=0.6)
    changed = prepare(dataset, tmp_path, preset=wider_hand)
    assert changed["train"].parent != files["train"].parent
    assert not torch.equal(torch.load(changed["train"], weights_only=True)["clips"],
                           torch.load(files["train"], weights_only=True)["clips"])
    assert json.loads((changed["train"].parent / clipcache.MANIFEST).read_text())["settings"]["hand_side"] == 0.6

    copy = shutil.copytree(dataset, tmp_path / "copy" / "tiny")  # keeps names, sizes and mtimes
    before = clipcache.prepare(copy, "course", cache_dir=tmp_path, progress=False)
    assert before == files  # ... so it is the same data, and the cache is shared
    (copy / "Sample0004.zip").touch()  # a regenerated file has a new mtime
    time.sleep(0.01)
    assert prepare(copy, tmp_path)["test"].parent != before["test"].parent


def test_interrupted_prepare_is_not_taken_as_complete(dataset, tmp_path, monkeypatch):
    real_save = clipcache.save_torch
    saved = []

    def crash_after_first_split(content, path):
        if saved:
            raise KeyboardInterrupt("simulated crash")
        saved.append(path)
        real_save(content, path)
    monkeypatch.setattr(clipcache, "save_torch", crash_after_first_split)
    with pytest.raises(KeyboardInterrupt):
        clipcache.prepare(dataset, "course", cache_dir=tmp_path, workers=1, progress=False)
    folder = saved[0].parent
    assert saved[0].exists() and not (folder / clipcache.MANIFEST).exists()
    assert not list(folder.glob("*.tmp"))  # the half-written file was removed

    monkeypatch.setattr(clipcache, "save_torch", real_save)
    runs = []
    real_run = clipcache._run
    monkeypatch.setattr(clipcache, "_run", lambda *args: runs.append(1) or real_run(*args))
    files = prepare(dataset, tmp_path)
    assert runs == [1] and (folder / clipcache.MANIFEST).exists()
    assert sorted(files) == ["test", "train", "validation"]


def test_two_worker_processes_give_the_same_clips(dataset, tmp_path):
    serial = prepare(dataset, tmp_path / "serial")
    parallel = prepare(dataset, tmp_path / "parallel", workers=2)
    for split in serial:
        one, two = (torch.load(files[split], weights_only=True) for files in (serial, parallel))
        assert torch.equal(one["clips"], two["clips"]) and one["sequences"] == two["sequences"]


def test_load_split_and_command_line(dataset, tmp_path, capsys):
    with pytest.warns(UserWarning):
        clipcache.main(["--data", str(dataset), "--cache-dir", str(tmp_path), "--no-progress", "--workers", "1"])
    printed = capsys.readouterr().out
    assert "train:      4 clips" in printed and "skipped: 2" in printed
    test = clipcache.load_split(dataset, "test", cache_dir=tmp_path, progress=False)
    assert test["labels"].tolist() == [2, 10]
    with pytest.raises(ValueError, match="no sequences in split 'holdout'"):
        clipcache.load_split(dataset, "holdout", cache_dir=tmp_path, progress=False)


def test_dataset_without_any_usable_sequence_is_an_error(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "Sample0001.zip").write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="no clip could be extracted.*not a zip"):
        clipcache.prepare(tmp_path / "broken", cache_dir=tmp_path / "cache", workers=1, progress=False)
    with pytest.raises(FileNotFoundError, match="no such dataset folder"):
        clipcache.prepare(tmp_path / "missing", cache_dir=tmp_path / "cache", workers=1, progress=False)


@pytest.mark.parametrize("sample_name, variable_length", [("Sample0001", False), ("Sample0002", True)])
def test_streamed_clips_equal_clips_rendered_from_stacked_frames(dataset, sample_name, variable_length):
    # sample_clips crops each frame as it is decoded, one video at a time;
    # render_clip works on frames read and stacked first. Both must agree.
    sample = chalearn.open_sample(dataset / f"{sample_name}.zip")
    settings = clips.settings_for("course")
    streamed = clips.sample_clips(sample, settings, variable_length=variable_length)
    assert len(streamed) == len(GESTURES)
    for clip, gesture in zip(streamed, GESTURES):
        geometry = clips.crop_boxes(sample.skeleton(), gesture, (WIDTH, HEIGHT), settings, variable_length)
        stacked = clips.render_clip(geometry, sample.read_frames(geometry.frames, clips.MODALITIES), settings)
        np.testing.assert_array_equal(clip.clip, stacked)
    assert streamed[0].mirrored == (sample_name == "Sample0002")
