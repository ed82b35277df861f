"""The Kinect-like pinhole camera that ties skeleton world coordinates to image pixels.

World frame as in the Kinect skeleton files: metres, x to the right of the
image, y up, z away from the camera. The real sensor has a focal length of
about 525 pixels at 640x480; smaller frames scale it, so one skeleton projects
consistently onto any frame size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Focal length of the Kinect at 640x480, in pixels.
KINECT_FOCAL_640 = 525.0


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics; pixel (0, 0) is the centre of the top-left pixel."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def kinect(cls, width: int, height: int) -> "Camera":
        """The Kinect camera scaled to a ``width`` x ``height`` frame."""
        focal = KINECT_FOCAL_640 * width / 640.0
        return cls(width, height, focal, focal, (width - 1) / 2.0, (height - 1) / 2.0)

    def project(self, world: np.ndarray) -> np.ndarray:
        """Pixel coordinates (..., 2) as (column, row) of world points (..., 3)."""
        world = np.asarray(world, dtype=np.float64)
        z = world[..., 2]
        u = self.cx + self.fx * world[..., 0] / z
        v = self.cy - self.fy * world[..., 1] / z
        return np.stack([u, v], axis=-1)

    def pixels_per_metre(self, depth: np.ndarray | float) -> np.ndarray | float:
        """How many pixels one metre spans at distance ``depth`` (metres)."""
        return self.fx / np.asarray(depth)
