"""A sequence's motion: rest pose with idle sway, gestures and distractors, the Kinect skeleton.

Turns a :class:`~.pacing.Timeline` and a :class:`~.performers.User` into clean
world joints for rendering, and into the skeleton rows the tracker would
report: the same joints with jitter, orientation quaternions, pixel
coordinates, and occasional untracked frames written as zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..chalearn import JOINT_INDEX, NUM_JOINTS
from .anatomy import assign_hands, orientations, pose
from .choreography import SWING, GestureProgram, Variation, evaluate, performance_timing, with_repeats
from .hands import SHAPE_INDEX
from .optics import Camera
from .pacing import Timeline
from .performers import User

J = JOINT_INDEX
#: Extra points carried along with the skeleton for drawing (not written to the files).
EXTRA_POINTS = ("TorsoShoulderLeft", "TorsoShoulderRight", "TorsoArmpitRight", "TorsoHipRight",
                "TorsoHipLeft", "TorsoArmpitLeft", "HairCenter", "ForearmMidLeft", "ForearmMidRight")
EXTRA_INDEX = {name: NUM_JOINTS + i for i, name in enumerate(EXTRA_POINTS)}
_LOWER_BODY = [J[n] for n in ("HipLeft", "HipRight", "KneeLeft", "KneeRight", "AnkleLeft",
                              "AnkleRight", "FootLeft", "FootRight", "HipCenter")]
_FEET = [J[n] for n in ("AnkleLeft", "AnkleRight", "FootLeft", "FootRight")]
_KNEES = [J["KneeLeft"], J["KneeRight"]]
_ARMS = [J[n] for n in ("HandLeft", "WristLeft", "ElbowLeft", "HandRight", "WristRight", "ElbowRight")]
#: Rest angle of the fingers (degrees from "up" toward the outer side) per rest style.
_REST_ANGLE = {"sides": 175.0, "front": -110.0}


@dataclass
class Motion:
    """Clean motion of one sequence (N frames).

    ``points`` (N, 20 + len(EXTRA_POINTS), 3) world metres: the skeleton joints
    in file order, then :data:`EXTRA_POINTS`. Hand arrays are (N, 2) for
    (right, left): shape index (:data:`.hands.SHAPE_NAMES`) and finger angle.
    """

    points: np.ndarray
    right_vector: np.ndarray
    hand_shape: np.ndarray
    hand_angle: np.ndarray

    @property
    def joints(self) -> np.ndarray:
        return self.points[:, :NUM_JOINTS]


def smooth_noise(rng: np.random.Generator, frames: int, dims: int, sigma: float) -> np.ndarray:
    """(frames, dims) Gaussian noise smoothed over ``sigma`` frames, unit standard deviation."""
    noise = rng.standard_normal((frames, dims)).astype(np.float32)
    if sigma > 0:
        size = 2 * int(3 * sigma) + 1
        noise = cv2.GaussianBlur(noise, (1, size), sigmaX=0, sigmaY=sigma,
                                 borderType=cv2.BORDER_REFLECT)
    noise = noise.astype(np.float64)
    return noise / max(float(noise.std()), 1e-9)


def _rest_targets(user: User, frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Canonical rest targets (N, 3) of the dominant and the other hand, with idle drift."""
    body, h = user.body, user.height
    if user.rest == "sides":
        dominant = np.array([0.125 * user.build, -0.09, 0.03]) * h
        other = dominant * np.array([-1.0, 1.0, 1.0])
    else:
        dominant = body.landmark("belly") + np.array([0.03, -0.11, 0.05]) * h
        other = dominant * np.array([-1.0, 1.0, 1.0])
    drift = smooth_noise(rng, frames, 6, sigma=15.0) * 0.008 * user.idle
    return dominant + drift[:, :3], other + drift[:, 3:]


