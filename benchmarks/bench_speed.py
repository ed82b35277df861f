"""Where a training epoch's time goes, for every model kind, and the batch-1 latency of the
small student beside torchvision's r3d_18, measured side by side in one run on one thread.

    python benchmarks/bench_speed.py                       # full figures -> results/benchmarks.json + README
    python benchmarks/bench_speed.py --clips 256 --rounds 1 --no-readme   # a quick look

Everything runs on ONE thread, as every model of the chapters trains
(``recipes.train_all``: one process per core, one thread each), so the
yardstick is a 1024^3 fp32 matrix product on one thread, measured in this run.

Training, per kind: ``--clips`` random uint8 clips of the course size, read
and augmented as the chapters' training set does (``data.EpochViews``,
``bench_student_cost.augmented_clips``),
batch 32, Adam, channels_last_3d, the gradient clipping of the chapters'
recipe. Each step is timed in parts: the data (loader, conversion,
augmentation, batching), the forward pass with the loss, the backward pass
with gradient clipping, the optimizer step, and for the students the teacher's
forward pass on the same batch (what online distillation costs per epoch of
views; the chapters pay it once per epoch and teacher, ``distill.TeacherTargets``). Validation is
one ``train.predict`` pass over ``--val-clips`` clips (290 in the chapters),
as ``fit`` runs after every epoch. Kinds take turns within each round and a
part's time is its fastest round, so slow phases of a shared machine hit all
kinds alike. Achieved GFLOP/s counts the convolution and matrix FLOPs of the
forward and backward passes (``torch.utils.flop_counter``) over the time of
forward + backward + optimizer.

Inference: ``export.cpu_latencies`` of the small student (fp32, int8 dynamic,
ONNX Runtime, fp16) and r3d_18 (weights=None; it reads 3 channels, so both
streams run as a batch of two 3 x T x H x W clips), median ms per clip at
batch 1.

The figures go to ``results/benchmarks.json`` (``--out``), and the README's
performance section is rewritten from that file (``report.performance``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset
from torchvision.models.video import r3d_18

from bench_models import matmul_gflops, training_flops_per_clip
from bench_student_cost import augmented_clips
from gesturelib import data, export, files, models, report, runtime, train

PRESET = "course"
PARTS = ("data", "forward", "backward", "optimizer", "teacher")


def _clock(times: dict[str, float], part: str, start: float) -> float:
    now = time.perf_counter()
    times[part] += now - start
    return now


def epoch_parts(model: nn.Module, teacher: nn.Module | None, dataset, val_set, batch_size: int,
                grad_clip: float | None) -> dict[str, float]:
    """Seconds of one training epoch by part, and of one validation pass ("validation")."""
    model.to(memory_format=torch.channels_last_3d).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    times = dict.fromkeys(PARTS, 0.0)
    start = time.perf_counter()
    for inputs, labels in data.make_loader(dataset, batch_size, shuffle=True):
        start = _clock(times, "data", start)
        if teacher is not None:
            with torch.no_grad():
                teacher(inputs)
            start = _clock(times, "teacher", start)
        loss = F.cross_entropy(model(inputs), labels)
        start = _clock(times, "forward", start)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        start = _clock(times, "backward", start)
        optimizer.step()
        start = _clock(times, "optimizer", start)
    start = time.perf_counter()
    train.predict(model, val_set)
    times["validation"] = time.perf_counter() - start
    if teacher is None:
        del times["teacher"]
    return times


def training_figures(kinds: list[str], clips: int, val_clips: int, batch_size: int, rounds: int,
                     peak: float) -> dict[str, dict]:
    dataset = augmented_clips(clips)
    generator = torch.Generator().manual_seed(1)
    val_set = TensorDataset(torch.rand(val_clips, *models.input_shape(PRESET), generator=generator),
                            torch.randint(0, models.NUM_CLASSES, (val_clips,), generator=generator))
    torch.manual_seed(0)
    teacher = models.build("cnn3d", PRESET).to(memory_format=torch.channels_last_3d).eval()
    best: dict[str, dict[str, float]] = {}
    for round_ in range(rounds):
        for kind in kinds:
            torch.manual_seed(0)
            student = kind.startswith("student")
            parts = epoch_parts(models.build(kind, PRESET), teacher if student else None, dataset, val_set,
                                batch_size, grad_clip=None if kind == "cnn3d" else 5.0)
            best[kind] = {p: min(s, best.get(kind, parts)[p]) for p, s in parts.items()}
            print(f"round {round_ + 1}: {kind:<15}" + "  ".join(f"{p} {s:.2f}" for p, s in parts.items()), flush=True)
    steps = -(-clips // batch_size)
    figures = {}
    for kind in kinds:
        parts = best[kind]
        compute = parts["forward"] + parts["backward"] + parts["optimizer"]
        flops = training_flops_per_clip(models.build(kind, PRESET), PRESET)
        gflops = flops * clips / compute / 1e9
        figures[kind] = {
            "params": models.count_params(models.build(kind, PRESET)),
            "train_gflop_per_clip": flops / 1e9,
            "epoch_seconds": {p: s for p, s in parts.items()},
            "step_ms": 1e3 * compute / steps,
            "train_gflops": gflops,
            "fraction_of_matmul": gflops / peak,
        }
    return figures


def latency_figures(runs: int) -> dict:
    clip = torch.rand(1, *models.input_shape(PRESET))
    torch.manual_seed(0)
    forms = export.cpu_latencies(models.build("student_small", PRESET), clip, runs=runs, threads=1)
    reference = r3d_18(weights=None).eval()
    streams = torch.rand(2, 3, *models.INPUT_SHAPES[PRESET])
    with torch.inference_mode():
        r3d_ms = statistics.median(export.time_calls(lambda: reference(streams), runs=max(5, runs // 10)))
    return {"student_small": {f.form: {"median_ms": f.median_ms, "note": f.note} for f in forms},
            "r3d_18_ms": r3d_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=list(models.KINDS), choices=models.KINDS)
    parser.add_argument("--clips", type=int, default=1136, help="training clips per epoch (1136 in the chapters)")
    parser.add_argument("--val-clips", type=int, default=290)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="turns of every kind (fastest kept)")
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=runtime.REPO_ROOT / "results" / "benchmarks.json")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README's performance section")
    args = parser.parse_args()
    torch.set_num_threads(1)

    peak = matmul_gflops()
    print(f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}, 1 thread; "
          f"matrix multiply 1024^3 fp32: {peak:.1f} GFLOP/s", flush=True)
    document = {
        "machine": {"torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                    "capability": torch.backends.cpu.get_cpu_capability(), "threads": 1},
        "setup": {"clips": args.clips, "val_clips": args.val_clips, "batch_size": args.batch_size,
                  "rounds": args.rounds, "preset": PRESET},
        "matmul_gflops": peak,
        "training": training_figures(args.kinds, args.clips, args.val_clips, args.batch_size, args.rounds, peak),
        "latency": latency_figures(args.latency_runs),
    }
    files.write_json(args.out, document)
    print()
    print(report.performance(document))
    print(f"\nwritten to {args.out}")
    if not args.no_readme:
        report.update_performance(runtime.REPO_ROOT / "README.md", document)
        print("README performance section rewritten")


if __name__ == "__main__":
    main()
