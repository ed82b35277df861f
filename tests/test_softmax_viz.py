"""The functions behind notebook 05's figures and widgets, called as a slider would call them
(figures: smoke tests, see ``figure_checks``)."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from figure_checks import assert_renders, pixels
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


def test_the_slider_callback_redraws_for_each_clip_and_temperature():
    """The bars are ``distill.softened_softmax`` of the chosen clip at the chosen T (tested in test_distill)."""
    torch.manual_seed(0)
    draw = softmax_viz.softmax_renderer(4 * torch.randn(3, 20), NAMES, true_classes=[5, 6, 7])
    shown = assert_renders(draw(2, 1.0), panels=1)
    assert pixels(draw(2, 1.0)) == shown
    assert pixels(draw(2, 5.0)) != shown  # moving the slider changes the chart
    assert pixels(draw(0, 1.0)) != shown  # so does picking another clip


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


def test_entropy_and_similarity_figures():
    torch.manual_seed(0)
    logits, labels = torch.randn(40, 20), torch.arange(40) % 20
    figure = Figure()
    ax_entropy, ax_heat = figure.subplots(1, 2)
    softmax_viz.plot_entropy_vs_temperature(ax_entropy, logits[:3], [0.5, 1, 4], labels=["x", "y", "z"])
    softmax_viz.plot_class_similarity(ax_heat, softmax_viz.class_similarity(logits, labels, 4.0), NAMES, T=4.0)
    assert_renders(figure, panels=3)  # entropy, similarity and its colour bar


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
    figure = softmax_viz.plot_softened_grid(3 * torch.randn(2, 20), [1.0, 4.0, 16.0], NAMES, true_classes=[3, 4],
                                            clip_names=["a", "b"])
    assert_renders(figure, panels=2 * 3)
