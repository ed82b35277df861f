"""Chapters 07 and 08: weight magnitudes (``weight_magnitudes``), pruning, fine-tuning, Table 3
and latency (``pruning``), and their tables and figures (``figures.compressviz``).

The tests' tiny model (``tests/tiny_model.py``, the joint models' layer types)
carries planted weights for the counting tests and trains in a fraction of a
second for the pruning recipe; Table 3 rows use the real small student of the
course preset on a few random clips.
"""

import copy
import dataclasses
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from figure_checks import assert_renders
from gesturelib import compress, export, models, pruning, stats, train, weight_magnitudes
from gesturelib.figures import compressviz
from tiny_model import CLASSES, TinyJoint

def _dataset(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (n,), generator=g)
    clips = torch.randn(n, 2, 2, 4, 4, 4, generator=g) + labels.view(-1, 1, 1, 1, 1, 1).float()
    return TensorDataset(clips, labels)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)
    yield
    plt.close("all")


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return TinyJoint().eval()


def _planted(model):
    """Plant known magnitudes: 2 zeros, 3 weights of 2^-110, 4 of 1e-5 in the Conv3d; 1 of 2^-30 in the LSTM."""
    with torch.no_grad():
        w = model.conv3d.weight.view(-1)
        w.clamp_(min=0.01)  # nothing small before planting
        model.lstm.weight_ih_l0.clamp_(min=0.01)
        model.lstm.weight_hh_l0.clamp_(min=0.01)
        model.fc.weight.clamp_(min=0.01)
        w[:2] = 0.0
        w[2:5] = 2.0**-110
        w[5:9] = -1e-5
        model.lstm.weight_hh_l0.view(-1)[0] = 2.0**-30
    return model


def test_magnitude_table_counts_planted_weights(tiny):
    table = compressviz.magnitude_table({"m": _planted(tiny)})
    conv, lstm, every = table.loc[("m", "Conv3d")], table.loc[("m", "LSTM")], table.loc[("m", "all")]
    assert conv["weights"] == tiny.conv3d.weight.numel() and conv["zeros"] == 2
    assert conv["< 2^-100"] == 5 and conv["< 2^-24"] == 5 and conv["< 0.001"] == 9
    assert conv["min |w| > 0"] == pytest.approx(2.0**-110)
    assert lstm["< 2^-100"] == 0 and lstm["< 2^-24"] == 1
    weights = (tiny.conv3d.weight, tiny.lstm.weight_ih_l0, tiny.lstm.weight_hh_l0, tiny.fc.weight)
    assert every["weights"] == sum(w.numel() for w in weights)
    assert every["< 2^-24"] == 6 and every["< 0.001"] == 10


def test_weights_record_counts_every_parameter(tiny):
    record = weight_magnitudes.weights_record(_planted(tiny), accuracy_pct=42.0)
    assert record["total"] == models.count_params(tiny)
    # batch norm's bias starts at zero: scope "all" counts it, like the poster's total
    bn_zeros = int((tiny.bn3d.bias == 0).sum())
    assert record["below_2^-100"] == 5 + bn_zeros
    assert record["below_2^-24"] == 6 + bn_zeros
    assert record["accuracy"] == 42.0


@pytest.mark.parametrize("fraction", [0.1, 0.5, 905 / 1150, 1.0])
def test_quantile_threshold_is_the_smallest_tau_that_removes_the_fraction(tiny, fraction):
    tau = weight_magnitudes.quantile_threshold(tiny, fraction)
    total = compress.count_below(tiny, tau, "all").total
    assert compress.count_below(tiny, tau, "all").selected >= math.ceil(fraction * total)
    assert compress.count_below(tiny, np.nextafter(tau, 0), "all").selected < math.ceil(fraction * total)


def test_moved_towards_zero_sees_a_halving(tiny):
    halved = copy.deepcopy(tiny)
    with torch.no_grad():
        for p in halved.parameters():
            p.mul_(0.5)
    table = weight_magnitudes.moved_towards_zero(tiny, halved)
    assert set(table.index) == {"Conv3d", "LSTM", "Linear", "all"}
    assert (table["fraction smaller"] == 1.0).all() and (table["fraction unchanged"] == 0.0).all()
    with torch.no_grad():
        halved.fc.weight.copy_(tiny.fc.weight)
    assert weight_magnitudes.moved_towards_zero(tiny, halved).loc["Linear", "fraction unchanged"] == 1.0
    assert np.allclose(table["median |w_after| / |w_before|"], 0.5)
    with pytest.raises(ValueError, match="same weight tensors"):
        weight_magnitudes.moved_towards_zero(tiny, nn.Linear(2, 2))


