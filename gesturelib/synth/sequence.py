"""One dataset's plan (who performs which gestures in which sequence) and writing one sequence.

Randomness is split into independent streams, each seeded by
``numpy.random.default_rng([seed, stream, ...])``: the users, the plan, each
sequence's timeline, each sequence's motion and rendering, each user's room.
A sequence therefore comes out the same whichever process writes it and in
whatever order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..chalearn import NUM_CLASSES, SampleWriter
from .choreography import GestureProgram, distractors, programs
from .movement import sequence_motion, skeleton_rows
from .optics import Camera
from .pacing import FPS, Timeline, plan_timeline, sample_gesture_count
from .performers import User
from .render import Scene, render_frames
from .scales import Scale

PLAN_STREAM, TIMELINE_STREAM, SEQUENCE_STREAM, ROOM_STREAM, LABEL_STREAM = 2, 3, 4, 5, 6
#: Standard deviation, at difficulty 1, of where the annotator puts a gesture's start and its end,
#: as a fraction of the gesture's length: the real files' labels are not frame-exact either.
LABEL_JITTER = 0.1
#: Share of real files whose maxDepth is 4095; the others lie in 2619..3759.
FULL_RANGE_CHANCE = 0.63


@dataclass(frozen=True)
class SequenceSpec:
    """What one sequence holds: its number, performer, split and gesture schedule."""

    index: int
    user: User
    timeline: Timeline

    @property
    def name(self) -> str:
        return f"Sample{self.index:04d}"

    @property
    def split(self) -> str:
        return self.user.split


def balanced_classes(rng: np.random.Generator, counts: list[int]) -> list[list[int]]:
    """Gesture ids for sequences of the given lengths: every class equally often (within one),
    shuffled, never the same gesture twice in a row."""
    total = sum(counts)
    rounds = [rng.permutation(NUM_CLASSES) + 1 for _ in range(total // NUM_CLASSES)]
    rounds.append(rng.choice(NUM_CLASSES, total % NUM_CLASSES, replace=False) + 1)
    ids = rng.permutation(np.concatenate(rounds)).tolist()
    starts = set(np.cumsum([0] + counts[:-1]).tolist())

    def clash(k: int) -> bool:
        return 0 < k < total and k not in starts and ids[k] == ids[k - 1]

    for i in range(1, total):
        if not clash(i):
            continue
        for j in rng.permutation(total).tolist():
            ids[i], ids[j] = ids[j], ids[i]
            if not any(clash(k) for k in (i, i + 1, j, j + 1)):
                break
            ids[i], ids[j] = ids[j], ids[i]
    sequences, start = [], 0
    for count in counts:
        sequences.append(ids[start:start + count])
        start += count
    return sequences


def plan_sequences(scale: Scale, users: list[User], seed: int) -> list[SequenceSpec]:
    """Every sequence of the dataset: train first, then validation, then test (like the real numbering).

    Users of a split take turns, so each performs about the same number of sequences.
    """
    rng = np.random.default_rng([seed, PLAN_STREAM])
    specs, index = [], 1
    for split, count in scale.sequences_per_split.items():
        members = [u for u in users if u.split == split]
        turn = rng.permutation(len(members))
        performers = [members[turn[i % len(members)]] for i in range(count)]
        counts = [sample_gesture_count(rng, scale.gesture_counts) for _ in range(count)]
        for performer, classes in zip(performers, balanced_classes(rng, counts)):
            timeline_rng = np.random.default_rng([seed, TIMELINE_STREAM, index])
            timeline = plan_timeline(timeline_rng, classes, performer.tempo,
                                     distractor_names=tuple(distractors()),
                                     distractor_chance=0.1 + 0.3 * scale.difficulty,
                                     frames_scale=scale.frames_scale)
            specs.append(SequenceSpec(index, performer, timeline))
            index += 1
    return specs


@lru_cache(maxsize=4)
def _programs(difficulty: float) -> tuple[dict[int, GestureProgram], dict[str, GestureProgram]]:
    return programs(closeness=difficulty), distractors()


def annotate(timeline: Timeline, rng: np.random.Generator, difficulty: float) -> tuple[tuple[int, int, int], ...]:
    """The labels an annotator writes for ``timeline``: each start and end moved by a few frames
    (``LABEL_JITTER``), kept inside the sequence, in order and never overlapping."""
    labels, previous_end = [], 0
    gestures = timeline.gestures
    for i, (gesture_id, start, end) in enumerate(gestures):
        length = end - start + 1
        shift_start, shift_end = np.rint(rng.normal(0.0, LABEL_JITTER * difficulty * length, 2)).astype(int)
        following = gestures[i + 1][1] if i + 1 < len(gestures) else timeline.num_frames + 1
        new_start = int(max(start + shift_start, previous_end + 1, 1))
        new_end = int(min(end + shift_end, following - 1, timeline.num_frames))
        if new_end - new_start + 1 < length // 2:  # never let a label lose most of its gesture
            new_start, new_end = max(start, previous_end + 1), end
        labels.append((gesture_id, new_start, new_end))
        previous_end = new_end
    return tuple(labels)


def sample_max_depth(rng: np.random.Generator, user: User) -> int:
    """A maxDepth like the real files', far enough to hold the user and a wall behind."""
    value = 4095 if rng.random() < FULL_RANGE_CHANCE else int(rng.integers(2619, 3760))
    return int(min(4095, max(value, round((user.distance + 1.0) * 1000) + 200)))


def write_sequence(spec: SequenceSpec, out_dir: str | Path, seed: int, scale: Scale) -> Path:
    """Render one sequence and write ``SampleNNNN.zip`` (atomically, via :class:`SampleWriter`)."""
    cv2.setNumThreads(1)   # the dataset is parallel over sequences already
    rng = np.random.default_rng([seed, SEQUENCE_STREAM, spec.index])
    room_rng = np.random.default_rng([seed, ROOM_STREAM, spec.user.user])
    gesture_programs, distractor_programs = _programs(scale.difficulty)
    motion = sequence_motion(spec.user, spec.timeline, gesture_programs, distractor_programs, rng,
                             scale.difficulty)
    camera = Camera.kinect(scale.width, scale.height)
    skeleton = skeleton_rows(motion, camera, rng, scale.difficulty)
    max_depth = sample_max_depth(rng, spec.user)
    scene = Scene(spec.user, camera, spec.timeline.num_frames, max_depth, scale.difficulty, room_rng, rng)
    path = Path(out_dir) / f"{spec.name}.zip"
    with SampleWriter(path, scale.width, scale.height, fps=FPS, max_depth=max_depth) as writer:
        for (colour, depth, mask), row in zip(render_frames(scene, motion), skeleton):
            writer.add_frame(colour, depth, mask, row)
        labels = annotate(spec.timeline, np.random.default_rng([seed, LABEL_STREAM, spec.index]), scale.difficulty)
        return writer.finish(labels)
