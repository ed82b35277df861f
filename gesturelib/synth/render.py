"""Drawing the frames: colour, depth in millimetres and the user mask, from the clean motion.

Each frame's body parts are drawn from far to near (painter's order, cv2
primitives) into the colour frame and, with one id per part, into a *label
image*; the label image gives the user mask, where the shirt texture shows
and, through a depth lookup table refreshed per frame, the depth frame. What
does not move is prepared once per sequence (:class:`Scene`): the user's room
(a cluttered, textured wall and floor, furniture in depth), the shirt
texture, the lighting drift, noise and depth-hole patterns. cv2 drawing and
whole-frame cv2 operations keep a 320x240 frame well under a millisecond.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..chalearn import JOINT_INDEX
from .anatomy import HAND_LENGTH
from .hands import SHAPE_NAMES, SHIFT, draw_hand
from .movement import EXTRA_INDEX, Motion
from .optics import Camera
from .performers import User

J = {**JOINT_INDEX, **EXTRA_INDEX}
_SCALE = 1 << SHIFT
#: Appearance kinds of body parts (index into the per-user palette).
BACKGROUND, SHIRT, TROUSERS, SKIN, SKIN_SHADE, OUTLINE, HAIR, SHOE = range(8)
_POOL = 8               # noise patterns per sequence, picked at random per frame
_LIGHT_EVERY = 8        # frames between lighting updates (lighting drifts slowly)
#: Kinect depth frames have no data in a band at the left edge (pixels at 640 wide).
_LEFT_BAND_640 = 8

# Body parts: (name, type, points, width as a fraction of height, surface offset, kind).
# "line" goes through its points, "poly" fills them, "head"/"hair" are ellipses.
_PARTS = (
    ("thigh_l", "line", ("HipLeft", "KneeLeft"), 0.085, 0.05, TROUSERS),
    ("thigh_r", "line", ("HipRight", "KneeRight"), 0.085, 0.05, TROUSERS),
    ("shin_l", "line", ("KneeLeft", "AnkleLeft"), 0.065, 0.04, TROUSERS),
    ("shin_r", "line", ("KneeRight", "AnkleRight"), 0.065, 0.04, TROUSERS),
    ("foot_l", "line", ("AnkleLeft", "FootLeft"), 0.05, 0.03, SHOE),
    ("foot_r", "line", ("AnkleRight", "FootRight"), 0.05, 0.03, SHOE),
    ("torso", "poly", ("TorsoShoulderLeft", "TorsoShoulderRight", "TorsoArmpitRight", "TorsoHipRight",
                       "TorsoHipLeft", "TorsoArmpitLeft"), 0.0, 0.06, SHIRT),
    ("neck", "line", ("ShoulderCenter", "Head"), 0.055, 0.03, SKIN),
    ("hair", "hair", ("HairCenter",), 0.0, 0.0, HAIR),
    ("head", "head", ("Head",), 0.0, 0.045, SKIN),
    ("upper_arm_l", "line", ("ShoulderLeft", "ElbowLeft"), 0.058, 0.03, SHIRT),
    ("upper_arm_r", "line", ("ShoulderRight", "ElbowRight"), 0.058, 0.03, SHIRT),
    ("forearm1_l", "line", ("ElbowLeft", "ForearmMidLeft"), 0.05, 0.028, SHIRT),
    ("forearm2_l", "line", ("ForearmMidLeft", "WristLeft"), 0.045, 0.028, SHIRT),
    ("forearm1_r", "line", ("ElbowRight", "ForearmMidRight"), 0.05, 0.028, SHIRT),
    ("forearm2_r", "line", ("ForearmMidRight", "WristRight"), 0.045, 0.028, SHIRT),
    ("hand_l", "hand", ("HandLeft",), 0.0, 0.04, SKIN),
    ("hand_r", "hand", ("HandRight",), 0.0, 0.04, SKIN),
)


def _palette(user: User, rng: np.random.Generator) -> np.ndarray:
    """(8, 3) RGB colour of each appearance kind for this user."""
    def tinted(gray: float, tint: np.ndarray) -> np.ndarray:
        return np.clip(gray * tint, 0, 255)

    skin = tinted(user.skin_gray, np.array([1.1, 0.93, 0.8]))
    palette = np.zeros((8, 3))
    palette[SHIRT] = tinted(user.shirt_gray, 1.0 + rng.uniform(-0.25, 0.25, 3))
    palette[TROUSERS] = tinted(user.trousers_gray, np.array([0.9, 0.95, 1.1]) + rng.uniform(-0.1, 0.1, 3))
    palette[SKIN] = skin
    palette[SKIN_SHADE] = skin * 0.82
    palette[OUTLINE] = skin * 0.42
    palette[HAIR] = tinted(user.hair_gray, np.array([1.1, 0.95, 0.85]))
    palette[SHOE] = (30, 28, 26)
    return palette.astype(np.uint8)


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Low-frequency random field in [-1, 1] (a few blobs across the frame)."""
    small = rng.uniform(-1, 1, (max(2, cells * height // width), cells)).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).clip(-1, 1)


def _shirt_texture(user: User, colour: np.ndarray, rng: np.random.Generator, height: int, width: int,
                   pixels_per_metre: float) -> np.ndarray:
    """(height, width, 3) uint8 cloth: the user's texture kind around the shirt colour."""
    period = max(3, int(round(rng.uniform(0.03, 0.07) * pixels_per_metre)))
    rows, cols = np.mgrid[0:height, 0:width]
    kind = user.shirt_texture
    if kind == "stripes":
        pattern = ((rows // period) % 2) * 2.0 - 1.0
    elif kind == "vstripes":
        pattern = ((cols // period) % 2) * 2.0 - 1.0
    elif kind == "checks":
        pattern = (((rows // period) + (cols // period)) % 2) * 2.0 - 1.0
    elif kind == "dots":
        pattern = np.where(((rows % period) - period / 2) ** 2 + ((cols % period) - period / 2) ** 2
                           < (period / 3) ** 2, 1.0, -0.3)
    elif kind == "mottled":
        pattern = _smooth_field(rng, height, width, 24)
    else:
        pattern = np.zeros((height, width))
    pattern = pattern * user.texture_contrast + rng.normal(0, 0.03, (height, width))
    return np.clip(colour[None, None, :] * (1.0 + pattern[..., None]), 0, 255).astype(np.uint8)


class Scene:
    """Everything about a sequence's look that is prepared once: room, textures, lighting, noise."""

    def __init__(self, user: User, camera: Camera, frames: int, max_depth: int, difficulty: float,
                 room_rng: np.random.Generator, rng: np.random.Generator):
        self.user, self.camera, self.max_depth = user, camera, max_depth
        height, width = camera.height, camera.width
        self.palette = _palette(user, rng)
        self.background, self.background_depth = _room(room_rng, rng, user, camera, max_depth, difficulty)
        self.margin = width // 4
        self.texture = _shirt_texture(user, self.palette[SHIRT].astype(np.float64), rng,
                                      height + 2 * self.margin, width + 2 * self.margin,
                                      camera.pixels_per_metre(user.distance))
        # Lighting: a global gain and a sideways gradient, both drifting slowly.
        self.light_gradient = _smooth_field(rng, height, width, 2) * 0.5 + np.linspace(
            -0.5, 0.5, width, dtype=np.float32)[None, :] * rng.choice([-1.0, 1.0])
        steps = frames // _LIGHT_EVERY + 2
        drift = rng.standard_normal((steps, 2)).cumsum(axis=0)
        drift /= max(float(np.abs(drift).max()), 1e-9)
        self.light_gain = 1.0 + (0.05 + 0.15 * difficulty) * drift[:, 0]
        self.light_slope = (0.05 + 0.2 * difficulty) * drift[:, 1]
        # Sensor noise patterns.
        gray_sigma = 1.5 + 2.5 * difficulty
        self.gray_noise = [_signed_pair(rng.standard_normal((height, width, 3), np.float32) * gray_sigma, np.uint8)
                           for _ in range(_POOL)]
        depth_sigma = (0.5 + 1.5 * difficulty) * user.distance ** 2   # mm, grows with z^2
        self.depth_noise = [_signed_pair(_blocky(rng, height, width, 2) * depth_sigma, np.uint16)
                            for _ in range(_POOL)]
        # The room as the sensor sees it: noisy, with holes where the IR pattern is lost
        # (mostly the same spots from frame to frame); the body's holes are its IR shadow.
        positive, negative = self.depth_noise[0]
        self.room_depth = cv2.bitwise_and(cv2.subtract(cv2.add(self.background_depth, positive), negative),
                                          _hole_mask(rng, height, width, 0.003 + 0.012 * difficulty))
        baseline_px = 0.075 * camera.fx * (1.0 / user.distance - 1.0 / (user.distance + 1.2))
        self.shadow = max(1, int(round(baseline_px)))
        self.pool_choice = rng.integers(0, _POOL, (frames, 2))
        self._light_step = -1
        self.lit_background = self.lit_texture = self.lit_palette = None

    def light(self, frame: int) -> None:
        """Update the lit background, shirt texture and body colours when the light has moved.

        Lighting drifts slowly, so it is applied every few frames to what does
        not move, not to every frame (the body takes the gain at its centre).
        """
        step = frame // _LIGHT_EVERY
        if step == self._light_step:
            return
        self._light_step = step
        gain = self.light_gain[step] + self.light_slope[step] * self.light_gradient
        gain_u8 = cv2.convertScaleAbs(gain, alpha=128.0)
        self.lit_background = cv2.multiply(self.background, cv2.merge([gain_u8] * 3), scale=1.0 / 128.0)
        body_gain = float(gain[self.camera.height // 2, self.camera.width // 2])
        self.lit_texture = cv2.convertScaleAbs(self.texture, alpha=body_gain)
        self.lit_palette = [tuple(int(v) for v in np.clip(colour * body_gain, 0, 255))
                            for colour in self.palette.astype(np.float64)]


def _signed_pair(noise: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Noise as (positive part, negative part) for saturating add / subtract."""
    noise = np.rint(noise)
    return np.maximum(noise, 0).astype(dtype), np.maximum(-noise, 0).astype(dtype)


def _blocky(rng: np.random.Generator, height: int, width: int, block: int) -> np.ndarray:
    """Unit Gaussian noise in blocks of ``block`` pixels (depth noise is spatially correlated)."""
    small = rng.standard_normal((height // block + 1, width // block + 1))
    return np.repeat(np.repeat(small, block, 0), block, 1)[:height, :width]


def _hole_mask(rng: np.random.Generator, height: int, width: int, fraction: float) -> np.ndarray:
    """uint16 keep-mask (0xFFFF keep, 0 hole): random blobs plus the Kinect's left band."""
    block = max(1, width // 160)
    small = rng.random((height // block + 1, width // block + 1)) < fraction
    blobs = np.repeat(np.repeat(small.astype(np.uint8), block, 0), block, 1)[:height, :width]
    blobs = cv2.dilate(blobs, np.ones((2, 2), np.uint8)) if rng.random() < 0.5 else blobs
    keep = np.where(blobs > 0, 0, 0xFFFF).astype(np.uint16)
    keep[:, :max(1, round(_LEFT_BAND_640 * width / 640))] = 0
    return keep


def _room(room_rng: np.random.Generator, rng: np.random.Generator, user: User, camera: Camera,
          max_depth: int, difficulty: float) -> tuple[np.ndarray, np.ndarray]:
    """The user's room: cluttered textured colour (H, W, 3) RGB and depth (H, W) uint16 mm.

    ``room_rng`` is the user's (same room in all their sequences); ``rng``
    varies the wall distance a little per sequence.
    """
    height, width = camera.height, camera.width
    ppm = camera.pixels_per_metre(user.distance)
    wall_z = min(user.distance + room_rng.uniform(0.8, 1.5) + rng.uniform(-0.1, 0.1),
                 max_depth / 1000.0 - 0.15)
    wall = room_rng.uniform(70, 200) * (1.0 + room_rng.uniform(-0.12, 0.12, 3))
    colour = np.clip(wall[None, None, :] * (1.0 + 0.12 * _smooth_field(room_rng, height, width, 6)[..., None]),
                     0, 255)
    # Wall depth: a plane, slightly turned.
    cols = np.arange(width, dtype=np.float64)
    slope = room_rng.uniform(-0.25, 0.25)
    wall_depth = wall_z + slope * (cols - camera.cx) / camera.fx * wall_z
    depth = np.repeat(wall_depth[None, :], height, axis=0)
    # Floor: rows below the horizon see the floor nearer than the wall.
    rows = np.arange(height, dtype=np.float64)
    with np.errstate(divide="ignore"):
        floor_z = np.where(rows > camera.cy, camera.fy * user.camera_height / (rows - camera.cy), np.inf)
    floor_rows = floor_z[:, None] < depth
    depth = np.where(floor_rows, floor_z[:, None], depth)
    floor_colour = room_rng.uniform(50, 160) * (1.0 + room_rng.uniform(-0.15, 0.15, 3))
    planks = 1.0 + 0.08 * np.sin(rows / max(2.0, 0.04 * ppm))[:, None, None]
    colour = np.where(floor_rows[..., None], floor_colour[None, None, :] * planks, colour)
    colour = colour.astype(np.uint8)
    depth_mm = depth * 1000.0
    # Clutter: posters, shelves, doors, frames, a clock; some pieces of furniture stand nearer.
    for _ in range(int(room_rng.integers(6, 10) + 8 * difficulty)):
        x0, y0 = int(room_rng.integers(-width // 8, width)), int(room_rng.integers(-height // 8, height))
        w = int(room_rng.uniform(0.05, 0.35) * width)
        h = int(room_rng.uniform(0.05, 0.45) * height)
        fill = tuple(int(v) for v in room_rng.integers(0, 256, 3))
        shape = room_rng.choice(["rect", "rect", "frame", "shelf", "circle", "furniture"])
        if shape == "circle":
            cv2.circle(colour, (x0, y0), max(2, w // 4), fill, -1)
            cv2.circle(colour, (x0, y0), max(2, w // 4), (20, 20, 20), 1)
        elif shape == "frame":
            cv2.rectangle(colour, (x0, y0), (x0 + w, y0 + h), fill, max(1, width // 100))
        else:
            cv2.rectangle(colour, (x0, y0), (x0 + w, y0 + h), fill, -1)
            for _ in range(int(room_rng.integers(0, 6))):   # print on posters, books on shelves
                yy = y0 + int(room_rng.integers(0, max(1, h)))
                tone = tuple(int(v) for v in room_rng.integers(0, 256, 3))
                cv2.line(colour, (x0, yy), (x0 + w, yy), tone, max(1, int(room_rng.integers(1, 4))))
            if shape == "furniture":
                y_bottom = height + 10
                cv2.rectangle(colour, (x0, y0), (x0 + w, y_bottom), fill, -1)
                near = (wall_z - room_rng.uniform(0.3, 0.9)) * 1000.0
                region = depth_mm[max(0, y0):, max(0, x0):max(0, x0 + w)]
                np.minimum(region, near, out=region)
    depth_mm = np.clip(depth_mm, 0, max_depth - 1).astype(np.uint16)
    return colour, depth_mm


def render_frames(scene: Scene, motion: Motion):
    """Yield (colour RGB uint8, depth uint16 mm, mask bool) for every frame of the motion.

    Parts are drawn from far to near into the colour frame and, with one fixed
    id per part, into the label image; the label image gives the mask, the
    shirt texture's footprint and, through a depth lookup table refreshed per
    frame, the depth frame.
    """
    camera, user = scene.camera, scene.user
    h = user.height
    height, width = camera.height, camera.width
    pixels = camera.project(motion.points)                   # (N, P, 2)
    fixed = np.rint(pixels * _SCALE).astype(np.int32)
    z = motion.points[..., 2]                                 # (N, P) metres
    # Per part and frame: depth of its surface and its width in pixels.
    part_z = np.stack([np.mean([z[:, J[p]] for p in points], axis=0) - offset * h
                       for _, _, points, _, offset, _ in _PARTS], axis=1)
    part_width = np.maximum(1, np.rint(np.stack(
        [camera.fx * w * h / part_z[:, i] for i, (_, _, _, w, _, _) in enumerate(_PARTS)],
        axis=1))).astype(np.int64).tolist()
    order = np.argsort(-part_z, axis=1, kind="stable").tolist()    # far to near
    kinds = [kind for *_, kind in _PARTS]
    if user.sleeves == "short":
        for i, part in enumerate(_PARTS):
            if part[0].startswith("forearm"):
                kinds[i] = SKIN
    # Fixed label ids: one per part, three per hand (skin, shade, outline), in _PARTS order.
    first_id, ids_kinds = [], []
    for i, part in enumerate(_PARTS):
        first_id.append(len(ids_kinds) + 1)
        ids_kinds += [kinds[i], SKIN_SHADE, OUTLINE] if part[1] == "hand" else [kinds[i]]
    id_part = np.repeat(np.arange(len(_PARTS)), [3 if p[1] == "hand" else 1 for p in _PARTS])
    id_mm = np.clip(np.rint(part_z[:, id_part] * 1000.0), 1, 65534).astype(np.uint16)
    depth_lut = np.zeros((1, 256), np.uint16)
    shirt_lut = np.zeros((1, 256), np.uint8)
    shirt_lut[0, 1:len(ids_kinds) + 1] = [255 if k == SHIRT else 0 for k in ids_kinds]
    hand_px = (camera.fx * HAND_LENGTH * h / z[:, [J["HandRight"], J["HandLeft"]]]).tolist()
    hand_shape, hand_angle = motion.hand_shape.tolist(), motion.hand_angle.tolist()
    head_axes = np.stack([camera.fx * 0.05 * h / z[:, J["Head"]], camera.fx * 0.066 * h / z[:, J["Head"]]],
                         axis=1)
    head_axes = np.rint(np.stack([head_axes, head_axes * np.array([1.12, 1.02])], axis=1) * _SCALE
                        ).astype(np.int64)                      # (N, head/hair, 2)
    neck = pixels[:, J["Head"]] - pixels[:, J["ShoulderCenter"]]
    head_tilt = np.degrees(np.arctan2(neck[:, 1], neck[:, 0])) + 90.0
    torso_centre = pixels[:, J["Spine"]]
    texture_shift = np.rint(torso_centre - torso_centre.mean(axis=0)).astype(np.int64).tolist()
    margin, s = scene.margin, scene.shadow
    label = np.zeros((height, width), np.uint8)
    # What each part draws, resolved once: (type, label id, kind, point indices, extra).
    plan = []
    for i, (name, kind_type, points, _, _, _) in enumerate(_PARTS):
        indices = [J[p] for p in points]
        extra = None
        if kind_type == "hand":
            extra = (0, 1.0) if name.endswith("_r") else (1, -1.0)
        elif kind_type in ("head", "hair"):
            extra = 0 if kind_type == "head" else 1
        plan.append((kind_type, first_id[i], kinds[i], indices, extra))

    shadow = np.zeros((height, width), np.uint8)
    no_depth = np.zeros((height, width), np.uint16)
    pool_choice = scene.pool_choice.tolist()

    for t in range(len(motion.points)):
        scene.light(t)
        palette = scene.lit_palette
        colour = scene.lit_background.copy()
        label.fill(0)
        point = fixed[t].tolist()
        depth_lut[0, 1:len(ids_kinds) + 1] = id_mm[t]
        for part in order[t]:
            kind_type, part_id, kind, indices, extra = plan[part]
            if kind_type == "line":
                a, b, thickness = point[indices[0]], point[indices[1]], part_width[t][part]
                cv2.line(label, a, b, part_id, thickness, cv2.LINE_8, SHIFT)
                cv2.line(colour, a, b, palette[kind], thickness, cv2.LINE_8, SHIFT)
            elif kind_type == "poly":
                corners = fixed[t, indices]
                cv2.fillConvexPoly(label, corners, part_id, cv2.LINE_8, SHIFT)
                cv2.fillConvexPoly(colour, corners, palette[kind], cv2.LINE_8, SHIFT)
            elif kind_type == "hand":
                slot, side = extra
                draw_hand([(label, part_id + 2, (part_id, part_id + 1)),
                           (colour, palette[OUTLINE], (palette[SKIN], palette[SKIN_SHADE]))],
                          SHAPE_NAMES[hand_shape[t][slot]], pixels[t, indices[0]],
                          hand_px[t][slot], hand_angle[t][slot], side)
            else:  # head or hair ellipse
                centre, axes, tilt = point[indices[0]], head_axes[t, extra].tolist(), float(head_tilt[t])
                cv2.ellipse(label, centre, axes, tilt, 0, 360, part_id, -1, cv2.LINE_8, SHIFT)
                cv2.ellipse(colour, centre, axes, tilt, 0, 360, palette[kind], -1, cv2.LINE_8, SHIFT)
        # The shirt texture, moving with the body, where the shirt is visible.
        dx, dy = texture_shift[t]
        oy, ox = min(max(margin - dy, 0), 2 * margin), min(max(margin - dx, 0), 2 * margin)
        colour = cv2.copyTo(scene.lit_texture[oy:oy + height, ox:ox + width], cv2.LUT(label, shirt_lut),
                            colour)
        noise_index, depth_index = pool_choice[t]
        positive, negative = scene.gray_noise[noise_index]
        cv2.add(colour, positive, dst=colour)
        cv2.subtract(colour, negative, dst=colour)
        # Depth: noisy body surfaces over the noisy room with its holes and the body's IR shadow.
        mask = cv2.compare(label, 0, cv2.CMP_GT)
        positive, negative = scene.depth_noise[depth_index]
        body_depth = cv2.subtract(cv2.add(cv2.LUT(label, depth_lut), positive), negative)
        shadow[:, :-s] = cv2.bitwise_and(mask[:, s:], cv2.bitwise_not(mask[:, :-s]))
        room = cv2.copyTo(no_depth, shadow, scene.room_depth.copy())
        depth = cv2.copyTo(body_depth, mask, room)
        yield colour, depth, mask > 0