def test_expected_below_if_flat_scales_the_reference_count(tiny):
    below = compress.count_below(tiny, 0.1, "all").selected
    assert weight_magnitudes.expected_below_if_flat(tiny, 0.01, reference=0.1) == pytest.approx(below * 0.1)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_first_update_is_lr_for_adam_and_lr_times_gradient_for_sgd(tiny, optimizer):
    config = train.TrainConfig(optimizer=optimizer, lr=0.01, batch_size=24, seed=0)
    measured = weight_magnitudes.update_sizes(tiny, _dataset(), config, steps=1)
    assert measured.gradient.shape == measured.update.shape
    assert measured.gradient.size == sum(p.numel() for p in tiny.parameters() if p.dim() >= 2)
    moving = measured.gradient > 1e-6
    assert moving.mean() > 0.9
    g = measured.gradient[moving]
    # Adam's bias-corrected first step is lr * g / (|g| + eps); SGD's (momentum buffer = g) is lr * g.
    # Tolerance: the update is measured as a difference of fp32 weights (ulp ~3e-8 at |w| ~ 0.5).
    expected = 0.01 * g / (g + 1e-8) if optimizer == "adam" else 0.01 * g
    assert np.allclose(measured.update[moving], expected, rtol=1e-3, atol=1e-7)
    for p, q in zip(tiny.parameters(), TinyJoint().parameters()):
        assert p.shape == q.shape  # the model itself was not trained
    assert weight_magnitudes.update_sizes(tiny, _dataset(), config, steps=1).update.tolist() == measured.update.tolist()


def test_prune_and_finetune_keeps_pruned_weights_at_zero(tiny):
    config = train.TrainConfig(epochs=2, batch_size=8, lr=0.01, seed=0, num_threads=1)
    keys = list(tiny.state_dict())
    tuned, history = pruning.prune_and_finetune(tiny, 0.6, _dataset(), _dataset(12, seed=1), config,
                                                progress=False)
    assert len(history.epoch) == 2
    assert list(tuned.state_dict()) == keys and not torch.nn.utils.prune.is_pruned(tuned)
    count = compress.zero_weights(tuned)
    assert count.selected == round(0.6 * count.total)
    # the weights kept are the largest of the original and they did train
    mask = tuned.fc.weight != 0
    assert not torch.equal(tuned.fc.weight[mask], tiny.fc.weight[mask])
    assert compress.zero_weights(tiny).selected == 0  # the original is untouched


def test_sparsity_curve_measures_each_level(tiny):
    config = train.TrainConfig(epochs=1, batch_size=8, seed=0, num_threads=1)
    test_set = _dataset(12, seed=2)
    curve = pruning.sparsity_curve(tiny, [0.0, 0.5, 0.9], _dataset(), None, test_set, config,
                                   finetune_at=[0.0, 0.9], progress=False)
    assert curve.sparsity == [0.0, 0.5, 0.9]
    assert curve.acc_pruned[0] == train.accuracy_percent(tiny, test_set)
    assert curve.acc_finetuned[1] is None and set(curve.finetuned) == {0.0, 0.9}
    assert all(0.0 <= a <= 100.0 for a in curve.acc_pruned + [curve.acc_finetuned[0], curve.acc_finetuned[2]])
    assert compress.zero_weights(curve.finetuned[0.9]).fraction == pytest.approx(0.9, abs=0.01)
    assert curve.acc_finetuned[2] == train.accuracy_percent(curve.finetuned[0.9], test_set)
    assert set(curve.record()) == {"sparsity", "acc_pruned", "acc_finetuned"}
    layers = compressviz.layer_sparsity({"0.9": curve.finetuned[0.9], "dense": tiny})
    assert (layers["dense"] == 0).all()
    assert layers.loc["fc.weight", "0.9"] == pytest.approx(float((curve.finetuned[0.9].fc.weight == 0).double().mean()))
    with pytest.raises(ValueError, match="not on the curve"):
        pruning.sparsity_curve(tiny, [0.0], _dataset(), None, test_set, config, finetune_at=[0.5])
    assert_renders(compressviz.sparsity_curve_figure(curve, dense_accuracy=50.0), panels=1)


@pytest.fixture(scope="module")
def student():
    torch.manual_seed(0)
    return models.build("student_small", "course").eval()


@pytest.fixture(scope="module")
def clips():
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.rand(4, *models.input_shape("course"), generator=g), torch.tensor([0, 1, 2, 3]))


