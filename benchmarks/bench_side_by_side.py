"""Two trainings one after the other on all threads, or side by side on one thread each?

The chapters train every model on one thread and run independent runs side by
side, one process per core (``recipes.train_all``). This prints, per model
kind, the wall time of N one-epoch runs done both ways on the chapters' data,
measured one after the other in the same run, and their ratio. The worker
processes are started before the clock runs (``train_all`` pays that start,
a few seconds, once per call).

    .venv/bin/python benchmarks/bench_side_by_side.py
    .venv/bin/python benchmarks/bench_side_by_side.py --kinds student_small --epochs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor


def train_once(kind: str, seed: int, epochs: int, threads: int) -> float:
    """Seconds to train a fresh ``kind`` for ``epochs`` on the chapters' training clips (no model cache)."""
    import torch

    from gesturelib import models, recipes, train

    torch.set_num_threads(threads)
    s = recipes.splits()
    config = dataclasses.replace(recipes.train_config(kind, seed=seed, epochs=epochs), num_threads=threads)
    torch.manual_seed(seed)
    start = time.perf_counter()
    train.fit(models.build(kind, recipes.PRESET), s.train, s.validation, config, progress=False)
    return time.perf_counter() - start


def warm_up(_: int) -> None:
    """Import torch and load the clips in a worker, so start-up is not timed (train_all pays it once)."""
    from gesturelib import recipes

    recipes.splits()
    time.sleep(1.0)  # hold this worker, so that each worker gets one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["student_small", "cnn3d"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=os.cpu_count() or 2, help="independent runs (default: cores)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    from gesturelib import recipes

    recipes.splits()  # the dataset and clips exist before anything is timed
    print(f"{cores} cores, load average {os.getloadavg()[0]:.1f}; {args.runs} runs of {args.epochs} epoch(s) each")
    context = multiprocessing.get_context("spawn")
    for kind in args.kinds:
        start = time.perf_counter()
        for seed in range(args.runs):
            train_once(kind, seed, args.epochs, cores)
        one_after_other = time.perf_counter() - start
        with ProcessPoolExecutor(min(cores, args.runs), mp_context=context) as pool:
            list(pool.map(warm_up, range(min(cores, args.runs))))
            start = time.perf_counter()
            list(pool.map(train_once, [kind] * args.runs, range(args.runs), [args.epochs] * args.runs,
                          [1] * args.runs))
            side_by_side = time.perf_counter() - start
        print(f"{kind:15s} one after the other on {cores} threads: {one_after_other:6.1f} s | "
              f"side by side on 1 thread each: {side_by_side:6.1f} s | ratio {one_after_other / side_by_side:.2f}")


if __name__ == "__main__":
    main()
