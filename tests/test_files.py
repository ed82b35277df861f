"""The one atomic writer: a whole new file or the old one, never half of one, and no litter."""

import json
import math
import stat

import numpy as np
import pytest
import torch

from gesturelib import files


def test_a_finished_block_replaces_the_file_with_the_usual_permissions(tmp_path):
    path = tmp_path / "deep" / "folder" / "out.txt"
    files.write_text(path, "first\n")
    files.write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert stat.S_IMODE(path.stat().st_mode) == files.FILE_MODE
    assert [p.name for p in path.parent.iterdir()] == ["out.txt"]  # no temporary file left


def test_an_error_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "results.json"
    files.write_json(path, {"a": 1})
    with pytest.raises(RuntimeError, match="disk on fire"):
        with files.atomic_path(path) as temporary:
            temporary.write_text("half a fi")
            raise RuntimeError("disk on fire")
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_json_is_plain_and_valid_whatever_goes_in(tmp_path):
    path = tmp_path / "doc.json"
    files.write_json(path, {"nan": math.nan, "inf": -math.inf, "tensor": torch.tensor([1.5, 2.0]),
                            "numpy": np.float32(0.25), "nested": [(1, {2: "two"})]})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text and text.endswith("\n")
    assert json.loads(text) == {"inf": None, "nan": None, "nested": [[1, {"2": "two"}]], "numpy": 0.25,
                                "tensor": [1.5, 2.0]}


def test_torch_files_round_trip_with_weights_only(tmp_path):
    state = {"weight": torch.randn(3, 2), "step": 4}
    files.save_torch(state, tmp_path / "model.pt")
    loaded = torch.load(tmp_path / "model.pt", weights_only=True)
    assert torch.equal(loaded["weight"], state["weight"]) and loaded["step"] == 4
    files.write_bytes(tmp_path / "raw.bin", b"\x00\x01")
    assert (tmp_path / "raw.bin").read_bytes() == b"\x00\x01"