@pytest.mark.parametrize("channels_last", [False, True])  # the model cache hands out channels_last_3d models
@pytest.mark.parametrize("fmt", ["fp32", "fp16", "sparse-fp32", "sparse-fp16"])
def test_reloaded_models_carry_the_file_values(student, fmt, channels_last):
    if channels_last:
        student = copy.deepcopy(student).to(memory_format=torch.channels_last_3d)
    back = pruning.reloaded(student, "student_small", fmt)
    for (name, a), b in zip(student.state_dict().items(), back.state_dict().values()):
        expected = a.half().to(a.dtype) if fmt.endswith("fp16") and a.is_floating_point() else a
        assert torch.equal(b, expected), name
    with pytest.raises(ValueError, match="fmt must be"):
        pruning.reloaded(student, "student_small", "int8")


def test_table3_rows_report_file_sizes_and_accuracies(student, clips, tmp_path):
    sparse = pruning.pruned_copy(copy.deepcopy(student).to(memory_format=torch.channels_last_3d), 0.8)
    rows = pruning.table3_rows({"student_small": student, "student_small_sparse": sparse}, clips,
                               sparsity=0.8, progress=False)
    dense_row, sparse_row = rows["student_small"], rows["student_small_sparse"]
    assert dense_row["params"] == models.count_params(student)
    assert dense_row["fp32_mb"] * pruning.MB == compress.save_model(student, tmp_path / "a", "fp32")
    assert dense_row["fp16_mb"] * pruning.MB == compress.save_model(student, tmp_path / "b", "fp16")
    assert dense_row["int8_mb"] * pruning.MB == compress.save_model(student, tmp_path / "c", "int8")
    assert dense_row["sparse_mb"] is None and dense_row["acc_sparse"] is None
    assert sparse_row["params"] == pruning.nonzero_params(sparse) < 0.3 * dense_row["params"]
    assert sparse_row["fp32_mb"] == sparse_row["sparse_mb"]
    assert sparse_row["fp32_mb"] * pruning.MB == compress.save_model(sparse, tmp_path / "d", "sparse-fp32")
    assert sparse_row["fp16_mb"] * pruning.MB == compress.save_model(sparse, tmp_path / "e", "sparse-fp16")
    assert sparse_row["fp32_mb"] < 0.5 * dense_row["fp32_mb"]
    assert sparse_row["acc_sparse"] == sparse_row["acc_fp32"]  # the sparse file is exact
    for row in rows.values():
        for key in ("acc_fp32", "acc_fp16", "acc_int8"):
            assert row[key] in {0.0, 25.0, 50.0, 75.0, 100.0}
        assert row["paper_params"] > 1_000_000 or row is sparse_row
    assert rows["student_small"]["paper_params"] == models.count_params(models.build("student_small", "paper"))
    assert set(compressviz.table3_frame(rows).index) == set(rows)
    assert_renders(compressviz.plot_accuracy_vs_size(rows), panels=1)
    assert_renders(compressviz.plot_accuracy_vs_size(rows, poster=True), panels=2)
    assert_renders(compressviz.plot_accuracy_vs_size({}, poster=True), panels=2)  # chapter 08 not run yet
    with pytest.raises(ValueError, match="unknown Table 3 rows"):
        pruning.table3_rows({"student_medium": student}, clips)


def test_paper_sizes_are_files_of_the_architecture():
    dense = pruning.paper_sizes("student_small", preset="course")
    params = models.count_params(models.build("student_small", "course"))
    assert dense["paper_params"] == params
    # fp32: 4 bytes per parameter plus torch.save's framing; fp16 about half of that
    assert 4 * params < dense["paper_fp32_mb"] * pruning.MB < 4 * params * 1.25
    assert 2 * params < dense["paper_fp16_mb"] * pruning.MB < 0.6 * dense["paper_fp32_mb"] * pruning.MB
    sparse = pruning.paper_sizes("student_small", sparsity=0.75, preset="course")
    initial = weight_magnitudes.initial_model("student_small", preset="course")
    weights = compress.zero_weights(initial).total
    zero_at_start = compress.zero_weights(initial, "all").selected  # batch norm's biases start at exactly 0
    assert sparse["paper_params"] == params - round(0.75 * weights) - zero_at_start
    assert sparse["paper_fp16_mb"] < sparse["paper_fp32_mb"] < 0.5 * dense["paper_fp32_mb"]


def test_fp16_inference_takes_and_returns_fp32(student, clips):
    x = clips.tensors[0][:2]
    half = pruning.fp16_inference(student)
    with torch.inference_mode():
        out, ref = half(x), student(x)
    assert out.dtype == torch.float32 and next(half.parameters()).dtype == torch.float16
    assert (out - ref).abs().max() < 0.05 * ref.abs().max() + 1e-3


