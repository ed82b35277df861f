"""The 27 synthetic users: body, handedness, clothing, place in front of the camera, tempo.

Users differ the way the real Montalbano performers did: height, build,
clothing gray level and texture, distance and position, tempo, rhythm (which
part of a gesture they rush), pauses and amplitude of their gestures, and handedness (left-handed users perform the mirror image
with their left hand). How much they differ grows with the difficulty knob.
Splits are by user, so no test user is ever seen in training.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields

import numpy as np

from .anatomy import Body

NUM_USERS = 27
#: Users per split (train, validation, test).
SPLIT_USERS = {"train": 17, "validation": 5, "test": 5}
#: Left-handed users per split: at least one in every split.
LEFT_HANDED = {"train": 2, "validation": 1, "test": 1}
TEXTURES = ("plain", "stripes", "vstripes", "checks", "dots", "mottled")
#: Random stream tag of the users (see :mod:`gesturelib.synth` for the others).
USERS_STREAM = 1


@dataclass(frozen=True)
class User:
    """One performer. Lengths in metres, angles in degrees, gray levels 0..255."""

    user: int
    split: str
    handedness: str          # "right" or "left"
    height: float
    build: float             # body width factor, 1 = average
    distance: float          # camera to HipCenter, along z
    offset_x: float          # sideways position of the HipCenter
    yaw: float               # turn about the vertical axis, positive = toward image right
    camera_height: float     # camera above the floor
    tempo: float             # gesture duration factor (>1: slower)
    amplitude: float         # gesture size factor
    rest: str                # rest pose: "sides" (arms hanging) or "front" (hands together)
    shirt_gray: int
    shirt_texture: str
    texture_contrast: float
    sleeves: str             # "long" or "short"
    trousers_gray: int
    skin_gray: int
    hair_gray: int
    idle: float              # amount of idle sway
    rhythm: float            # timing habit within a gesture (<1: rushes the start, >1: the end)
    hold: float              # how often the user pauses at a key pose (factor, 1 = typical)

    @property
    def left_handed(self) -> bool:
        return self.handedness == "left"

    @property
    def body(self) -> Body:
        return Body(self.height, self.build)


def make_users(seed: int, difficulty: float) -> list[User]:
    """The 27 users for a seed; variation between users grows with ``difficulty`` (0..1)."""
    rng = np.random.default_rng([seed, USERS_STREAM])
    spread = 0.5 + difficulty          # 0.5 .. 1.5 times the typical spread
    order = rng.permutation(NUM_USERS) + 1
    splits, start = {}, 0
    for split, count in SPLIT_USERS.items():
        members = order[start:start + count]
        start += count
        lefties = set(rng.choice(members, LEFT_HANDED[split], replace=False).tolist())
        for user in members:
            splits[int(user)] = (split, "left" if user in lefties else "right")
    users = []
    for user in range(1, NUM_USERS + 1):
        split, handedness = splits[user]
        skin = int(rng.integers(110, 215))
        users.append(User(
            user=user, split=split, handedness=handedness,
            height=round(float(np.clip(rng.normal(1.72, 0.07 * spread), 1.5, 1.98)), 3),
            build=round(float(np.clip(rng.normal(1.0, 0.07 * spread), 0.8, 1.25)), 3),
            distance=round(float(2.3 + 0.33 * spread * rng.uniform(-1, 1)), 3),
            offset_x=round(float(0.22 * spread * rng.uniform(-1, 1)), 3),
            yaw=round(float(rng.normal(0.0, 6.0 * spread)), 2),
            camera_height=round(float(rng.uniform(0.85, 1.15)), 3),
            tempo=round(float(np.exp(rng.normal(0.0, 0.12))), 3),
            amplitude=round(float(np.exp(rng.normal(0.0, 0.1 * spread))), 3),
            rest="front" if rng.random() < 0.3 else "sides",
            shirt_gray=int(rng.integers(25, 230)),
            shirt_texture=str(rng.choice(TEXTURES)),
            texture_contrast=round(float(rng.uniform(0.1, 0.25 + 0.25 * difficulty)), 3),
            sleeves="short" if rng.random() < 0.3 else "long",
            trousers_gray=int(rng.integers(20, 160)),
            skin_gray=skin,
            hair_gray=int(rng.integers(10, 120)),
            idle=round(float(rng.uniform(0.5, 1.5)), 3),
            rhythm=round(float(np.exp(rng.normal(0.0, 0.3 * difficulty))), 3),
            hold=round(float(rng.uniform(0.5, 1.5)), 3),
        ))
    return users


def users_csv(users: list[User]) -> str:
    """users.csv text: one row per user with every attribute (deterministic formatting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [f.name for f in fields(User)]
    writer.writerow(names)
    for user in users:
        values = asdict(user)
        writer.writerow([values[n] for n in names])
    return buffer.getvalue()


def read_users_csv(text: str) -> list[dict[str, str]]:
    """Rows of a users.csv as dicts of strings."""
    return list(csv.DictReader(io.StringIO(text)))
