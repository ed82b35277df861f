"""The 20 ChaLearn gestures as motion programs: where each hand goes, in which shape, how often.

A program lists key poses of the dominant hand (and of the other hand for
two-handed gestures) in the canonical body frame of :mod:`.anatomy` (+X is the
dominant side): a body landmark plus an offset in fractions of body height,
the direction the fingers point, how far the elbow is raised. Between keys the
hand eases in and out (smoothstep). Every gesture starts from the rest pose,
reaches the first key during the first :data:`APPROACH` of its duration,
performs the keys, and returns to rest during the last :data:`APPROACH`.

The classes are built to make models differ:

- :data:`SHAPE_ONLY_GROUPS`: same arm trajectory, different hand shape, so
  only the hand stream separates them;
- :data:`TIME_REVERSE_PAIRS`: one is the other played backwards, so only frame
  order separates them;
- :data:`TWO_HANDED`: both hands move;
- :data:`CLOSE_PAIRS`: close in the real data too (7/19, 8/18, 4/18); the
  ``closeness`` argument of :func:`programs` (driven by the difficulty knob)
  moves them closer still.

Timing varies *within* each performance (:func:`performance_timing`): the
duration of every movement between two key poses is stretched or squeezed,
the hand may hold still at a key pose, the hands rise and fall at their own
pace, and repeated movements are repeated a varying number of times
(:func:`with_repeats`). So after a clip is resampled to a fixed number of
frames, a key pose does not sit at a fixed frame index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..chalearn import GESTURES
from .anatomy import FACE, HAND_LENGTH, Body

#: Fraction of a gesture spent raising the hands (and, at the end, lowering them).
APPROACH = 0.22
#: How far (fraction of height) the hand swings forward while rising and lowering.
SWING = 0.10

#: Groups of gesture ids sharing their arm trajectory, differing only in hand shape.
SHAPE_ONLY_GROUPS: tuple[tuple[int, ...], ...] = ((3, 11), (5, 9), (6, 14), (10, 20))
#: Pairs of gesture ids, each the time reverse of the other.
TIME_REVERSE_PAIRS: tuple[tuple[int, int], ...] = ((1, 2), (13, 15))
#: Gesture ids performed with both hands.
TWO_HANDED: tuple[int, ...] = (5, 7, 9, 13, 15, 19)
#: Pairs that are close in the real data, kept close here.
CLOSE_PAIRS: tuple[tuple[int, int], ...] = ((7, 19), (8, 18), (4, 18))
#: How two gestures of the embedded dataset relate (:func:`relation`), the hardest to tell apart first.
RELATIONS: tuple[str, ...] = ("time reverse", "same trajectory, other hand shape", "close in the real data",
                              "unrelated")


def relation(a: int, b: int) -> str:
    """How gestures ``a`` and ``b`` (ids 1..20) were built relative to each other: one of :data:`RELATIONS`.

    The one table of class relations: chapters 01 (the class design), 03 (errors
    by structure) and 05 (what the teacher finds similar) read it from here.
    """
    pair = {a, b}
    if a != b:
        if any(pair == set(p) for p in TIME_REVERSE_PAIRS):
            return RELATIONS[0]
        if any(pair <= set(group) for group in SHAPE_ONLY_GROUPS):
            return RELATIONS[1]
        if any(pair == set(p) for p in CLOSE_PAIRS):
            return RELATIONS[2]
    return RELATIONS[3]


def related(gesture_id: int, kind: str) -> list[int]:
    """The gestures whose :func:`relation` to ``gesture_id`` is ``kind``, in id order."""
    if kind not in RELATIONS:
        raise ValueError(f"unknown relation {kind!r}; choose from {RELATIONS}")
    return [other for other in range(1, len(GESTURES) + 1) if other != gesture_id and relation(gesture_id, other) == kind]

#: Fraction of body height from the palm centre to the tip of a pointing index finger.
_FINGERTIP = 0.78 * HAND_LENGTH


@dataclass(frozen=True)
class Key:
    """One key pose of one hand.

    ``at`` names a landmark of :meth:`Body.landmark`; ``offset`` (X, Y, F) is
    in fractions of body height; ``angle`` turns the fingers from "up" toward
    the hand's outer side (degrees); ``elbow`` 0 lets the elbow hang, 1 raises
    it out to the side.
    """

    at: str
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    angle: float = 0.0
    elbow: float = 0.0

    def moved(self, dx: float = 0.0, dy: float = 0.0, df: float = 0.0, angle: float | None = None
              ) -> "Key":
        """The same key shifted by (dx, dy, df) fractions of height, optionally re-angled."""
        x, y, f = self.offset
        return replace(self, offset=(x + dx, y + dy, f + df),
                       angle=self.angle if angle is None else angle)


@dataclass(frozen=True)
class GestureProgram:
    """A gesture (or a distractor movement) as key poses over its normalised core time.

    ``other`` is None for one-handed gestures: the other hand stays at rest.
    """

    gesture_id: int          # 1..20, or 0 for a distractor
    name: str
    shape: str               # hand shape of the moving hand(s), see :mod:`.hands`
    times: tuple[float, ...]
    dominant: tuple[Key, ...]
    other: tuple[Key, ...] | None = None
    repeats: int = 1         # how many times one movement cycle is repeated (see :func:`cycle`)

    def __post_init__(self):
        times = np.asarray(self.times)
        if times[0] != 0.0 or times[-1] != 1.0 or np.any(np.diff(times) <= 0):
            raise ValueError(f"{self.name}: key times must rise strictly from 0 to 1, got {self.times}")
        for keys in (self.dominant, self.other):
            if keys is not None and len(keys) != len(times):
                raise ValueError(f"{self.name}: {len(keys)} keys for {len(times)} times")
        if self.repeats < 1 or (len(times) - 1) % self.repeats:
            raise ValueError(f"{self.name}: {len(times) - 1} key steps do not split into "
                             f"{self.repeats} equal cycles")

    @property
    def two_handed(self) -> bool:
        return self.other is not None


@dataclass(frozen=True)
class Variation:
    """How one performance departs from the program: size, place, sloppiness."""

    amplitude: float = 1.0                       # scales the motion about its centre
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)   # fractions of height
    key_noise: np.ndarray | None = None          # (2 hands, keys, 3) fractions of height
    angle: float = 0.0                           # degrees added to every key angle
    timing: "Timing | None" = None               # within-performance timing; None: the program's own


@dataclass(frozen=True)
class Timing:
    """When a performance reaches each key pose, as a map from performed time to program phase.

    ``approach``: fraction of the gesture spent raising (and again lowering)
    the hands. ``knots``: increasing performed core times (0..1) and
    ``phases``: the program's key phases reached at them; a key held still
    appears twice, at its arrival and its departure. Between knots the phase
    runs linearly, so the program's own easing between keys is kept.
    """

    approach: float
    knots: tuple[float, ...]
    phases: tuple[float, ...]

    def phase(self, core: np.ndarray) -> np.ndarray:
        """Program phase at performed core time ``core`` (0..1)."""
        return np.interp(core, self.knots, self.phases)


@dataclass(frozen=True)
class HandTracks:
    """Evaluated program, canonical body frame: targets (N, 3) metres, angles, elbows, blend weight.

    ``weight`` is 0 at rest and 1 while the gesture is performed; a hand's real
    target is ``rest + weight * (target - rest)`` (plus the forward swing).
    """

    dominant: np.ndarray
    other: np.ndarray | None
    dominant_angle: np.ndarray
    other_angle: np.ndarray | None
    dominant_elbow: np.ndarray
    other_elbow: np.ndarray | None
    weight: np.ndarray


def smoothstep(x: np.ndarray) -> np.ndarray:
    """3x^2 - 2x^3 on [0, 1]: ease in and out; symmetric, s(1 - x) = 1 - s(x)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def blend_weight(u: np.ndarray, approach: float = APPROACH) -> np.ndarray:
    """0 at rest, 1 during the core: the raise and the lowering of the hands over phase u."""
    u = np.asarray(u, dtype=np.float64)
    return smoothstep(u / approach) * smoothstep((1.0 - u) / approach)


