"""Run a model the way a deployed one runs: ONNX export, ONNX Runtime, CPU latency per clip.

The poster's goal is "real-time gesture recognition on mobile devices". A small
file is half of that; the other half is the time one clip takes on a CPU. This
module exports a model to ONNX (``torch.onnx.export`` with the torch.export-based
"dynamo" exporter, which handles the LSTM; the batch axis stays dynamic), checks
that ONNX Runtime gives the same logits as PyTorch (``check_onnx``, max absolute
difference below ``ONNX_TOLERANCE``), and times each form of a model at batch 1
(``cpu_latencies``: dense fp32, int8 dynamic, ONNX Runtime, fp16).

ONNX needs the optional packages onnx, onnxruntime and onnxscript:
``pip install -e ".[compress]"``.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import compress, files

#: Largest max |logit difference| accepted between ONNX Runtime and PyTorch (fp32).
#: Both compute in fp32 with different kernels and summation orders; differences
#: of ~1e-6 are normal, 1e-4 leaves room for deeper models without hiding a bug.
ONNX_TOLERANCE = 1e-4

_INSTALL_HINT = 'install them with: pip install -e ".[compress]"'


def _onnxruntime():
    """The onnxruntime module, or an ImportError that says what to install."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxruntime
        import onnxscript  # noqa: F401  (the exporter needs it)
    except ImportError as err:
        raise ImportError(
            f"ONNX export and ONNX Runtime need the optional packages onnx, onnxruntime and onnxscript "
            f"({err}); {_INSTALL_HINT}"
        ) from err
    return onnxruntime


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    example: Tensor,
    opset: int | None = None,
    keep_provenance: bool = False,
) -> Path:
    """Export ``model`` (in eval mode, on CPU) to one self-contained ONNX file at ``path``.

    ``example`` is a batch of inputs of the right shape; the exported graph takes
    any batch size (input ``clips``, output ``logits``). The trace uses a batch
    of two copies of ``example[0]``: torch.export treats a dimension of size 1 as
    a constant, which would fix the batch size at 1.

    The exporter tags every node with where it came from in the PyTorch code
    (stack trace, module path); for a small model that is a third of the file.
    Runtimes ignore it, so it is dropped unless ``keep_provenance``.
    """
    _onnxruntime()
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cpu_model = copy.deepcopy(model).cpu().float().eval()
    trace_input = example[:1].detach().cpu().float().repeat(2, *([1] * (example.dim() - 1)))
    with files.atomic_path(path) as tmp:
        with warnings.catch_warnings():
            # Known, harmless notices of the exporter in torch 2.14: an internal
            # torch.export helper's deprecation, and the LSTM's cached list of
            # flat weights being re-assigned while it is traced.
            warnings.filterwarnings("ignore", message=r"_check_is_size will be removed")
            warnings.filterwarnings("ignore", message=r"The tensor attributes .*_flat_weights")
            torch.onnx.export(
                cpu_model,
                (trace_input,),
                str(tmp),
                dynamo=True,
                input_names=["clips"],
                output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                external_data=False,
                opset_version=opset,
                verbose=False,
            )
        if not keep_provenance:
            graph = onnx.load(str(tmp))
            for node in graph.graph.node:
                del node.metadata_props[:]
            onnx.save(graph, str(tmp))
    return path


def onnx_session(path: str | os.PathLike, threads: int = 1):
    """An ONNX Runtime CPU session for the file at ``path``, using ``threads`` threads per operator."""
    ort = _onnxruntime()
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def onnx_logits(session, clips: Tensor) -> Tensor:
    """Logits ONNX Runtime computes for a batch of clips (float32 torch tensor)."""
    feed = {session.get_inputs()[0].name: clips.detach().cpu().float().numpy()}
    return torch.from_numpy(session.run(None, feed)[0])


@dataclasses.dataclass(frozen=True)
class OnnxCheck:
    """How closely ONNX Runtime reproduces PyTorch on one batch."""

    max_abs_diff: float
    tolerance: float
    same_predictions: float  # fraction of clips with the same arg-max class

    @property
    def ok(self) -> bool:
        return self.max_abs_diff < self.tolerance


def check_onnx(model: nn.Module, session, clips: Tensor, tolerance: float = ONNX_TOLERANCE) -> OnnxCheck:
    """Compare ONNX Runtime's logits (``session``: a session or a path) with the model's on ``clips``."""
    if isinstance(session, (str, os.PathLike)):
        session = onnx_session(session)
    cpu_model = copy.deepcopy(model).cpu().float().eval()
    with torch.inference_mode():
        expected = cpu_model(clips.cpu().float())
    got = onnx_logits(session, clips)
    return OnnxCheck(
        max_abs_diff=float((got - expected).abs().max()),
        tolerance=tolerance,
        same_predictions=float((got.argmax(1) == expected.argmax(1)).double().mean()),
    )


