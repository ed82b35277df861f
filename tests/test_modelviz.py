"""Model summaries, errors by class structure, probes, paired comparison and clips of other lengths."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from figure_checks import assert_renders
from gesturelib import metrics, models, probe, recipes
from gesturelib.figures import modelviz
from gesturelib.train import History

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["cnn3d", "lstm", "joint"])
def test_layer_table_adds_up_to_the_parameter_count(kind):
    table = modelviz.layer_table(kind, "course")
    total = models.count_params(models.build(kind, "course"))
    assert table.loc["total", "params"] == total
    assert table["params"].drop("total").sum() == total
    convs = table[table["type"] == "Conv3d"]
    assert len(convs) == 3 and all(shape.startswith("(1, ") for shape in convs["output shape"])
    assert not {"ReLU", "Dropout"} & set(table["type"])


def test_params_table_has_both_presets_and_the_posters_counts():
    table = modelviz.params_table()
    assert list(table.index) == ["lstm", "cnn3d", "joint"]
    assert table.loc["joint", "paper"] == models.count_params(models.build("joint", "paper"))
    assert table.loc["cnn3d", "course"] == models.count_params(models.build("cnn3d", "course"))
    assert table.loc["cnn3d", "poster"] == "18.82 M" and table.loc["lstm", "poster"] == "not published"
    assert table.loc["lstm", "paper vs poster"] == ""


def _history(val_acc, converged=None):
    n = len(val_acc)
    return History(epoch=list(range(1, n + 1)), train_loss=[1.0] * n, train_acc=[0.5] * n, val_loss=[1.0] * n,
                   val_acc=list(val_acc), lr=[1.0] * n, seconds=[1.0] * n,
                   best_epoch=int(np.argmax(val_acc)) + 1, converged=converged)


def _record(seed, accuracy, converged=True):
    return {"seed": seed, "test_accuracy": accuracy, "epochs": 8, "best_epoch": 6, "converged": converged,
            "best_val_accuracy": accuracy + 1}


def test_table1_row_is_a_seed_row_with_both_presets_parameter_counts():
    row = recipes.table1_row("joint", [_record(0, 80.0), _record(1, 84.0, converged=False)])
    assert row["seeds"] == [0, 1] and row["accuracies"] == [80.0, 84.0] and row["mean"] == 82.0
    assert row["converged"] == [True, False] and not row["all_converged"]
    assert row["params"] == models.count_params(models.build("joint", "course"))
    assert row["params_paper"] == models.count_params(models.build("joint", "paper"))


def test_plateau_gain_is_what_the_convergence_criterion_measures():
    # the window is the last 6 epochs; best before 0.60, best in the window 0.62 -> 2 points
    history = _history([0.1, 0.3, 0.5, 0.6, 0.55, 0.58, 0.58, 0.62, 0.61, 0.6])
    assert modelviz.plateau_gain(history) == pytest.approx(2.0)
    assert math.isnan(modelviz.plateau_gain(_history([0.1, 0.2])))


def test_run_table_has_one_row_per_run():
    histories = {"cnn3d": {0: _history([0.1, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]),
                           1: _history([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8])}}
    table = modelviz.run_table({"cnn3d": [_record(0, 70.0), _record(1, 75.0, converged=False)]}, histories)
    assert list(table.index) == [("cnn3d", 0), ("cnn3d", 1)]
    assert table.loc[("cnn3d", 1), "converged"] == "no" and table.loc[("cnn3d", 0), "test acc. %"] == 70
    assert table.loc[("cnn3d", 0), "gain in last window (points)"] == 0
    assert table.loc[("cnn3d", 1), "gain in last window (points)"] == pytest.approx(40.0)
    assert "gain in last window (points)" not in modelviz.run_table({"cnn3d": [_record(0, 70.0)]}).columns


def test_seed_curves_draw_a_panel_per_model():
    histories = {kind: {0: _history([0.1, 0.3, 0.5, 0.6], True), 1: _history([0.2, 0.3, 0.4, 0.5, 0.5], False)}
                 for kind in ("cnn3d", "lstm")}  # runs of different lengths, one converged and one not
    assert_renders(modelviz.plot_seed_curves(histories), panels=2)


def test_yardstick_table_puts_the_probes_beside_the_teacher():
    from gesturelib.probe import ProbeResult

    ordered = ProbeResult(train=0.9, validation=0.5, test=0.45, penalty=0.01, features=4096)
    unordered = ProbeResult(train=0.6, validation=0.3, test=None, penalty=0.1, features=256)
    table = modelviz.yardstick_table(ordered, unordered, 88.0, 86.5)
    assert table["validation %"].tolist() == [50.0, 30.0, 88.0]
    assert table.loc["linear probe, frames in order", "test %"] == 45 and math.isnan(
        table.loc["linear probe, frames averaged", "test %"])
    assert table.loc["3D-CNN teacher (seed 0)", "inputs"] == math.prod(models.input_shape("course"))


def test_fc_input_table_counts_what_each_fully_connected_layer_reads():
    table = modelviz.fc_input_table()
    for preset in ("course", "paper"):
        whole = models.build("cnn3d", preset).fc[1].in_features
        step = models.build("joint", preset).fc[1].in_features
        assert table.loc[preset, "3D-CNN fc inputs (whole clip)"] == whole
        assert table.loc[preset, "joint fc inputs (one step)"] == step
        assert table.loc[preset, "times fewer inputs"] == whole / step
    assert table.loc["course", "LSTM steps per clip"] == 4 and table.loc["paper", "LSTM steps per clip"] == 8


def test_structure_scores_count_confusions_inside_the_group():
    # gesture ids 1/2 are a time-reversed pair, 3/11 a shape-only group, 4 is neither
    labels = np.array([0, 0, 1, 2, 10, 3, 3])
    predicted = np.array([1, 0, 0, 10, 4, 3, 0])
    scores = metrics.structure_scores(predicted, labels)
    assert scores.loc["time-reversed pairs", "clips"] == 3
    assert scores.loc["time-reversed pairs", "accuracy %"] == pytest.approx(100 / 3)
    assert scores.loc["time-reversed pairs", "as partner %"] == pytest.approx(200 / 3)
    assert scores.loc["shape-only groups", "accuracy %"] == 0
    assert scores.loc["shape-only groups", "as partner %"] == 50  # 11 taken for 5 is no partner
    assert scores.loc["other classes", "accuracy %"] == 50 and math.isnan(scores.loc["other classes", "as partner %"])
    assert scores.loc["all classes", "clips"] == 7 and scores.loc["all classes", "accuracy %"] == pytest.approx(200 / 7)
    logits = torch.nn.functional.one_hot(torch.as_tensor(predicted), 20).float()
    assert metrics.structure_scores(logits, torch.as_tensor(labels)).equals(scores)
    with pytest.raises(ValueError, match="as many predictions as labels"):
        metrics.structure_scores(predicted[:3], labels)


def test_structure_table_puts_models_side_by_side():
    labels = np.array([0, 1, 3])
    table = modelviz.structure_table({"a": np.array([0, 1, 3]), "b": np.array([1, 0, 3])}, labels)
    assert table.loc["time-reversed pairs", ("a", "accuracy %")] == 100
    assert table.loc["time-reversed pairs", ("b", "as partner %")] == 100
    assert table.loc["all classes", ("", "clips")] == 3


def test_probes_reverse_time_and_blank_one_stream():
    clip = torch.arange(2 * 2 * 3 * 1 * 1, dtype=torch.float32).reshape(2, 2, 3, 1, 1) + 1
    assert torch.equal(probe.reverse_frames(clip)[:, :, 0], clip[:, :, 2])
    hand_blank = probe.PROBES["hand stream blanked"](clip)
    assert hand_blank[1].abs().sum() == 0 and torch.equal(hand_blank[0], clip[0])
    assert clip[1].abs().sum() > 0  # the probe does not change its input


class FirstFrameBrightness(torch.nn.Module):
    """A stand-in classifier: class 0 when the body stream's first frame is brighter than its last, else 1."""

    preset = "course"

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # predict() looks up the device of a parameter

    def forward(self, clips, lengths=None):
        first, last = clips[:, 0, :, 0].mean((1, 2, 3)), clips[:, 0, :, -1].mean((1, 2, 3))
        logits = torch.zeros(len(clips), 20)
        logits[:, 0] = (first > last).float()
        logits[:, 1] = (first <= last).float()
        return logits