def core_phase(u: np.ndarray, approach: float = APPROACH) -> np.ndarray:
    """Phase within the key poses (0..1) at gesture phase u (0..1)."""
    return np.clip((np.asarray(u, dtype=np.float64) - approach) / (1.0 - 2.0 * approach), 0.0, 1.0)


def performance_timing(program: GestureProgram, rng: np.random.Generator, warp: float,
                       hold_chance: float, rhythm: float = 1.0) -> Timing:
    """A random within-performance timing of ``program``.

    Every movement between two key poses takes its nominal share of the time
    times ``exp(N(0, warp))``; at each key the hand holds still with
    probability ``hold_chance``, for about a third of a movement; the hands
    rise and fall over ``APPROACH * exp(N(0, warp / 2))`` of the gesture.
    ``rhythm`` (a user's habit, around 1) bends performed time as
    ``core ** rhythm``: below 1 a performer rushes the start, above 1 the end.
    ``warp = 0`` and ``hold_chance = 0`` give the program's own timing.
    """
    times = np.asarray(program.times)
    moves = np.diff(times) * np.exp(rng.normal(0.0, warp, len(times) - 1))
    holds = (rng.random(len(times)) < hold_chance) * rng.uniform(0.2, 0.5, len(times)) * moves.mean()
    knots, phases, clock = [], [], 0.0
    for k, t in enumerate(times):
        knots.append(clock)
        phases.append(t)
        if holds[k] > 0:
            clock += holds[k]
            knots.append(clock)
            phases.append(t)
        if k < len(moves):
            clock += moves[k]
    knots = (np.asarray(knots) / clock) ** (1.0 / rhythm)
    approach = float(np.clip(APPROACH * np.exp(rng.normal(0.0, warp / 2)), 0.12, 0.32))
    return Timing(approach, tuple(float(x) for x in knots), tuple(float(p) for p in phases))


