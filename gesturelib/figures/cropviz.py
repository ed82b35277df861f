"""Figures and tables of the cropping chapter (notebook 02): how one gesture becomes a clip tensor.

Each function shows one step of :mod:`gesturelib.cropping` on the files of a
dataset folder (embedded or real ChaLearn): where the body and hand crops lie
on a frame and how the skeleton places them (:func:`plot_crop_boxes`), which
hand counts as the gesturing one and what mirroring does
(:func:`plot_highest_hand`), clips as strips over time (:func:`plot_streams`),
one clip under several random augmentations (:func:`plot_augmentations`), the
values a model receives (:func:`value_table`, :func:`plot_value_histograms`)
and every setting of the recipe (:func:`settings_table`). The crops shown are
the library's own (:func:`cropping.crop_boxes`, :func:`cropping.render_clip`, the
clip cache): nothing is recomputed here. Figures are plain
:class:`matplotlib.figure.Figure` objects, not registered with pyplot.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .. import chalearn, cropping
from ..chalearn import GESTURES, JOINT_INDEX, PIXEL
from .explore import draw_skeleton
from ..synth.performers import read_users_csv

__all__ = ["DPI", "STREAM_ROWS", "locate", "first_of_class", "handedness", "mirrored_example", "describe",
           "mirroring_table",
           "plot_crop_boxes", "plot_highest_hand", "plot_streams", "plot_augmentations",
           "value_table", "plot_value_histograms", "settings_table"]

#: Resolution of the figures (moderate, so the committed notebook stays small).
DPI = 80
#: Every (stream, channel) image of a clip, in tensor order.
STREAM_ROWS: tuple[tuple[str, str], ...] = tuple((s, c) for s in cropping.STREAMS for c in cropping.CHANNELS)
#: Box colours: the same in the full frame and around the crops cut from it.
BOX_COLOURS = {"body": "lime", "hand": "magenta"}
_HAND_COLOURS = {"left": "tab:cyan", "right": "tab:orange"}   # as explore.draw_skeleton's sides


def _name(gesture_id: int) -> str:
    return f"{gesture_id} {GESTURES[gesture_id - 1]}"


def _clean(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _as_unit_array(clip) -> np.ndarray:
    """A clip (tensor or array, uint8 0..255 or float 0..1) as float (2, 2, T, H, W) in [0, 1]."""
    array = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    if array.ndim != 5 or array.shape[:2] != (2, 2):
        raise ValueError(f"a clip must have shape (2 streams, 2 channels, T, H, W), got {array.shape}")
    return array / 255.0 if array.dtype == np.uint8 else array.astype(np.float64)


# --------------------------------------------------------------------------- choosing examples


def locate(dataset, index: int) -> tuple[chalearn.Sample, tuple[int, int, int]]:
    """The sequence (opened) and the gesture ``(id, start, end)`` that clip ``index`` of a
    :class:`gesturelib.data.GestureClips` was cut from."""
    name = dataset.sequences[index]
    paths = {info.name: info.path for info in chalearn.dataset_index(dataset.root)}
    if name not in paths:
        raise FileNotFoundError(f"{dataset.root}: sequence {name} of clip {index} is not in the folder")
    gesture = (int(dataset.labels[index]) + 1, int(dataset.starts[index]), int(dataset.ends[index]))
    return chalearn.open_sample(paths[name]), gesture


def first_of_class(dataset, gesture_id: int, mirrored: bool | None = None) -> int:
    """Index of the first clip of gesture ``gesture_id`` (1..20) in a GestureClips,
    optionally only among clips that were (``mirrored=True``) or were not mirrored."""
    matches = np.asarray(dataset.labels) == gesture_id - 1
    if mirrored is not None:
        matches &= np.asarray(dataset.mirrored) == mirrored
    found = np.flatnonzero(matches)
    if not len(found):
        which = "" if mirrored is None else (" mirrored" if mirrored else " unmirrored")
        raise ValueError(f"{dataset!r} has no{which} clip of gesture {_name(gesture_id)}")
    return int(found[0])


def handedness(folder: str | Path) -> dict[int, str]:
    """``{user: "left" | "right"}`` from a dataset folder's ``users.csv`` (the embedded
    generator writes it); ``{}`` when there is none (the real data does not name users)."""
    listing = Path(folder) / "users.csv"
    if not listing.exists():
        return {}
    rows = read_users_csv(listing.read_text())
    if rows and not {"user", "handedness"} <= set(rows[0]):
        raise chalearn.FormatError(f"{listing}: needs the columns 'user' and 'handedness'")
    try:
        return {int(row["user"]): row["handedness"] for row in rows}
    except ValueError as error:
        raise chalearn.FormatError(f"{listing}: a user id is not an integer ({error})") from None


def _left_hand_lead(skeleton: np.ndarray, gesture: Sequence[int]) -> float:
    """How much higher the left hand is than the right over a gesture (mean pixel y), in person heights."""
    _, start, end = (int(v) for v in gesture)
    pixels = cropping.fill_untracked(skeleton)[start - 1:end, :, PIXEL]
    left, right = (pixels[:, JOINT_INDEX[f"Hand{side}"], 1].mean() for side in ("Left", "Right"))
    return float((right - left) / max(cropping.person_height(pixels), 1e-6))


def mirrored_example(dataset, candidates: int = 40) -> int:
    """Index of a clear example of a mirrored clip: its highest hand is the left one.

    Left-handed users' clips come first when ``users.csv`` names such users
    (the embedded data; the real data does not). Among the first
    ``candidates`` of them, the one whose left hand is highest above the
    right (in person heights) is returned: a two-handed gesture whose left
    hand happens to be a little higher is a poor picture of mirroring.
    """
    mirrored = np.flatnonzero(np.asarray(dataset.mirrored))
    if not len(mirrored):
        raise ValueError(f"{dataset!r}: no clip has its left hand highest, so none was mirrored")
    left_handed = {user for user, hand in handedness(dataset.root).items() if hand == "left"}
    preferred = [int(i) for i in mirrored if int(dataset.users[i]) in left_handed] or mirrored.tolist()
    skeletons: dict[str, np.ndarray] = {}
    leads = []
    for index in preferred[:candidates]:
        sample, gesture = locate(dataset, index)
        if sample.name not in skeletons:
            skeletons[sample.name] = sample.skeleton()
        leads.append(_left_hand_lead(skeletons[sample.name], gesture))
    return preferred[int(np.argmax(leads))]


def describe(dataset, index: int) -> str:
    """A one-line caption of clip ``index`` of a GestureClips: class, sequence, frames, user, mirroring."""
    gesture_id = int(dataset.labels[index]) + 1
    user = int(dataset.users[index])
    return (f"{_name(gesture_id)}: {dataset.sequences[index]}, frames {int(dataset.starts[index])}-"
            f"{int(dataset.ends[index])}" + (f", user {user}" if user >= 0 else "")
            + (", mirrored" if bool(dataset.mirrored[index]) else ""))


def mirroring_table(dataset) -> pd.DataFrame:
    """How many clips were mirrored, by the handedness of their user (``unknown`` without users.csv)."""
    hands = handedness(dataset.root)
    table = pd.DataFrame({"handedness": [hands.get(int(u), "unknown") for u in dataset.users],
                          "user": np.asarray(dataset.users), "mirrored": np.asarray(dataset.mirrored, bool)})
    summary = table.groupby("handedness").agg(users=("user", "nunique"), clips=("user", "size"),
                                              mirrored=("mirrored", "sum"))
    summary["mirrored %"] = (100 * summary["mirrored"] / summary["clips"]).round(1)
    return summary


# --------------------------------------------------------------------------- crops on the frame


def _geometry(sample: chalearn.Sample, gesture, settings: cropping.ClipSettings) -> cropping.CropGeometry:
    return cropping.crop_boxes(sample.skeleton(), gesture, (sample.width, sample.height), settings,
                               sequence_name=sample.name)


def _box(ax, box, colour: str, label: str | None = None) -> None:
    x0, y0, x1, y1 = (float(v) for v in box)
    # Pixel centres sit at integer coordinates: the box's pixels span x0-0.5 .. x1-0.5.
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=colour,
                           linewidth=2, label=label))


def _original_box(box, width: int, mirrored: bool) -> tuple[int, int, int, int]:
    """A box of a CropGeometry in the frame as recorded (not mirrored)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    return (width - x1, y0, width - x0, y1) if mirrored else (x0, y0, x1, y1)


