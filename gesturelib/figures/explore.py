"""Figures and tables of the data chapter (notebook 01): the dataset as a student first meets it.

Everything here reads a dataset folder in the Montalbano V2 format through
:mod:`gesturelib.chalearn`, so the same calls show the embedded dataset and
the real ChaLearn 2014 data: the vocabulary, the on-disk format, one
sequence's modalities with the skeleton drawn on the frame, the gesture
timeline, the timing statistics (gesture length, pauses, gestures per
sequence, class balance) beside the real ones, the users and the splits, a
frame strip of one gesture per class, and the special structure of the
embedded classes (hand-shape-only groups, time-reversed pairs).

The real statistics come from the annotation files of the 230 real
validation sequences when they are at :func:`gesturelib.runtime.real_labels_dir` (they are
research data and never copied into the project); elsewhere (e.g. on Colab)
from their published summary (``synth.pacing.REAL_STATISTICS``). Figures are
plain :class:`matplotlib.figure.Figure` objects (not registered with pyplot,
so nothing accumulates): a notebook shows one by leaving it as a cell's value.
"""

from __future__ import annotations

import io
import json
import math
import os
import warnings
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import cv2
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import chalearn, cropping, runtime
from ..chalearn import GESTURES, JOINT_INDEX, NUM_CLASSES, PIXEL
from ..synth import choreography
from ..synth.pacing import REAL_STATISTICS, timing_statistics
from ..synth.performers import read_users_csv

__all__ = [
    "MEANINGS", "BONES", "DPI",
    "SequenceLabels", "Timing", "Reference",
    "dataset_labels", "real_labels", "gesture_timing", "timing_statistics", "load_reference",
    "vocabulary_table", "structure_table", "dataset_description", "format_overview", "csv_columns",
    "users_table", "split_table", "statistics_table",
    "draw_skeleton", "plot_modalities", "plot_timeline", "plot_class_balance", "plot_timing",
    "plot_users", "gesture_strip", "plot_hand_paths",
]

#: English meaning of each gesture (index 0 = gesture id 1), as described with the challenge.
MEANINGS: tuple[str, ...] = (
    "go away", "come here", "perfect", "clever", "what a bore", "what do you want",
    "they get along", "you're crazy", "what have you done", "I don't care", "OK",
    "what I'd do to you", "enough", "do you want a beating", "there is none left", "hungry",
    "long ago", "delicious", "they made a deal", "fed up",
)

#: The Kinect skeleton's bones as pairs of joint names.
BONES: tuple[tuple[str, str], ...] = (
    ("HipCenter", "Spine"), ("Spine", "ShoulderCenter"), ("ShoulderCenter", "Head"),
    ("ShoulderCenter", "ShoulderLeft"), ("ShoulderLeft", "ElbowLeft"), ("ElbowLeft", "WristLeft"),
    ("WristLeft", "HandLeft"),
    ("ShoulderCenter", "ShoulderRight"), ("ShoulderRight", "ElbowRight"), ("ElbowRight", "WristRight"),
    ("WristRight", "HandRight"),
    ("HipCenter", "HipLeft"), ("HipLeft", "KneeLeft"), ("KneeLeft", "AnkleLeft"), ("AnkleLeft", "FootLeft"),
    ("HipCenter", "HipRight"), ("HipRight", "KneeRight"), ("KneeRight", "AnkleRight"),
    ("AnkleRight", "FootRight"),
)

#: Resolution of every figure here (moderate, so the committed notebooks stay small).
DPI = 90
_SIDE_COLOURS = {"Left": "tab:cyan", "Right": "tab:orange", "centre": "yellow"}
_SPLIT_COLOURS = {"train": "tab:blue", "validation": "tab:green", "test": "tab:red"}
_GAP_RANGE = 200        # frames; longer pauses are counted in the gap histogram's last bin


def _class_colour(gesture_id: int):
    """One fixed colour per gesture class (tab20 has exactly 20)."""
    return colormaps["tab20"](gesture_id - 1)


def _label(gesture_id: int) -> str:
    return f"{gesture_id} {GESTURES[gesture_id - 1]}"


def _shown(path: Path) -> str:
    """A path as printed in notebooks: relative to the repository when near it (no machine paths)."""
    path = Path(path).resolve()
    root = Path(runtime.REPO_ROOT).resolve()
    if path.is_relative_to(root.parent):
        return os.path.relpath(path, root)
    return str(path)


# --------------------------------------------------------------------------- labels and statistics


class SequenceLabels(NamedTuple):
    """The labels of one sequence of a dataset folder (read from its small CSV members only)."""

    name: str
    path: Path
    split: str
    user: int               # -1 where the folder does not say (the real data)
    num_frames: int
    gestures: list[tuple[int, int, int]]


