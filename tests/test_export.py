"""Tests for gesturelib.export: ONNX export checked against PyTorch, and CPU latency per form.

They run the real small student of the course preset (``gesturelib.models``).
"""

import sys

import pytest
import torch

from gesturelib import export, models


@pytest.fixture(scope="module")
def student():
    """``models.build("student_small", "course")`` (eval mode) and a batch of 5 clips."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = models.build("student_small", "course").eval()
    return model, torch.rand(5, *models.input_shape("course"))


@pytest.fixture(scope="module")
def student_onnx(student, tmp_path_factory):
    """The small student exported to ONNX (traced on 2 clips; the batch axis stays free)."""
    pytest.importorskip("onnxruntime")
    model, clips = student
    return export.export_onnx(model, tmp_path_factory.mktemp("onnx") / "student.onnx", clips[:2])


def test_onnx_runtime_matches_pytorch(student, student_onnx):
    model, clips = student
    assert student_onnx.is_file() and not student_onnx.with_name(student_onnx.name + ".data").exists()
    check = export.check_onnx(model, student_onnx, clips)  # 5 clips: a batch size the trace did not see
    assert check.ok, check
    assert check.max_abs_diff < export.ONNX_TOLERANCE and check.same_predictions == 1.0


def test_missing_onnx_packages_say_what_to_install(student, tmp_path, monkeypatch):
    model, clips = student
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[compress\]"'):
        export.export_onnx(model, tmp_path / "m.onnx", clips[:1])
    rows = {r.form: r for r in export.cpu_latencies(model, clips, runs=1, warmup=0)}
    assert rows["onnxruntime"].median_ms is None and "pip install" in rows["onnxruntime"].note
    assert rows["fp32"].median_ms > 0


def test_cpu_latencies_cover_every_form(student, student_onnx):
    model, clips = student
    rows = export.cpu_latencies(model, clips, runs=3, warmup=1, onnx_path=student_onnx)
    assert [r.form for r in rows] == ["fp32", "int8", "onnxruntime", "fp16"]
    for row in rows[:3]:
        assert row.median_ms > 0 and row.runs == 3 and row.threads == 1
    fp16 = rows[3]
    assert (fp16.median_ms is not None and fp16.median_ms > 0) or fp16.note
    assert torch.get_num_threads() == 1
