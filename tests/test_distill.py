"""Knowledge distillation: the loss against hand arithmetic, its T^2 and "batchmean" details,
the teacher modes and what they cost, students through the model cache, and the seed summaries."""

import copy
import math
import threading
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gesturelib import distill

torch.set_num_threads(1)


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
    torch.testing.assert_close(criterion(student_logits, [labels], inputs), expected)
    # (labels, teacher_logits) brings the teacher's logits with the batch: no teacher pass
    given = torch.randn(5, 3)
    torch.testing.assert_close(criterion(student_logits, (labels, given), inputs),
                               distill.kd_loss(student_logits, given, labels, 3.0, 0.5))
    loss.backward()
    assert student_logits.grad is not None
    assert all(p.grad is None for p in teacher.parameters())  # the teacher never learns


def test_cached_criterion_and_with_teacher_logits_equal_kd_loss():
    teacher = _teacher()
    clips, labels = torch.randn(7, 4), torch.tensor([0, 1, 2, 1, 0, 2, 2])
    dataset = TensorDataset(clips, labels)
    logits = distill.precompute_teacher_logits(teacher, dataset, batch_size=3)
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


class _Shift(nn.Module):
    """A "teacher" whose logits are the clip itself: its softened output is easy to compute by hand."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))  # gives the model a device

    def forward(self, x):
        return x


class _Augmented(torch.utils.data.Dataset):
    """The plain clips plus noise drawn from torch's global generator, like the real augmentation."""

    def __init__(self, plain, scale):
        self.plain, self.scale = plain, scale

    def __len__(self):
        return len(self.plain)

    def __getitem__(self, i):
        clip, label = self.plain[i]
        return clip + self.scale * torch.randn(clip.shape), label


def test_view_mismatch_measures_kl_between_clean_and_augmented_targets():
    clips = torch.tensor([[4.0, 0.0, 0.0], [3.0, 1.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]])
    labels = torch.tensor([0, 0, 1, 2])
    plain = TensorDataset(clips, labels)
    T = 2.0
    # no augmentation at all: nothing to mismatch
    same = distill.view_mismatch(_Shift(), plain, plain, T)
    assert same.kl_clean_vs_augmented == pytest.approx(0.0, abs=1e-7) and same.top_class_agreement == 1.0
    # the yardstick: only class 0 has two clips, each the other's partner
    q0, q1 = F.softmax(clips[0] / T, -1), F.softmax(clips[1] / T, -1)
    expected = ((q0 * (q0 / q1).log()).sum() + (q1 * (q1 / q0).log()).sum()) / 2
    assert same.kl_same_class == pytest.approx(expected.item(), rel=1e-5)
    assert same.clips == 4 and same.T == T
    # with noise: reproducible for a seed, positive, and the caller's random state is untouched
    torch.manual_seed(123)
    state = torch.get_rng_state()
    noisy = distill.view_mismatch(_Shift(), _Augmented(plain, 1.0), plain, T, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert noisy == distill.view_mismatch(_Shift(), _Augmented(plain, 1.0), plain, T, seed=5)
    assert noisy.kl_clean_vs_augmented > 0.01
    stronger = distill.view_mismatch(_Shift(), _Augmented(plain, 3.0), plain, T, seed=5)
    assert stronger.kl_clean_vs_augmented > noisy.kl_clean_vs_augmented
    with pytest.raises(ValueError, match="same clips"):
        distill.view_mismatch(_Shift(), plain, TensorDataset(clips[:2], labels[:2]), T)
    with pytest.raises(ValueError, match="orders"):
        distill.view_mismatch(_Shift(), plain, TensorDataset(clips, labels.flip(0)), T)


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
    monkeypatch.setattr(distill, "precompute_teacher_logits", must_not_run)
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


class _Noise(nn.Module):
    """An augmentation that adds noise from torch's global generator (what EpochViews seeds)."""

    def forward(self, clip):
        return clip + 0.1 * torch.randn_like(clip)


def _views(plain):
    from gesturelib import data

    return data.EpochViews(plain, _Noise(), seed=0)


def test_teacher_targets_are_the_teachers_logits_on_each_view_computed_once_per_epoch(tiny_run, tmp_path):
    teacher, plain, _, _, _, _ = tiny_run
    views = _views(plain)
    targets = distill.TeacherTargets(views, teacher, tmp_path, data_key="tiny", batch_size=3)
    targets.set_epoch(1)
    clip, (label, logits) = targets[5]
    view, view_label = views.view(5, 1)
    with torch.no_grad():
        expected = teacher.eval()(view[None])[0]
    assert torch.equal(clip, view) and label == view_label
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-5)  # batch of 3 vs 1: rounding only
    assert (targets.computed, targets.read) == (1, 0)
    targets[0], targets[7]  # the same epoch: no new pass
    assert (targets.computed, targets.read) == (1, 0)
    targets.set_epoch(2)
    other = targets[5][1][1]
    assert not torch.equal(other, logits) and targets.computed == 2  # another epoch, other views
    # another reader (another run, process or seed) reads the epochs back, bit for bit
    again = distill.TeacherTargets(views, teacher, tmp_path, data_key="tiny", batch_size=3)
    again.set_epoch(1)
    assert torch.equal(again[5][1][1], logits) and (again.computed, again.read) == (0, 1)
    changed = copy.deepcopy(teacher)
    with torch.no_grad():
        next(changed.parameters()).flatten()[0] += 1e-3
    assert distill.TeacherTargets(views, changed, tmp_path, data_key="tiny").folder != targets.folder
    assert distill.TeacherTargets(views, teacher, tmp_path, data_key="other").folder != targets.folder


