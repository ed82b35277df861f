"""Knowledge distillation: the loss against hand arithmetic, its T^2 and "batchmean" details,
the teacher modes, and the functions behind notebook 05's widgets (gesturelib.softmax_viz)."""

import copy
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gesturelib import distill, softmax_viz

torch.set_num_threads(1)
NAMES = [f"g{i}" for i in range(20)]


# ---------------------------------------------------------------- softened softmax


def test_softened_softmax_sums_to_one_and_is_stable():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    for T in (0.01, 1.0, 7.0):
        q = distill.softened_softmax(logits, T)
        assert torch.isfinite(q).all()
        torch.testing.assert_close(q.sum(dim=-1), torch.ones(2))


def test_softened_softmax_limits_in_temperature():
    logits = torch.tensor([3.0, 1.0, 0.5, -2.0])
    assert torch.allclose(distill.softened_softmax(logits, 1e4), torch.full((4,), 0.25), atol=1e-3)
    assert torch.allclose(distill.softened_softmax(logits, 1e-3), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    # T = 1 is the ordinary softmax
    torch.testing.assert_close(distill.softened_softmax(logits, 1.0), torch.softmax(logits, 0))


def test_bad_temperature_and_alpha_are_refused():
    z = torch.zeros(1, 3)
    with pytest.raises(ValueError, match="temperature"):
        distill.softened_softmax(z, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        distill.kd_loss(z, z, torch.tensor([0]), 2.0, alpha=1.5)


# ---------------------------------------------------------------- the loss, by hand


def _hand_example():
    # T = 2, two samples, three classes.
    # sample 1: teacher z = [2 ln 2, 0, 0] -> z/T = [ln 2, 0, 0] -> q_t = [2, 1, 1] / 4 = [1/2, 1/4, 1/4]
    #           student z = [0, 0, 0]      -> q_s = [1/3, 1/3, 1/3]
    #           KL(q_t || q_s) = 1/2 ln(3/2) + 2 * 1/4 ln(3/4) = 1/2 ln(9/8)
    #           (the other direction, KL(q_s || q_t) = 1/3 ln(32/27), is a different number)
    #           CE with label 0 = -ln(1/3) = ln 3
    # sample 2: teacher = student = [0, 0, 0] -> KL = 0; CE with label 2 = ln 3
    # batchmean KL = (1/2 ln(9/8) + 0) / 2 = 1/4 ln(9/8); mean CE = ln 3
    teacher = torch.tensor([[2 * math.log(2), 0.0, 0.0], [0.0, 0.0, 0.0]])
    student = torch.zeros(2, 3)
    labels = torch.tensor([0, 2])
    return student, teacher, labels


def test_kd_loss_matches_hand_arithmetic():
    student, teacher, labels = _hand_example()
    # with T^2: 0.5 * 4 * 1/4 ln(9/8) + 0.5 * ln 3 = 0.5 ln(9/8 * 3) = 0.5 ln(3.375)
    loss = distill.kd_loss(student, teacher, labels, T=2.0, alpha=0.5)
    assert loss.item() == pytest.approx(0.5 * math.log(3.375), rel=1e-6)
    # without T^2: 0.5 * 1/4 ln(9/8) + 0.5 ln 3
    loss = distill.kd_loss(student, teacher, labels, T=2.0, alpha=0.5, t2_scaling=False)
    assert loss.item() == pytest.approx(0.125 * math.log(9 / 8) + 0.5 * math.log(3), rel=1e-6)
    terms = distill.kd_terms(student, teacher, labels, T=2.0)
    assert terms.soft.item() == pytest.approx(math.log(9 / 8), rel=1e-6)  # 4 * 1/4 ln(9/8)
    assert terms.hard.item() == pytest.approx(math.log(3), rel=1e-6)


def test_alpha_zero_is_plain_cross_entropy():
    torch.manual_seed(0)
    student, teacher, labels = torch.randn(6, 5), torch.randn(6, 5), torch.randint(0, 5, (6,))
    loss = distill.kd_loss(student, teacher, labels, T=4.0, alpha=0.0)
    torch.testing.assert_close(loss, F.cross_entropy(student, labels))


def test_alpha_one_with_identical_logits_is_zero():
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 5), torch.randint(0, 5, (6,))
    for T in (1.0, 3.0, 10.0):
        assert distill.kd_loss(logits, logits.clone(), labels, T=T, alpha=1.0).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.filterwarnings("ignore:reduction. .mean.")
def test_batchmean_differs_from_mean_by_the_number_of_classes():
    torch.manual_seed(0)
    student, teacher, labels = torch.randn(8, 20), torch.randn(8, 20), torch.randint(0, 20, (8,))
    T = 3.0
    ours = distill.kd_terms(student, teacher, labels, T, t2_scaling=False).soft
    log_s, log_t = F.log_softmax(student / T, -1), F.log_softmax(teacher / T, -1)
    buggy_mean = F.kl_div(log_s, log_t, reduction="mean", log_target=True)
    torch.testing.assert_close(ours, buggy_mean * 20)
    # "batchmean" is the per-sample KL divergence, averaged over the batch
    per_sample = (log_t.exp() * (log_t - log_s)).sum(-1)
    torch.testing.assert_close(ours, per_sample.mean())


def test_t2_scaling_keeps_the_soft_gradient_scale_and_without_it_it_shrinks_as_one_over_t2():
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 3), 2 * torch.randn(4, 3)
    temperatures = (2.0, 4.0, 8.0, 16.0)
    scaled = distill.soft_gradient_norms(student, teacher, temperatures, t2_scaling=True)
    unscaled = distill.soft_gradient_norms(student, teacher, temperatures, t2_scaling=False)
    assert max(scaled) / min(scaled) < 1.1  # measured: about 1.04 over T = 2..16
    for T, g in zip(temperatures, unscaled):
        assert g == pytest.approx(unscaled[0] * (temperatures[0] / T) ** 2, rel=0.1)
    assert unscaled[-1] < unscaled[0] / 50  # 64x smaller in theory, so this can fail
    # the scaled and unscaled gradients differ by exactly T^2
    for T, a, b in zip(temperatures, scaled, unscaled):
        assert a == pytest.approx(b * T**2, rel=1e-5)


