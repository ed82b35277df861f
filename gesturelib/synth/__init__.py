"""The embedded dataset: synthetic "Montalbano-like" gesture sequences in the exact ChaLearn format.

``generate(out_dir, scale)`` writes ``SampleNNNN.zip`` files (via
:class:`gesturelib.chalearn.SampleWriter`, so the one reader serves real and
synthetic data), ``sequences.csv`` (sample, user, split: user-disjoint splits),
``users.csv`` (every user's attributes, handedness included) and, last,
``dataset.json`` (what was generated; its presence marks a complete dataset).
``ensure_dataset()`` returns the project's embedded dataset, generating it on
first use. Command line: ``python -m gesturelib.synth --out DIR --scale course``.

Modules: :mod:`.choreography` the 20 motion programs, :mod:`.performers` the 27
performers, :mod:`.pacing` when gestures happen, :mod:`.anatomy` skeleton and
arm kinematics, :mod:`.hands` hand shapes, :mod:`.movement` a sequence's
motion and skeleton file rows, :mod:`.optics` the pinhole camera,
:mod:`.render` the frames, :mod:`.sequence` planning and writing sequences,
:mod:`.scales` sizes and the difficulty knob.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

from .. import files, runtime
from ..chalearn import NUM_CLASSES
from .pacing import FPS
from .performers import make_users, users_csv
from .scales import DEFAULT_DIFFICULTY, SCALES, SPLITS, Scale, resolve
from .sequence import SequenceSpec, plan_sequences, write_sequence

__all__ = ["generate", "ensure_dataset", "Scale", "SCALES", "DEFAULT_DIFFICULTY",
           "GENERATOR_VERSION", "dataset_summary"]

#: Bumped whenever the generator's output changes; ensure_dataset regenerates older datasets.
GENERATOR_VERSION = 4
DEFAULT_WORKERS = 2


def _check_target(out: Path) -> None:
    """Refuse to write into a folder holding samples this generator did not make (real data!)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise NotADirectoryError(f"{out}: the output must be a folder")
    ours = (out / "users.csv").exists() or (out / "dataset.json").exists()
    if not ours and any(p.name.startswith("Sample") for p in out.iterdir()):
        raise FileExistsError(f"{out} holds Sample files that this generator did not write; "
                              "choose an empty or new folder")


def _sequences_csv(specs: list[SequenceSpec]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sample", "user", "split"])
    for spec in specs:
        writer.writerow([spec.name, spec.user.user, spec.split])
    return buffer.getvalue()


def _settings(scale: Scale) -> dict:
    """The scale as plain JSON values."""
    return json.loads(json.dumps(dataclasses.asdict(scale)))


def dataset_summary(scale: Scale, seed: int, specs: list[SequenceSpec]) -> dict:
    """The content of dataset.json: settings and counts per split (no timestamps: reproducible)."""
    splits = {}
    for split in SPLITS:
        chosen = [s for s in specs if s.split == split]
        per_class = [0] * NUM_CLASSES
        for spec in chosen:
            for gesture_id, _, _ in spec.timeline.gestures:
                per_class[gesture_id - 1] += 1
        splits[split] = {
            "sequences": len(chosen),
            "users": sorted({s.user.user for s in chosen}),
            "gestures": sum(per_class),
            "frames": sum(s.timeline.num_frames for s in chosen),
            "gestures_per_class": per_class,
        }
    return {
        "generator": "gesturelib.synth",
        "generator_version": GENERATOR_VERSION,
        "scale": scale.name,
        "seed": seed,
        "width": scale.width,
        "height": scale.height,
        "fps": FPS,
        "difficulty": scale.difficulty,
        "settings": _settings(scale),
        "num_sequences": len(specs),
        "num_frames": sum(s.timeline.num_frames for s in specs),
        "num_gestures": sum(len(s.timeline.gestures) for s in specs),
        "splits": splits,
    }


def generate(out_dir: str | os.PathLike, scale: str | Scale = "course", seed: int = 0,
             size: tuple[int, int] | None = None, difficulty: float | None = None,
             workers: int | None = None, progress: bool = True) -> Path:
    """Generate the embedded dataset into ``out_dir`` and return that folder.

    ``scale`` is a name of :data:`SCALES` or a :class:`Scale`; ``size``
    (width, height) and ``difficulty`` override the scale's. The same
    arguments give byte-identical CSV files and identical decoded frames,
    whatever ``workers`` is (sequences are written in parallel processes;
    default :data:`DEFAULT_WORKERS`, the machine's two cores).
    """
    workers = DEFAULT_WORKERS if workers is None else workers
    settings = resolve(scale, size, difficulty)
    out = Path(out_dir)
    _check_target(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dataset.json").unlink(missing_ok=True)     # incomplete until written again, last
    users = make_users(seed, settings.difficulty)
    specs = plan_sequences(settings, users, seed)
    planned = {f"{spec.name}.zip" for spec in specs}
    for stale in out.glob("Sample*.zip"):       # from an earlier, larger generation into this folder
        if stale.name not in planned:
            stale.unlink()
    files.write_text(out / "users.csv", users_csv(users), encoding="ascii")
    files.write_text(out / "sequences.csv", _sequences_csv(specs), encoding="ascii")
    total = sum(s.timeline.num_frames for s in specs)
    with tqdm(total=total, unit="frame", desc=f"embedded {settings.name}", disable=not progress) as bar:
        if workers <= 1 or len(specs) == 1:
            for spec in specs:
                write_sequence(spec, out, seed, settings)
                bar.update(spec.timeline.num_frames)
        else:
            # "spawn": workers start clean (no inherited threads from torch or a notebook kernel).
            context = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(min(workers, len(specs)), mp_context=context)
            try:
                # Longest first, so the last sequence does not run alone for long.
                ordered = sorted(specs, key=lambda s: -s.timeline.num_frames)
                futures = {pool.submit(write_sequence, spec, out, seed, settings): spec for spec in ordered}
                for future in as_completed(futures):
                    future.result()
                    bar.update(futures[future].timeline.num_frames)
            finally:
                # On an error (or Ctrl-C) do not wait for the sequences not started yet.
                pool.shutdown(wait=True, cancel_futures=True)
    files.write_text(out / "dataset.json", json.dumps(dataset_summary(settings, seed, specs), indent=2) + "\n", encoding="ascii")
    return out


def ensure_dataset(scale: str | None = None) -> Path:
    """The project's embedded dataset folder ``data_root()/embedded-<scale>``, generated if missing.

    ``scale`` None means "quick" in quick mode, else "course". A folder whose
    dataset.json is missing (interrupted), from another generator version or
    from other scale settings is generated again.
    """
    name = scale or ("quick" if runtime.quick_mode() else "course")
    folder = runtime.data_root() / f"embedded-{name}"
    marker = folder / "dataset.json"
    if marker.exists():
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            info = {}
        if (info.get("generator_version") == GENERATOR_VERSION and info.get("seed") == 0
                and info.get("settings") == _settings(resolve(name))):
            return folder
    return generate(folder, name)