#: Within-gesture timing at difficulty 1: log-sd of each movement's duration, and the chance
#: of holding still at a key pose (times the user's ``hold`` habit); both scale with difficulty.
TIMING_WARP, HOLD_CHANCE = 0.6, 0.5
#: Chance, at difficulty 1, that a repeated movement is performed once more or once less.
REPEAT_CHANGE = 0.8


def performed_program(rng: np.random.Generator, program: GestureProgram, difficulty: float) -> GestureProgram:
    """The program with this performance's number of repetitions (when its movement repeats)."""
    if program.repeats == 1 or rng.random() >= REPEAT_CHANGE * difficulty:
        return program
    return with_repeats(program, max(1, program.repeats + int(rng.choice([-1, 1]))))


def _variation(rng: np.random.Generator, user: User, difficulty: float, program: GestureProgram) -> Variation:
    """One performance's departure from the program: size, place, sloppiness and timing."""
    return Variation(
        amplitude=float(user.amplitude * np.exp(rng.normal(0.0, 0.05 + 0.08 * difficulty))),
        offset=tuple(rng.normal(0.0, 0.008 + 0.02 * difficulty, 3)),
        key_noise=rng.normal(0.0, 0.004 + 0.01 * difficulty, (2, len(program.times), 3)),
        angle=float(rng.normal(0.0, 5.0 + 10.0 * difficulty)),
        timing=performance_timing(program, rng, TIMING_WARP * difficulty,
                                  min(1.0, HOLD_CHANCE * difficulty * user.hold), user.rhythm))


def canonical_tracks(user: User, program: GestureProgram, u: np.ndarray, rest_dominant: np.ndarray,
                     rest_other: np.ndarray, variation: Variation | None = None) -> dict[str, np.ndarray]:
    """Hand targets while performing ``program`` over phases ``u``, canonical frame, blended with rest.

    Returns arrays for the dominant ("d_*") and other ("o_*") hand: ``pos``
    (N, 3), ``angle``, ``elbow`` and ``shape`` (N,).
    """
    tracks = evaluate(program, user.body, u, variation)
    rest_dominant = np.broadcast_to(rest_dominant, (len(u), 3))
    rest_other = np.broadcast_to(rest_other, (len(u), 3))
    w = tracks.weight[:, None]
    swing = np.zeros((len(u), 3))
    swing[:, 2] = SWING * user.height * np.sin(np.pi * tracks.weight)
    rest_angle = _REST_ANGLE[user.rest]
    shape = np.where(tracks.weight > 0.35, SHAPE_INDEX[program.shape], SHAPE_INDEX["relaxed"])
    out = {"d_pos": rest_dominant + w * (tracks.dominant - rest_dominant) + swing,
           "d_angle": rest_angle + tracks.weight * (tracks.dominant_angle - rest_angle),
           "d_elbow": tracks.weight * tracks.dominant_elbow,
           "d_shape": shape}
    if tracks.other is None:
        out.update(o_pos=rest_other.copy(), o_angle=np.full(len(u), rest_angle), o_elbow=np.zeros(len(u)),
                   o_shape=np.full(len(u), SHAPE_INDEX["relaxed"]))
    else:
        out.update(o_pos=rest_other + w * (tracks.other - rest_other) + swing,
                   o_angle=rest_angle + tracks.weight * (tracks.other_angle - rest_angle),
                   o_elbow=tracks.weight * tracks.other_elbow, o_shape=shape)
    return out