def test_the_teacher_pass_over_the_current_epoch_hands_its_views_on_to_the_batches(tiny_run, tmp_path):
    teacher, plain, _, _, _, _ = tiny_run
    expected = [_views(plain).view(i, 1) for i in range(len(plain))]
    views = _views(plain)
    targets = distill.TeacherTargets(views, teacher, tmp_path, data_key="tiny", batch_size=3, epochs=3)
    targets.set_epoch(1)
    targets.logits(1)
    for index, (clip, label) in enumerate(expected):
        kept, kept_label = views.view(index, 1)
        assert torch.equal(kept, clip) and kept_label == label
        assert views.view(index, 1)[0] is kept  # served as made by the pass, not made again
    targets.logits(2)  # a pass ahead of the current epoch keeps nothing
    assert views.view(0, 2)[0] is not views.view(0, 2)[0]
    targets.set_epoch(2)  # the next epoch drops the kept views
    assert views.view(0, 1)[0] is not views.view(0, 1)[0]
    assert torch.equal(views.view(0, 1)[0], expected[0][0])


@pytest.mark.skipif(distill.fcntl is None, reason="claims need POSIX file locks")
def test_a_run_that_finds_an_epoch_claimed_computes_later_ones_up_to_its_cap(tiny_run, tmp_path):
    teacher, plain, _, _, _, _ = tiny_run
    views = _views(plain)
    targets = distill.TeacherTargets(views, teacher, tmp_path, data_key="tiny", batch_size=3, epochs=4)
    first = targets._path(0)
    first.parent.mkdir(parents=True)
    result = {}
    with open(first.with_suffix(".lock"), "a") as claim:  # another process is computing epoch 0
        distill.fcntl.flock(claim, distill.fcntl.LOCK_EX)
        waiter = threading.Thread(target=lambda: result.update(logits=targets.logits(0)))
        waiter.start()
        deadline = time.monotonic() + 60
        while not all(targets._path(e).exists() for e in (1, 2, 3)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not first.exists() and waiter.is_alive()  # it did epochs 1-3 meanwhile, and waits for 0
    waiter.join(60)  # the claim is gone, its process "died" without the file: the waiter computes epoch 0
    assert sorted(p.name[:9] for p in targets.folder.glob("*.pt")) == [f"epoch-{e:03d}" for e in range(4)]
    assert targets.computed == 4 and not list(targets.folder.glob("*.lock"))
    fresh = distill.TeacherTargets(views, teacher, tmp_path / "fresh", data_key="tiny", batch_size=3)
    assert torch.equal(result["logits"], fresh.logits(0))


def test_shared_teacher_targets_train_the_student_that_the_online_teacher_trains(tiny_run, tmp_path):
    teacher, plain, _, val, config, options = tiny_run

    def student(kind, folder, cache, seed=0):
        model, _ = distill.train_student(kind, "course", _views(plain), val, config, **{**options, "cache_dir": cache},
                                         teacher=teacher, T=4.0, alpha=1.0, teacher_targets=folder, seed=seed)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    folder = tmp_path / "targets"
    online = student("student_small", None, tmp_path / "a")  # the teacher runs on every batch
    shared = student("student_small", folder, tmp_path / "b")
    torch.testing.assert_close(shared, online, rtol=1e-4, atol=1e-5)
    entries = sorted(folder.rglob("*.pt"))
    assert len(entries) == 1  # one epoch of views
    # another student and another seed see the same views: they read the teacher's logits back
    student("student_medium", folder, tmp_path / "c")
    student("student_small", folder, tmp_path / "d", seed=1)
    assert sorted(folder.rglob("*.pt")) == entries
    with pytest.raises(ValueError, match="EpochViews"):
        distill.train_student("student_small", "course", plain, val, config, **{**options, "cache_dir": tmp_path / "e"},
                              teacher=teacher, T=4.0, teacher_targets=folder)


def test_entropy_temperature_is_the_first_candidate_reaching_half_the_maximum():
    logits = torch.tensor([[6.0, 0.0, 0.0, 0.0], [0.0, 5.0, 1.0, 0.0]])
    candidates = [1.0, 2.0, 4.0, 8.0, 16.0]
    chosen = distill.entropy_temperature(logits, candidates)
    assert distill.mean_entropy(logits, chosen) >= 1.0  # half of log2(4) bits
    assert all(distill.mean_entropy(logits, T) < 1.0 for T in candidates if T < chosen)
    assert distill.entropy_temperature(logits * 1e3, [1.0, 2.0]) == 2.0  # none reaches it: the largest


def test_agreement_and_gradient_mix():
    torch.manual_seed(0)
    clips, labels = torch.randn(12, 4), torch.arange(12) % 3
    data = TensorDataset(clips, labels)
    teacher = nn.Linear(4, 3)
    assert distill.agreement(torch.tensor([[2.0, 1.0], [0.0, 1.0]]), torch.tensor([[5.0, 0.0], [3.0, 1.0]])) == 0.5
    student = nn.Linear(4, 3)
    mix = distill.gradient_mix(student, teacher, data, T=2.0, alpha=0.5, batches=2, batch_size=4)
    assert 0.0 < mix.soft_share < 1.0 and -1.0 <= mix.cosine <= 1.0
    # with dropout the masks come from a seeded generator: the same call gives the same numbers
    dropping = nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 3))
    torch.manual_seed(1)
    first = distill.gradient_mix(dropping, teacher, data, T=2.0, alpha=0.5, batches=2, batch_size=4)
    state = torch.get_rng_state()
    assert distill.gradient_mix(dropping, teacher, data, T=2.0, alpha=0.5, batches=2, batch_size=4) == first
    assert torch.equal(torch.get_rng_state(), state)
    # taught by a teacher that predicts the labels perfectly, the two terms pull the same way
    class Oracle(nn.Module):
        def forward(self, x):
            return 20.0 * F.one_hot(labels[: len(x)], 3).float()
    copy_of_labels = distill.gradient_mix(student, Oracle(), TensorDataset(clips[:4], labels[:4]), T=1.0, alpha=0.5,
                                          batches=1, batch_size=4)
    assert copy_of_labels.cosine > 0.9
    assert all(p.grad is None for p in student.parameters())  # measured on a copy