def _skeleton_rows(joints_xy: np.ndarray) -> np.ndarray:
    """(20, 2) pixel positions as the (20, 9) rows :func:`explore.draw_skeleton` draws."""
    rows = np.zeros((len(joints_xy), 9), np.float32)
    rows[:, PIXEL] = joints_xy
    return rows


def plot_crop_boxes(sample: chalearn.Sample, gesture: Sequence[int], preset: str = "course",
                    position: float = 0.5) -> Figure:
    """One frame of a gesture with the skeleton, the body and hand boxes, and the four crops cut there.

    The frame is shown as the crops see it (mirrored when the left hand is
    the highest). Marked on it: the person height h (HipCenter to Head, the
    unit of both box sizes), the mean hip height and the body box's bottom
    edge at ``body_bottom`` times the mean hip y. ``position`` picks the clip
    frame, as a fraction of the clip (0.5: its middle).
    """
    settings = cropping.settings_for(preset)
    geometry = _geometry(sample, gesture, settings)
    k = min(int(position * len(geometry.frames)), len(geometry.frames) - 1)
    decoded = sample.read_frames(geometry.frames, ("color",) + cropping.MODALITIES)
    clip = cropping.render_clip(geometry, decoded, settings)
    frame_number = int(geometry.frames[k])
    colour = geometry.view(decoded["color"][int(np.searchsorted(decoded["frames"], frame_number))])
    _, start, end = (int(v) for v in gesture)
    # Pixel y is the same in the mirrored frame, so the recorded skeleton gives the mean hip y.
    hip_y = float(cropping.fill_untracked(sample.skeleton())[start - 1:end, JOINT_INDEX["HipCenter"], 1 + PIXEL.start]
                  .mean())

    fig = Figure(figsize=(9.6, 4.4), dpi=DPI, layout="constrained")
    grid = fig.add_gridspec(2, 4, width_ratios=[2.6, 2.6, 1, 1])
    ax = fig.add_subplot(grid[:, :2])
    ax.imshow(colour)
    draw_skeleton(ax, _skeleton_rows(geometry.joints[k]), linewidth=1.5)
    _box(ax, geometry.body[k], BOX_COLOURS["body"], f"body box ({settings.body_side:g} h)")
    _box(ax, geometry.hand[k], BOX_COLOURS["hand"], f"hand box ({settings.hand_side:g} h)")
    hip, head = geometry.joints[k, JOINT_INDEX["HipCenter"]], geometry.joints[k, JOINT_INDEX["Head"]]
    ax.plot([hip[0], head[0]], [hip[1], head[1]], color="white", linewidth=3, linestyle=(0, (2, 1)),
            label=f"h = hip-head ({geometry.person_height:.0f} px, mean)")
    x0, x1 = geometry.body[k, 0], geometry.body[k, 2]
    ax.plot([x0, x1], [hip_y, hip_y], color="yellow", linestyle=":", linewidth=2, label="mean hip y")
    ax.plot([x0, x1], [settings.body_bottom * hip_y] * 2, color="red", linestyle="--", linewidth=2,
            label=f"{settings.body_bottom:g} x mean hip y")
    ax.set_xlim(-0.5, colour.shape[1] - 0.5)
    ax.set_ylim(colour.shape[0] - 0.5, -0.5)
    ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    _clean(ax)
    ax.set_title(f"video frame {frame_number}" + (" (mirrored)" if geometry.mirrored else ""), fontsize=9)
    for s, stream in enumerate(cropping.STREAMS):
        for c, channel in enumerate(cropping.CHANNELS):
            crop_ax = fig.add_subplot(grid[s, 2 + c])
            crop_ax.imshow(clip[s, c, k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            crop_ax.set_title(f"{stream} · {channel}", fontsize=9)
            _clean(crop_ax)
            for spine in crop_ax.spines.values():
                spine.set_edgecolor(BOX_COLOURS[stream])
                spine.set_linewidth(2)
    fig.suptitle(f"{sample.name}, gesture {_name(int(gesture[0]))} (frames {start}-{end}): clip frame "
                 f"{k + 1} of {len(geometry.frames)}, crops resized to {settings.size}x{settings.size}",
                 fontsize=10)
    return fig


def plot_highest_hand(sample: chalearn.Sample, gesture: Sequence[int], preset: str = "course") -> Figure:
    """Why the highest hand, and what mirroring does, for one gesture.

    Left: each hand's pixel y over the gesture and its mean (up in the image
    is up in the plot); the hand with the smaller mean y is the highest.
    Middle: the middle clip frame as recorded, with the boxes. Right: the
    same frame as the crops see it, mirrored when the highest hand is the
    left one, so that it appears as a right hand on the image's left side.
    """
    settings = cropping.settings_for(preset)
    geometry = _geometry(sample, gesture, settings)
    gesture_id, start, end = (int(v) for v in gesture)
    filled = cropping.fill_untracked(sample.skeleton())
    frames = np.arange(start, end + 1)
    k = len(geometry.frames) // 2
    frame_number = int(geometry.frames[k])
    colour = sample.read_frames([frame_number], ("color",))["color"][0]

    fig = Figure(figsize=(12, 3.8), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
    means = {}
    for side in ("left", "right"):
        y = filled[start - 1:end, JOINT_INDEX[f"Hand{side.title()}"], 1 + PIXEL.start]
        means[side] = float(y.mean())
        axes[0].plot(frames, y, color=_HAND_COLOURS[side], label=f"user's {side} hand")
        axes[0].axhline(means[side], color=_HAND_COLOURS[side], linestyle="--", linewidth=1)
    hip_y = filled[start - 1:end, JOINT_INDEX["HipCenter"], 1 + PIXEL.start].mean()
    axes[0].axhline(hip_y, color="gray", linestyle=":", label="hip (mean)")
    axes[0].axvline(frame_number, color="black", linewidth=0.8, alpha=0.5)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("video frame")
    axes[0].set_ylabel("pixel y (up = higher)")
    highest = "left" if geometry.mirrored else "right"
    axes[0].set_title(f"highest hand: {highest} (mean y {means[highest]:.0f} vs "
                      f"{means['right' if highest == 'left' else 'left']:.0f} px)", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right")

    in_view = {stream: getattr(geometry, stream)[k] for stream in cropping.STREAMS}
    as_recorded = {stream: _original_box(box, sample.width, geometry.mirrored) for stream, box in in_view.items()}
    views = [(axes[1], colour, _skeleton_rows(filled[frame_number - 1, :, PIXEL]), as_recorded, "as recorded"),
             (axes[2], geometry.view(colour), _skeleton_rows(geometry.joints[k]), in_view,
              "as the crops see it: " + ("mirrored" if geometry.mirrored else "not mirrored (right hand highest)"))]
    for ax, image, joints, boxes, title in views:
        ax.imshow(image)
        draw_skeleton(ax, joints, linewidth=1.5)
        for stream, box in boxes.items():
            _box(ax, box, BOX_COLOURS[stream])
        ax.set_title(title, fontsize=9)
        _clean(ax)
    axes[2].legend(handles=[Line2D([], [], color=_HAND_COLOURS["left"], label="user's left"),
                            Line2D([], [], color=_HAND_COLOURS["right"], label="user's right"),
                            Line2D([], [], color=BOX_COLOURS["body"], label="body box"),
                            Line2D([], [], color=BOX_COLOURS["hand"], label="hand box")],
                   loc="lower right", fontsize=7, framealpha=0.8)
    fig.suptitle(f"{sample.name}, gesture {_name(gesture_id)} (frames {start}-{end}), frame {frame_number}",
                 fontsize=10)
    return fig


# --------------------------------------------------------------------------- clips over time


def plot_streams(examples: Sequence, titles: Sequence[str], rows: Sequence[tuple[str, str]] = STREAM_ROWS,
                 frames: int | None = None, title: str | None = None) -> Figure:
    """Clips as strips over time: for each clip one row per (stream, channel) in ``rows``,
    one column per frame (``frames`` evenly spaced ones when given, else all).

    Clips are (2, 2, T, H, W) tensors or arrays, uint8 or float in [0, 1]
    (as :class:`gesturelib.data.GestureClips` yields them); they must share T.
    """
    if len(examples) != len(titles) or not len(examples):
        raise ValueError(f"need one title per clip and at least one clip, got {len(examples)} and {len(titles)}")
    arrays = [_as_unit_array(clip) for clip in examples]
    length = arrays[0].shape[2]
    if any(array.shape[2] != length for array in arrays):
        raise ValueError("all clips must have the same number of frames")
    unknown = [row for row in rows if row not in STREAM_ROWS]
    if unknown or not rows:
        raise ValueError(f"rows must be (stream, channel) pairs of {STREAM_ROWS}, got {unknown or rows}")
    shown = (np.arange(length) if frames is None or frames >= length
             else np.unique(np.rint(np.linspace(0, length - 1, frames)).astype(int)))

    cell = 0.7
    block = len(rows) * cell + 0.3
    fig = Figure(figsize=(1.0 + cell * len(shown), block * len(arrays) + (0.35 if title else 0.05)),
                 dpi=DPI, layout="constrained")
    subfigures = fig.subfigures(len(arrays), 1, squeeze=False)[:, 0]
    for n, (subfigure, array, clip_title) in enumerate(zip(subfigures, arrays, titles)):
        axes = subfigure.subplots(len(rows), len(shown), squeeze=False,
                                  gridspec_kw={"wspace": 0.05, "hspace": 0.05})
        for r, (stream, channel) in enumerate(rows):
            image_rows = array[cropping.STREAMS.index(stream), cropping.CHANNELS.index(channel)]
            for c, t in enumerate(shown):
                ax = axes[r, c]
                ax.imshow(image_rows[t], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                _clean(ax)
                if n == 0 and r == 0:
                    ax.set_title(f"t={t}", fontsize=7)
            axes[r, 0].set_ylabel(f"{stream}\n{channel}", fontsize=8, rotation=0, ha="right", va="center")
        subfigure.suptitle(clip_title, fontsize=9, x=0.01, ha="left")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_augmentations(clip, augment: Callable, draws: int = 4, seed: int = 0, frames: int = 4) -> Figure:
    """One clip (float (2, 2, T, H, W) in [0, 1]) and ``draws`` random augmentations of it.

    Each row is one call of ``augment`` (e.g. :func:`gesturelib.data.poster_augmentation`):
    ``frames`` gray frames spread over the clip plus the middle depth frame,
    for each stream. Within a row every frame and both channels move the same
    way: one draw per clip. The draws come from a private RNG seeded with
    ``seed`` (torch's global RNG is left as it was).
    """
    if not isinstance(clip, torch.Tensor) or clip.ndim != 5 or clip.shape[:2] != (2, 2):
        raise ValueError(f"clip must be a float tensor (2, 2, T, H, W), got {getattr(clip, 'shape', clip)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        versions = [clip] + [augment(clip) for _ in range(draws)]
    length = clip.shape[2]
    times = np.unique(np.rint(np.linspace(0, length - 1, frames)).astype(int))
    middle = length // 2
    ratios = []
    for s in range(2):
        ratios += [1.0] * (len(times) + 1) + ([0.3] if s == 0 else [])

    cell = 0.8
    fig = Figure(figsize=(1.0 + cell * sum(ratios), 0.45 + cell * len(versions)), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(versions), len(ratios), width_ratios=ratios, squeeze=False,
                        gridspec_kw={"wspace": 0.03, "hspace": 0.03})
    for r, version in enumerate(versions):
        version = version.detach().cpu().numpy()
        position = 0
        for s, stream in enumerate(cropping.STREAMS):
            for t in [*times, None]:
                ax = axes[r, position]
                image = version[s, 1, middle] if t is None else version[s, 0, t]
                ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                _clean(ax)
                if r == 0:
                    ax.set_title(f"{stream} depth\nt={middle}" if t is None else f"{stream} gray\nt={t}",
                                 fontsize=7)
                position += 1
            if s == 0:
                axes[r, position].set_axis_off()
                position += 1
        axes[r, 0].set_ylabel("original" if r == 0 else f"draw {r}", fontsize=8)
    fig.suptitle(f"One clip, {draws} augmentation draws (seed {seed})", fontsize=10)
    return fig


# --------------------------------------------------------------------------- values and settings


def _histograms(stored) -> dict[tuple[str, str], np.ndarray]:
    """Counts of each value 0..255 per (stream, channel) of uint8 clips (N, 2, 2, T, H, W)."""
    array = stored.numpy() if isinstance(stored, torch.Tensor) else np.asarray(stored)
    if array.dtype != np.uint8 or array.ndim != 6 or array.shape[1:3] != (2, 2):
        raise ValueError(f"expected uint8 clips (N, 2, 2, T, H, W), got {array.dtype} {array.shape}")
    # A 256-bin count gives every statistic below without a float copy of the whole split.
    return {(stream, channel): np.bincount(array[:, s, c].ravel(), minlength=256)
            for s, stream in enumerate(cropping.STREAMS) for c, channel in enumerate(cropping.CHANNELS)}


def value_table(stored) -> pd.DataFrame:
    """Per stream and channel: min, max, mean and std of the values a model receives
    (uint8 / 255, so 0..1), and the share of exact zeros (the removed background, in depth)."""
    values = np.arange(256) / 255.0
    rows = []
    for (stream, channel), counts in _histograms(stored).items():
        total = counts.sum()
        present = np.flatnonzero(counts)
        mean = float((counts * values).sum() / total)
        std = float(np.sqrt((counts * (values - mean) ** 2).sum() / total))
        rows.append({"stream": stream, "channel": channel, "min": values[present[0]],
                     "max": values[present[-1]], "mean": mean, "std": std,
                     "zeros": float(counts[0] / total)})
    return pd.DataFrame(rows).set_index(["stream", "channel"]).round(3)


def plot_value_histograms(stored) -> Figure:
    """Histograms of the values a model receives, one panel per stream and channel (log counts)."""
    fig = Figure(figsize=(12, 2.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 4, sharey=True)
    values = np.arange(256) / 255.0
    for ax, ((stream, channel), counts) in zip(axes, _histograms(stored).items()):
        ax.bar(values, counts, width=1 / 255, color="tab:blue" if channel == "gray" else "tab:purple")
        ax.set_yscale("log")
        ax.set_title(f"{stream} · {channel}: {counts[0] / counts.sum():.0%} zeros", fontsize=9)
        ax.set_xlabel("value (0-1)")
    axes[0].set_ylabel("pixels")
    fig.suptitle(f"Pixel values over {len(stored)} clips", fontsize=10)
    return fig


def _field_docs(cls) -> dict[str, str]:
    """Attribute docstrings (a string right after a field, as Sphinx reads them) of a class."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for field, after in zip(body, body[1:]):
        if (isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[field.target.id] = re.sub(r"\s+", " ", after.value.value.replace("``", "")).strip()
    return docs


def settings_table(presets: Sequence[str] | None = None) -> pd.DataFrame:
    """Every :class:`cropping.ClipSettings` field: its value in each preset and its meaning
    (the field's docstring in :mod:`gesturelib.cropping`, so the table cannot drift from the code)."""
    names = list(cropping.PRESETS) if presets is None else list(presets)
    settings = [cropping.settings_for(name) for name in names]
    docs = _field_docs(cropping.ClipSettings)
    rows = []
    for field in dataclasses.fields(cropping.ClipSettings):
        row = {"setting": field.name}
        row.update({name: getattr(s, field.name) for name, s in zip(names, settings)})
        row["meaning"] = docs.get(field.name, "")
        rows.append(row)
    return pd.DataFrame(rows).set_index("setting")
