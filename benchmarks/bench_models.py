"""Print training throughput, achieved GFLOP/s and inference latency of the models.

    python benchmarks/bench_models.py                    # course preset, 256 random clips per model
    python benchmarks/bench_models.py --clips 1200       # full-mode epochs
    python benchmarks/bench_models.py --preset paper --clips 16 --kinds cnn3d joint

Training: two epochs of ``train.fit`` (Adam, channels_last_3d, all cores) on
random clips of the preset's size; clips/s is the faster epoch's speed. FLOPs come
from ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix
products, forward + backward, per clip); achieved GFLOP/s = FLOPs per clip x
clips/s, shown beside a square matrix multiply measured in the same run (what
this CPU reaches on the easiest possible workload). Batch norm, pooling and
element-wise layers do work the counter does not count.

Inference: median latency of one clip (batch 1, eval mode, no_grad) for each
model and for torchvision's ``r3d_18`` (weights=None, 33 M parameters) on the
same clip size; r3d_18 reads 3 channels, so it runs on both streams as a batch
of two 3 x T x H x W clips.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
from torch.utils.data import TensorDataset
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count
from torchvision.models.video import r3d_18

from gesturelib import models, train


def matmul_gflops(size: int = 1024, seconds: float = 1.0) -> float:
    """fp32 GFLOP/s of ``size x size`` matrix products, the best of repeated 0.1 s bursts."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    torch.mm(a, b)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start, runs = time.perf_counter(), 0
        while time.perf_counter() - start < 0.1:
            torch.mm(a, b)
            runs += 1
        best = max(best, 2 * size**3 * runs / (time.perf_counter() - start) / 1e9)
    return best


def _conv_backward_flops(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                         _output_padding, _groups, output_mask, out_shape=None) -> int:
    """A convolution's backward pass: each gradient it computes (input, weight) costs what the
    forward pass does. PyTorch's own formula ignores ``groups`` and counts a grouped
    convolution's weight gradient as if it were dense."""
    return conv_flop_count(x_shape, w_shape, grad_out_shape, transposed) * (int(output_mask[0]) + int(output_mask[1]))


def training_flops_per_clip(model: torch.nn.Module, preset: str, batch: int = 4) -> float:
    """Convolution + matrix FLOPs of one training step (forward + backward), per clip."""
    model.train()
    clips = torch.rand(batch, *models.input_shape(preset))
    labels = torch.randint(0, models.NUM_CLASSES, (batch,))
    with FlopCounterMode(display=False,
                         custom_mapping={torch.ops.aten.convolution_backward: _conv_backward_flops}) as counter:
        torch.nn.functional.cross_entropy(model(clips), labels).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch


def forward_flops_per_clip(model: torch.nn.Module, clips: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(clips)
    return counter.get_total_flops()


def epoch_seconds(kind: str, preset: str, clips: int, batch_size: int, threads: int) -> list[float]:
    """Wall times of two training epochs of ``train.fit`` on ``clips`` random clips."""
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.rand(clips, *models.input_shape(preset), generator=generator),
                         torch.randint(0, models.NUM_CLASSES, (clips,), generator=generator))
    config = train.TrainConfig(epochs=2, batch_size=batch_size, num_threads=threads)
    return train.fit(models.build(kind, preset), data, None, config, progress=False).seconds


def latency_ms(model: torch.nn.Module, clips: torch.Tensor, runs: int) -> float:
    """Median milliseconds of one forward pass (after two warm-up passes)."""
    model.eval()
    times = []
    with torch.no_grad():
        for i in range(runs + 2):
            start = time.perf_counter()
            model(clips)
            times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="course", choices=models.PRESETS)
    parser.add_argument("--kinds", nargs="+", default=list(models.KINDS), choices=models.KINDS)
    parser.add_argument("--clips", type=int, default=None,
                        help="training clips per model (default 256 course, 16 paper)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--runs", type=int, default=None, help="latency runs (default 30 course, 5 paper)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    clips = args.clips or (256 if args.preset == "course" else 16)
    runs = args.runs or (30 if args.preset == "course" else 5)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    peak = matmul_gflops()
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.backends.cpu.get_cpu_capability()}, {args.threads} thread(s); preset {args.preset} "
          f"{models.input_shape(args.preset)}")
    print(f"matrix multiply (1024^3, fp32): {peak:.1f} GFLOP/s\n")

    print(f"training: two epochs of train.fit on {clips} random clips, batch {args.batch_size}; "
          "speed of the faster epoch")
    print(f"{'model':<16}{'params':>11}{'GFLOP/clip':>12}{'epochs s':>13}{'clips/s':>9}"
          f"{'GFLOP/s':>9}{'% of mm':>9}")
    for kind in args.kinds:
        model = models.build(kind, args.preset)
        flops = training_flops_per_clip(model, args.preset)
        seconds = epoch_seconds(kind, args.preset, clips, args.batch_size, args.threads)
        speed = clips / min(seconds)
        print(f"{kind:<16}{models.count_params(model):>11,}{flops / 1e9:>12.3f}"
              f"{' / '.join(f'{s:.1f}' for s in seconds):>13}"
              f"{speed:>9.1f}{flops * speed / 1e9:>9.1f}{100 * flops * speed / 1e9 / peak:>8.0f}%", flush=True)

    one_clip = torch.rand(1, *models.input_shape(args.preset))
    reference = r3d_18(weights=None).eval()
    streams = torch.rand(2, 3, *models.INPUT_SHAPES[args.preset])
    reference_ms = latency_ms(reference, streams, runs)
    print(f"\ninference: median latency of one clip at batch 1 ({runs} runs)")
    print(f"{'model':<16}{'params':>11}{'GFLOP':>9}{'ms':>9}{'x r3d_18':>10}")
    for kind in args.kinds:
        model = models.build(kind, args.preset).eval()
        ms = latency_ms(model, one_clip, runs)
        print(f"{kind:<16}{models.count_params(model):>11,}{forward_flops_per_clip(model, one_clip) / 1e9:>9.3f}"
              f"{ms:>9.2f}{ms / reference_ms:>10.3f}", flush=True)
    print(f"{'r3d_18 (2 streams)':<16}{sum(p.numel() for p in reference.parameters()):>11,}"
          f"{forward_flops_per_clip(reference, streams) / 1e9:>9.3f}{reference_ms:>9.2f}{1.0:>10.3f}")


if __name__ == "__main__":
    main()
