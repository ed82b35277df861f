"""Tests for gesturelib.compress: statistics, pruning, sparse / fp16 / int8 files.

Most tests use the tiny model of ``tests/tiny_model.py``, with every layer type the
joint students have, trained for a few steps on separable random data so its
predictions mean something (``conftest.tiny_trained``). The last
one runs the real small student from ``gesturelib.models``.
"""

import copy
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gesturelib import compress
from tiny_model import CLASSES

@pytest.fixture
def model(tiny_trained):
    return copy.deepcopy(tiny_trained[0])


def _predict(model, x):
    with torch.inference_mode():
        return model(x).argmax(1)


# --------------------------------------------------------------------------- selection and statistics


def test_scopes_select_the_documented_tensors(model):
    weights = set(compress.count_below(model, 1.0, "weights").per_layer)
    assert weights == {"conv3d.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "fc.weight"}
    with_biases = set(compress.count_below(model, 1.0, "weights+biases").per_layer)
    assert with_biases - weights == {"lstm.bias_ih_l0", "lstm.bias_hh_l0", "fc.bias"}  # no batch norm
    everything = compress.count_below(model, 1.0, "all")
    assert set(everything.per_layer) == {name for name, _ in model.named_parameters()}
    assert everything.total == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="scope"):
        compress.zero_weights(model, "biases")


def test_counts_stats_and_histograms_agree_on_planted_values(model):
    with torch.no_grad():
        w = model.fc.weight
        w[0, :4] = torch.tensor([0.0, 2.0**-110, 2.0**-30, 2.0**-100])  # 2^-100 itself is not below 2^-100
    below = compress.count_below(model, 2.0**-100)
    assert below.per_layer["fc.weight"] == (2, w.numel())
    assert below.selected >= 2
    stats = {s.name: s for s in compress.weight_stats(model, thresholds=(2.0**-100, 2.0**-24))}
    fc = stats["fc.weight"]
    assert fc.layer_type == "Linear" and fc.count == w.numel() and fc.zeros == 1
    assert fc.min_abs_nonzero == 2.0**-110
    assert fc.below[2.0**-100] == pytest.approx(2 / w.numel())
    assert fc.below[2.0**-24] == pytest.approx(compress.count_below(model, 2.0**-24).per_layer["fc.weight"][0] / w.numel())
    assert fc.mean_abs == pytest.approx(float(w.detach().abs().double().mean()))

    hists = compress.log2_histograms(model, group_by="layer")
    h = hists["fc.weight"]
    assert h.total == w.numel() and h.zeros == 1 and h.under == 0 and h.over == 0
    bin_of = lambda v: np.searchsorted(h.edges, v, side="right") - 1  # noqa: E731
    assert h.counts[bin_of(-110)] >= 1 and h.counts[bin_of(-30)] >= 1
    by_type = compress.log2_histograms(model, group_by="layer_type")
    assert set(by_type) == {"Conv3d", "LSTM", "Linear"}
    assert by_type["LSTM"].total == model.lstm.weight_ih_l0.numel() + model.lstm.weight_hh_l0.numel()
    narrow = compress.log2_histograms(model, group_by="all", edges=np.arange(-20.0, 0.0))["all"]
    assert narrow.under >= 3 and narrow.total == compress.zero_weights(model).total


# --------------------------------------------------------------------------- pruning


def test_threshold_pruning_removes_exactly_the_weights_below_tau(model):
    tau = 2.0**-5
    with torch.no_grad():
        model.fc.weight[0, 0] = tau  # on the threshold: kept (|w| < tau is strict)
        model.fc.weight[0, 1] = -tau
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params_before = dict(model.named_parameters())
    weights = set(compress.count_below(model, tau).per_layer)

    report = compress.prune_by_threshold(model, tau)

    after = model.state_dict()
    assert list(after) == list(before)
    removed = 0
    for key, old in before.items():
        if key in weights:
            mask = old.abs().double() < tau
            removed += int((mask & (old != 0)).sum())
            assert torch.equal(after[key], torch.where(mask, torch.zeros_like(old), old)), key
        else:
            assert torch.equal(after[key], old), f"{key} is outside the scope and must not change"
    assert removed > 0
    assert after["fc.weight"][0, 0] == tau and after["fc.weight"][0, 1] == -tau
    assert report.selected == sum(int((before[k] == 0).sum()) for k in weights) + removed
    # Same Parameter objects under the same names: optimizers and state_dict keys still valid.
    for name, p in model.named_parameters():
        assert p is params_before[name] and isinstance(p, nn.Parameter)
    assert not torch.nn.utils.prune.is_pruned(model)


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_global_pruning_hits_the_fraction_and_takes_the_smallest(model, fraction):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = compress.prune_global_magnitude(model, fraction)
    assert report.selected == round(fraction * report.total)
    assert report.fraction == pytest.approx(fraction, abs=1 / report.total)
    after = model.state_dict()
    pruned = torch.cat([before[k][after[k] == 0].abs() for k in report.per_layer])
    kept = torch.cat([before[k][after[k] != 0].abs() for k in report.per_layer])
    assert kept.min() >= pruned.max()
    assert torch.equal(after["fc.bias"], before["fc.bias"])
    with pytest.raises(ValueError, match="fraction"):
        compress.prune_global_magnitude(model, 1.5)


