"""What temperature does to a softmax: the data and figures behind notebook 05's widgets.

Every widget callback here is a plain function of the slider values
(``draw(clip_index, T)``), so tests call it directly; the ipywidgets layer in
``interactive_softmax`` only wires sliders to it. Entropies are in bits
(log base 2): a uniform distribution over the 20 gestures has log2(20) = 4.32 bits.
``class_similarity`` and ``similarity_by_relation`` show the teacher's "dark
knowledge" and set it beside the pairs the embedded dataset made hard on purpose.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from ..chalearn import GESTURES
from ..distill import softened_softmax
from ..synth.choreography import RELATIONS, relation



def entropy_bits(probabilities: Tensor) -> Tensor:
    """Shannon entropy in bits over the last dimension (0 log 0 counts as 0)."""
    logs = torch.where(probabilities > 0, torch.log2(probabilities), torch.zeros_like(probabilities))
    return -(probabilities * logs).sum(dim=-1)


def entropy_vs_temperature(logits: Tensor, temperatures: Sequence[float]) -> np.ndarray:
    """Entropy in bits of ``softened_softmax(logits, T)`` for each T.

    ``logits`` (C,) gives an array (len(temperatures),); (N, C) gives
    (len(temperatures), N), one column per clip.
    """
    logits = torch.as_tensor(logits, dtype=torch.float32)
    return torch.stack([entropy_bits(softened_softmax(logits, T)) for T in temperatures]).numpy()


def class_similarity(teacher_logits: Tensor, labels: Tensor, T: float, num_classes: int | None = None) -> np.ndarray:
    """Mean softened teacher distribution per true class: a (C, C) matrix, rows sum to 1.

    Row i, column j is how much probability the teacher gives class j, on
    average, to clips whose true class is i. Off the diagonal this is the "dark
    knowledge" the student can learn from. A class with no clip gets a NaN row.
    """
    teacher_logits = torch.as_tensor(teacher_logits, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.long)
    if teacher_logits.ndim != 2 or len(teacher_logits) != len(labels):
        raise ValueError(
            f"need logits (N, C) and N labels, got logits {tuple(teacher_logits.shape)} "
            f"and {len(labels)} labels"
        )
    num_classes = num_classes or teacher_logits.shape[1]
    probabilities = softened_softmax(teacher_logits, T)
    sums = torch.zeros(num_classes, teacher_logits.shape[1]).index_add_(0, labels, probabilities)
    counts = torch.bincount(labels, minlength=num_classes).unsqueeze(1).float()
    return (sums / counts).numpy()  # 0 / 0 -> NaN for absent classes, on purpose


def similar_pairs(similarity: np.ndarray, class_names: Sequence[str], top: int = 5) -> list[tuple[str, str, float]]:
    """The ``top`` (true class, confused-with class, probability) entries off the diagonal."""
    off_diagonal = np.where(np.eye(len(similarity), dtype=bool), -np.inf, np.nan_to_num(similarity, nan=-np.inf))
    flat = np.argsort(-off_diagonal, axis=None, kind="stable")[:top]
    rows, cols = np.unravel_index(flat, similarity.shape)
    return [(class_names[i], class_names[j], float(similarity[i, j])) for i, j in zip(rows, cols)]


def similar_pairs_explained(similarity: np.ndarray, class_names: Sequence[str] = GESTURES,
                            top: int = 8) -> list[dict]:
    """``similar_pairs`` as table rows, each with its :func:`~gesturelib.synth.choreography.relation`."""
    index = {name: i for i, name in enumerate(class_names)}
    return [
        {"true class": a, "teacher also gives probability to": b, "mean probability": p,
         "relation": relation(index[a] + 1, index[b] + 1)}
        for a, b, p in similar_pairs(similarity, class_names, top)
    ]


def similarity_by_relation(similarity: np.ndarray) -> dict[str, float]:
    """Mean off-diagonal ``class_similarity`` entry over the class pairs of each relation.

    Both directions of a pair count (row a, column b and row b, column a); rows of
    classes without clips (NaN) are left out. If the teacher learned the structure the
    embedded dataset was built with, the related pairs get more probability than the
    unrelated ones. A relation with no pair present gives NaN.
    """
    groups: dict[str, list[float]] = {relation: [] for relation in RELATIONS}
    for a in range(len(similarity)):
        for b in range(len(similarity)):
            if a != b and not np.isnan(similarity[a, b]):
                groups[relation(a + 1, b + 1)].append(float(similarity[a, b]))
    return {relation: float(np.mean(values)) if values else math.nan for relation, values in groups.items()}


def plot_softened(
    ax: Axes,
    logits: Tensor | np.ndarray,
    T: float,
    class_names: Sequence[str],
    true_class: int | None = None,
    ylim: float | None = 1.0,
) -> Axes:
    """Bars of the softened softmax of one clip, in class order so bars stay put as T changes.

    The argmax bar is dark, the true class (when given) is outlined and named in red, and
    the title gives T and the entropy in bits.
    """
    logits = _as_vector(logits, class_names)
    probabilities = softened_softmax(logits, T)
    heights = probabilities.numpy()
    colors = ["tab:blue"] * len(heights)
    colors[int(heights.argmax())] = "navy"
    bars = ax.bar(np.arange(len(heights)), heights, color=colors)
    ax.set_xticks(np.arange(len(heights)), class_names, rotation=90, fontsize=8)
    if true_class is not None:
        bars[true_class].set_edgecolor("red")
        bars[true_class].set_linewidth(2)
        ax.get_xticklabels()[true_class].set_color("red")
    ax.set_ylabel("probability")
    if ylim is not None:
        ax.set_ylim(0, ylim)
    entropy = float(entropy_bits(probabilities))
    truth = f", true: {class_names[true_class]} (red)" if true_class is not None else ""
    ax.set_title(f"T = {T:g}: entropy {entropy:.2f} bits (max {math.log2(len(heights)):.2f}){truth}", fontsize=9)
    return ax


def plot_softened_grid(
    logits_by_clip: Tensor,
    temperatures: Sequence[float],
    class_names: Sequence[str],
    true_classes: Sequence[int] | None = None,
    clip_names: Sequence[str] | None = None,
    dpi: int = 80,
) -> Figure:
    """One row of bar charts per clip, one column per temperature (a static view of the slider)."""
    logits_by_clip = torch.as_tensor(logits_by_clip, dtype=torch.float32)
    rows, cols = len(logits_by_clip), len(temperatures)
    figure = Figure(figsize=(4.2 * cols, 2.9 * rows), dpi=dpi, layout="constrained")
    axes = np.atleast_2d(figure.subplots(rows, cols, squeeze=False))
    for row in range(rows):
        truth = None if true_classes is None else int(true_classes[row])
        for col, T in enumerate(temperatures):
            plot_softened(axes[row, col], logits_by_clip[row], T, class_names, true_class=truth)
            axes[row, col].tick_params(axis="x", labelsize=6)
            if col:
                axes[row, col].set_ylabel("")
        if clip_names is not None:
            axes[row, 0].set_ylabel(f"{clip_names[row]}\nprobability")
    return figure


def plot_entropy_vs_temperature(ax: Axes, logits: Tensor, temperatures: Sequence[float], labels: Sequence[str] | None = None) -> Axes:
    """Entropy (bits) against T, one line per clip, with the uniform-distribution ceiling."""
    logits = torch.as_tensor(logits, dtype=torch.float32)
    logits = logits.unsqueeze(0) if logits.ndim == 1 else logits
    entropies = entropy_vs_temperature(logits, temperatures)
    for clip in range(entropies.shape[1]):
        ax.plot(temperatures, entropies[:, clip], marker="o", label=labels[clip] if labels else None)
    ax.axhline(math.log2(logits.shape[1]), color="gray", linestyle="--", label="uniform")
    ax.set_xscale("log")
    ax.set_xlabel("temperature T (log scale)")
    ax.set_ylabel("entropy (bits)")
    ax.legend(fontsize=8)
    return ax


def plot_class_similarity(ax: Axes, similarity: np.ndarray, class_names: Sequence[str], T: float, hide_diagonal: bool = True) -> Axes:
    """Heatmap of ``class_similarity``; the diagonal is hidden by default so the dark knowledge shows."""
    shown = similarity.copy()
    if hide_diagonal:
        np.fill_diagonal(shown, np.nan)
    image = ax.imshow(shown, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="mean probability")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, class_names, fontsize=7)
    ax.set_xlabel("class the teacher gives probability to")
    ax.set_ylabel("true class")
    diagonal = " (diagonal hidden)" if hide_diagonal else ""
    ax.set_title(f"Teacher's mean softened softmax per true class, T = {T:g}{diagonal}", fontsize=9)
    return ax


def softmax_renderer(
    logits_by_clip: Tensor,
    class_names: Sequence[str],
    true_classes: Sequence[int] | None = None,
    figsize: tuple[float, float] = (8, 3.2),
    dpi: int = 80,
) -> Callable[[int, float], Figure]:
    """``draw(clip_index, T) -> Figure``: the widget's callback, a plain function for tests."""
    logits_by_clip = torch.as_tensor(logits_by_clip, dtype=torch.float32)
    if logits_by_clip.ndim != 2 or logits_by_clip.shape[1] != len(class_names):
        raise ValueError(
            f"logits_by_clip must be (clips, {len(class_names)}), got {tuple(logits_by_clip.shape)}"
        )

    def draw(clip_index: int, T: float) -> Figure:
        figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        truth = None if true_classes is None else int(true_classes[clip_index])
        plot_softened(figure.add_subplot(), logits_by_clip[clip_index], T, class_names, true_class=truth)
        return figure

    return draw


