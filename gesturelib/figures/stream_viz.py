"""Figures of chapter 10: a whole sequence's timeline and a frame-by-frame scrubber."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import chalearn, stream

_TRUTH, _RIGHT, _WRONG = "0.35", "tab:green", "tab:red"


def _bars(ax, gestures: Sequence[Sequence[int]], row: float, colours: Sequence[str], label_ids: bool = True) -> None:
    for (gesture_id, start, end), colour in zip(gestures, colours):
        ax.broken_barh([(start - 0.5, end - start + 1)], (row - 0.35, 0.7), color=colour)
        if label_ids:
            ax.text((start + end) / 2, row, str(gesture_id), ha="center", va="center", color="white", fontsize=7)


def spotted_right(truth: Sequence[Sequence[int]], predicted: Sequence[Sequence[int]]) -> list[bool]:
    """For each predicted ``(gesture id, start, end)``: does it overlap a true gesture of its class?"""
    return [any(t[0] == p[0] and t[1] <= p[2] and p[1] <= t[2] for t in truth) for p in predicted]


def plot_spotting(result: stream.SequenceResult, truth: Sequence[Sequence[int]],
                  predictions: Mapping[str, Sequence[Sequence[int]]], config: stream.SpottingConfig,
                  frames: tuple[int, int] | None = None) -> Figure:
    """Ground truth against each model's spotted gestures (top), the per-frame class probabilities of
    ``result``'s model (middle) and the hand height with the spotting thresholds (bottom)."""
    first, last = frames or (1, result.num_frames)
    figure = Figure(figsize=(11, 6.2), dpi=80, layout="constrained")
    top, middle, bottom = figure.subplots(3, 1, sharex=True, height_ratios=[1 + 0.5 * len(predictions), 2.2, 1.3])
    rows = ["ground truth", *predictions]
    _bars(top, truth, len(rows) - 1, [_TRUTH] * len(truth))
    for i, (name, gestures) in enumerate(predictions.items()):
        colours = [_RIGHT if right else _WRONG for right in spotted_right(truth, gestures)]
        _bars(top, gestures, len(rows) - 2 - i, colours)
    top.set_yticks(range(len(rows)), rows[::-1], fontsize=8)
    top.set_ylim(-0.6, len(rows) - 0.4)
    top.legend(handles=[Patch(color=_TRUTH, label="labelled gesture (id)"),
                        Patch(color=_RIGHT, label="spotted, right class"),
                        Patch(color=_WRONG, label="spotted, wrong class or no gesture there")],
               fontsize=7, loc="upper right", ncols=3, bbox_to_anchor=(1, 1.45))
    top.set_title(f"{result.name}: gestures labelled and spotted (numbers are gesture ids)", fontsize=9)

    scores = np.nan_to_num(result.scores[first - 1:last].T, nan=0.0)
    image = middle.imshow(scores, aspect="auto", origin="lower", cmap="magma", vmin=0, vmax=1,
                          extent=(first - 0.5, last + 0.5, 0.5, chalearn.NUM_CLASSES + 0.5), interpolation="nearest")
    for gesture_id, start, end in truth:
        if end >= first and start <= last:
            middle.plot([start, end], [gesture_id, gesture_id], color="cyan", lw=1)
    middle.set_ylabel("gesture id")
    middle.set_yticks([1, 5, 10, 15, 20])
    middle.set_title(f"per-frame class probabilities of the sliding window ({config.window} frames, every "
                     f"{config.stride}); cyan: the labelled gesture", fontsize=9)
    figure.colorbar(image, ax=middle, label="probability", pad=0.01)

    numbers = np.arange(first, last + 1)
    bottom.plot(numbers, result.heights[first - 1:last], color="tab:blue", lw=1, label="highest hand above the hip")
    bottom.axhline(config.raise_on, color="tab:orange", ls="--", lw=1, label=f"raise_on = {config.raise_on:g}")
    bottom.axhline(config.raise_off, color="tab:purple", ls=":", lw=1, label=f"raise_off = {config.raise_off:g}")
    for _, start, end in truth:
        bottom.axvspan(start - 0.5, end + 0.5, color=_TRUTH, alpha=0.15, lw=0)
    bottom.set_ylabel("person heights")
    bottom.set_xlabel("frame (20 per second)")
    bottom.set_xlim(first - 0.5, last + 0.5)
    bottom.legend(fontsize=7, loc="upper right", ncols=3)
    return figure


def frame_renderer(result: stream.SequenceResult, crops: Sequence[stream.FrameCrops],
                   class_names: Sequence[str] = chalearn.GESTURES) -> Callable[[int], Figure]:
    """``draw(frame) -> Figure``: the body and highest-hand crops at a frame and the probabilities
    the recogniser had at that frame (the scrubber's callback, a plain function for tests)."""
    by_number = {c.number: c for c in crops}

    def draw(frame: int) -> Figure:
        figure = Figure(figsize=(10, 3.2), dpi=80, layout="constrained")
        body_ax, hand_ax, bars = figure.subplots(1, 3, width_ratios=[1, 1, 3.2])
        crop = by_number.get(frame)
        for ax, title in ((body_ax, "body"), (hand_ax, "highest hand")):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=9)
        if crop is None:
            body_ax.text(0.5, 0.5, "not tracked yet", ha="center", va="center", transform=body_ax.transAxes)
        else:
            hand = 1 if crop.hands_y[0] < crop.hands_y[1] else 2
            body_ax.imshow(crop.gray[0], cmap="gray", vmin=0, vmax=255)
            hand_ax.imshow(crop.gray[hand], cmap="gray", vmin=0, vmax=255)
            hand_ax.set_xlabel(f"hand height {crop.height:+.2f}", fontsize=8)
        scores = result.scores[frame - 1]
        if np.isnan(scores).any():
            bars.text(0.5, 0.5, "no window yet", ha="center", va="center", transform=bars.transAxes)
        else:
            top = int(scores.argmax())
            bars.bar(np.arange(1, len(scores) + 1), scores, color=["tab:orange" if i == top else "tab:blue"
                                                                   for i in range(len(scores))])
            bars.set_title(f"frame {frame}: {class_names[top]} ({scores[top]:.2f})", fontsize=9)
        bars.set_ylim(0, 1)
        bars.set_xlabel("gesture id")
        bars.set_ylabel("probability")
        return figure

    return draw


def scrubber(result: stream.SequenceResult, crops: Sequence[stream.FrameCrops], frame: int | None = None):
    """A frame slider that redraws :func:`frame_renderer`'s figure (display it as a cell's last value)."""
    import ipywidgets as widgets
    from IPython.display import display

    draw = frame_renderer(result, crops)
    slider = widgets.IntSlider(value=frame or result.num_frames // 2, min=1, max=result.num_frames, step=1,
                               description="frame", continuous_update=False,
                               layout=widgets.Layout(width="90%"))
    output = widgets.interactive_output(lambda frame: display(draw(frame)), {"frame": slider})
    return widgets.VBox([slider, output])