def _interpolate(times: np.ndarray, values: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Ease-in-out interpolation of key values (K, ...) at phases (N,)."""
    segment = np.clip(np.searchsorted(times, phase, side="right") - 1, 0, len(times) - 2)
    start, end = times[segment], times[segment + 1]
    local = smoothstep((phase - start) / (end - start))
    shape = (-1,) + (1,) * (values.ndim - 1)
    return values[segment] + local.reshape(shape) * (values[segment + 1] - values[segment])


def key_positions(keys: tuple[Key, ...], body: Body) -> np.ndarray:
    """(K, 3) metres, canonical body frame."""
    return np.array([body.landmark(k.at) + np.asarray(k.offset) * body.height for k in keys])


def evaluate(program: GestureProgram, body: Body, u: np.ndarray,
             variation: Variation | None = None) -> HandTracks:
    """The program's hand targets at gesture phases u (N,) in [0, 1]."""
    variation = variation or Variation()
    u = np.asarray(u, dtype=np.float64)
    times = np.asarray(program.times)
    timing = variation.timing
    approach = APPROACH if timing is None else timing.approach
    phase = core_phase(u, approach)
    if timing is not None:
        phase = timing.phase(phase)
    tracks = []
    for hand, keys in enumerate((program.dominant, program.other)):
        if keys is None:
            tracks.append((None, None, None))
            continue
        positions = key_positions(keys, body)
        centre = positions.mean(axis=0)
        positions = centre + variation.amplitude * (positions - centre)
        positions = positions + np.asarray(variation.offset) * body.height
        if variation.key_noise is not None:
            positions = positions + variation.key_noise[hand, :len(keys)] * body.height
        angles = np.array([k.angle for k in keys]) + variation.angle
        elbows = np.array([k.elbow for k in keys])
        tracks.append((_interpolate(times, positions, phase),
                       _interpolate(times, angles, phase),
                       _interpolate(times, elbows, phase)))
    (dom, dom_angle, dom_elbow), (oth, oth_angle, oth_elbow) = tracks
    return HandTracks(dom, oth, dom_angle, oth_angle, dom_elbow, oth_elbow, blend_weight(u, approach))


# --------------------------------------------------------------------------- building blocks


def cycle(keys: list[Key], times: list[float], repeats: int) -> tuple[tuple[float, ...], tuple[Key, ...]]:
    """Repeat one movement cycle; ``keys[-1]`` must equal ``keys[0]``, ``times`` run 0..1."""
    all_times, all_keys = [0.0], [keys[0]]
    for r in range(repeats):
        for t, k in zip(times[1:], keys[1:]):
            all_times.append((r + t) / repeats)
            all_keys.append(k)
    return tuple(all_times), tuple(all_keys)


def with_repeats(program: GestureProgram, repeats: int) -> GestureProgram:
    """The program with its movement cycle performed ``repeats`` times (in the same duration)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if repeats == program.repeats:
        return program
    steps = (len(program.times) - 1) // program.repeats
    one = [t * program.repeats for t in program.times[:steps + 1]]
    times, dominant = cycle(list(program.dominant[:steps + 1]), one, repeats)
    other = None if program.other is None else cycle(list(program.other[:steps + 1]), one, repeats)[1]
    return replace(program, times=times, dominant=dominant, other=other, repeats=repeats)


def time_reversed(program: GestureProgram, gesture_id: int) -> GestureProgram:
    """The program played backwards, as gesture ``gesture_id``."""
    return replace(program, gesture_id=gesture_id, name=GESTURES[gesture_id - 1],
                   times=tuple(1.0 - t for t in reversed(program.times)),
                   dominant=tuple(reversed(program.dominant)),
                   other=None if program.other is None else tuple(reversed(program.other)))


def reshaped(program: GestureProgram, gesture_id: int, shape: str) -> GestureProgram:
    """The same trajectory with another hand shape, as gesture ``gesture_id``."""
    return replace(program, gesture_id=gesture_id, name=GESTURES[gesture_id - 1], shape=shape)


def fingertip_at(landmark: str, angle: float, forward: float = 0.07,
                 toward: tuple[str, float] | None = None) -> Key:
    """A key placing the tip of a pointing index finger on a face landmark.

    ``toward=(other_landmark, fraction)`` moves the target that fraction of the
    way to another face landmark (how close pairs are brought closer).
    """
    target = np.array(FACE[landmark])
    if toward is not None:
        target = target + toward[1] * (np.array(FACE[toward[0]]) - target)
    a = math.radians(angle)
    offset = target - np.array(FACE[landmark]) + np.array(
        [-_FINGERTIP * math.sin(a), -_FINGERTIP * math.cos(a), forward])
    return Key(landmark, tuple(float(v) for v in offset), angle, elbow=0.3)


def _gesture(gesture_id: int, shape: str, times, dominant, other=None, repeats: int = 1) -> GestureProgram:
    return GestureProgram(gesture_id, GESTURES[gesture_id - 1], shape, tuple(times),
                          tuple(dominant), None if other is None else tuple(other), repeats)


# --------------------------------------------------------------------------- the vocabulary


def programs(closeness: float = 0.5) -> dict[int, GestureProgram]:
    """The 20 gesture programs by id. ``closeness`` in [0, 1] brings the close pairs closer."""
    if not 0.0 <= closeness <= 1.0:
        raise ValueError(f"closeness must lie in [0, 1], got {closeness}")
    c = closeness
    table: dict[int, GestureProgram] = {}

    # 1 vattene "go away": the open hand flicks outward fast, comes back slowly, 3 times.
    inside = Key("chest", (0.10, -0.02, 0.09), angle=-20)
    flicked = Key("chest", (0.28, 0.02, 0.17), angle=55)
    table[1] = _gesture(1, "open", *cycle([inside, flicked, inside], [0.0, 0.3, 1.0], 3), repeats=3)
    # 2 vieniqui "come here": beckoning, the exact time reverse (slow out, fast pull in).
    table[2] = time_reversed(table[1], 2)

    # 3 perfetto "perfect": pinched fingers drawn sideways at chest height.
    start = Key("chest", (0.0, 0.06, 0.12), angle=10)
    end = Key("chest", (0.22, 0.06, 0.13), angle=25)
    table[3] = _gesture(3, "pinch", [0.0, 0.15, 0.8, 1.0], [start, start.moved(dy=0.005), end, end])
    # 11 ok: a ring of thumb and index along the same trajectory.
    table[11] = reshaped(table[3], 11, "ring")

    # 4 furbo "clever": index finger at the lower eyelid, pulled down twice.
    eyelid = fingertip_at("eye", -15, toward=("cheek", 0.35 * c))
    table[4] = _gesture(4, "point", *cycle([eyelid, eyelid.moved(dy=-0.025), eyelid],
                                           [0.0, 0.5, 1.0], 2), repeats=2)

    # 5 cheduepalle "what a bore": both hands cupped, palms up, bobbing 3 times.
    low_d, low_o = Key("belly", (0.12, 0.03, 0.13)), Key("belly", (-0.12, 0.03, 0.13))
    times, dominant = cycle([low_d, low_d.moved(dy=0.06), low_d], [0.0, 0.5, 1.0], 3)
    _, other = cycle([low_o, low_o.moved(dy=0.06), low_o], [0.0, 0.5, 1.0], 3)
    table[5] = _gesture(5, "cupped", times, dominant, other, repeats=3)
    # 9 combinato "what have you done": the same bobbing with bunched fingers.
    table[9] = reshaped(table[5], 9, "bunched")

    # 6 chevuoi "what do you want": bunched fingertips up, shaken up and down.
    front = Key("chest", (0.13, 0.05, 0.14), angle=0)
    table[6] = _gesture(6, "bunched", *cycle([front, front.moved(dy=0.07), front],
                                             [0.0, 0.5, 1.0], 3), repeats=3)
    # 14 prendere "do you want a beating": the open hand raised and shaken the same way.
    table[14] = reshaped(table[6], 14, "open")

    # 7 daccordo "they get along": two index fingers side by side, rubbed along each other.
    right = Key("chest", (0.03, 0.02, 0.15), angle=-10)
    left = Key("chest", (-0.03, 0.02, 0.15), angle=-10)
    rub = 0.05
    times, dominant = cycle([right, right.moved(df=rub), right.moved(df=-rub), right],
                            [0.0, 0.3, 0.7, 1.0], 2)
    _, other = cycle([left, left.moved(df=-rub), left.moved(df=rub), left], [0.0, 0.3, 0.7, 1.0], 2)
    table[7] = _gesture(7, "point", times, dominant, other, repeats=2)
    # 19 messidaccordo "they made a deal": index fingers brought together from apart.
    apart = 0.14 - 0.07 * c
    table[19] = _gesture(19, "point", [0.0, 0.15, 0.65, 1.0],
                         [right.moved(dx=apart), right.moved(dx=apart), right, right],
                         [left.moved(dx=-apart), left.moved(dx=-apart), left, left])

    # 8 seipazzo "you're crazy": the index screwing at the temple, 3 turns.
    # 18 buonissimo "delicious": the same screwing into the cheek (close to 8 and to 4).
    for gesture_id, landmark, angle, toward in ((8, "temple", -35, None),
                                                (18, "cheek", -20, ("temple", 0.35 * c))):
        centre = fingertip_at(landmark, angle, toward=toward)
        r = 0.015
        turn = [centre.moved(dx=r, angle=angle), centre.moved(dy=r, angle=angle + 20),
                centre.moved(dx=-r, angle=angle), centre.moved(dy=-r, angle=angle - 20),
                centre.moved(dx=r, angle=angle)]
        table[gesture_id] = _gesture(gesture_id, "point",
                                     *cycle(turn, [0.0, 0.25, 0.5, 0.75, 1.0], 3), repeats=3)

    # 10 freganiente "I don't care": the back of the curled fingers brushed outward under the chin.
    under = Key("chin", (0.0, -0.05, 0.05), angle=-80, elbow=0.5)
    out = Key("chin", (0.16, -0.06, 0.15), angle=-40, elbow=0.3)
    table[10] = _gesture(10, "fist", *cycle([under, out, under], [0.0, 0.45, 1.0], 2), repeats=2)
    # 20 sonostufo "fed up": the flat hand swept under the chin the same way.
    table[20] = reshaped(table[10], 20, "flat")

    # 12 cosatifarei "what I'd do to you": the fist at the mouth, shaken sideways.
    mouth = Key("mouth", (0.05, -0.05, 0.06), angle=-60, elbow=0.4)
    table[12] = _gesture(12, "fist", *cycle([mouth, mouth.moved(dx=0.035), mouth.moved(dx=-0.035),
                                             mouth], [0.0, 0.33, 0.67, 1.0], 3), repeats=3)

    # 13 basta "enough": flat hands, palms down, from apart to crossed in front of the chest.
    open_d, open_o = Key("chest", (0.26, -0.05, 0.12), angle=-90), Key("chest", (-0.26, -0.07, 0.11), angle=-90)
    cross_d, cross_o = Key("chest", (-0.05, -0.02, 0.17), angle=-90), Key("chest", (0.05, -0.05, 0.13), angle=-90)
    table[13] = _gesture(13, "flat", [0.0, 0.15, 0.6, 1.0], [open_d, open_d, cross_d, cross_d],
                         [open_o, open_o, cross_o, cross_o])
    # 15 noncenepiu "there is none left": palms brushed together, then opened: 13 backwards.
    table[15] = time_reversed(table[13], 15)

    # 16 fame "hungry": the side of the flat hand chops at the waist, 3 times.
    waist = Key("waist", (0.02, 0.07, 0.13), angle=-90)
    table[16] = _gesture(16, "flat", *cycle([waist, waist.moved(dx=-0.07, df=0.03), waist],
                                            [0.0, 0.4, 1.0], 3), repeats=3)

    # 17 tantotempo "long ago": the open hand waves back over the shoulder, twice.
    before = Key("shoulder", (0.02, 0.06, 0.15), angle=10, elbow=0.4)
    behind = Key("shoulder", (0.05, 0.16, -0.02), angle=-25, elbow=0.8)
    table[17] = _gesture(17, "open", *cycle([before, behind, before], [0.0, 0.5, 1.0], 2), repeats=2)

    return dict(sorted(table.items()))


def distractors() -> dict[str, GestureProgram]:
    """Non-gesture movements made between gestures (unlabelled): they look gesture-like."""
    crown = Key("crown", (0.07, -0.01, 0.0), angle=-40, elbow=0.9)
    times, scratch = cycle([crown, crown.moved(dy=0.02), crown], [0.0, 0.5, 1.0], 4)
    nose = Key("mouth", (0.02, -0.06, 0.08), angle=-30, elbow=0.3)
    hips_d, hips_o = Key("waist", (0.03, 0.0, 0.0), angle=-150), Key("waist", (-0.23, 0.0, 0.0), angle=-150)
    fold_d, fold_o = Key("belly", (0.03, -0.06, 0.12), angle=-100), Key("belly", (-0.03, -0.06, 0.12), angle=-100)
    return {
        "scratch_head": GestureProgram(0, "scratch_head", "relaxed", times, scratch, repeats=4),
        "touch_face": GestureProgram(0, "touch_face", "relaxed", (0.0, 1.0), (nose, nose.moved(dy=0.01))),
        "hands_on_hips": GestureProgram(0, "hands_on_hips", "fist", (0.0, 1.0), (hips_d, hips_d),
                                        (hips_o, hips_o)),
        "fold_hands": GestureProgram(0, "fold_hands", "relaxed", (0.0, 1.0), (fold_d, fold_d),
                                     (fold_o, fold_o)),
    }
