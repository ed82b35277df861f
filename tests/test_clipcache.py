"""The clip cache on a tiny dataset written in the real format (reuse, rebuild, crash, skips).

The dataset is ``conftest``'s ``tiny_dataset`` (``tests/tiny_dataset.py`` writes it)."""

import dataclasses
import json
import shutil
import time

import numpy as np
import pytest
import torch

from gesturelib import chalearn, clipcache, cropping
from tiny_dataset import GESTURES, HEIGHT, WIDTH


@pytest.fixture(scope="module")
def dataset(tiny_dataset):
    return tiny_dataset


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
    wider_hand = dataclasses.replace(cropping.settings_for("course"), hand_side=0.6)
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
    settings = cropping.settings_for("course")
    streamed = cropping.sample_clips(sample, settings, variable_length=variable_length)
    assert len(streamed) == len(GESTURES)
    for clip, gesture in zip(streamed, GESTURES):
        geometry = cropping.crop_boxes(sample.skeleton(), gesture, (WIDTH, HEIGHT), settings, variable_length)
        stacked = cropping.render_clip(geometry, sample.read_frames(geometry.frames, cropping.MODALITIES), settings)
        np.testing.assert_array_equal(clip.clip, stacked)
    assert streamed[0].mirrored == (sample_name == "Sample0002")