def _channels_last(module, *names):
    for name in names:
        tensor = getattr(module, name)
        tensor.data = tensor.data.contiguous(memory_format=torch.channels_last_3d)


def test_pruning_works_on_a_channels_last_model(tiny_trained):
    """train.fit leaves a CPU model in channels_last_3d, where torch's global pruning cannot flatten conv weights."""
    model = copy.deepcopy(tiny_trained[0])
    _channels_last(model.conv3d, "weight")
    assert not model.conv3d.weight.is_contiguous()
    first = compress.prune_global_magnitude(model, 0.5, permanent=False)
    assert first.selected == round(0.5 * first.total)
    _channels_last(model.conv3d, "weight_orig", "weight_mask")  # what a fine-tune with the masks on does
    compress.make_permanent(model)
    report = compress.prune_global_magnitude(model, 0.7)  # the zeros are taken first, then the smallest
    assert report.selected == round(0.7 * report.total)
    assert int((model.conv3d.weight == 0).sum()) == report.per_layer["conv3d.weight"][0]


def test_pruned_lstm_runs_and_keeps_its_state_dict_keys(tiny_trained):
    model, (x, _) = copy.deepcopy(tiny_trained[0]), tiny_trained[1]
    keys = list(model.state_dict())
    compress.prune_global_magnitude(model, 0.5, permanent=False)
    assert "lstm.weight_ih_l0_orig" in model.state_dict()
    with pytest.raises(ValueError, match="make_permanent"):
        compress.saved_size_bytes(model, "fp32")
    # A fine-tuning step under the masks keeps the pruned weights at zero.
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    F.cross_entropy(model(x), tiny_trained[1][1]).backward()
    opt.step()
    masked = model.lstm.weight_ih_l0 == 0
    compress.make_permanent(model)
    assert list(model.state_dict()) == keys
    lstm = model.lstm
    assert isinstance(lstm.weight_ih_l0, nn.Parameter)
    assert torch.equal(lstm.weight_ih_l0 == 0, masked) and masked.any()
    assert all(a is b for a, b in zip(lstm._flat_weights, [getattr(lstm, n) for n in lstm._flat_weights_names]))
    with torch.inference_mode():
        out = model.eval()(x)
    assert out.shape == (len(x), CLASSES) and torch.isfinite(out).all()


# --------------------------------------------------------------------------- files


def test_sparse_round_trip_is_exact(model, tmp_path):
    compress.prune_global_magnitude(model, 0.8)
    state = model.state_dict()
    path = tmp_path / "model.sparse"
    size = compress.save_sparse(state, path)
    assert size == os.path.getsize(path)
    back = compress.load_sparse(path)
    assert list(back) == list(state)
    for key, tensor in state.items():
        assert back[key].dtype == tensor.dtype and torch.equal(back[key], tensor), key

    compress.save_sparse(state, path, values="fp16")
    for key, tensor in compress.load_sparse(path).items():
        expected = state[key].half().to(state[key].dtype) if state[key].is_floating_point() else state[key]
        assert torch.equal(tensor, expected), key