# ---------------------------------------------------------------- teacher modes


def _teacher():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def test_online_criterion_equals_kd_loss_with_the_frozen_teacher():
    teacher = _teacher()
    inputs, labels = torch.randn(5, 4), torch.tensor([0, 1, 2, 1, 0])
    student_logits = torch.randn(5, 3, requires_grad=True)
    criterion = distill.KDCriterion(T=3.0, alpha=0.5, mode="online", teacher=teacher)
    teacher.train()  # the criterion must switch dropout off again
    loss = criterion(student_logits, labels, inputs)
    with torch.no_grad():
        expected = distill.kd_loss(student_logits, teacher.eval()(inputs), labels, 3.0, 0.5)
    torch.testing.assert_close(loss, expected)
    # a tuple target whose first element is the labels works too
    torch.testing.assert_close(criterion(student_logits, (labels, torch.zeros(5)), inputs), expected)
    loss.backward()
    assert student_logits.grad is not None
    assert all(p.grad is None for p in teacher.parameters())  # the teacher never learns


def test_cached_criterion_and_with_teacher_logits_equal_kd_loss():
    teacher = _teacher()
    clips, labels = torch.randn(7, 4), torch.tensor([0, 1, 2, 1, 0, 2, 2])
    dataset = TensorDataset(clips, labels)
    logits = distill.teacher_logits(teacher, dataset, batch_size=3)
    with torch.no_grad():
        expected_logits = teacher.eval()(clips)
    torch.testing.assert_close(logits, expected_logits)

    wrapped = distill.WithTeacherLogits(dataset, logits)
    assert len(wrapped) == 7
    for i in (0, 4, 6):  # each item carries its own teacher logits
        clip, (label, row) = wrapped[i]
        torch.testing.assert_close(clip, clips[i])
        assert label == labels[i]
        torch.testing.assert_close(row, expected_logits[i])

    batch_clips, target = next(iter(DataLoader(wrapped, batch_size=7)))
    student_logits = torch.randn(7, 3)
    cached = distill.KDCriterion(T=2.0, alpha=0.3, t2_scaling=False, mode="cached")
    online = distill.KDCriterion(T=2.0, alpha=0.3, t2_scaling=False, mode="online", teacher=teacher)
    expected = distill.kd_loss(student_logits, expected_logits, labels, 2.0, 0.3, t2_scaling=False)
    torch.testing.assert_close(cached(student_logits, target, batch_clips), expected)
    torch.testing.assert_close(online(student_logits, target, batch_clips), expected)


