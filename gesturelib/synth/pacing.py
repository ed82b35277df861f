"""When each gesture happens in a sequence: timing sampled to follow the real ChaLearn files.

Measured on the 230 real validation label files (``shared/data/
chalearn2014_validation_gt``; only these summary numbers are kept here):
a sequence lasts ~1290 frames at 20 fps whatever its number of gestures
(8-22: either about 10, with long pauses, or about 20, with short ones);
gestures last a class-dependent median of 30-47 frames (pooled median 39,
p5 26, p95 58); the pauses fill the rest, median ~28 and mean ~45 frames,
~9 % of them zero (gestures back to back). The model: draw the gesture count
and the sequence length, each gesture's length from its class median scaled by
the user's tempo and a per-performance factor (classes that must differ only
in hand shape or frame order share one median), and split the remaining frames
between the lead-in, the pauses and the tail with Gamma-distributed weights.
Its output matches the real statistics (see :func:`timing_statistics` and
``tests/test_synth.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .choreography import SHAPE_ONLY_GROUPS, TIME_REVERSE_PAIRS

FPS = 20
#: Gestures per sequence in the real validation files: count -> number of sequences.
REAL_GESTURE_COUNTS = {8: 5, 9: 20, 10: 49, 11: 26, 12: 5, 13: 4, 14: 3, 15: 5, 16: 2,
                       17: 1, 18: 4, 19: 15, 20: 89, 21: 1, 22: 1}
#: Median gesture length (frames) of each class in the real validation files.
REAL_MEDIAN_LENGTH = {1: 36, 2: 35, 3: 38, 4: 40, 5: 37, 6: 36, 7: 40, 8: 42, 9: 47, 10: 37,
                      11: 30, 12: 41, 13: 37, 14: 38, 15: 36, 16: 41, 17: 39, 18: 43, 19: 44, 20: 40}


def nominal_length(gesture_id: int) -> float:
    """Median length (frames) a gesture is performed with: the real class median, except that
    classes built to differ only in hand shape or in frame order share their group's mean, so
    that speed does not give them away."""
    for group in (*SHAPE_ONLY_GROUPS, *TIME_REVERSE_PAIRS):
        if gesture_id in group:
            return float(np.mean([REAL_MEDIAN_LENGTH[g] for g in group]))
    return float(REAL_MEDIAN_LENGTH[gesture_id])


#: The published summary of the real annotation files of the 230 ChaLearn 2014 validation
#: sequences (their README, "Statistics of these files (measured)"), in the keys of
#: :func:`timing_statistics`: what the generator's timing aims at, and what chapter 01 shows when
#: the files themselves are absent. The README's pauses count start - previous end, one frame
#: more than the frames strictly between two gestures that :func:`timing_statistics` counts
#: (median 27 on the same files).
REAL_STATISTICS: dict[str, float] = {
    "sequences": 230,
    "gestures": 3454,
    "gesture_length_median": 39,
    "gesture_length_p5": 26,
    "gesture_length_p95": 58,
    "gesture_length_mean": 40.0,
    "gap_median": 28,
    "gap_mean": 46,
    "gap_p95": 179,
    "gestures_min": 8,
    "gestures_mean": 15.0,
    "gestures_max": 22,
    "frames_mean": 1358,
    "class_count_min": 164,
    "class_count_max": 186,
}

PERFORMANCE_SPREAD = 0.18      # log-sd of one performance's length around the user's
MIN_LENGTH, MAX_LENGTH = 12, 96
SEQUENCE_FRAMES = 1265         # median length of an ordinary sequence
SEQUENCE_SPREAD = 0.08         # its log-sd
LONG_SEQUENCE_CHANCE = 0.15    # share of longer sequences (1450-1903 frames)
MIN_FRAMES, MAX_FRAMES = 1013, 1903
GAP_SHAPE = 1.3                # Gamma shape of the pause weights (lead-in and tail too)
ZERO_GAP_CHANCE = 0.08         # gestures performed back to back
DISTRACTOR_MIN_GAP = 30        # a distractor needs a pause at least this long


@dataclass(frozen=True)
class Timeline:
    """One sequence's schedule; frames are 1-based and end-inclusive, as in ``_labels.csv``."""

    num_frames: int
    gestures: tuple[tuple[int, int, int], ...]        # (gesture id, start, end)
    distractors: tuple[tuple[str, int, int], ...]     # (movement name, start, end)


def sample_gesture_count(rng: np.random.Generator, counts: Sequence[int] | None = None) -> int:
    """A number of gestures: uniformly from ``counts``, or like the real files when None."""
    if counts:
        return int(rng.choice(np.asarray(counts)))
    values = np.array(list(REAL_GESTURE_COUNTS))
    weights = np.array(list(REAL_GESTURE_COUNTS.values()), dtype=np.float64)
    return int(rng.choice(values, p=weights / weights.sum()))