def dataset_labels(folder: str | Path, labelled_only: bool = True) -> list[SequenceLabels]:
    """The labels of every sequence of a dataset folder, sorted by name.

    Reads only each sample's ``_data.csv`` and ``_labels.csv``. A sample that
    cannot be read (the real data has one known corrupt zip, Sample0417) is
    skipped with a warning naming it and the problem. ``labelled_only`` drops
    sequences without labels (an unlabelled test set).
    """
    result = []
    for info in chalearn.dataset_index(folder):
        try:
            sample = chalearn.open_sample(info.path)
        except chalearn.FormatError as error:
            warnings.warn(f"skipped {info.path}: {error}", stacklevel=2)
            continue
        if sample.gestures or not labelled_only:
            result.append(SequenceLabels(info.name, Path(info.path), info.split, info.user,
                                         sample.num_frames, list(sample.gestures)))
    if not result:
        raise FileNotFoundError(f"{folder}: no labelled SampleNNNN.zip (or SampleNNNN/ folder) found")
    return result


def real_labels(folder: str | Path | None = None) -> list[tuple[int, list[tuple[int, int, int]]]] | None:
    """(num_frames, gestures) of every loose ``SampleNNNN_labels.csv`` in ``folder``; None when absent.

    ``folder`` defaults to :func:`gesturelib.runtime.real_labels_dir`. Each labels file needs its
    ``SampleNNNN_data.csv`` beside it (for the frame count, against which the
    labels are checked).
    """
    folder = Path(runtime.real_labels_dir() if folder is None else folder)
    files = sorted(folder.glob("Sample*_labels.csv")) if folder.is_dir() else []
    if not files:
        return None
    sequences = []
    for labels_path in files:
        data_path = labels_path.with_name(labels_path.name.replace("_labels.csv", "_data.csv"))
        if not data_path.exists():
            raise FileNotFoundError(f"{labels_path}: its data file {data_path.name} is missing")
        num_frames = chalearn.read_data(data_path).num_frames
        sequences.append((num_frames, chalearn.read_labels(labels_path, num_frames)))
    return sequences


@dataclass(frozen=True)
class Timing:
    """The raw timing figures of labelled sequences (frames at 20 fps), for histograms.

    :func:`timing_statistics` (from :mod:`gesturelib.synth.pacing`, which
    calibrates the embedded dataset with it) summarises the same sequences.
    """

    lengths: np.ndarray        # per gesture: end - start + 1
    gaps: np.ndarray           # per pair of consecutive gestures: frames strictly between them
    counts: np.ndarray         # gestures per sequence
    frames: np.ndarray         # frames per sequence
    class_counts: np.ndarray   # (20,) gestures per class, index 0 = gesture id 1


def gesture_timing(sequences: Iterable[tuple[int, Sequence[Sequence[int]]]]) -> Timing:
    """Gesture lengths, pauses, gestures per sequence and class counts of (num_frames, gestures) pairs.

    Gestures are (gesture_id, start, end), 1-based, end inclusive, in any
    order; they are checked like a labels file (ids 1..20, inside the
    sequence, no overlaps), so a bad list fails with a clear message.
    """
    lengths, gaps, counts, frames = [], [], [], []
    class_counts = np.zeros(NUM_CLASSES, dtype=np.int64)
    for number, (num_frames, gestures) in enumerate(sequences, 1):
        checked = chalearn.check_gestures(gestures, num_frames, f"sequence {number}", error=ValueError)
        ordered = sorted(checked, key=lambda g: g[1])
        frames.append(int(num_frames))
        counts.append(len(ordered))
        for gesture_id, start, end in ordered:
            lengths.append(end - start + 1)
            class_counts[gesture_id - 1] += 1
        gaps.extend(after[1] - before[2] - 1 for before, after in zip(ordered, ordered[1:]))
    if not frames:
        raise ValueError("no sequences given")
    return Timing(np.asarray(lengths, dtype=np.int64), np.asarray(gaps, dtype=np.int64),
                  np.asarray(counts, dtype=np.int64), np.asarray(frames, dtype=np.int64), class_counts)


@dataclass(frozen=True)
class Reference:
    """The real ChaLearn figures to compare with: measured from the files, or the published summary."""

    statistics: dict[str, float]
    timing: Timing | None      # None when only the published summary is available
    source: str                # says which of the two this is


def load_reference(folder: str | Path | None = None) -> Reference:
    """The real statistics: measured on the label files in ``folder`` (default
    :func:`gesturelib.runtime.real_labels_dir`) if there, else the published summary."""
    folder = Path(runtime.real_labels_dir() if folder is None else folder)
    sequences = real_labels(folder)
    if sequences is None:
        return Reference(dict(REAL_STATISTICS), None,
                         "published summary of the 230 real validation label files "
                         "(the files themselves are not here)")
    return Reference(timing_statistics(sequences), gesture_timing(sequences),
                     f"measured on {len(sequences)} real validation label files in {_shown(folder)}")


# --------------------------------------------------------------------------- tables