def test_mode_errors_say_what_is_missing():
    with pytest.raises(ValueError, match="online.*teacher"):
        distill.KDCriterion(T=2.0, mode="online")
    with pytest.raises(ValueError, match="mode"):
        distill.KDCriterion(T=2.0, mode="offline", teacher=_teacher())
    with pytest.raises(ValueError, match="WithTeacherLogits"):
        distill.KDCriterion(T=2.0, mode="cached")(torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="do not match"):
        distill.WithTeacherLogits(TensorDataset(torch.zeros(3, 4), torch.zeros(3)), torch.zeros(2, 3))


# ---------------------------------------------------------------- notebook 05: widgets and figures


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


def test_softmax_table_is_sorted_and_matches_softened_softmax():
    logits = torch.arange(20, dtype=torch.float32) % 7
    bars = softmax_viz.softmax_table(logits, 2.0, NAMES, top_k=5)
    assert len(bars.probabilities) == 5
    assert (np.diff(bars.probabilities) <= 0).all()
    q = distill.softened_softmax(logits, 2.0).numpy()
    np.testing.assert_allclose(bars.probabilities, q[bars.class_indices])
    assert bars.class_names == [NAMES[i] for i in bars.class_indices]
    assert q[bars.class_indices[0]] == q.max()
    assert softmax_viz.softmax_table(logits, 2.0, NAMES).probabilities.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        softmax_viz.softmax_table(torch.zeros(3), 1.0, NAMES)


def test_render_draws_the_softened_softmax_at_the_slider_values():
    torch.manual_seed(0)
    logits = 4 * torch.randn(3, 20)
    render = softmax_viz.softmax_renderer(logits, NAMES, true_classes=[5, 6, 7])
    heights = {}
    for T in (1.0, 5.0):
        figure = render(2, T)
        ax = figure.axes[0]
        heights[T] = np.array([bar.get_height() for bar in ax.patches])
        np.testing.assert_allclose(heights[T], distill.softened_softmax(logits[2], T).numpy(), rtol=1e-6)
        assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
        assert f"T = {T:g}" in ax.get_title() and "g7" in ax.get_title()
        assert ax.patches[7].get_edgecolor()[:3] == matplotlib.colors.to_rgb("red")
    assert not np.allclose(heights[1.0], heights[5.0])  # moving the slider changes the bars
    assert heights[5.0].max() < heights[1.0].max()  # and higher T flattens them
    other_clip = np.array([bar.get_height() for bar in render(0, 1.0).axes[0].patches])
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


def test_teacher_mode_costs_count_teacher_passes_and_time_both_modes():
    teacher = _teacher()
    torch.manual_seed(2)
    student = nn.Linear(4, 3)
    before = [p.clone() for p in student.parameters()]
    clips, labels = torch.randn(10, 4), torch.arange(10) % 3
    augmented = TensorDataset(clips + 0.1 * torch.randn(10, 4), labels)
    costs = distill.teacher_mode_costs(teacher, student, augmented, TensorDataset(clips, labels), batch_size=4, batches=2)
    by_mode = {c.mode: c for c in costs}
    assert set(by_mode) == {"online", "cached"}
    assert by_mode["online"].teacher_forwards_per_epoch == 10 and by_mode["online"].one_time_teacher_forwards == 0
    assert by_mode["cached"].teacher_forwards_per_epoch == 0 and by_mode["cached"].one_time_teacher_forwards == 10
    assert all(c.seconds_per_epoch > 0 for c in costs) and by_mode["cached"].one_time_seconds > 0
    assert all(torch.equal(a, b) for a, b in zip(before, student.parameters()))  # timed on a copy
    with pytest.raises(ValueError, match="same clips"):
        distill.teacher_mode_costs(teacher, student, augmented, TensorDataset(clips[:5], labels[:5]))


# ---------------------------------------------------------------- through the team trainer and model cache