def body_frame_joints(user: User, tracks: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 20, 3) body-frame skeleton, (N, 2) shapes and (N, 2) angles (right, left) from canonical tracks."""
    right, left = assign_hands(tracks["d_pos"], tracks["o_pos"], user.left_handed)
    elbows = (tracks["d_elbow"], tracks["o_elbow"])
    shapes = np.stack([tracks["d_shape"], tracks["o_shape"]], axis=1)
    angles = np.stack([tracks["d_angle"], tracks["o_angle"]], axis=1)
    if user.left_handed:
        elbows, shapes, angles = elbows[::-1], shapes[:, ::-1], angles[:, ::-1]
    return pose(user.body, right, left, *elbows), shapes, angles


def _extras(user: User, joints: np.ndarray) -> np.ndarray:
    """(N, E, 3) drawing points attached to the body-frame skeleton."""
    h, b = user.height, user.build
    sl, sr = joints[:, J["ShoulderLeft"]], joints[:, J["ShoulderRight"]]
    hl, hr = joints[:, J["HipLeft"]], joints[:, J["HipRight"]]
    points = [sl + np.array([-0.025 * b, 0.015, 0.0]) * h, sr + np.array([0.025 * b, 0.015, 0.0]) * h,
              sr + np.array([0.0, -0.11, 0.0]) * h, hr + np.array([0.04 * b, 0.0, 0.0]) * h,
              hl + np.array([-0.04 * b, 0.0, 0.0]) * h, sl + np.array([0.0, -0.11, 0.0]) * h,
              joints[:, J["Head"]] + np.array([0.0, 0.02, -0.01]) * h,
              (joints[:, J["ElbowLeft"]] + joints[:, J["WristLeft"]]) / 2,
              (joints[:, J["ElbowRight"]] + joints[:, J["WristRight"]]) / 2]
    return np.stack(points, axis=1)


def sequence_motion(user: User, timeline: Timeline, gesture_programs: dict[int, GestureProgram],
                    distractor_programs: dict[str, GestureProgram], rng: np.random.Generator,
                    difficulty: float) -> Motion:
    """The clean motion of a whole sequence in world coordinates."""
    frames = timeline.num_frames
    rest_d, rest_o = _rest_targets(user, frames, rng)
    rest_angle = _REST_ANGLE[user.rest]
    tracks = {"d_pos": rest_d.copy(), "o_pos": rest_o.copy(),
              "d_angle": np.full(frames, rest_angle), "o_angle": np.full(frames, rest_angle),
              "d_elbow": np.zeros(frames), "o_elbow": np.zeros(frames),
              "d_shape": np.full(frames, SHAPE_INDEX["relaxed"]),
              "o_shape": np.full(frames, SHAPE_INDEX["relaxed"])}
    events = [(gesture_programs[g], s, e) for g, s, e in timeline.gestures]
    events += [(distractor_programs[name], s, e) for name, s, e in timeline.distractors]
    for program, start, end in events:
        span = slice(start - 1, end)
        u = np.linspace(0.0, 1.0, end - start + 1)
        program = performed_program(rng, program, difficulty)
        variation = _variation(rng, user, difficulty, program)
        performed = canonical_tracks(user, program, u, rest_d[span], rest_o[span], variation)
        for key, value in performed.items():
            tracks[key][span] = value
    joints, shapes, angles = body_frame_joints(user, tracks)
    points = np.concatenate([joints, _extras(user, joints)], axis=1)
    points = _idle(points, user, rng)
    return Motion(_to_world(points, user), _right_vector(user, frames), shapes.astype(np.int64),
                  angles)


def _idle(points: np.ndarray, user: User, rng: np.random.Generator) -> np.ndarray:
    """Idle motion: the upper body leans and breathes, the hips sway over fixed feet."""
    frames = len(points)
    h = user.height
    lean = np.radians(smooth_noise(rng, frames, 2, sigma=25.0) * 1.2 * user.idle)
    sway = smooth_noise(rng, frames, 2, sigma=30.0) * np.array([0.012, 0.008]) * h * user.idle
    breath = 0.003 * h * np.sin(2 * np.pi * np.arange(frames) / (20 * 4.0) + rng.uniform(0, 2 * np.pi))
    upper = np.ones(points.shape[1], dtype=bool)
    upper[_LOWER_BODY] = False
    roll, pitch = lean[:, 0], lean[:, 1]
    x, y, f = points[..., 0].copy(), points[..., 1].copy(), points[..., 2].copy()
    # Roll about the forward axis, then pitch about the sideways axis, around the HipCenter.
    x_r = x * np.cos(roll)[:, None] - y * np.sin(roll)[:, None]
    y_r = x * np.sin(roll)[:, None] + y * np.cos(roll)[:, None]
    y_p = y_r * np.cos(pitch)[:, None] - f * np.sin(pitch)[:, None]
    f_p = y_r * np.sin(pitch)[:, None] + f * np.cos(pitch)[:, None]
    moved = points.copy()
    moved[:, upper, 0], moved[:, upper, 1], moved[:, upper, 2] = x_r[:, upper], y_p[:, upper], f_p[:, upper]
    shoulders_up = np.zeros(points.shape[1])
    shoulders_up[[J["ShoulderLeft"], J["ShoulderRight"], J["ShoulderCenter"], *_ARMS,
                  EXTRA_INDEX["TorsoShoulderLeft"], EXTRA_INDEX["TorsoShoulderRight"],
                  EXTRA_INDEX["ForearmMidLeft"], EXTRA_INDEX["ForearmMidRight"]]] = 1.0
    moved[..., 1] += breath[:, None] * shoulders_up
    weight = np.ones(points.shape[1])
    weight[_FEET] = 0.0
    weight[_KNEES] = 0.5
    moved[..., 0] += sway[:, :1] * weight
    moved[..., 2] += sway[:, 1:] * weight
    return moved


def _yaw_matrix(user: User) -> np.ndarray:
    """Body frame (X, Y, F) -> world (x, y, z) rotation, including F = -z."""
    a = np.radians(user.yaw)
    # Turning by +yaw brings the user's right shoulder toward the camera.
    return np.array([[np.cos(a), 0.0, -np.sin(a)],
                     [0.0, 1.0, 0.0],
                     [-np.sin(a), 0.0, -np.cos(a)]])


def _to_world(points: np.ndarray, user: User) -> np.ndarray:
    origin = np.array([user.offset_x, 0.53 * user.height - user.camera_height, user.distance])
    return origin + points @ _yaw_matrix(user).T


def _right_vector(user: User, frames: int) -> np.ndarray:
    return np.repeat((_yaw_matrix(user) @ np.array([1.0, 0.0, 0.0]))[None], frames, axis=0)


#: Standard deviation (metres, at difficulty 1) of the tracker's bias: an offset of every joint
#: that lasts the whole recording (the skeleton fitted to this person, in these clothes, a little
#: off), so crops cut from the skeleton sit and scale a little differently in every sequence.
TRACKER_BIAS = 0.05


def skeleton_rows(motion: Motion, camera: Camera, rng: np.random.Generator, difficulty: float
                  ) -> np.ndarray:
    """(N, 20, 9) float32 skeleton as the tracker reports it: jittered and biased joints, unit
    quaternions, pixels projected from those joints, and short untracked runs as all-zero rows."""
    joints = motion.joints
    frames = len(joints)
    scale = np.full(NUM_JOINTS, 0.003 + 0.008 * difficulty)
    scale[[J[n] for n in ("HandLeft", "HandRight", "WristLeft", "WristRight")]] *= 2.5
    scale[[J[n] for n in ("ElbowLeft", "ElbowRight", "FootLeft", "FootRight")]] *= 1.5
    jitter = smooth_noise(rng, frames, NUM_JOINTS * 3, sigma=1.5).reshape(frames, NUM_JOINTS, 3)
    bias = rng.normal(0.0, TRACKER_BIAS * difficulty, (NUM_JOINTS, 3))
    world = joints + jitter * scale[None, :, None] + bias[None]
    rows = np.zeros((frames, NUM_JOINTS, 9), dtype=np.float64)
    rows[..., 0:3] = world
    rows[..., 3:7] = orientations(world, motion.right_vector)
    rows[..., 7:9] = camera.project(world)
    for _ in range(rng.poisson(0.5 + 1.5 * difficulty)):
        length = int(rng.integers(1, 11))
        start = int(rng.integers(0, max(frames - length, 1)))
        rows[start:start + length] = 0.0
    return rows.astype(np.float32)
