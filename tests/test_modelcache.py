"""The model cache: keys that change with every setting, and reuse without retraining."""

import dataclasses
import json

import pytest
import torch
from torch.utils.data import TensorDataset

from gesturelib import modelcache, train

torch.set_num_threads(1)

#: A different valid value for every TrainConfig field.
CHANGED = {
    "epochs": 13, "batch_size": 16, "optimizer": "sgd", "lr": 0.01, "momentum": 0.5, "weight_decay": 1e-4,
    "schedule": "onecycle", "patience": 3, "min_delta": 0.01, "monitor": "val_loss", "grad_clip": 1.0, "seed": 1,
    "amp": "bf16", "num_threads": 2, "num_workers": 1, "eval_batch_size": 32,
}


def tiny_clips(n, seed):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.rand(n, 2, 2, 4, 32, 32, generator=g), torch.randint(0, 20, (n,), generator=g))


def key_of(kind="joint", preset="course", config=None, data_key="clips-abc", extra_key=None):
    key = modelcache.model_key(kind, preset, config or train.TrainConfig(), data_key=data_key, extra_key=extra_key)
    return modelcache.key_hash(key)


def test_changed_values_cover_every_config_field():
    assert set(CHANGED) == {f.name for f in dataclasses.fields(train.TrainConfig)}


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_key_changes_with_every_training_setting(field):
    changed = dataclasses.replace(train.TrainConfig(), **{field: CHANGED[field]})
    assert key_of(config=changed) != key_of()


def test_key_changes_with_model_data_and_extra_settings():
    reference = key_of()
    others = [key_of(kind="student_small"), key_of(preset="paper"), key_of(data_key="clips-abd"),
              key_of(extra_key={"teacher": "x", "T": 4}), key_of(extra_key={"teacher": "x", "T": 2})]
    assert len({reference, *others}) == 1 + len(others)
    assert key_of() == reference  # and is stable


def test_key_changes_when_the_architecture_table_changes(monkeypatch):
    reference = key_of()
    arch = modelcache.models.ARCHITECTURES["course"]["joint"]
    monkeypatch.setitem(modelcache.models.ARCHITECTURES["course"], "joint", dataclasses.replace(arch, lstm=96))
    assert key_of() != reference


def test_second_call_loads_instead_of_training(tmp_path, monkeypatch):
    config = train.TrainConfig(epochs=1, batch_size=8, num_threads=1)
    args = ("student_small", "course", tiny_clips(12, 0), tiny_clips(6, 1), config)
    model, history = modelcache.load_or_train(*args, data_key="tiny", cache_dir=tmp_path, progress=False)
    [folder] = tmp_path.iterdir()
    assert folder.name.startswith("student_small-course-")
    assert sorted(p.name for p in folder.iterdir()) == ["history.json", "key.json", "model.pt"]
    assert json.loads((folder / "key.json").read_text())["train"]["epochs"] == 1

    def no_training(*args, **kwargs):
        raise AssertionError("the cached model was trained again")

    monkeypatch.setattr(modelcache, "fit", no_training)
    again, history_again = modelcache.load_or_train(*args, data_key="tiny", cache_dir=tmp_path, progress=False)
    assert history_again == history
    for name, value in model.state_dict().items():
        assert torch.equal(again.state_dict()[name], value), name
    with pytest.raises(AssertionError, match="trained again"):  # another key does train
        modelcache.load_or_train(*args, data_key="other", cache_dir=tmp_path, progress=False)


def test_custom_criterion_needs_an_extra_key(tmp_path):
    with pytest.raises(ValueError, match="extra_key"):
        modelcache.load_or_train("joint", "course", tiny_clips(4, 0), None, train.TrainConfig(epochs=1),
                                 data_key="tiny", criterion=train.cross_entropy, cache_dir=tmp_path)


def test_unfinished_folder_is_not_loaded(tmp_path):
    with pytest.raises(FileNotFoundError, match="key.json"):
        modelcache.load(tmp_path)


def test_only_cached_loads_what_is_cached_and_refuses_to_train(tmp_path):
    config = train.TrainConfig(epochs=1, batch_size=8, num_threads=1)
    args = ("student_small", "course", tiny_clips(12, 0), None, config)
    with modelcache.only_cached(), pytest.raises(modelcache.NotCached, match="not trained yet"):
        modelcache.load_or_train(*args, data_key="tiny", cache_dir=tmp_path, progress=False)
    assert not any(tmp_path.iterdir())  # the dry run left nothing behind
    trained, _ = modelcache.load_or_train(*args, data_key="tiny", cache_dir=tmp_path, progress=False)
    with modelcache.only_cached():
        loaded, _ = modelcache.load_or_train(*args, data_key="tiny", cache_dir=tmp_path, progress=False)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in trained.state_dict().items())
