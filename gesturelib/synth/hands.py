"""Hand shapes: 2-D silhouettes of palm and fingers, drawn thick enough to survive a 32x32 hand crop.

Coordinates are in units of hand length (wrist to middle fingertip), origin at
the palm centre (the Kinect hand joint), +y along the fingers, +x toward the
little finger of a right hand seen palm-forward (the thumb is at -x, toward the
body's midline). Real fingers are ~0.1 hand lengths wide; they are drawn wider
so that a hand crop of the size used by Pigou et al. (half the person's height)
still separates the shapes at 320x240.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

FINGER = 0.14      # drawn finger width, hand lengths
SHIFT = 3          # cv2 sub-pixel bits: coordinates are multiplied by 2**SHIFT
_SCALE = 1 << SHIFT

_PALM = ("ellipse", (0.0, 0.02), (0.23, 0.25), 0.0)
_FIST = ("ellipse", (0.0, 0.06), (0.25, 0.29), 0.0)
_KNUCKLES = ("stroke", [(-0.15, 0.27), (0.15, 0.25)], 0.16)
_THUMB_ACROSS = ("stroke", [(-0.24, -0.06), (-0.04, 0.12)], FINGER)

#: name -> primitives: ("ellipse", centre, semi-axes, angle_deg) filled,
#: ("stroke", points, width) a thick polyline, ("ring", centre, radius, width) hollow.
SHAPES: dict[str, tuple] = {
    "open": (
        _PALM,
        ("stroke", [(-0.14, 0.2), (-0.26, 0.64)], FINGER),
        ("stroke", [(-0.04, 0.22), (-0.05, 0.72)], FINGER),
        ("stroke", [(0.06, 0.21), (0.15, 0.66)], FINGER),
        ("stroke", [(0.15, 0.14), (0.33, 0.50)], FINGER),
        ("stroke", [(-0.21, -0.08), (-0.52, 0.20)], FINGER),
    ),
    "flat": (
        _PALM,
        ("stroke", [(-0.13, 0.2), (-0.13, 0.66)], FINGER),
        ("stroke", [(-0.04, 0.2), (-0.04, 0.73)], FINGER),
        ("stroke", [(0.05, 0.2), (0.05, 0.69)], FINGER),
        ("stroke", [(0.14, 0.16), (0.14, 0.58)], FINGER),
        ("stroke", [(-0.22, -0.08), (-0.26, 0.28)], FINGER),
    ),
    "fist": (_FIST, _KNUCKLES, _THUMB_ACROSS),
    "point": (_FIST, _KNUCKLES, _THUMB_ACROSS,
              ("stroke", [(-0.11, 0.22), (-0.11, 0.78)], FINGER)),
    "pinch": (_FIST, _KNUCKLES,
              ("stroke", [(-0.12, 0.26), (-0.26, 0.6), (-0.42, 0.66)], FINGER),
              ("stroke", [(-0.24, -0.02), (-0.46, 0.3), (-0.42, 0.66)], FINGER)),
    "ring": (
        _PALM,
        ("ring", (-0.27, 0.36), 0.19, 0.08),
        ("stroke", [(-0.02, 0.22), (0.0, 0.72)], FINGER),
        ("stroke", [(0.08, 0.2), (0.15, 0.66)], FINGER),
        ("stroke", [(0.16, 0.13), (0.3, 0.52)], FINGER),
    ),
    "bunched": (
        _PALM,
        ("stroke", [(-0.19, 0.08), (-0.06, 0.62)], FINGER),
        ("stroke", [(-0.1, 0.2), (-0.03, 0.68)], FINGER),
        ("stroke", [(0.0, 0.22), (0.0, 0.7)], FINGER),
        ("stroke", [(0.1, 0.2), (0.03, 0.66)], FINGER),
        ("stroke", [(0.18, 0.12), (0.06, 0.6)], FINGER),
    ),
    "cupped": (
        ("ellipse", (0.0, -0.02), (0.2, 0.14), 0.0),
        ("stroke", [(-0.42, 0.3), (-0.36, 0.06), (-0.18, -0.1), (0.0, -0.13),
                    (0.18, -0.1), (0.36, 0.06), (0.42, 0.3)], 0.15),
    ),
    "relaxed": (
        _PALM,
        ("stroke", [(-0.12, 0.2), (-0.14, 0.5)], FINGER),
        ("stroke", [(-0.03, 0.21), (-0.04, 0.55)], FINGER),
        ("stroke", [(0.06, 0.2), (0.06, 0.52)], FINGER),
        ("stroke", [(0.14, 0.15), (0.15, 0.44)], FINGER),
        ("stroke", [(-0.21, -0.05), (-0.3, 0.16)], FINGER),
    ),
}
SHAPE_NAMES: tuple[str, ...] = tuple(SHAPES)
SHAPE_INDEX = {name: i for i, name in enumerate(SHAPE_NAMES)}


class _Geometry:
    """A shape's primitives flattened for fast drawing: one point array, strokes grouped by width.

    ``passes`` holds two lists (outline, fill) of drawing operations, each
    ending with (is outline, value slot): ("ellipse", point index, semi-axes,
    rotation, ...), ("strokes", [(start, end), ...], width, ...) or ("ring",
    point index, radius, width, ...); value slots 0/1 are the two fill values,
    2 the outline value.
    """

    def __init__(self, primitives: tuple):
        points, ellipses, rings, strokes = [], [], [], []
        for number, primitive in enumerate(primitives):
            parity = number % 2
            if primitive[0] == "ellipse":
                _, centre, axes, rot = primitive
                ellipses.append((len(points), axes, rot, parity))
                points.append(centre)
            elif primitive[0] == "ring":
                _, centre, radius, width = primitive
                rings.append((len(points), radius, width, parity))
                points.append(centre)
            else:
                _, line, width = primitive
                strokes.append((len(points), len(points) + len(line), width, parity))
                points.extend(line)
        self.points = np.asarray(points, dtype=np.float64)
        self.passes = []
        for outline in (True, False):
            ops = [("ellipse", i, axes, rot, outline, 2 if outline else parity)
                   for i, axes, rot, parity in ellipses]
            for width in sorted({w for *_, w, _ in strokes}):
                groups = [None] if outline else [0, 1]
                for group in groups:
                    spans = [(a, b) for a, b, w, p in strokes if w == width and group in (None, p)]
                    if spans:
                        ops.append(("strokes", spans, width, outline, 2 if outline else group))
            ops += [("ring", i, radius, width, outline, 2 if outline else parity)
                    for i, radius, width, parity in rings]
            self.passes.append(ops)


_GEOMETRY = {name: _Geometry(primitives) for name, primitives in SHAPES.items()}


def draw_hand(targets, shape: str, centre, length_px: float, angle_deg: float, side: float) -> None:
    """Draw a hand: a dark outline pass, then the skin, into every target image.

    ``targets`` is a list of (image, outline value, (fill value, alternate fill
    value)); fills alternate between neighbouring primitives so that fingers
    lying side by side stay distinguishable.
    """
    geometry = _GEOMETRY[shape]
    a = math.radians(angle_deg)
    sin_a, cos_a = math.sin(a), math.cos(a)
    # Rows: image (column, row) directions of the hand's +x and +y axes; ``angle_deg`` turns the
    # fingers from "up" toward the hand's outer side, ``side`` -1 mirrors (a left hand).
    to_image = np.array([[side * cos_a, sin_a], [side * sin_a, -cos_a]]) * length_px
    fixed = np.rint((geometry.points @ to_image + centre) * _SCALE).astype(np.int32)
    points = fixed.tolist()
    border = max(1, round(0.05 * length_px))
    x_axis_angle = math.degrees(math.atan2(sin_a, side * cos_a))
    for ops in geometry.passes:
        for image, outline_value, (fill, alternate) in targets:
            values = (fill, alternate, outline_value)
            for op in ops:
                grow = border if op[-2] else 0
                value = values[op[-1]]
                if op[0] == "ellipse":
                    _, index, (ax, ay), rot, _, _ = op
                    cv2.ellipse(image, points[index],
                                (int((ax * length_px + grow) * _SCALE), int((ay * length_px + grow) * _SCALE)),
                                x_axis_angle - side * rot, 0, 360, value, -1, cv2.LINE_8, SHIFT)
                elif op[0] == "strokes":
                    _, spans, width, _, _ = op
                    cv2.polylines(image, [fixed[i:j] for i, j in spans], False, value,
                                  max(1, round(width * length_px)) + 2 * grow, cv2.LINE_8, SHIFT)
                else:
                    _, index, radius, width, _, _ = op
                    cv2.circle(image, points[index], int(radius * length_px * _SCALE), value,
                               max(1, round(width * length_px)) + 2 * grow, cv2.LINE_8, SHIFT)