def _tiny_clips(n, seed):
    from gesturelib import models

    generator = torch.Generator().manual_seed(seed)
    clips = torch.rand(n, *models.input_shape("course"), generator=generator)
    return TensorDataset(clips, torch.arange(n) % 20)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from gesturelib import models, train

    torch.manual_seed(0)
    teacher = models.build("cnn3d", "course").eval()
    plain, val = _tiny_clips(8, 0), _tiny_clips(4, 1)
    augmented = TensorDataset(plain.tensors[0] * 0.9, plain.tensors[1])
    config = train.TrainConfig(epochs=1, batch_size=4, num_threads=1)
    options = dict(data_key="tiny-random-clips", cache_dir=tmp_path_factory.mktemp("models"), progress=False)
    return teacher, plain, augmented, val, config, options


def test_train_student_caches_each_teacher_setting_separately(tiny_run, monkeypatch):
    from gesturelib import modelcache

    teacher, plain, augmented, val, config, options = tiny_run
    runs = {
        "labels": dict(),
        "online": dict(teacher=teacher, T=4.0, alpha=1.0),
        "cached": dict(teacher=teacher, T=4.0, alpha=1.0, teacher_mode="cached", plain_train_set=plain),
        "no T^2": dict(teacher=teacher, T=4.0, alpha=1.0, t2_scaling=False),
        "seed 1": dict(teacher=teacher, T=4.0, alpha=1.0, seed=1),
    }
    weights = {}
    for name, settings in runs.items():
        student, history = distill.train_student("student_small", "course", augmented, val, config, **options, **settings)
        assert history.epoch == [1]
        weights[name] = torch.cat([p.detach().flatten() for p in student.parameters()])
    assert len(list(options["cache_dir"].iterdir())) == len(runs)  # one cache entry per setting
    assert not torch.equal(weights["labels"], weights["online"])  # alpha = 1: only the teacher taught it
    assert not torch.equal(weights["online"], weights["cached"])  # augmented vs clean teacher inputs

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cached student was trained again")

    monkeypatch.setattr(modelcache, "fit", must_not_run)
    monkeypatch.setattr(distill, "teacher_logits", must_not_run)
    for name, settings in runs.items():
        student, _ = distill.train_student("student_small", "course", augmented, val, config, **options, **settings)
        torch.testing.assert_close(torch.cat([p.flatten() for p in student.parameters()]), weights[name])


def test_train_student_key_names_the_teacher_weights(tiny_run):
    teacher = tiny_run[0]
    key = distill.distillation_key(teacher, 4.0, 0.5, True, "online")["distillation"]
    assert key["teacher_weights"] == distill.weights_hash(teacher)
    other = copy.deepcopy(teacher)
    with torch.no_grad():
        next(other.parameters())[0] += 1e-3
    assert distill.weights_hash(other) != key["teacher_weights"]
    with pytest.raises(ValueError, match="plain_train_set"):
        _, _, augmented, val, config, options = tiny_run
        distill.train_student("student_small", "course", augmented, val, config, **options, teacher=teacher,
                              teacher_mode="cached")


def test_choose_temperature_uses_validation_accuracy(tiny_run, monkeypatch):
    from gesturelib import train

    teacher, _, augmented, val, config, options = tiny_run
    seen = []
    fake_accuracy = {1.0: 0.25, 2.0: 0.75, 8.0: 0.75}

    def fake_train_student(kind, preset, train_set, val_set, config, **kwargs):
        return kwargs["T"], None  # the "student" is its T, so the evaluation below can look it up

    def fake_evaluate(student, dataset, batch_size=64):
        seen.append(dataset)
        return {"accuracy": fake_accuracy[student]}

    monkeypatch.setattr(distill, "train_student", fake_train_student)
    monkeypatch.setattr(train, "evaluate", fake_evaluate)
    best, accuracy = distill.choose_temperature("student_small", "course", augmented, val, config,
                                                data_key="x", teacher=teacher, temperatures=[1.0, 2.0, 8.0])
    assert best == 2.0 and accuracy == fake_accuracy  # the tie 2 vs 8 goes to the first
    assert all(dataset is val for dataset in seen)
    with pytest.raises(ValueError, match="validation"):
        distill.choose_temperature("student_small", "course", augmented, None, config, data_key="x", teacher=teacher)
