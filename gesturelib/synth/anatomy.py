"""The body model: Kinect skeleton proportions, body landmarks, arm inverse kinematics.

Everything here lives in the *body frame*: metres, origin at the HipCenter
joint, X toward the user's right (which is image right and Kinect +x: the
Kinect view is mirrored), Y up, F forward toward the camera (Kinect -z).
Gestures are written for a right-handed user in a *canonical* frame in which
+X is the dominant side; :func:`assign_hands` mirrors them for left-handed users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..chalearn import JOINT_INDEX, NUM_JOINTS

#: Segment lengths as fractions of body height (anthropometric averages).
UPPER_ARM = 0.172
FOREARM = 0.146
WRIST_TO_HAND = 0.05   # wrist joint to the Kinect "hand" joint (palm centre)
HAND_LENGTH = 0.108    # wrist to the tip of the middle finger

#: Head landmarks relative to the Head joint, fractions of body height, canonical frame.
FACE = {
    "eye": (0.022, 0.012, 0.058),
    "temple": (0.058, 0.025, 0.010),
    "cheek": (0.040, -0.020, 0.050),
    "mouth": (0.0, -0.035, 0.062),
    "chin": (0.0, -0.068, 0.052),
    "crown": (0.0, 0.070, 0.0),
}

# Rest skeleton (X, Y, F) in fractions of height; X of the entries marked
# "wide" is multiplied by the user's build. Left joints mirror right ones.
_REST = {
    "HipCenter": ((0.0, 0.0, 0.0), False),
    "Spine": ((0.0, 0.10, -0.005), False),
    "ShoulderCenter": ((0.0, 0.29, 0.0), False),
    "Head": ((0.0, 0.385, 0.008), False),
    "ShoulderRight": ((0.105, 0.275, 0.0), True),
    "HipRight": ((0.055, -0.03, 0.0), True),
    "KneeRight": ((0.057, -0.27, 0.012), True),
    "AnkleRight": ((0.058, -0.49, -0.01), True),
    "FootRight": ((0.064, -0.52, 0.05), True),
}

#: Which joint each joint hangs from (the Kinect hierarchy; HipCenter is the root).
PARENT = {
    "HipCenter": None, "Spine": "HipCenter", "ShoulderCenter": "Spine", "Head": "ShoulderCenter",
    "ShoulderLeft": "ShoulderCenter", "ElbowLeft": "ShoulderLeft", "WristLeft": "ElbowLeft",
    "HandLeft": "WristLeft", "ShoulderRight": "ShoulderCenter", "ElbowRight": "ShoulderRight",
    "WristRight": "ElbowRight", "HandRight": "WristRight", "HipLeft": "HipCenter",
    "KneeLeft": "HipLeft", "AnkleLeft": "KneeLeft", "FootLeft": "AnkleLeft",
    "HipRight": "HipCenter", "KneeRight": "HipRight", "AnkleRight": "KneeRight",
    "FootRight": "AnkleRight",
}

#: For every joint, the index of its left/right counterpart (itself on the midline).
MIRROR_INDEX = np.array([
    JOINT_INDEX[name.replace("Left", "#").replace("Right", "Left").replace("#", "Right")]
    for name in JOINT_INDEX])


@dataclass(frozen=True)
class Body:
    """A person's proportions: height in metres and build (1 = average width)."""

    height: float
    build: float = 1.0

    def rest_joints(self) -> np.ndarray:
        """(20, 3) rest skeleton in the body frame; arms are filled in by :func:`arm_ik`."""
        joints = np.zeros((NUM_JOINTS, 3))
        for name, (xyz, wide) in _REST.items():
            x, y, f = xyz
            x = x * self.build if wide else x
            joints[JOINT_INDEX[name]] = (x, y, f)
            if name.endswith("Right"):
                joints[JOINT_INDEX[name.replace("Right", "Left")]] = (-x, y, f)
        return joints * self.height

    def shoulder(self, side: float) -> np.ndarray:
        """Shoulder joint of the right (+1) or left (-1) arm."""
        (x, y, f), _ = _REST["ShoulderRight"]
        return np.array([side * x * self.build, y, f]) * self.height

    def landmark(self, name: str) -> np.ndarray:
        """A body landmark in the canonical frame (+X = dominant side), metres.

        Face landmarks are listed in :data:`FACE`; body ones are ``head``,
        ``neck``, ``chest`` (front of the chest), ``belly``, ``waist`` (dominant
        side), ``shoulder`` (dominant shoulder) and ``hip``.
        """
        h, b = self.height, self.build
        head = np.array(_REST["Head"][0]) * h
        if name in FACE:
            return head + np.array(FACE[name]) * h
        body = {
            "head": head / h,
            "neck": (0.0, 0.31, 0.03),
            "chest": (0.0, 0.20, 0.075 * b),
            "belly": (0.0, 0.06, 0.085 * b),
            "waist": (0.10 * b, 0.02, 0.03),
            "shoulder": (0.105 * b, 0.275, 0.0),
            "hip": (0.0, 0.0, 0.0),
        }
        if name not in body:
            raise KeyError(f"unknown landmark {name!r}; known: {sorted([*FACE, *body])}")
        return np.asarray(body[name], dtype=np.float64) * h


