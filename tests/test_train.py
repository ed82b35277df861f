"""The trainer: learning, early stopping, criteria, checkpoints, exact resume after kill -9, torchrun."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from gesturelib import models, train
from gesturelib.runtime import seed_everything

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parent.parent


def easy_clips(n: int, seed: int, frames: int = 4) -> TensorDataset:
    """Clips of course size whose label (0..3) sets the brightness of the body stream."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    clips = 0.2 * torch.rand(n, 2, 2, frames, 32, 32, generator=g)
    clips[:, 0] += labels.view(n, 1, 1, 1, 1).float() / 4
    return TensorDataset(clips, labels)


def small_model() -> torch.nn.Module:
    seed_everything(0)
    return models.build("student_small", "course")


def quiet(**overrides) -> train.TrainConfig:
    settings = dict(epochs=3, batch_size=8, num_threads=1, lr=3e-3)
    settings.update(overrides)
    return train.TrainConfig(**settings)


def test_fit_learns_and_restores_the_best_epoch():
    model = small_model()
    history = train.fit(model, easy_clips(48, 0), easy_clips(24, 1), quiet(epochs=4), progress=False)
    assert history.epoch == [1, 2, 3, 4]
    assert history.train_loss[-1] < history.train_loss[0]
    best = history.best_epoch
    assert history.val_acc[best - 1] == max(history.val_acc)
    assert history.best()["val_acc"] == max(history.val_acc)
    metrics = train.evaluate(model, easy_clips(24, 1))
    assert metrics["accuracy"] == pytest.approx(history.val_acc[best - 1])
    assert metrics["loss"] == pytest.approx(history.val_loss[best - 1], rel=1e-5)
    assert not model.training


def test_early_stopping_stops_after_patience_epochs_without_progress():
    history = train.fit(small_model(), easy_clips(16, 0), easy_clips(8, 1),
                        quiet(epochs=6, lr=1e-12, patience=2), progress=False)
    assert history.stopped_early
    assert history.epoch == [1, 2, 3]  # nothing changes with this lr: epochs 2 and 3 bring no gain
    assert history.best_epoch == 1


def test_fit_without_validation_keeps_the_last_epoch():
    history = train.fit(small_model(), easy_clips(16, 0), None, quiet(epochs=2), progress=False)
    assert history.best_epoch == 2
    assert all(math.isnan(v) for v in history.val_acc)


class WithExtra(Dataset):
    """Yields (clip, (label, extra)) like a distillation dataset with cached teacher logits."""

    def __init__(self, base):
        self.base = base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        clip, label = self.base[i]
        return clip, (label, torch.full((20,), float(i)))


def test_criterion_receives_the_dataset_target_and_the_inputs():
    seen = []

    def criterion(logits, target, inputs):
        seen.append((type(target), target[0].dtype, target[1].shape, inputs.shape))
        return torch.nn.functional.cross_entropy(logits, target[0])

    history = train.fit(small_model(), WithExtra(easy_clips(12, 0)), WithExtra(easy_clips(8, 1)),
                        quiet(epochs=1), criterion=criterion, progress=False)
    assert len(seen) == 2  # 12 clips in batches of 8
    kind, label_dtype, extra_shape, input_shape = seen[0]
    assert kind is list and label_dtype == torch.int64
    assert extra_shape == (8, 20) and input_shape == (8, 2, 2, 4, 32, 32)
    assert not math.isnan(history.val_acc[0])


def test_predict_returns_logits_and_labels_in_dataset_order():
    data = easy_clips(10, 3)
    logits, labels = train.predict(small_model(), data, batch_size=4)
    assert logits.shape == (10, 20) and logits.dtype == torch.float32
    assert torch.equal(labels, data.tensors[1])


@pytest.mark.parametrize("optimizer, schedule", [("sgd", "onecycle"), ("adam", "constant")])
def test_checkpoint_loads_with_weights_only(tmp_path, optimizer, schedule):
    config = quiet(epochs=1, optimizer=optimizer, schedule=schedule, grad_clip=1.0)
    train.fit(small_model(), easy_clips(8, 0), easy_clips(4, 1), config, checkpoint_dir=tmp_path,
              progress=False)
    state = torch.load(tmp_path / train.CHECKPOINT_NAME, weights_only=True)
    assert state["epochs_done"] == 1 and state["config"]["optimizer"] == optimizer
    # A finished run resumes to the same result without training again.
    history = train.fit(small_model(), easy_clips(8, 0), easy_clips(4, 1), config, checkpoint_dir=tmp_path,
                        progress=False)
    assert history.epoch == [1]


def test_resuming_with_other_settings_is_refused(tmp_path):
    train.fit(small_model(), easy_clips(8, 0), None, quiet(epochs=1), checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="lr"):
        train.fit(small_model(), easy_clips(8, 0), None, quiet(epochs=1, lr=0.1), checkpoint_dir=tmp_path,
                  progress=False)


