"""The clip cache: every gesture of a dataset folder as clips, one file per split.

Decoding video is by far the slowest step of the pipeline, so it is done once:
:func:`prepare` turns every labelled gesture of every sequence into a clip
(:mod:`gesturelib.cropping`) and stores each split as one ``torch.save`` file.
The cache folder is named by a hash of everything the clips depend on, so a
changed source file or a changed setting never reuses stale clips:

* the source files' names, sizes and modification times (``mtime_ns``) plus
  each sequence's user and split. Not a content hash: hashing the videos
  would mean reading every byte (tens of GB for the real data) just to learn
  that nothing changed; size + mtime is what ``make`` and ``rsync`` trust, and
  regenerating or replacing a file always changes its mtime. The cost is a
  needless rebuild after a copy that does not keep times (the safe direction);
* every :class:`cropping.ClipSettings` field;
* :data:`FORMAT_VERSION`, bumped whenever the clip code changes what it makes.

Every file is written under a temporary name and renamed into place, and the
``manifest.json`` that marks the cache complete is written last: a run killed
half-way leaves no manifest, so the next call rebuilds. Sequences that cannot
be read, and gestures that cannot be cropped, go to ``skipped.json`` (file and
reason) and the batch goes on.

Command line: ``python -m gesturelib.clipcache --data DIR --preset course``.

torch is imported inside the functions that save and load: the decoding
worker processes import this module, and without torch they start in half a
second instead of several.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm.auto import tqdm

from . import chalearn, cropping, runtime
from .files import save_torch, write_json

#: Version of what a cache file holds; part of the cache key.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SKIP_REPORT = "skipped.json"

#: Errors that mean "this sequence is unusable", reported and skipped. Anything
#: else is a bug and stops the batch instead of turning every sequence into a skip.
_SEQUENCE_ERRORS = (chalearn.FormatError, OSError, ValueError, cv2.error)


def _file_state(path: Path) -> list:
    """Name, size and mtime_ns of a sample zip, or of every file of an extracted folder."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [[str(p.relative_to(path.parent)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def cache_key(index: list[chalearn.SequenceInfo], settings: cropping.ClipSettings) -> str:
    """Hex SHA-256 of the source files' state, their users and splits, the settings and the format."""
    payload = {
        "format": FORMAT_VERSION,
        "settings": settings.as_dict(),
        "sequences": [[info.name, info.user, info.split, _file_state(Path(info.path))] for info in index],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _folder(dataset_dir: Path, settings: cropping.ClipSettings, key: str,
            cache_dir: str | os.PathLike | None) -> Path:
    """``{cache_dir or data_root()/clips}/{dataset name}-{preset name}-{key[:12]}``."""
    parent = Path(cache_dir) if cache_dir is not None else runtime.data_root() / "clips"
    return parent / f"{dataset_dir.resolve().name}-{settings.name}-{key[:12]}"


def _index(dataset_dir: Path) -> list[chalearn.SequenceInfo]:
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"{dataset_dir}: no such dataset folder")
    index = chalearn.dataset_index(dataset_dir)
    if not index:
        raise FileNotFoundError(f"{dataset_dir}: no SampleNNNN.zip sequences in this folder")
    return index