def vocabulary_table() -> pd.DataFrame:
    """The 20 gestures: id, Italian name (the class name), English meaning."""
    return pd.DataFrame({"gesture": list(GESTURES), "meaning": list(MEANINGS)},
                        index=pd.Index(range(1, NUM_CLASSES + 1), name="id"))


def structure_table() -> pd.DataFrame:
    """How the embedded dataset's classes are built to be hard, from :mod:`gesturelib.synth.choreography`.

    Per class: the hand shape, one or two hands, the class with the same arm
    path but another hand shape, the class that is its time reverse, and the
    classes it is close to in the real data too.
    """
    programs = choreography.programs()
    reverse, same_path, close = choreography.RELATIONS[:3]

    def listed(gesture_id: int, kind: str) -> str:
        return ", ".join(_label(other) for other in choreography.related(gesture_id, kind))

    rows = []
    for gesture_id in range(1, NUM_CLASSES + 1):
        rows.append({
            "gesture": GESTURES[gesture_id - 1],
            "hand shape": programs[gesture_id].shape,
            "hands": 2 if gesture_id in choreography.TWO_HANDED else 1,
            "same arm path as": listed(gesture_id, same_path),
            "time reverse of": listed(gesture_id, reverse),
            "close (real data too) to": listed(gesture_id, close),
        })
    return pd.DataFrame(rows, index=pd.Index(range(1, NUM_CLASSES + 1), name="id"))


def dataset_description(folder: str | Path) -> str:
    """One line about a dataset folder: the embedded dataset's scale (from dataset.json) or another folder."""
    folder = Path(folder)
    count = len(chalearn.list_samples(folder))
    marker = folder / "dataset.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        return (f"{_shown(folder)}: embedded dataset, scale {info.get('settings', {}).get('name')!r} (seed {info.get('seed')}, "
                f"{info.get('width')}x{info.get('height')} pixels, difficulty {info.get('difficulty')}), "
                f"{count} sequences, {info.get('num_gestures')} gestures")
    return f"{_shown(folder)}: {count} sequences (no dataset.json: not the embedded dataset, e.g. real ChaLearn data)"


def _members(path: Path) -> dict[str, int]:
    """Member name -> size in bytes of a sample zip or an extracted sample folder."""
    if path.is_dir():
        return {p.name: p.stat().st_size for p in sorted(path.iterdir()) if p.is_file()}
    with zipfile.ZipFile(path) as archive:
        return {info.filename: info.file_size for info in archive.infolist()}


def _head(path: Path, member: str, lines: int) -> list[str]:
    """The first ``lines`` lines of a CSV member, read as a stream (the skeleton file is large)."""
    with ExitStack() as stack:
        if path.is_dir():
            stream = stack.enter_context(open(path / member, encoding="ascii"))
        else:
            archive = stack.enter_context(zipfile.ZipFile(path))
            stream = stack.enter_context(io.TextIOWrapper(archive.open(member), encoding="ascii"))
        return [line.rstrip("\r\n") for _, line in zip(range(lines), stream)]


def format_overview(sample_path: str | Path, lines: int = 3, width: int = 110) -> str:
    """What one sample holds on disk: its members with their sizes, then the first lines of each CSV.

    Long lines (the skeleton's 180 columns) are cut at ``width`` characters.
    """
    path = Path(sample_path)
    members = _members(path)
    out = [f"{path.name}:"]
    out += [f"  {name:<28} {size:>12,} bytes" for name, size in members.items()]
    for name in members:
        if name.endswith(".csv"):
            out.append(f"\n{name} (first {lines} lines):")
            for line in _head(path, name, lines):
                out.append("  " + (line if len(line) <= width else line[:width] + " ..."))
    return "\n".join(out)


def csv_columns(sample_path: str | Path) -> dict[str, int]:
    """Columns in the first line of each CSV member, keyed by the member's suffix (``_data.csv`` ...)."""
    path = Path(sample_path)
    result = {}
    for name in _members(path):
        if name.endswith(".csv"):
            first = _head(path, name, 1)
            result[name[name.index("_"):]] = len(first[0].split(",")) if first else 0
    return result


def users_table(folder: str | Path) -> pd.DataFrame | None:
    """The performers of a dataset (``users.csv``, written by the generator) with their sequence counts.

    None when the folder has no users.csv (the real data: its user ids are not
    published with the samples).
    """
    folder = Path(folder)
    listing = folder / "users.csv"
    if not listing.exists():
        return None
    table = pd.DataFrame(read_users_csv(listing.read_text()))
    if table.empty or "user" not in table:
        raise chalearn.FormatError(f"{listing}: no 'user' column or no rows")
    for column in table:
        numbers = pd.to_numeric(table[column], errors="coerce")
        if numbers.notna().all():
            table[column] = numbers
    sequences = pd.Series([info.user for info in chalearn.dataset_index(folder)]).value_counts()
    table["sequences"] = table["user"].map(sequences).fillna(0).astype(int)
    columns = ["user", "split", "handedness", "height", "build", "distance", "offset_x", "tempo",
               "amplitude", "shirt_texture", "sequences"]
    order = {split: i for i, split in enumerate(chalearn.OFFICIAL_SPLITS)}
    table = table.sort_values(["split", "user"], key=lambda col: col.map(order) if col.name == "split" else col)
    return table[[c for c in columns if c in table]].set_index("user")