def test_history_json_round_trip_keeps_nan(tmp_path):
    history = train.History(epoch=[1], train_loss=[1.0], train_acc=[0.5], val_loss=[math.nan],
                            val_acc=[math.nan], lr=[0.1], seconds=[2.0], best_epoch=1)
    train.save_history(history, tmp_path / "h.json")
    loaded = train.load_history(tmp_path / "h.json")
    assert math.isnan(loaded.val_acc[0]) and loaded.train_acc == [0.5] and loaded.best_epoch == 1


def test_config_rejects_unknown_choices():
    with pytest.raises(ValueError, match="optimizer"):
        train.TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="schedule"):
        train.TrainConfig(schedule="step")


class SlowClips(Dataset):
    """easy_clips of 8 frames that take 10 ms per item, so a run can be killed between epochs."""

    def __init__(self, n, seed, delay=0.01):
        self.data, self.delay, self.fetched = easy_clips(n, seed, frames=8), delay, 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        time.sleep(self.delay)
        self.fetched += 1
        return self.data[i]


def resumable_run(out, delay=0.0):
    """Train student_small (dropout, batch norm, an LSTM) for 5 epochs with checkpoints in ``out``."""
    model = small_model()
    config = train.TrainConfig(epochs=5, batch_size=8, lr=3e-3, num_threads=1, patience=4, seed=7)
    train_set, val_set = SlowClips(24, 1, delay), SlowClips(8, 2, delay)
    history = train.fit(model, train_set, val_set, config, checkpoint_dir=out, progress=False)
    return model.state_dict(), history, train_set.fetched + val_set.fetched


def test_training_killed_with_sigkill_resumes_to_the_same_weights(tmp_path):
    killed = tmp_path / "killed"
    script = f"from test_train import resumable_run; resumable_run({str(killed)!r}, delay=0.01)"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    process = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    checkpoint = killed / train.CHECKPOINT_NAME
    deadline = time.monotonic() + 90
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    epochs_done = torch.load(checkpoint, weights_only=True)["epochs_done"]
    assert 1 <= epochs_done < 5, "the run was not interrupted mid-training"

    resumed_weights, resumed, fetched = resumable_run(killed)  # picks up the killed run's checkpoint
    assert fetched == (5 - epochs_done) * 32, "the resumed run did not start after the checkpoint"
    weights, history, _ = resumable_run(tmp_path / "straight")  # uninterrupted
    assert resumed_weights.keys() == weights.keys()
    for name in weights:
        assert torch.equal(resumed_weights[name], weights[name]), name
    resumed.seconds = history.seconds = []
    assert resumed == history


@pytest.mark.slow
def test_torchrun_with_two_cpu_processes_trains_and_checkpoints(tmp_path):
    """Slower (~15-20 s): two gloo processes through ``torchrun`` on tiny synthetic data."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "gesturelib.train_cli", "--kind", "student_small", "--preset", "course", "--synthetic", "12",
               "--epochs", "2", "--batch-size", "3", "--threads", "1", "--quiet", "--out", str(tmp_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(tmp_path / train.CHECKPOINT_NAME, weights_only=True)
    assert state["epochs_done"] == 2 and len(state["rng"]) == 2  # one RNG state per rank
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["processes"] == 2
    assert metrics["validation"]["n"] == 6  # every validation clip counted once across the ranks
    model = models.build("student_small", "course")
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))


def test_plateau_criterion():
    from gesturelib.train import plateaued

    # the last 3 of 12 epochs add 0.2 points to the best before them: converged
    assert plateaued([0.5, 0.6, 0.7, 0.8, 0.85, 0.86, 0.87, 0.88, 0.880, 0.881, 0.882, 0.879], window=3) is True
    # still climbing by a point in the last epochs: not converged
    assert plateaued([0.5, 0.6, 0.7, 0.8, 0.85, 0.86, 0.87, 0.88, 0.880, 0.885, 0.89, 0.895], window=3) is False
    assert plateaued([0.5] + [0.9] * 12) is True  # the default window: six flat epochs
    assert plateaued([0.5, 0.6]) is False  # too short to judge
    assert plateaued([float("nan")] * 5) is None  # no validation set


def test_patience_counts_epochs_without_min_delta_progress():
    from gesturelib.train import _Run, plateaued

    run = _Run()
    assert run.progressed(0.80, 0.005)
    run.best_score = run.progress_score = 0.80
    assert run.improved(0.803)  # a new best...
    assert not run.progressed(0.803, 0.005)  # ...but not progress by half a point
    run.best_score = 0.803
    # small gains do not add up: 0.806 is progress from 0.80, whatever the best in between
    assert run.progressed(0.806, 0.005)
    # so a run that stops for want of progress always meets the convergence criterion
    curve = [0.5, 0.7, 0.80, 0.803, 0.804, 0.803, 0.8045, 0.802, 0.801]
    assert plateaued(curve, window=6) is True


def test_train_step_is_forward_loss_backward_clip_update():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    inputs, labels = torch.randn(8, 4), torch.randint(0, 3, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    loss, logits = train.train_step(model, inputs, labels, train.cross_entropy, optimizer, grad_clip=0.1)
    torch.testing.assert_close(logits, torch.nn.functional.linear(inputs, before[0], before[1]))
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, labels))
    step = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters())])
    assert abs(step.norm().item() - 0.1) < 1e-5  # SGD with lr 1 moves by the clipped gradient
