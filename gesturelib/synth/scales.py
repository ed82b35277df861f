"""Dataset scales: how many sequences, at which frame size, and how hard.

``difficulty`` is the one knob of the embedded dataset's hardness, in [0, 1].
It scales, together: how much users differ (height, build,
distance, position, turn, amplitude, clothing contrast), how close the close
class pairs are (7/19, 8/18, 4/18), how sloppily each gesture is performed,
how often distractor movements happen, and the sensor's imperfections
(gray noise, depth noise and holes, lighting drift, background clutter,
skeleton jitter, the tracker's bias and untracked frames), how loosely the
labels frame each gesture, and how much the timing varies within a gesture
(phase warps, holds, repetition counts). It is calibrated once, on the teacher
and a linear probe before any student is trained
(``tools/calibrate_difficulty.py``): the converged course 3D-CNN should score
85-93 % on the validation users, with its training accuracy above that,
while a linear classifier on the clips pooled to 8x8 stays far
below it. It is never tuned to make a particular claim hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SPLITS = ("train", "validation", "test")
#: The calibrated default of the difficulty knob (generator version 4).
DEFAULT_DIFFICULTY = 0.65


@dataclass(frozen=True)
class Scale:
    """What to generate: frame size, sequences per split, gestures per sequence, difficulty.

    ``gesture_counts`` None draws the number of gestures per sequence like the
    real files (8-22); ``frames_scale`` < 1 shortens the pauses (tiny datasets).
    """

    name: str
    width: int = 640
    height: int = 480
    sequences: tuple[int, int, int] = (470, 230, 240)     # train, validation, test
    gesture_counts: tuple[int, ...] | None = None
    frames_scale: float = 1.0
    difficulty: float = DEFAULT_DIFFICULTY

    def __post_init__(self):
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError(f"scale {self.name}: frame size must be positive and even, "
                             f"got {self.width}x{self.height}")
        if not 0.0 <= self.difficulty <= 1.0:
            raise ValueError(f"scale {self.name}: difficulty must lie in [0, 1], got {self.difficulty}")
        if len(self.sequences) != 3 or min(self.sequences) < 1:
            raise ValueError(f"scale {self.name}: need at least one sequence per split, "
                             f"got {self.sequences}")

    @property
    def sequences_per_split(self) -> dict[str, int]:
        return dict(zip(SPLITS, self.sequences))


# Frame size of the CPU scales: encoding the three mp4v videos takes about
# half of the generation time and rendering most of the rest, both in
# proportion to the pixels. 224x168, 0.35 x 640x480, keeps the course within
# 3 minutes on two cores (benchmarks/bench_synth.py) with a margin for a busy
# machine; the hand crop (half the person's height, ~27 px) still shows the
# hand shape when scaled to the clips' 32x32.
_CPU_SIZE = (224, 168)

SCALES: dict[str, Scale] = {
    # Notebooks and CI in quick mode: every class in every split, seconds to make
    # (10 gestures per sequence, shortened pauses).
    "quick": Scale("quick", *_CPU_SIZE, (3, 2, 2), gesture_counts=(10,), frames_scale=0.4),
    # The course: ~1200 training gestures (~60 per class) from 17 users,
    # ~300 validation and ~300 test gestures from 5 other users each.
    "course": Scale("course", *_CPU_SIZE, (80, 20, 20)),
    # The size of the real dataset (470 / 230 / 240 sequences) at 640x480,
    # for the paper-size models (64x64 crops). Takes hours on two cores.
    "paper": Scale("paper", 640, 480, (470, 230, 240)),
}


def resolve(scale: str | Scale, size: tuple[int, int] | None = None,
            difficulty: float | None = None) -> Scale:
    """A scale by name (or as given), with an optional frame size and difficulty override."""
    if isinstance(scale, str):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
        scale = SCALES[scale]
    if size is not None:
        scale = replace(scale, width=int(size[0]), height=int(size[1]))
    if difficulty is not None:
        scale = replace(scale, difficulty=float(difficulty))
    return scale