def split_table(labels: Sequence[SequenceLabels]) -> pd.DataFrame:
    """Per split: sequences, gestures, frames, users, and how many of its users occur in another split.

    The last column is 0 everywhere for a user-disjoint split; users are
    "unknown" where the folder does not say who performed (the real data).
    """
    users = {split: {s.user for s in labels if s.split == split and s.user >= 0}
             for split in chalearn.OFFICIAL_SPLITS}
    rows = {}
    for split in chalearn.OFFICIAL_SPLITS:
        chosen = [s for s in labels if s.split == split]
        if not chosen:
            continue
        others = set().union(*(u for other, u in users.items() if other != split))
        known = all(s.user >= 0 for s in chosen)
        rows[split] = {
            "sequences": len(chosen),
            "gestures": sum(len(s.gestures) for s in chosen),
            "frames": sum(s.num_frames for s in chosen),
            "users": len(users[split]) if known else "unknown",
            "users also in another split": len(users[split] & others) if known else "unknown",
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("split")


_STATISTIC_ROWS = {
    "gesture_length_median": "gesture length, median (frames)",
    "gesture_length_p5": "gesture length, 5th percentile",
    "gesture_length_p95": "gesture length, 95th percentile",
    "gesture_length_mean": "gesture length, mean",
    "gap_median": "pause between gestures, median (frames)",
    "gap_mean": "pause between gestures, mean",
    "gestures_min": "gestures per sequence, min",
    "gestures_mean": "gestures per sequence, mean",
    "gestures_max": "gestures per sequence, max",
    "frames_mean": "frames per sequence, mean",
    "class_count_min": "gestures per class, min",
    "class_count_max": "gestures per class, max",
}


def statistics_table(ours: dict[str, float], reference: Reference, ours_name: str = "embedded",
                     keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Our timing statistics beside the real ones, one row per figure (rounded to 0.1)."""
    keys = list(keys or _STATISTIC_ROWS)
    real_name = "ChaLearn (measured)" if reference.timing is not None else "ChaLearn (published)"
    rows = {_STATISTIC_ROWS.get(k, k): {ours_name: round(float(ours[k]), 1),
                                        real_name: round(float(reference.statistics[k]), 1)}
            for k in keys}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("figure")


# --------------------------------------------------------------------------- one sequence


def draw_skeleton(ax, joints: np.ndarray, linewidth: float = 2.0) -> bool:
    """Draw one frame's skeleton (20, 9) on an image axis at its pixel coordinates.

    The user's left side is cyan, the right side orange (facing the camera,
    the user's right appears on the image's left). Returns False, and writes
    "not tracked", for an untracked (all-zero) frame.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if not np.any(joints):
        ax.text(0.5, 0.5, "not tracked", transform=ax.transAxes, ha="center", color="red")
        return False
    pixels = joints[:, PIXEL]
    for a, b in BONES:
        side = next((s for s in ("Left", "Right") if a.endswith(s) or b.endswith(s)), "centre")
        (xa, ya), (xb, yb) = pixels[JOINT_INDEX[a]], pixels[JOINT_INDEX[b]]
        ax.plot([xa, xb], [ya, yb], color=_SIDE_COLOURS[side], linewidth=linewidth)
    ax.scatter(pixels[:, 0], pixels[:, 1], s=10, color="white", edgecolors="black", linewidths=0.5,
               zorder=3)
    for hand in ("HandLeft", "HandRight"):
        x, y = pixels[JOINT_INDEX[hand]]
        ax.scatter([x], [y], s=40, color=_SIDE_COLOURS[hand[4:]], edgecolors="black", zorder=4)
    return True


def _gesture_at(gestures: Sequence[Sequence[int]], frame: int) -> tuple[int, int, int] | None:
    return next((tuple(g) for g in gestures if g[1] <= frame <= g[2]), None)


def plot_modalities(sample: chalearn.Sample, frame: int | None = None) -> Figure:
    """One frame of a sequence in every modality: colour, depth, user mask, skeleton on the frame.

    ``frame`` (1-based) defaults to the middle of the first gesture.
    """
    if frame is None:
        frame = ((sample.gestures[0][1] + sample.gestures[0][2]) // 2 if sample.gestures
                 else (sample.num_frames + 1) // 2)
    if not 1 <= frame <= sample.num_frames:
        raise ValueError(f"{sample.name}: frame {frame} outside 1..{sample.num_frames}")
    data = sample.read_frames([frame], ("color", "depth", "mask"))
    colour, depth, mask = data["color"][0], data["depth"][0], data["mask"][0]
    joints = sample.skeleton()[frame - 1]

    fig = Figure(figsize=(13, 3.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 4)
    axes[0].imshow(colour)
    axes[0].set_title("colour (RGB)")
    valid = depth > 0
    shown = np.ma.masked_where(~valid, depth.astype(np.float64))
    cmap = colormaps["viridis"].with_extremes(bad="black")
    low, high = (np.percentile(depth[valid], [1, 99]) if valid.any() else (0, sample.max_depth))
    image = axes[1].imshow(shown, cmap=cmap, vmin=low, vmax=high)
    fig.colorbar(image, ax=axes[1], shrink=0.8, label="depth (mm)")
    axes[1].set_title("depth (black: no reading)")
    axes[2].imshow(mask, cmap="gray")
    axes[2].set_title(f"user mask ({mask.mean():.0%} of pixels)")
    axes[3].imshow(colour)
    draw_skeleton(axes[3], joints)
    axes[3].set_title("skeleton (pixel coordinates)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[3].legend(handles=[Line2D([], [], color=_SIDE_COLOURS["Left"], label="user's left"),
                            Line2D([], [], color=_SIDE_COLOURS["Right"], label="user's right")],
                   loc="lower right", fontsize=7)
    current = _gesture_at(sample.gestures, frame)
    what = f"during gesture {_label(current[0])}" if current else "between gestures"
    fig.suptitle(f"{sample.name}, frame {frame} of {sample.num_frames} ({what}), "
                 f"{sample.width}x{sample.height} pixels")
    return fig


def _hand_heights(skeleton: np.ndarray) -> dict[str, np.ndarray]:
    """Each hand's height above the hip centre, in person heights (hip-head distance); NaN untracked."""
    tracked = np.any(skeleton.reshape(len(skeleton), -1) != 0, axis=1)
    pixels = skeleton[:, :, PIXEL].astype(np.float64)
    hip = pixels[:, JOINT_INDEX["HipCenter"]]
    person = cropping.person_height(pixels[tracked]) if tracked.any() else 1.0
    result = {}
    for side in ("Right", "Left"):
        height = (hip[:, 1] - pixels[:, JOINT_INDEX[f"Hand{side}"], 1]) / max(person, 1e-6)
        result[side.lower()] = np.where(tracked, height, np.nan)
    return result


def plot_timeline(sample: chalearn.Sample, show_hands: bool = True) -> Figure:
    """The labelled gestures of one sequence over time, under both hands' heights from the skeleton.

    Each gesture is a bar in its class colour with its id; the hand panel shows
    why a continuous recording can be segmented: gestures are where a hand rises.
    """
    gestures = sample.gestures
    fig = Figure(figsize=(13, 4.2 if show_hands else 1.9), dpi=DPI, layout="constrained")
    if show_hands:
        hands_ax, bars_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        heights = _hand_heights(sample.skeleton())
        frames = np.arange(1, sample.num_frames + 1)
        for (side, values), colour in zip(heights.items(), ("tab:orange", "tab:cyan")):
            hands_ax.plot(frames, values, color=colour, linewidth=1, label=f"{side} hand")
        for gesture_id, start, end in gestures:
            hands_ax.axvspan(start, end, color=_class_colour(gesture_id), alpha=0.25, linewidth=0)
        hands_ax.set_ylabel("hand above hip\n(person heights)")
        hands_ax.legend(loc="upper right", fontsize=8)
        untracked = int((~sample.tracked()).sum())
        hands_ax.set_title(f"{sample.name}: {len(gestures)} gestures in {sample.num_frames} frames "
                           f"({sample.num_frames / sample.fps:.0f} s at {sample.fps} fps); "
                           f"{untracked} untracked frames (gaps in the lines)")
    else:
        bars_ax = fig.subplots(1, 1)
        bars_ax.set_title(f"{sample.name}: {len(gestures)} gestures in {sample.num_frames} frames")
    for gesture_id, start, end in gestures:
        bars_ax.broken_barh([(start, end - start + 1)], (0, 1), color=_class_colour(gesture_id))
        bars_ax.text((start + end) / 2, 0.5, str(gesture_id), ha="center", va="center", fontsize=8)
    bars_ax.set_xlim(1, sample.num_frames)
    bars_ax.set_yticks([])
    bars_ax.set_ylabel("gesture id")
    bars_ax.set_xlabel("frame")
    return fig


# --------------------------------------------------------------------------- dataset statistics


def plot_class_balance(ours: Timing, reference: Reference | None = None, ours_name: str = "embedded"
                       ) -> Figure:
    """Share of each class among all gestures, ours beside the real data (or its published range)."""
    fig = Figure(figsize=(12, 3.6), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ids = np.arange(1, NUM_CLASSES + 1)
    share = 100.0 * ours.class_counts / max(ours.class_counts.sum(), 1)
    width = 0.4 if reference is not None and reference.timing is not None else 0.8
    ax.bar(ids - (width / 2 if width < 0.8 else 0), share, width,
           label=f"{ours_name} ({ours.class_counts.sum()} gestures)", color="tab:blue")
    if reference is not None and reference.timing is not None:
        counts = reference.timing.class_counts
        ax.bar(ids + width / 2, 100.0 * counts / counts.sum(), width, color="tab:gray",
               label=f"ChaLearn, measured ({counts.sum()} gestures)")
    elif reference is not None:
        stats = reference.statistics
        low, high = (100.0 * stats[k] / stats["gestures"] for k in ("class_count_min", "class_count_max"))
        ax.axhspan(low, high, color="tab:gray", alpha=0.3,
                   label=f"ChaLearn range, published ({low:.1f}-{high:.1f} %)")
    ax.axhline(100.0 / NUM_CLASSES, color="black", linestyle=":", linewidth=1, label="perfectly balanced (5 %)")
    ax.set_xticks(ids, [_label(i) for i in ids], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share of gestures (%)")
    ax.set_title("Class balance")
    ax.set_ylim(0, 1.35 * max(share.max(), 100.0 / NUM_CLASSES))
    ax.legend(fontsize=8, loc="upper center", ncols=3)
    return fig


def plot_timing(ours: Timing, reference: Reference | None = None, ours_name: str = "embedded") -> Figure:
    """Histograms of gesture length, pause between gestures and gestures per sequence, ours vs real.

    With measured real files both are drawn as densities; with the published
    summary only, its median / 5th / 95th percentiles and ranges are marked.
    """
    fig = Figure(figsize=(13, 3.6), dpi=DPI, layout="constrained")
    length_ax, gap_ax, count_ax = fig.subplots(1, 3)
    real = reference.timing if reference is not None else None
    stats = reference.statistics if reference is not None else None
    panels = (
        (length_ax, "lengths", np.arange(0, 101, 4), "gesture length (frames)", "Gesture length"),
        (gap_ax, "gaps", np.arange(0, _GAP_RANGE + 1, 8), f"pause between gestures (frames; "
         f">= {_GAP_RANGE} in the last bin)", "Pauses between gestures"),
        (count_ax, "counts", np.arange(0.5, 25.5, 1), "gestures per sequence", "Gestures per sequence"),
    )
    for ax, field, bins, xlabel, title in panels:
        values = getattr(ours, field)
        clip_top = bins[-1] - 1e-9
        ax.hist(np.clip(values, bins[0], clip_top), bins=bins, density=True, alpha=0.6, color="tab:blue",
                label=f"{ours_name} (median {np.median(values):.0f})" if values.size else ours_name)
        if real is not None:
            real_values = getattr(real, field)
            ax.hist(np.clip(real_values, bins[0], clip_top), bins=bins, density=True, histtype="step",
                    linewidth=1.8, color="black", label=f"ChaLearn measured (median {np.median(real_values):.0f})")
        elif stats is not None:
            _mark_published(ax, field, stats)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.set_title(title)
        ax.legend(fontsize=7)
    return fig


def _mark_published(ax, field: str, published: dict[str, float]) -> None:
    """Vertical lines / a band for the published real figures of one histogram."""
    if field == "lengths":
        ax.axvline(published["gesture_length_median"], color="black", label=f"ChaLearn median "
                   f"{published['gesture_length_median']:.0f} (published)")
        ax.axvspan(published["gesture_length_p5"], published["gesture_length_p95"], color="gray", alpha=0.2,
                   label=f"ChaLearn p5-p95 {published['gesture_length_p5']:.0f}-{published['gesture_length_p95']:.0f}")
    elif field == "gaps":
        ax.axvline(published["gap_median"], color="black", label=f"ChaLearn median {published['gap_median']:.0f} (published)")
        ax.axvline(published["gap_mean"], color="black", linestyle="--",
                   label=f"ChaLearn mean {published['gap_mean']:.0f}")
    else:
        ax.axvspan(published["gestures_min"] - 0.5, published["gestures_max"] + 0.5, color="gray", alpha=0.2,
                   label=f"ChaLearn range {published['gestures_min']:.0f}-{published['gestures_max']:.0f} (published)")


def plot_users(table: pd.DataFrame) -> Figure:
    """Users' height against distance to the camera, coloured by split, marked by handedness."""
    fig = Figure(figsize=(8, 4), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    for split, colour in _SPLIT_COLOURS.items():
        for handedness, marker in (("right", "o"), ("left", "^")):
            chosen = table[(table["split"] == split) & (table["handedness"] == handedness)]
            if len(chosen):
                ax.scatter(chosen["distance"], chosen["height"], color=colour, marker=marker, s=45,
                           label=f"{split}, {handedness}-handed ({len(chosen)})")
    for user, row in table.iterrows():
        ax.annotate(str(user), (row["distance"], row["height"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel("distance to the camera (m)")
    ax.set_ylabel("height (m)")
    ax.set_title(f"{len(table)} users by split and handedness")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# --------------------------------------------------------------------------- frames of gestures


def _candidates(labels: Sequence[SequenceLabels], classes: Sequence[int]
                ) -> dict[int, list[tuple[SequenceLabels, tuple[int, int, int]]]]:
    found: dict[int, list] = {c: [] for c in classes}
    for sequence in labels:
        for gesture in sequence.gestures:
            if gesture[0] in found:
                found[gesture[0]].append((sequence, tuple(gesture)))
    return found


def _unmirrored(box: np.ndarray, width: int, mirrored: bool) -> tuple[int, int, int, int]:
    """A crop box of :func:`cropping.crop_boxes` in the original (not mirrored) frame."""
    x0, y0, x1, y1 = (int(v) for v in box)
    return (width - x1, y0, width - x0, y1) if mirrored else (x0, y0, x1, y1)


def gesture_strip(labels: Sequence[SequenceLabels], classes: Sequence[int] | None = None,
                  frames: int = 4, region: str = "body", columns: int = 2, size: int = 56,
                  span: tuple[float, float] = (0.1, 0.9)) -> Figure:
    """One performance of each class as a strip of ``frames`` colour crops, evenly spaced in time.

    ``region`` "body" crops the upper body, "hand" the highest hand, both where
    :func:`gesturelib.cropping.crop_boxes` puts them (chapter 02 explains how),
    shown unmirrored. ``span`` is the part of the gesture to sample, as
    fractions of its length (e.g. (0.3, 0.7) skips raising and lowering the
    hand). ``columns`` classes sit side by side. The first performance of each
    class in ``labels`` order whose skeleton is tracked is used.
    """
    if region not in ("body", "hand"):
        raise ValueError(f"region must be 'body' or 'hand', got {region!r}")
    classes = list(range(1, NUM_CLASSES + 1)) if classes is None else [int(c) for c in classes]
    settings = cropping.settings_for("course")
    candidates = _candidates(labels, classes)
    samples, skeletons, chosen = {}, {}, {}
    for gesture_id in classes:
        for sequence, gesture in candidates[gesture_id]:
            if sequence.path not in samples:
                samples[sequence.path] = chalearn.open_sample(sequence.path)
                skeletons[sequence.path] = samples[sequence.path].skeleton()
            sample = samples[sequence.path]
            try:
                geometry = cropping.crop_boxes(skeletons[sequence.path], gesture, (sample.width, sample.height),
                                               settings, variable_length=True, sequence_name=sequence.name)
            except cropping.ClipError:
                continue
            length = gesture[2] - gesture[1] + 1
            offsets = np.rint(np.linspace(span[0], span[1], frames) * (length - 1)).astype(int)
            chosen[gesture_id] = (sequence, gesture, geometry, offsets)
            break
    missing = [c for c in classes if c not in chosen]
    if missing:
        raise ValueError(f"no tracked performance of class(es) {missing} in the {len(labels)} sequences given")

    crops: dict[int, list[np.ndarray]] = {}
    for path, sample in samples.items():
        wanted = [(c, item) for c, item in chosen.items() if item[0].path == path]
        if not wanted:
            continue
        numbers = sorted({int(item[2].frames[k]) for _, item in wanted for k in item[3]})
        data = sample.read_frames(numbers, ("color",))
        where = {int(n): i for i, n in enumerate(data["frames"])}
        for gesture_id, (_, _, geometry, offsets) in wanted:
            boxes = geometry.body if region == "body" else geometry.hand
            crops[gesture_id] = []
            for k in offsets:
                x0, y0, x1, y1 = _unmirrored(boxes[k], sample.width, geometry.mirrored)
                image = data["color"][where[int(geometry.frames[k])]][y0:y1, x0:x1]
                shrink = image.shape[0] > size       # area averaging to shrink, bilinear to enlarge
                crops[gesture_id].append(cv2.resize(image, (size, size), interpolation=(
                    cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)))

    rows = math.ceil(len(classes) / columns)
    dpi = 80
    cell = size / dpi                 # inches: one crop pixel per screen pixel, no resampling
    ratios = ([1.0] * frames + [0.35]) * columns     # a narrow empty column separates the classes
    fig = Figure(figsize=(cell * sum(ratios[:-1]), rows * (cell + 0.25) + 0.3), dpi=dpi)
    axes = np.atleast_2d(fig.subplots(rows, len(ratios) - 1, gridspec_kw={
        "wspace": 0.04, "hspace": 0.35, "width_ratios": ratios[:-1]}))
    for ax in axes.flat:
        ax.set_axis_off()
    for n, gesture_id in enumerate(classes):
        row, column = divmod(n, columns)
        first = column * (frames + 1)
        sequence, gesture, _, _ = chosen[gesture_id]
        for k, image in enumerate(crops[gesture_id]):
            axes[row, first + k].imshow(image)
        axes[row, first].set_title(f"{_label(gesture_id)}  ({sequence.name}, {gesture[1]}-{gesture[2]})",
                                   loc="left", fontsize=8)
    what = "upper-body" if region == "body" else "highest-hand"
    fig.suptitle(f"One performance per class: {frames} {what} crops from "
                 f"{span[0]:.0%} to {span[1]:.0%} of the gesture", fontsize=10)
    return fig


#: Times per gesture at which :func:`hand_paths` samples the hand.
PATH_POINTS = 50


def hand_paths(labels: Sequence[SequenceLabels], classes: Sequence[int], per_class: int = 6
               ) -> dict[int, list[np.ndarray]]:
    """The highest hand's path over up to ``per_class`` performances of each class: one (2, PATH_POINTS)
    array per performance, row 0 how far the hand is out to its own side of the body, row 1 how high it
    is above the hip, both in person heights (hip-head distance), at PATH_POINTS times from the gesture's
    first frame (0) to its last (1). Users of every size and handedness therefore overlay."""
    candidates = _candidates(labels, classes)
    skeletons: dict[Path, np.ndarray] = {}
    paths: dict[int, list[np.ndarray]] = {c: [] for c in classes}
    grid = np.linspace(0.0, 1.0, PATH_POINTS)
    for gesture_id in classes:
        for sequence, (_, start, end) in candidates[gesture_id]:
            if len(paths[gesture_id]) >= per_class:
                break
            if sequence.path not in skeletons:
                skeletons[sequence.path] = chalearn.open_sample(sequence.path).skeleton()
            during = skeletons[sequence.path][start - 1:end]
            if not cropping.tracked_frames(during).any():
                continue
            during = cropping.fill_untracked(during)
            hand = "Hand" + cropping.highest_hand(during, (gesture_id, 1, len(during))).capitalize()
            shoulder = hand.replace("Hand", "Shoulder")
            pixels = during[:, :, PIXEL].astype(np.float64)
            hip = pixels[:, JOINT_INDEX["HipCenter"]]
            centre = pixels[:, JOINT_INDEX["ShoulderCenter"], 0]
            person = max(cropping.person_height(pixels), 1e-6)
            outward_sign = np.sign(np.mean(pixels[:, JOINT_INDEX[shoulder], 0] - centre)) or 1.0
            outward = (pixels[:, JOINT_INDEX[hand], 0] - centre) * outward_sign / person
            up = (hip[:, 1] - pixels[:, JOINT_INDEX[hand], 1]) / person
            time = np.linspace(0.0, 1.0, len(during))
            paths[gesture_id].append(np.stack([np.interp(grid, time, outward), np.interp(grid, time, up)]))
    return paths


def plot_hand_paths(labels: Sequence[SequenceLabels],
                    pairs: Sequence[tuple[int, int]] = choreography.TIME_REVERSE_PAIRS,
                    per_class: int = 6) -> Figure:
    """:func:`hand_paths` of class pairs: the hand out to its side (top row) and above the hip (bottom row)
    against time normalised to 0..1. Thin lines are single performances; the thick dotted line is the
    second class's mean played backwards: it lies on the first class's mean exactly when the pair are
    each other's time reverse.
    """
    paths = hand_paths(labels, [c for pair in pairs for c in pair], per_class)
    grid = np.linspace(0.0, 1.0, PATH_POINTS)
    fig = Figure(figsize=(4.6 * len(pairs), 5.2), dpi=DPI, layout="constrained")
    axes = np.asarray(fig.subplots(2, len(pairs), sharex=True, squeeze=False))
    for column, (a, b) in enumerate(pairs):
        for row, what in enumerate(("hand out to its side", "hand above hip")):
            ax = axes[row, column]
            for gesture_id, colour, style in ((a, "tab:blue", "-"), (b, "tab:orange", "--")):
                for n, path in enumerate(paths[gesture_id]):
                    ax.plot(grid, path[row], color=colour, linestyle=style, linewidth=0.9, alpha=0.7,
                            label=f"{_label(gesture_id)} ({len(paths[gesture_id])})" if n == 0 else None)
            if paths[b]:
                reversed_mean = np.mean(paths[b], axis=0)[row][::-1]
                ax.plot(grid, reversed_mean, color="black", linestyle=":", linewidth=2.2,
                        label=f"mean of {b} played backwards")
            ax.set_ylabel(f"{what}\n(person heights)")
            if row == 0:
                ax.set_title(f"{_label(a)} vs {_label(b)}")
                ax.legend(fontsize=7)
            else:
                ax.set_xlabel("time within the gesture (0 = start, 1 = end)")
    return fig
