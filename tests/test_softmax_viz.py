"""The functions behind notebook 05's figures and widgets, called as a slider would call them."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from gesturelib import distill
from gesturelib.figures import softmax_viz

torch.set_num_threads(1)
NAMES = [f"g{i}" for i in range(20)]


def test_entropy_grows_with_temperature_towards_log2_classes():
    torch.manual_seed(0)
    logits = 3 * torch.randn(4, 20)
    temperatures = [0.5, 1, 2, 4, 8, 100]
    entropies = softmax_viz.entropy_vs_temperature(logits, temperatures)
    assert entropies.shape == (6, 4)
    assert (np.diff(entropies, axis=0) > 0).all()
    assert entropies[-1] == pytest.approx(np.full(4, math.log2(20)), abs=0.01)  # in bits
    # a one-hot-like distribution has entropy near 0
    assert softmax_viz.entropy_vs_temperature(torch.tensor([50.0, 0.0, 0.0]), [1.0])[0] < 1e-6


def test_render_draws_the_softened_softmax_at_the_slider_values():
    torch.manual_seed(0)
    logits = 4 * torch.randn(3, 20)
    draw = softmax_viz.softmax_renderer(logits, NAMES, true_classes=[5, 6, 7])
    heights = {}
    for T in (1.0, 5.0):
        figure = draw(2, T)
        ax = figure.axes[0]
        heights[T] = np.array([bar.get_height() for bar in ax.patches])
        np.testing.assert_allclose(heights[T], distill.softened_softmax(logits[2], T).numpy(), rtol=1e-6)
        assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
        assert f"T = {T:g}" in ax.get_title() and "g7" in ax.get_title()
        assert ax.patches[7].get_edgecolor()[:3] == matplotlib.colors.to_rgb("red")
    assert not np.allclose(heights[1.0], heights[5.0])  # moving the slider changes the bars
    assert heights[5.0].max() < heights[1.0].max()  # and higher T flattens them
    other_clip = np.array([bar.get_height() for bar in draw(0, 1.0).axes[0].patches])
    np.testing.assert_allclose(other_clip, distill.softened_softmax(logits[0], 1.0).numpy(), rtol=1e-6)


def test_interactive_softmax_wires_a_clip_picker_and_a_temperature_slider():
    import ipywidgets as widgets

    box = softmax_viz.interactive_softmax(torch.randn(3, 20), NAMES, clip_names=["a", "b", "c"], T=2.0)
    controls, output = box.children
    picker, slider = controls.children
    assert isinstance(picker, widgets.Dropdown) and picker.options == (("a", 0), ("b", 1), ("c", 2))
    assert isinstance(slider, widgets.FloatLogSlider) and slider.value == pytest.approx(2.0)
    assert isinstance(output, widgets.Output)


def test_class_similarity_rows_are_mean_softened_distributions():
    logits = torch.tensor([[4.0, 1.0, 0.0], [2.0, 2.0, 0.0], [0.0, 0.0, 5.0]])
    labels = torch.tensor([0, 0, 2])
    T = 2.0
    similarity = softmax_viz.class_similarity(logits, labels, T)
    q = distill.softened_softmax(logits, T).numpy()
    assert similarity.shape == (3, 3)
    np.testing.assert_allclose(similarity[0], (q[0] + q[1]) / 2, rtol=1e-6)
    np.testing.assert_allclose(similarity[2], q[2], rtol=1e-6)
    assert np.isnan(similarity[1]).all()  # no clip of class 1
    np.testing.assert_allclose(similarity[[0, 2]].sum(axis=1), 1.0, rtol=1e-6)
    pairs = softmax_viz.similar_pairs(similarity, ["a", "b", "c"], top=1)
    assert pairs[0][:2] == ("a", "b") and pairs[0][2] == pytest.approx(similarity[0, 1])


def test_figures_are_labelled():
    from matplotlib.figure import Figure

    torch.manual_seed(0)
    logits, labels = torch.randn(40, 20), torch.arange(40) % 20
    figure = Figure()
    ax_entropy, ax_heat = figure.subplots(1, 2)
    softmax_viz.plot_entropy_vs_temperature(ax_entropy, logits[:3], [0.5, 1, 4], labels=["x", "y", "z"])
    assert "bits" in ax_entropy.get_ylabel() and len(ax_entropy.lines) == 4  # 3 clips + uniform line
    similarity = softmax_viz.class_similarity(logits, labels, 4.0)
    softmax_viz.plot_class_similarity(ax_heat, similarity, NAMES, T=4.0)
    shown = ax_heat.images[0].get_array()
    assert np.isnan(np.diag(np.asarray(shown, dtype=float))).all()  # diagonal hidden
    assert ax_heat.get_xlabel() and ax_heat.get_ylabel() and "T = 4" in ax_heat.get_title()


def test_similarity_by_relation_averages_both_directions_of_each_pair():
    from gesturelib.synth.choreography import RELATIONS, TIME_REVERSE_PAIRS

    similarity = np.full((20, 20), 0.01)
    np.fill_diagonal(similarity, 0.5)
    for a, b in TIME_REVERSE_PAIRS:
        similarity[a - 1, b - 1] = 0.2
        similarity[b - 1, a - 1] = 0.1
    similarity[19] = np.nan  # a class without clips is left out
    by_relation = softmax_viz.similarity_by_relation(similarity)
    assert by_relation["time reverse"] == pytest.approx(0.15)
    assert by_relation["unrelated"] == pytest.approx(0.01)
    assert set(by_relation) == set(RELATIONS)
    rows = softmax_viz.similar_pairs_explained(similarity, top=2)
    assert [r["relation"] for r in rows] == ["time reverse", "time reverse"]
    assert rows[0]["mean probability"] == pytest.approx(0.2)


def test_softened_grid_has_one_chart_per_clip_and_temperature():
    torch.manual_seed(0)
    logits = 3 * torch.randn(2, 20)
    figure = softmax_viz.plot_softened_grid(logits, [1.0, 4.0, 16.0], NAMES, true_classes=[3, 4], clip_names=["a", "b"])
    assert len(figure.axes) == 6
    for row in range(2):
        for col, T in enumerate([1.0, 4.0, 16.0]):
            ax = figure.axes[row * 3 + col]
            heights = np.array([bar.get_height() for bar in ax.patches])
            np.testing.assert_allclose(heights, distill.softened_softmax(logits[row], T).numpy(), rtol=1e-6)
            assert f"T = {T:g}" in ax.get_title()
    assert figure.axes[3].get_ylabel().startswith("b")