def _complete(folder: Path, key: str) -> dict[str, Path] | None:
    """The split files of a finished cache with this key, or None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if manifest.get("key") != key:
        return None
    paths = {split: folder / name for split, name in manifest["files"].items()}
    return paths if all(path.is_file() for path in paths.values()) else None


def _clip_sequence(path: str, settings: cropping.ClipSettings) -> dict[str, Any]:
    """Clips of one sequence as arrays, plus what was skipped (runs in a worker process)."""
    errors: list[cropping.ClipError] = []
    try:
        sample = chalearn.open_sample(path)
        if not sample.gestures:
            return {"error": "no labelled gestures (missing or empty _labels.csv)"}
        extracted = cropping.sample_clips(sample, settings, errors=errors)
    except _SEQUENCE_ERRORS as error:
        return {"error": f"{type(error).__name__}: {error}"}
    shape = (0, 2, len(cropping.CHANNELS), settings.frames, settings.size, settings.size)
    return {
        "clips": np.stack([c.clip for c in extracted]) if extracted else np.zeros(shape, np.uint8),
        "labels": np.array([c.gesture_id - 1 for c in extracted], np.int64),
        "starts": np.array([c.start for c in extracted], np.int64),
        "ends": np.array([c.end for c in extracted], np.int64),
        "mirrored": np.array([c.mirrored for c in extracted], bool),
        "skipped": [{"gesture": list(error.gesture or ()), "reason": str(error)} for error in errors],
    }


def _size(path: Path) -> int:
    """Bytes of a sample zip or of an extracted sample folder (a proxy for its decoding time)."""
    return sum(state[1] for state in _file_state(Path(path)))


def _worker_setup() -> None:
    # Two worker processes already fill the two cores; OpenCV's own thread
    # pool on top of them only adds switching.
    cv2.setNumThreads(1)


def _run(index: list[chalearn.SequenceInfo], settings: cropping.ClipSettings, workers: int,
         progress: bool) -> list[dict[str, Any]]:
    """:func:`_clip_sequence` over every sequence, in index order, on ``workers`` processes."""
    bar = tqdm(total=len(index), desc=f"clips ({settings.name})", unit="seq", disable=not progress)
    results: list[dict[str, Any]] = [{} for _ in index]
    with bar:
        if workers <= 1:
            for i, info in enumerate(index):
                results[i] = _clip_sequence(str(info.path), settings)
                bar.update()
            return results
        # "spawn": workers start clean (no copy of a parent's torch/OpenMP
        # threads, which can deadlock after fork) and it behaves the same on
        # Linux, macOS and Windows.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(index)), mp_context=context,
                                 initializer=_worker_setup) as pool:
            # Largest files first, so no long sequence is left for one worker at the end.
            order = sorted(range(len(index)), key=lambda i: -_size(index[i].path))
            futures = {pool.submit(_clip_sequence, str(index[i].path), settings): i for i in order}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    return results




def _split_content(split: str, rows: list[tuple[chalearn.SequenceInfo, dict[str, Any]]],
                   settings: cropping.ClipSettings, key: str) -> dict[str, Any]:
    """The dict stored for one split: tensors and plain lists only (loadable with weights_only)."""
    import torch

    done = [(info, result) for info, result in rows if "clips" in result]
    shape = (0, 2, len(cropping.CHANNELS), settings.frames, settings.size, settings.size)

    def column(name: str, dtype: type, empty_shape: tuple[int, ...] = (0,)) -> torch.Tensor:
        parts = [result[name] for _, result in done]
        return torch.from_numpy(np.concatenate(parts) if parts else np.zeros(empty_shape, dtype))

    return {
        "clips": column("clips", np.uint8, shape),
        "labels": column("labels", np.int64),
        "users": torch.tensor([info.user for info, result in done for _ in result["labels"]],
                              dtype=torch.int64),
        "sequences": [info.name for info, result in done for _ in result["labels"]],
        "starts": column("starts", np.int64),
        "ends": column("ends", np.int64),
        "mirrored": column("mirrored", bool),
        "split": split,
        "classes": list(chalearn.GESTURES),
        "settings": settings.as_dict(),
        "key": key,
        "format_version": FORMAT_VERSION,
    }


def prepare(dataset_dir: str | os.PathLike, preset: str | cropping.ClipSettings = "course",
            cache_dir: str | os.PathLike | None = None, workers: int = 2,
            progress: bool = True) -> dict[str, Path]:
    """Clips of every labelled gesture of ``dataset_dir``, one file per split; returns {split: file}.

    A no-op (apart from hashing file states) when a complete cache with the
    same key exists. ``preset`` is a preset name or a :class:`cropping.ClipSettings`.
    ``workers`` processes decode sequences in parallel (1: in this process).
    They are started with "spawn", so a *script* that calls this with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard
    (notebooks, ``python -m`` and pytest need nothing).
    """
    dataset_dir = Path(dataset_dir)
    settings = cropping.settings_for(preset)
    index = _index(dataset_dir)
    key = cache_key(index, settings)
    folder = _folder(dataset_dir, settings, key, cache_dir)
    finished = _complete(folder, key)
    if finished is not None:
        return finished

    # Files of an interrupted run are simply overwritten. Nothing is deleted
    # first: processes preparing the same cache at once (torchrun ranks) each
    # write complete files under unique temporary names, and the last rename wins.
    folder.mkdir(parents=True, exist_ok=True)
    results = _run(index, settings, workers, progress)

    skipped = []
    for info, result in zip(index, results):
        if "error" in result:
            skipped.append({"file": str(info.path), "gesture": None, "reason": result["error"]})
        for entry in result.get("skipped", []):
            skipped.append({"file": str(info.path), **entry})
    if not any(len(result.get("labels", ())) for result in results):
        raise RuntimeError(f"{dataset_dir}: no clip could be extracted; first problems: "
                           + "; ".join(entry["reason"] for entry in skipped[:3]))

    files = {}
    for split in dict.fromkeys(info.split for info in index):
        rows = [(info, result) for info, result in zip(index, results) if info.split == split]
        files[split] = f"{split}.pt"
        save_torch(_split_content(split, rows, settings, key), folder / files[split])
    write_json(folder / SKIP_REPORT, skipped)
    write_json(folder / MANIFEST, {  # last: its presence marks the cache complete
        "key": key, "format_version": FORMAT_VERSION, "dataset": str(dataset_dir.resolve()),
        "settings": settings.as_dict(), "files": files, "skipped": len(skipped),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    })
    if skipped:
        warnings.warn(f"{dataset_dir}: skipped {len(skipped)} sequence(s)/gesture(s); "
                      f"see {folder / SKIP_REPORT}", stacklevel=2)
    return {split: folder / name for split, name in files.items()}


def skip_report(split_file: str | os.PathLike) -> list[dict[str, Any]]:
    """The skip report (file, gesture, reason) of the cache holding ``split_file``."""
    return json.loads((Path(split_file).parent / SKIP_REPORT).read_text())


def load_split(dataset_dir: str | os.PathLike, split: str, preset: str | cropping.ClipSettings = "course",
               cache_dir: str | os.PathLike | None = None, workers: int = 2,
               progress: bool = True) -> dict[str, Any]:
    """One split's cached clips (preparing the cache first if needed).

    Returns the stored dict: ``clips`` uint8 (N, 2, 2, T, H, W), ``labels``
    int64 0..19, ``users`` int64, ``sequences`` (names), ``starts``/``ends``
    (1-based gesture frames), ``mirrored`` bool, ``classes``, ``settings``.
    The file is memory-mapped: clips are read from disk as they are used, so a
    paper-size split (gigabytes) does not have to fit in memory.
    """
    import torch

    files = prepare(dataset_dir, preset, cache_dir, workers, progress)
    if split not in files:
        raise ValueError(f"{dataset_dir}: no sequences in split {split!r}; splits: {sorted(files)}")
    return torch.load(files[split], weights_only=True, mmap=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gesturelib.clipcache", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="dataset folder (default: the embedded dataset, generated if missing)")
    parser.add_argument("--preset", default="course", choices=sorted(cropping.PRESETS))
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="parent folder of the cache (default: <data root>/clips)")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    import torch

    if args.data is None:
        from . import synth
        args.data = synth.ensure_dataset()
    started = time.perf_counter()
    files = prepare(args.data, args.preset, args.cache_dir, args.workers, not args.no_progress)
    for split, path in files.items():
        count = len(torch.load(path, weights_only=True)["labels"])
        print(f"{split:>10}: {count:6d} clips  {path}")
    print(f"skipped: {len(skip_report(next(iter(files.values()))))} (see skipped.json); "
          f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
