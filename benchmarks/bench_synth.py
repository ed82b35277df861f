"""Speed of the embedded dataset generator: frames per second and total time per scale.

Budgets (issue 2, on the 2-core reference machine): quick <= 15 s, course <= 3 min.
Also prints where one sequence's time goes (motion, rendering, writing/encoding)
and the total CPU time, which estimates the idle-machine time when other jobs
share the cores (wall-clock time then says little).

    .venv/bin/python benchmarks/bench_synth.py                 # quick and course
    .venv/bin/python benchmarks/bench_synth.py --scales quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from gesturelib.chalearn import SampleWriter
from gesturelib.synth import generate
from gesturelib.synth.movement import sequence_motion, skeleton_rows
from gesturelib.synth.optics import Camera
from gesturelib.synth.performers import make_users
from gesturelib.synth.render import Scene, render_frames
from gesturelib.synth.scales import SCALES
from gesturelib.synth.sequence import _programs, plan_sequences, sample_max_depth

BUDGET_S = {"quick": 15.0, "course": 180.0}


def stages(scale_name: str) -> None:
    """CPU time per frame of each stage for the first sequence of a scale (one process)."""
    cv2.setNumThreads(1)
    scale = SCALES[scale_name]
    spec = plan_sequences(scale, make_users(0, scale.difficulty), 0)[0]
    clock = time.process_time
    start = clock()
    rng = np.random.default_rng(0)
    gestures, distractors = _programs(scale.difficulty)
    motion = sequence_motion(spec.user, spec.timeline, gestures, distractors, rng, scale.difficulty)
    camera = Camera.kinect(scale.width, scale.height)
    skeleton = skeleton_rows(motion, camera, rng, scale.difficulty)
    max_depth = sample_max_depth(rng, spec.user)
    scene = Scene(spec.user, camera, spec.timeline.num_frames, max_depth, scale.difficulty,
                  np.random.default_rng(1), rng)
    prepared = clock()
    frames = list(render_frames(scene, motion))
    rendered = clock()
    with tempfile.TemporaryDirectory() as folder:
        with SampleWriter(Path(folder) / "Sample0001.zip", scale.width, scale.height,
                          max_depth=max_depth) as writer:
            for (colour, depth, mask), row in zip(frames, skeleton):
                writer.add_frame(colour, depth, mask, row)
            writer.finish(spec.timeline.gestures)
    written = clock()
    n = len(frames)
    print(f"  one {scale.width}x{scale.height} sequence, {n} frames, CPU ms/frame: "
          f"motion+scene {1000 * (prepared - start) / n:.2f}, render {1000 * (rendered - prepared) / n:.2f}, "
          f"write+encode {1000 * (written - rendered) / n:.2f}")


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["quick", "course"], choices=sorted(SCALES))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"CPU cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    for name in args.scales:
        print(f"scale {name}:")
        stages(name)
        folder = Path(tempfile.mkdtemp(prefix=f"bench-synth-{name}-"))
        try:
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            generate(folder, name, seed=0, workers=args.workers, progress=False)
            seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
            info = json.loads((folder / "dataset.json").read_text())
            size = sum(p.stat().st_size for p in folder.glob("*.zip")) / 2**20
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        budget = BUDGET_S.get(name)
        verdict = "" if budget is None else f" (budget {budget:.0f} s: {'ok' if seconds <= budget else 'OVER'})"
        print(f"  generate: {info['num_sequences']} sequences, {info['num_frames']} frames at "
              f"{info['width']}x{info['height']} in {seconds:.1f} s = {info['num_frames'] / seconds:.0f} "
              f"frames/s with {args.workers} workers, {size:.0f} MB{verdict}")
        print(f"  CPU time {cpu:.1f} s ({1000 * cpu / info['num_frames']:.2f} ms/frame): on two idle cores "
              f"about {cpu / args.workers:.0f} s; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