def test_latency_record_and_table():
    lats = [export.Latency("fp32", 2.0, 2.5, 10, 1), export.Latency("int8", 1.5, 2.0, 10, 1, "int8 note"),
            export.Latency("onnxruntime", 1.0, 1.2, 10, 1), export.Latency("fp16", None, None, 0, 1, "no fp16")]
    assert pruning.latency_record(lats) == {"fp32": 2.0, "int8": 1.5, "onnxruntime": 1.0, "fp16": None,
                                            "fp16_note": "no fp16"}
    frame = compressviz.latency_frame({"dense": lats, "sparse": lats})
    assert list(frame.columns) == ["dense (ms)", "sparse (ms)", "runs", "note"]
    assert frame.loc["int8", "sparse (ms)"] == 1.5
    with pytest.raises(ValueError, match="lack the forms"):
        pruning.latency_record(lats[:2])


def test_fp32_latency_times_each_model_with_the_threads_asked(student, clips):
    before = torch.get_num_threads()
    medians = pruning.fp32_latency_ms({"dense": student, "sparse": pruning.pruned_copy(student, 0.8)},
                                      clips.tensors[0], runs=3)
    assert set(medians) == {"dense", "sparse"} and all(m > 0 for m in medians.values())
    assert torch.get_num_threads() == before


def test_histogram_and_scale_figures(tiny):
    models_ = {"initial": tiny, "planted": _planted(copy.deepcopy(tiny))}
    assert_renders(compressviz.log2_histogram_figure(models_), panels=6)  # 3 panels per model
    assert_renders(compressviz.log2_histogram_figure({"initial": tiny}), panels=3)
    assert_renders(compressviz.magnitude_scale_figure(models_), panels=1)


def test_initial_model_is_what_training_starts_from():
    a = weight_magnitudes.initial_model("student_small", seed=3)
    b = weight_magnitudes.initial_model("student_small", seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_sparse_vs_dense_pairs_a_pruned_fine_tune_with_a_dense_one(tiny):
    from types import SimpleNamespace

    splits = SimpleNamespace(train=_dataset(), validation=_dataset(12, seed=1), test=_dataset(12, seed=2))
    students = {}
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        students[seed] = (TinyJoint().eval(), train.History(converged=True))
    config = train.TrainConfig(epochs=1, batch_size=8, lr=0.01, seed=7, num_threads=1)
    result = pruning.sparse_vs_dense(students, splits, config, sparsity=0.6, progress=False)
    comparison = result.comparison
    assert comparison["seeds"] == [0, 1, 2] and comparison["margin"] == -1.0 and comparison["converged"]
    assert comparison["differences"] == pytest.approx([result.sparse[s] - result.dense[s] for s in (0, 1, 2)])
    assert comparison["verdict"] in stats.VERDICTS[:3]
    for seed, (model, _) in students.items():
        dense, sparse = result.models[seed]
        assert compress.zero_weights(model).selected == 0  # the students are untouched
        assert compress.zero_weights(dense).selected == 0 and not torch.equal(dense.fc.weight, model.fc.weight)
        assert compress.zero_weights(sparse).fraction == pytest.approx(0.6, abs=0.01)
        assert result.base[seed] == train.accuracy_percent(model, splits.test)
        assert result.dense[seed] == train.accuracy_percent(dense, splits.test)
        assert result.sparse[seed] == train.accuracy_percent(sparse, splits.test)
        # the control is the fine-tune of the prune-and-fine-tune recipe at sparsity 0: same seed, same batches
        again, _ = pruning.finetuned_copy(model, splits.train, splits.validation,
                                          dataclasses.replace(config, seed=seed), progress=False)
        assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), dense.state_dict().values()))
    record = result.record()
    assert record["verdict"] == comparison["verdict"] and record["sparsity"] == 0.6 and record["finetune_epochs"] == 1
    assert record["dense_accuracies"] == [result.dense[s] for s in (0, 1, 2)]
    assert list(result.frame().index) == [0, 1, 2]
    # a student that did not converge makes the claim untested
    students[1] = (students[1][0], train.History(converged=False))
    untested = pruning.sparse_vs_dense(students, splits, config, sparsity=0.6, progress=False)
    assert untested.comparison["verdict"] == stats.NOT_CONVERGED
    assert untested.record()["base_converged"] == [True, False, True]
    with pytest.raises(ValueError, match="at least one student"):
        pruning.sparse_vs_dense({}, splits, config)