def interactive_softmax(
    logits_by_clip: Tensor,
    class_names: Sequence[str],
    clip_names: Sequence[str] | None = None,
    true_classes: Sequence[int] | None = None,
    T_range: tuple[float, float] = (0.25, 20.0),
    T: float = 1.0,
):
    """A T slider and a clip picker that redraw ``softmax_renderer``'s chart.

    Returns the ipywidgets box (display it as a cell's last value). The slider
    is logarithmic because the interesting range of T spans orders of magnitude.
    """
    import ipywidgets as widgets
    from IPython.display import display

    draw = softmax_renderer(logits_by_clip, class_names, true_classes)
    clip_names = clip_names or [f"clip {i}" for i in range(len(logits_by_clip))]
    clip_picker = widgets.Dropdown(options=[(name, i) for i, name in enumerate(clip_names)], value=0, description="clip")
    temperature = widgets.FloatLogSlider(
        value=T, base=10, min=math.log10(T_range[0]), max=math.log10(T_range[1]), step=0.02,
        description="T", continuous_update=False, readout_format=".2f",
    )
    output = widgets.interactive_output(
        lambda clip_index, T: display(draw(clip_index, T)), {"clip_index": clip_picker, "T": temperature}
    )
    return widgets.VBox([widgets.HBox([clip_picker, temperature]), output])


def _as_vector(logits: Tensor | np.ndarray, class_names: Sequence[str]) -> Tensor:
    logits = torch.as_tensor(logits, dtype=torch.float32)
    if logits.shape != (len(class_names),):
        raise ValueError(f"expected one clip's logits of shape ({len(class_names)},), got {tuple(logits.shape)}")
    return logits