def test_probe_table_sees_a_model_that_reads_frame_order():
    ramp = torch.linspace(1, 0, 4).reshape(1, 1, 4, 1, 1).expand(2, 2, 4, 2, 2)
    dataset = TensorDataset(torch.stack([ramp, ramp.flip(2)]), torch.tensor([0, 1]))
    table = probe.probe_table({"order": FirstFrameBrightness()}, dataset, progress=False)
    pairs = table[table["subset"] == "time-reversed pairs"].set_index("probe")
    assert pairs.loc["as recorded", "accuracy %"] == 100 and pairs.loc["as recorded", "as partner %"] == 0
    assert pairs.loc["frames reversed", "as partner %"] == 100
    assert set(table["probe"]) == set(probe.PROBES)
    assert_renders(modelviz.plot_probes(table), panels=3)


def test_paired_comparison_exact_mcnemar():
    labels = np.zeros(10, dtype=int)
    a = np.array([0] * 8 + [1] * 2)  # right on 8
    b = np.array([0] * 3 + [1] * 7)  # right on 3, all of them also right for a
    result = metrics.mcnemar(a, b, labels)
    assert (result["only_a"], result["only_b"], result["clips"]) == (5, 0, 10)
    assert result["accuracy_a"] == 80 and result["accuracy_b"] == 30
    assert result["p_value"] == pytest.approx(2 * 0.5**5)
    assert metrics.mcnemar(a, a, labels)["p_value"] == 1.0
    table = modelviz.comparison_table({"a": a, "b": b}, labels, reference="b")
    assert table.loc["a", "difference (points)"] == 50 and table.loc["a", "right only by this model"] == 5
    assert table.loc["a", "s.e. of an accuracy (points)"] == pytest.approx(100 * math.sqrt(0.8 * 0.2 / 10), abs=1e-3)
    # p = 2 * 0.5**5 = 0.0625: printed, not rounded away, and not significant at 5 %
    assert table.loc["a", "McNemar p"] == "6.2e-02" and table.loc["a", modelviz.SIGNIFICANT] == "no"
    b_right_on_10 = np.array([0] * 10 + [1] * 40)  # a right on all 50: 40 clips only by a, p = 2 * 0.5**40
    table = modelviz.comparison_table({"a": np.zeros(50, dtype=int), "b": b_right_on_10}, np.zeros(50, dtype=int),
                                      reference="b")
    assert table.loc["a", "McNemar p"] == f"{2 * 0.5**40:.1e}" and float(table.loc["a", "McNemar p"]) > 0
    assert table.loc["a", modelviz.SIGNIFICANT] == "yes"


