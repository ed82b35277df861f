"""Command line: ``python -m gesturelib.synth --out DIR --scale quick|course [--seed N] [--size WxH]``."""

from __future__ import annotations

import argparse
import json
import time

from . import SCALES, generate


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 320x240, got {text!r}") from None
    return width, height


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gesturelib.synth",
                                     description="Generate the embedded Montalbano-like gesture dataset.")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--scale", default="course", choices=sorted(SCALES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=_size, default=None, help="frame size WxH (default: the scale's)")
    parser.add_argument("--difficulty", type=float, default=None,
                        help="override the scale's difficulty knob, 0..1")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default 2)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = generate(args.out, args.scale, args.seed, args.size, args.difficulty, args.workers)
    seconds = time.perf_counter() - start
    info = json.loads((out / "dataset.json").read_text())
    print(f"{out}: {info['num_sequences']} sequences, {info['num_gestures']} gestures, "
          f"{info['num_frames']} frames at {info['width']}x{info['height']} in {seconds:.1f} s "
          f"({info['num_frames'] / seconds:.0f} frames/s)")
    for split, counts in info["splits"].items():
        print(f"  {split}: {counts['sequences']} sequences, {counts['gestures']} gestures, "
              f"users {counts['users']}")


if __name__ == "__main__":
    main()
