import json

import numpy as np
import pytest

from gesturelib import results


def test_record_merges_sections_and_keys(tmp_path):
    path = tmp_path / "r.json"
    results.record("baselines", "cnn3d", {"accuracy": 0.9}, path=path)
    results.record("baselines", "lstm", {"accuracy": np.float32(0.5)}, path=path)
    results.record("distillation", "small", [1, 2], path=path)
    doc = json.loads(path.read_text())
    assert doc == {
        "baselines": {"cnn3d": {"accuracy": 0.9}, "lstm": {"accuracy": 0.5}},
        "distillation": {"small": [1, 2]},
    }
    assert results.get("baselines", "lstm", path=path) == {"accuracy": 0.5}
    assert results.get("missing", "x", default=7, path=path) == 7


def test_nan_is_stored_as_null(tmp_path):
    path = tmp_path / "r.json"
    results.record("s", "k", float("nan"), path=path)
    assert results.get("s", "k", path=path) is None


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.json"
    results.record("s", "k", 1, path=path)
    with pytest.raises(TypeError):
        results.record("s", "bad", object(), path=path)
    assert results.load(path) == {"s": {"k": 1}}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="r.json"):
        results.load(path)
