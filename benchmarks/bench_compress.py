"""Print the file size of each compressed form of a model and its CPU latency per clip.

    python benchmarks/bench_compress.py                      # student_small, course preset
    python benchmarks/bench_compress.py --kind joint --runs 100 --threads 2

Sizes are the sizes of the files written (``compress.saved_size_bytes``): fp32,
fp16, int8 (Linear + LSTM), ONNX, and the sparse format at several sparsities
(global magnitude pruning). The weights are freshly initialised: file sizes do
not depend on training, only on the shapes and on how many weights are zero.
Latencies are medians at batch 1 after a warm-up (``export.cpu_latencies``).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import tempfile
from pathlib import Path

import torch

from gesturelib import compress, export, models

SPARSITIES = (0.0, 0.5, 0.8, 0.9, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="student_small", choices=models.KINDS)
    parser.add_argument("--preset", default="course", choices=models.PRESETS)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per form (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per form (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = models.build(args.kind, args.preset).eval()
    clips = torch.rand(2, *models.input_shape(args.preset))
    params = models.count_params(model)
    print(f"{args.kind} / {args.preset}: {params:,} parameters ({params * 4 / 1e6:.3f} MB as raw fp32)")
    print(f"torch {torch.__version__}, CPU {platform.processor() or platform.machine()}, "
          f"capability {torch.backends.cpu.get_cpu_capability()}, {args.threads} thread(s)\n")

    print(f"{'form':<28}{'bytes':>12}{'x fp32':>9}")
    fp32 = compress.saved_size_bytes(model, "fp32")

    def row(name: str, size: int) -> None:
        print(f"{name:<28}{size:>12,}{size / fp32:>9.3f}")

    for fmt in ("fp32", "fp16", "int8"):
        row(fmt, compress.saved_size_bytes(model, fmt))
    with tempfile.TemporaryDirectory() as folder:
        onnx_path = Path(folder) / "model.onnx"
        try:
            export.export_onnx(model, onnx_path, clips)
            row("onnx (fp32)", os.path.getsize(onnx_path))
        except ImportError as err:
            onnx_path = None
            print(f"{'onnx (fp32)':<28}{'-':>12}  {err}")
        for sparsity in SPARSITIES:
            pruned = copy.deepcopy(model)
            compress.prune_global_magnitude(pruned, sparsity)
            for values in ("fp32", "fp16"):
                row(f"sparse-{values} @ {sparsity:.0%} zero", compress.saved_size_bytes(pruned, f"sparse-{values}"))

        print(f"\nCPU latency per clip, batch 1, median of {args.runs} runs after warm-up:")
        print(f"{'form':<14}{'median ms':>11}{'p90 ms':>9}{'runs':>6}  note")
        for lat in export.cpu_latencies(model, clips, runs=args.runs, threads=args.threads, onnx_path=onnx_path):
            if lat.median_ms is None:
                print(f"{lat.form:<14}{'-':>11}{'-':>9}{lat.runs:>6}  {lat.note}")
            else:
                print(f"{lat.form:<14}{lat.median_ms:>11.2f}{lat.p90_ms:>9.2f}{lat.runs:>6}  {lat.note}")


if __name__ == "__main__":
    main()