# --------------------------------------------------------------------------- latency


@dataclasses.dataclass(frozen=True)
class Latency:
    """CPU time for one clip (batch 1) of one form of a model.

    ``median_ms`` is None when the form could not run here; ``note`` says why,
    or what else the reader should know about the number.
    """

    form: str
    median_ms: float | None
    p90_ms: float | None
    runs: int
    threads: int
    note: str = ""


@contextmanager
def _torch_threads(threads: int):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_calls(fn: Callable[[], object], runs: int = 50, warmup: int = 5, max_seconds: float = 10.0) -> list[float]:
    """Wall times in ms of ``runs`` calls of ``fn`` after ``warmup`` untimed calls.

    Stops early (after at least 3 timed calls) once ``max_seconds`` have passed,
    so a very slow form is reported with fewer runs instead of holding things up.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < runs and (len(times) < 3 or time.perf_counter() - start < max_seconds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def cpu_latencies(
    model: nn.Module,
    clips: Tensor,
    runs: int = 50,
    warmup: int = 5,
    threads: int = 1,
    max_seconds: float = 10.0,
    onnx_path: str | os.PathLike | None = None,
) -> list[Latency]:
    """Median CPU time per clip at batch 1 for each form: fp32, int8, onnxruntime, fp16.

    ``clips`` is a batch of inputs; its first clip is timed. Every form runs with
    ``threads`` threads (PyTorch's intra-op pool, or ONNX Runtime's), under
    ``torch.inference_mode``. A form that cannot run here (ONNX packages missing,
    no fp16 kernel for a layer) gets ``median_ms=None`` and the reason in
    ``note``; fp16 that runs slower than fp32 says so in ``note``. ``onnx_path``:
    an export of ``model`` to time instead of exporting it again.
    """
    x = clips[:1].detach().cpu().float()
    fp32 = copy.deepcopy(model).cpu().float().eval()
    results: list[Latency] = []
    with _torch_threads(threads), tqdm(total=4, desc="latency per form", leave=False) as bar:
        results.append(_timed("fp32", lambda: fp32(x), runs, warmup, threads, max_seconds))
        bar.update()
        int8 = compress.quantize_int8(fp32)
        note = "Linear and LSTM weights int8; convolutions fp32"
        results.append(_timed("int8", lambda: int8(x), runs, warmup, threads, max_seconds, note))
        bar.update()
        results.append(_onnx_latency(fp32, x, runs, warmup, threads, max_seconds, onnx_path))
        bar.update()
        results.append(_fp16_latency(fp32, x, runs, warmup, threads, max_seconds, results[0].median_ms))
        bar.update()
    return results


def _timed(
    form: str, fn: Callable[[], object], runs: int, warmup: int, threads: int, max_seconds: float, note: str = ""
) -> Latency:
    with torch.inference_mode():
        times = time_calls(fn, runs, warmup, max_seconds)
    return Latency(
        form=form,
        median_ms=statistics.median(times),
        p90_ms=float(np.percentile(times, 90)),
        runs=len(times),
        threads=threads,
        note=note,
    )


def _onnx_latency(
    model: nn.Module, x: Tensor, runs: int, warmup: int, threads: int, max_seconds: float, onnx_path
) -> Latency:
    try:
        _onnxruntime()
    except ImportError as err:
        return Latency("onnxruntime", None, None, 0, threads, str(err))
    if onnx_path is not None:
        session = onnx_session(onnx_path, threads=threads)
    else:
        with tempfile.TemporaryDirectory(prefix="gesturelib-onnx-") as folder:
            session = onnx_session(export_onnx(model, Path(folder) / "model.onnx", x), threads=threads)
    feed = {session.get_inputs()[0].name: x.numpy()}
    return _timed("onnxruntime", lambda: session.run(None, feed), runs, warmup, threads, max_seconds)


def _fp16_latency(
    model: nn.Module, x: Tensor, runs: int, warmup: int, threads: int, max_seconds: float, fp32_ms: float | None
) -> Latency:
    half, xh = compress.to_fp16(model), x.half()
    capability = torch.backends.cpu.get_cpu_capability()
    try:
        with torch.inference_mode():
            half(xh)
    except (RuntimeError, NotImplementedError) as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        return Latency("fp16", None, None, 0, threads, f"fp16 does not run on this CPU ({capability}): {first_line}")
    result = _timed("fp16", lambda: half(xh), runs, warmup, threads, max_seconds)
    if fp32_ms and result.median_ms > fp32_ms:
        note = (
            f"{result.median_ms / fp32_ms:.1f}x the fp32 time on this CPU ({capability}): "
            "here fp16 saves file size, not time"
        )
        result = dataclasses.replace(result, note=note)
    return result