def test_sparse_layouts_and_index_types(tmp_path):
    wide = torch.zeros(3, 300)
    wide[0, 299], wide[2, 5] = 1.5, -2.0
    vector = torch.zeros(1000)
    vector[[3, 999]] = torch.tensor([0.25, 4.0])
    state = {"wide": wide, "vector": vector, "dense": torch.randn(4, 5), "steps": torch.tensor(7)}
    path = tmp_path / "layouts.sparse"
    compress.save_sparse(state, path)

    import json

    data = path.read_bytes()
    assert data[:8] == compress.SPARSE_MAGIC
    header = json.loads(data[12 : 12 + int.from_bytes(data[8:12], "little")])
    entries = {t["name"]: t for t in header["tensors"]}
    assert entries["wide"]["layout"] == "csr"
    assert {name: np.dtype(dt) for name, dt, _ in entries["wide"]["arrays"]} == {
        "values": np.float32, "indices": np.uint16, "indptr": np.uint8
    }
    assert entries["vector"]["layout"] == "coo"
    assert {name: np.dtype(dt) for name, dt, _ in entries["vector"]["arrays"]}["indices"] == np.uint16
    assert entries["dense"]["layout"] == "dense" and entries["steps"]["layout"] == "dense"
    back = compress.load_sparse(path)
    assert all(torch.equal(back[k], v) for k, v in state.items())
    # 2 nonzeros of 300 + 1000 entries: far smaller than dense fp32.
    assert os.path.getsize(path) < (300 * 3 + 1000) * 4 / 4

    # fp16 values: a weight fp16 flushes to zero is not stored as a nonzero.
    vector[500] = 2.0**-30
    compress.save_sparse({"vector": vector}, path, values="fp16")
    data = path.read_bytes()
    header = json.loads(data[12 : 12 + int.from_bytes(data[8:12], "little")])
    assert {name: n for name, _, n in header["tensors"][0]["arrays"]} == {"values": 2, "indices": 2}
    assert torch.equal(compress.load_sparse(path)["vector"], vector.half().float())


def test_damaged_sparse_file_is_refused_with_its_name(model, tmp_path):
    path = tmp_path / "broken.sparse"
    compress.save_model(model, path, "sparse-fp32")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(compress.SparseFileError, match="broken.sparse.*truncated"):
        compress.load_sparse(path)
    path.write_bytes(b"not a weights file")
    with pytest.raises(compress.SparseFileError, match="broken.sparse"):
        compress.load_sparse(path)


def test_reported_sizes_are_the_sizes_of_the_saved_files(model, tmp_path):
    compress.prune_global_magnitude(model, 0.9)
    sizes = {}
    for fmt in compress.FORMATS:
        path = tmp_path / f"model.{fmt}"
        written = compress.save_model(model, path, fmt)
        assert written == os.path.getsize(path) == compress.saved_size_bytes(model, fmt), fmt
        sizes[fmt] = written
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert sizes["fp16"] < 0.75 * sizes["fp32"]
    assert sizes["sparse-fp32"] < 0.5 * sizes["fp32"]
    assert sizes["sparse-fp16"] < sizes["sparse-fp32"]
    state = torch.load(tmp_path / "model.fp16", weights_only=True)
    assert state["fc.weight"].dtype == torch.float16
    assert torch.equal(state["fc.weight"], model.fc.weight.detach().half())
    with pytest.raises(TypeError, match="int8"):
        compress.save_model(model.state_dict(), tmp_path / "x", "int8")
    with pytest.raises(ValueError, match="fmt"):
        compress.save_model(model, tmp_path / "x", "bf16")


def test_fp16_and_int8_agree_with_fp32_on_most_predictions(tiny_trained):
    model, (x, y) = tiny_trained
    reference = _predict(model, x)
    assert (reference == y).double().mean() > 0.8, "the test model must be trained for the comparison to mean anything"
    fp16 = compress.to_fp16(model)
    assert next(fp16.parameters()).dtype == torch.float16 and next(model.parameters()).dtype == torch.float32
    assert (_predict(fp16, x.half()) == reference).double().mean() >= 0.9
    int8 = compress.quantize_int8(model)
    assert not isinstance(int8.lstm, nn.LSTM) and not isinstance(int8.fc, nn.Linear)
    assert isinstance(int8.conv3d, nn.Conv3d) and int8.conv3d.weight.dtype == torch.float32
    assert (_predict(int8, x) == reference).double().mean() >= 0.9


# --------------------------------------------------------------------------- the real small student


@pytest.fixture(scope="module")
def student():
    """``models.build("student_small", "course")`` (eval mode) and a batch of 5 clips."""
    models = pytest.importorskip("gesturelib.models")
    torch.manual_seed(0)
    model = models.build("student_small", "course").eval()
    return model, torch.rand(5, *models.input_shape("course"))


def test_student_prunes_quantises_and_saves(student, tmp_path):
    model, clips = copy.deepcopy(student[0]), student[1][:3]
    keys = list(model.state_dict())
    report = compress.prune_by_threshold(model, 1e-2)
    assert 0 < report.selected < report.total
    assert list(model.state_dict()) == keys
    lengths = torch.tensor([16, 8, 12])
    with torch.inference_mode():
        assert model(clips).shape == (3, 20)
        assert model(clips, lengths).shape == (3, 20)
        assert compress.quantize_int8(model)(clips, lengths).shape == (3, 20)
    path = tmp_path / "student.sparse"
    assert compress.save_model(model, path, "sparse-fp32") == os.path.getsize(path)
    back = compress.load_sparse(path)
    assert all(torch.equal(back[k], v) for k, v in model.state_dict().items())