def test_length_table_and_figure():
    table = pd.DataFrame([
        {"model": "joint", "frames": 4.0, "own length": False, "accuracy %": 40.0, "clips": 2},
        {"model": "joint", "frames": 16.0, "own length": False, "accuracy %": 80.0, "clips": 2},
        {"model": "joint", "frames": 21.5, "own length": True, "accuracy %": 70.0, "clips": 2},
        {"model": "cnn3d", "frames": 16.0, "own length": False, "accuracy %": 90.0, "clips": 2}])
    grid = modelviz.length_table(table)
    assert list(grid.columns) == ["joint", "cnn3d"] and list(grid.index) == ["4", "16", "own length (mean 22)"]
    assert grid.loc["16", "cnn3d"] == 90.0 and math.isnan(grid.loc["4", "cnn3d"])
    assert_renders(modelviz.plot_accuracy_by_length(table, 16), panels=1)


def test_validation_curves_figure():
    history = History(epoch=[1, 2], train_loss=[2, 1], train_acc=[.2, .5], val_loss=[2, 1.5], val_acc=[.1, .3],
                      lr=[1, 1], seconds=[1, 1], best_epoch=2)
    assert_renders(modelviz.plot_validation_curves({"a": history, "b": history}), panels=1)


def test_temporal_receptive_field_of_the_whole_clip_trunk():
    joint = modelviz.temporal_receptive_field("joint")
    assert joint["frames per output step"].iloc[-1] == models.GROUP_FRAMES  # one LSTM step per 4 frames
    assert joint["receptive field (frames)"].tolist() == [3, 4, 8, 10, 18, 18]
    assert joint["receptive field (frames)"].iloc[-1] > models.GROUP_FRAMES  # steps overlap
    assert modelviz.temporal_receptive_field("cnn3d")["frames per output step"].iloc[-1] == 8
    assert (modelviz.temporal_receptive_field("lstm")["receptive field (frames)"] == 1).all()


@pytest.mark.parametrize("kind", ["cnn3d", "lstm", "joint", "student_small"])
def test_architecture_blocks_are_read_from_the_model(kind):
    blocks = modelviz.architecture_blocks(kind, "course")
    names = [b.name for b in blocks]
    assert names[0] == "input" and names[-1] == "classifier"
    assert names[1:4] == ["conv block 1", "conv block 2", "conv block 3"]
    assert ("lstm" in names) == (kind != "cnn3d")
    assert sum(b.params for b in blocks) == models.count_params(models.build(kind, "course"))
    assert blocks[-1].output_shape == (models.NUM_CLASSES,)
    assert_renders(modelviz.plot_architecture(kind, "course").figure, panels=1)
