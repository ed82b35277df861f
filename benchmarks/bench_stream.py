"""Frames per second of the real-time recogniser, end to end, for every inference form side by side.

    python benchmarks/bench_stream.py                   # the first test sequence of the embedded dataset
    python benchmarks/bench_stream.py --sequences 3     # more sequences, summed

The whole recogniser of chapter 10 (``gesturelib.stream``) runs on ONE thread:
decoding the sequence's three videos in lockstep, cropping each frame online,
the model (a sliding window every ``stride`` frames and a decision at the end
of each spotted gesture) and spotting. The small student runs in each form
(PyTorch fp32, fp16, int8 dynamic, ONNX Runtime), the 3D-CNN teacher in fp32.
Models are freshly initialised (speed does not depend on the weights; the
number of spotted gestures, and so of decisions, does a little); the spotting
thresholds are the defaults of ``stream.SpottingConfig``. Forms take turns over
``--rounds`` rounds and the fastest round is kept. The real-time factor is the
frames per second over the Kinect's 20.
"""

from __future__ import annotations

import argparse

import torch

from gesturelib import chalearn, cropping, models, stream, synth

PARTS = ("decode", "crop", "model", "spotting")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=1, help="test sequences to run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    samples = [chalearn.Sample(info.path) for info in chalearn.dataset_index(synth.ensure_dataset())
               if info.split == "test"][: args.sequences]
    settings = cropping.settings_for("course")
    torch.manual_seed(0)
    student, teacher = models.build("student_small"), models.build("cnn3d")
    forms = {f"small student, {form}": stream.predictor(student, form) for form in stream.FORMS}
    forms["teacher (3D-CNN), fp32"] = stream.predictor(teacher)

    best: dict[str, dict[str, float]] = {}
    for round_ in range(args.rounds):
        for name, predict in forms.items():
            runs = [stream.throughput(sample, predict, settings) for sample in samples]
            frames = sum(r["frames"] for r in runs)
            seconds = sum(r["seconds"] for r in runs)
            figures = {"fps": frames / seconds, **{
                part: sum(r[f"{part}_ms_per_frame"] * r["frames"] for r in runs) / frames for part in PARTS}}
            if name not in best or figures["fps"] > best[name]["fps"]:
                best[name] = figures
            print(f"round {round_ + 1}: {name:<28} {figures['fps']:8.0f} frames/s", flush=True)

    total_frames = sum(s.num_frames for s in samples)
    print(f"\ntorch {torch.__version__}, one thread; {len(samples)} test sequence(s), {total_frames} frames of "
          f"{samples[0].width}x{samples[0].height}; fastest of {args.rounds} rounds")
    print(f"{'form':<28}{'frames/s':>10}{'x 20 fps':>10}" + "".join(f"{p + ' ms':>13}" for p in PARTS))
    for name, figures in best.items():
        print(f"{name:<28}{figures['fps']:>10.0f}{figures['fps'] / 20:>10.1f}"
              + "".join(f"{figures[p]:>13.3f}" for p in PARTS))


if __name__ == "__main__":
    main()