def arm_ik(shoulder: np.ndarray, target: np.ndarray, pole: np.ndarray, height: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elbow, wrist and hand (N, 3) of an arm whose hand joint reaches for ``target``.

    Two-bone inverse kinematics: the upper arm and the forearm+hand as rigid
    segments, the elbow bent toward ``pole`` (a direction). Targets out of
    reach are pulled onto the reachable shell.
    """
    upper = UPPER_ARM * height
    lower = (FOREARM + WRIST_TO_HAND) * height
    reach = target - shoulder
    dist = np.linalg.norm(reach, axis=-1, keepdims=True)
    direction = reach / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(upper - lower) + 1e-3, upper + lower - 1e-3)
    hand = shoulder + direction * dist
    cos_a = np.clip((upper**2 + dist**2 - lower**2) / (2 * upper * dist), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a**2)
    bend = pole - np.sum(pole * direction, axis=-1, keepdims=True) * direction
    bend_norm = np.linalg.norm(bend, axis=-1, keepdims=True)
    # A pole parallel to the arm gives no bend direction: fall back to "down".
    fallback = np.array([0.0, -1.0, 0.0]) - direction[..., 1:2] * direction
    bend = np.where(bend_norm > 1e-6, bend, fallback)
    bend /= np.maximum(np.linalg.norm(bend, axis=-1, keepdims=True), 1e-9)
    elbow = shoulder + upper * (cos_a * direction + sin_a * bend)
    wrist = elbow + (hand - elbow) * (FOREARM / (FOREARM + WRIST_TO_HAND))
    return elbow, wrist, hand


def elbow_pole(side: float, raise_out: np.ndarray) -> np.ndarray:
    """(N, 3) elbow bend direction: down and slightly out, or out to the side when ``raise_out`` is 1."""
    raise_out = np.asarray(raise_out, dtype=np.float64)[..., None]
    hanging = np.array([0.35 * side, -1.0, -0.25])
    raised = np.array([1.0 * side, -0.25, -0.1])
    return (1.0 - raise_out) * hanging + raise_out * raised


def assign_hands(dominant: np.ndarray, other: np.ndarray, left_handed: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) hand data from canonical (dominant, other) data, positions (..., 3).

    A right-handed user gestures with the right hand as written; a
    left-handed one performs the mirror image (X negated) with the left hand.
    """
    if not left_handed:
        return dominant, other
    flip = np.array([-1.0, 1.0, 1.0])
    return other * flip, dominant * flip


def pose(body: Body, right_hand: np.ndarray, left_hand: np.ndarray,
         right_elbow_out: np.ndarray, left_elbow_out: np.ndarray) -> np.ndarray:
    """(N, 20, 3) body-frame skeleton with both hands at the given targets (N, 3)."""
    count = len(right_hand)
    joints = np.repeat(body.rest_joints()[None], count, axis=0)
    for side, target, raise_out, names in (
            (1.0, right_hand, right_elbow_out, ("ElbowRight", "WristRight", "HandRight")),
            (-1.0, left_hand, left_elbow_out, ("ElbowLeft", "WristLeft", "HandLeft"))):
        shoulder = np.broadcast_to(body.shoulder(side), (count, 3))
        # Raising the hand above the chest swings the elbow outward by itself.
        lift = np.clip((target[:, 1] - 0.12 * body.height) / (0.25 * body.height), 0.0, 1.0)
        pole = elbow_pole(side, np.clip(np.asarray(raise_out) + 0.5 * lift, 0.0, 1.0))
        for name, value in zip(names, arm_ik(shoulder, target, pole, body.height)):
            joints[:, JOINT_INDEX[name]] = value
    return joints


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """The mirror image of body-frame joints (..., 20, 3): X negated, left and right swapped."""
    mirrored = joints[..., MIRROR_INDEX, :].copy()
    mirrored[..., 0] *= -1.0
    return mirrored


def orientations(world: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(N, 20, 4) unit quaternions (x, y, z, w) of every joint, Kinect style.

    A joint's y axis points along the bone that ends at it (from its parent),
    its x axis is the body's right direction made perpendicular; the root takes
    the body's up direction. ``right`` (N, 3) is the body's right vector in world.
    """
    count = world.shape[0]
    parents = [JOINT_INDEX[PARENT[name]] if PARENT[name] else -1 for name in JOINT_INDEX]
    y_axis = np.empty_like(world)
    for index, parent in enumerate(parents):
        if parent < 0:
            y_axis[:, index] = world[:, JOINT_INDEX["Spine"]] - world[:, index]
        else:
            y_axis[:, index] = world[:, index] - world[:, parent]
    y_axis /= np.maximum(np.linalg.norm(y_axis, axis=-1, keepdims=True), 1e-9)
    x_axis = np.broadcast_to(right[:, None, :], world.shape).copy()
    x_axis -= np.sum(x_axis * y_axis, axis=-1, keepdims=True) * y_axis
    # A bone along the body's right direction: use "forward" for x instead.
    bad = np.linalg.norm(x_axis, axis=-1) < 1e-6
    x_axis[bad] = np.cross(y_axis[bad], np.array([0.0, 0.0, 1.0]))
    x_axis /= np.maximum(np.linalg.norm(x_axis, axis=-1, keepdims=True), 1e-9)
    z_axis = np.cross(x_axis, y_axis)
    matrices = np.stack([x_axis, y_axis, z_axis], axis=-1)  # columns are the axes
    return _matrix_to_quaternion(matrices.reshape(-1, 3, 3)).reshape(count, NUM_JOINTS, 4)


def _matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """(N, 4) unit quaternions (x, y, z, w) of rotation matrices (N, 3, 3).

    Written out (not scipy) to avoid a dependency for twenty lines; the
    largest-pivot branch keeps it numerically stable.
    """
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    candidates = np.stack([
        np.stack([m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1], 1 + trace], -1),
        np.stack([1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2], m[:, 0, 1] + m[:, 1, 0],
                  m[:, 0, 2] + m[:, 2, 0], m[:, 2, 1] - m[:, 1, 2]], -1),
        np.stack([m[:, 0, 1] + m[:, 1, 0], 1 + m[:, 1, 1] - m[:, 0, 0] - m[:, 2, 2],
                  m[:, 1, 2] + m[:, 2, 1], m[:, 0, 2] - m[:, 2, 0]], -1),
        np.stack([m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1],
                  1 + m[:, 2, 2] - m[:, 0, 0] - m[:, 1, 1], m[:, 1, 0] - m[:, 0, 1]], -1),
    ], axis=1)
    pivots = np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], -1)
    best = candidates[np.arange(len(m)), np.argmax(pivots, axis=-1)]
    best /= np.linalg.norm(best, axis=-1, keepdims=True)
    # One sign convention (w >= 0) so equal rotations give equal numbers.
    return np.where(best[:, 3:4] < 0, -best, best)