def plan_timeline(rng: np.random.Generator, classes: Sequence[int], tempo: float,
                  distractor_names: Sequence[str] = (), distractor_chance: float = 0.0,
                  frames_scale: float = 1.0) -> Timeline:
    """Place the gestures ``classes`` (in order) on a timeline of realistic length.

    ``frames_scale`` < 1 shortens the sequence (the pauses shrink, the gestures
    keep their length): for tiny test datasets.
    """
    n = len(classes)
    if n == 0:
        raise ValueError("a sequence needs at least one gesture")
    medians = np.array([nominal_length(int(c)) for c in classes])
    lengths = np.clip(np.rint(medians * tempo * np.exp(rng.normal(0.0, PERFORMANCE_SPREAD, n))),
                      MIN_LENGTH, MAX_LENGTH).astype(np.int64)
    if rng.random() < LONG_SEQUENCE_CHANCE:
        total = rng.uniform(1450, MAX_FRAMES)
    else:
        total = SEQUENCE_FRAMES * np.exp(rng.normal(0.0, SEQUENCE_SPREAD))
    total = int(np.clip(np.rint(total), MIN_FRAMES, MAX_FRAMES) * frames_scale)
    pause_total = max(total - int(lengths.sum()), 3 * (n + 1))
    gaps = rng.gamma(GAP_SHAPE, size=n - 1) * (rng.random(n - 1) >= ZERO_GAP_CHANCE)
    weights = np.concatenate([[rng.gamma(GAP_SHAPE)], gaps, [rng.gamma(GAP_SHAPE)]])
    # Integer slots that add up exactly to pause_total.
    cuts = np.floor(np.cumsum(weights) / weights.sum() * pause_total + 1e-9).astype(np.int64)
    cuts[-1] = pause_total
    slots = np.diff(np.concatenate([[0], cuts]))

    gestures, distractors = [], []
    frame = 1 + int(slots[0])
    for i, (gesture_id, length) in enumerate(zip(classes, lengths)):
        gestures.append((int(gesture_id), frame, frame + int(length) - 1))
        frame += int(length)
        pause = int(slots[i + 1])
        if (distractor_names and pause >= DISTRACTOR_MIN_GAP and i + 1 < n
                and rng.random() < distractor_chance):
            length_d = int(min(pause - 8, rng.integers(20, 45)))
            start = frame + 4 + int(rng.integers(0, pause - 8 - length_d + 1))
            distractors.append((str(rng.choice(list(distractor_names))), start, start + length_d - 1))
        frame += pause
    return Timeline(frame - 1, tuple(gestures), tuple(distractors))


def timing_statistics(sequences: Iterable[tuple[int, Sequence[Sequence[int]]]]) -> dict[str, float]:
    """Summary timing statistics of labelled sequences given as (num_frames, gestures).

    The same figures as the real files' README: gesture length (end - start + 1)
    median / p5 / p95 / mean, pause between consecutive gestures median / mean /
    p95, gestures per sequence min / mean / max, frames per sequence mean, and
    the smallest and largest class count.
    """
    lengths, gaps, counts, frames, per_class = [], [], [], [], {}
    for num_frames, gestures in sequences:
        ordered = sorted((int(g), int(s), int(e)) for g, s, e in gestures)
        ordered.sort(key=lambda item: item[1])
        frames.append(num_frames)
        counts.append(len(ordered))
        for i, (gesture_id, start, end) in enumerate(ordered):
            lengths.append(end - start + 1)
            per_class[gesture_id] = per_class.get(gesture_id, 0) + 1
            if i:
                gaps.append(start - ordered[i - 1][2] - 1)
    lengths, gaps = np.asarray(lengths), np.asarray(gaps)
    return {
        "sequences": len(frames),
        "gestures": int(lengths.size),
        "gesture_length_median": float(np.median(lengths)),
        "gesture_length_p5": float(np.percentile(lengths, 5)),
        "gesture_length_p95": float(np.percentile(lengths, 95)),
        "gesture_length_mean": float(lengths.mean()),
        "gap_median": float(np.median(gaps)) if gaps.size else float("nan"),
        "gap_mean": float(gaps.mean()) if gaps.size else float("nan"),
        "gap_p95": float(np.percentile(gaps, 95)) if gaps.size else float("nan"),
        "gestures_min": int(min(counts)),
        "gestures_mean": float(np.mean(counts)),
        "gestures_max": int(max(counts)),
        "frames_mean": float(np.mean(frames)),
        "class_count_min": int(min(per_class.values())),
        "class_count_max": int(max(per_class.values())),
    }
