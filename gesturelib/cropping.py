"""Gesture clips: skeleton-guided crops of the upper body and the highest hand.

This is where every model gets its input. One labelled gesture of a sequence
becomes one clip tensor, uint8 of shape ``(streams=2 [body, hand],
channels=2 [gray, depth], T, H, W)``, following Pigou et al. (2014), whose
recipe the poster's line of work uses:

* the *highest hand* is the hand whose mean pixel y over the gesture is
  smaller (image y grows downwards); when it is the left hand every frame is
  mirrored, so left-handed users look right-handed and the models see one
  handedness only;
* the *person height* ``h`` is the mean pixel distance HipCenter-Head over the
  gesture, so crop sizes follow how large the user appears (near or far,
  tall or short);
* the *body crop* is one square per clip, side ``body_side * h``, centred on
  the mean hip x, its bottom edge at ``body_bottom`` times the mean hip y;
* the *hand crop* is a square of side ``hand_side * h`` that follows the
  (smoothed) highest hand frame by frame;
* both are shifted to stay inside the frame, cut from the gray video and from
  the depth video, and resized with ``cv2.INTER_AREA`` (the area average
  avoids the aliasing of nearest/bilinear when shrinking 5-10x);
* depth keeps the user only (the user mask removes the background), is
  inverted so near is bright, and is stretched per clip over the user's
  depth range.

Skeleton frames where the user was not tracked (rows of zeros) are filled by
linear interpolation from tracked neighbours before any of this.

Every number of the recipe is a field of :class:`ClipSettings`; the two input
presets (``course`` and ``paper``) differ only in those numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from .chalearn import JOINT_INDEX, JOINTS, PIXEL, WORLD

#: Names of the two streams and the two channels, in tensor order.
STREAMS: tuple[str, str] = ("body", "hand")
CHANNELS: tuple[str, str] = ("gray", "depth")
#: Modalities :meth:`chalearn.Sample.read_frames` must deliver for a clip.
MODALITIES: tuple[str, str, str] = ("gray", "depth", "mask")
SAMPLINGS: tuple[str, str] = ("even", "centre")

_HIP = JOINT_INDEX["HipCenter"]
_HEAD = JOINT_INDEX["Head"]
_HAND_LEFT = JOINT_INDEX["HandLeft"]
_HAND_RIGHT = JOINT_INDEX["HandRight"]
#: Joint order after a left/right swap: mirroring turns a left hand into a right one.
_MIRRORED_JOINTS = np.array([
    JOINT_INDEX[name.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right")]
    for name in JOINTS
])


@dataclass(frozen=True)
class ClipSettings:
    """Every number of the clip recipe. Changing any field changes the clip cache key."""

    name: str = "course"
    """Label of the preset these settings came from (names the cache folder)."""
    frames: int = 16
    """T, frames per fixed-length clip."""
    size: int = 32
    """H = W of each crop after resizing, in pixels."""
    sampling: str = "even"
    """How T frames are taken from a gesture of L frames (1-based ``start..end``).
    ``"even"``: T indices evenly spaced from the first to the last gesture frame,
    rounded to the nearest frame (frames repeat when L < T): the whole gesture,
    time-normalised. ``"centre"`` (Pigou's choice): the T consecutive frames
    centred on the gesture middle when L >= T, else the ``"even"`` indices, so a
    clip never holds frames from outside its gesture."""
    body_side: float = 1.3
    """Side of the body square, in units of the person height h."""
    body_bottom: float = 1.1
    """Bottom edge of the body square = ``body_bottom`` x (mean hip pixel y), with
    y measured from the top edge of the frame (our reading of Pigou's "bottom at
    1.1 hip y"): the crop ends a little below the hips, so it holds the head,
    torso and arms."""
    hand_side: float = 0.5
    """Side of the hand square, in units of the person height h."""
    hand_smoothing: int = 1
    """Window (frames, odd) of the centred moving average applied to the hand
    position before centring the hand crop on it; 1 disables it. Smoothing
    steadies the crop against skeleton jitter but trails fast flicks: with 5
    frames the hand joint left its crop in 1.3 % of the embedded clips' frames
    (up to 1.2 half-sides off centre for vattene, vieniqui, sonostufo), with 1
    in none, so the default follows the hand frame by frame."""
    depth_percentiles: tuple[float, float] = (1.0, 99.0)
    """Percentiles of the user's depth over the clip (both crops, all its frames,
    measured on the resized crops) taken as nearest and farthest: robust to the
    few background pixels a user mask always leaks at its edges."""
    depth_floor: int = 64
    """Value given to the farthest user depth; the nearest gets 255, background
    (and depth holes) 0. Keeps the silhouette visible where the user is at the
    far end of the clip's range (the torso, typically)."""

    def __post_init__(self) -> None:
        problems = []
        if self.frames < 1:
            problems.append(f"frames={self.frames} must be >= 1")
        if self.size < 2:
            problems.append(f"size={self.size} must be >= 2")
        if self.sampling not in SAMPLINGS:
            problems.append(f"sampling={self.sampling!r} must be one of {SAMPLINGS}")
        for field in ("body_side", "body_bottom", "hand_side"):
            if not getattr(self, field) > 0:
                problems.append(f"{field}={getattr(self, field)} must be > 0")
        if self.hand_smoothing < 1 or self.hand_smoothing % 2 == 0:
            problems.append(f"hand_smoothing={self.hand_smoothing} must be an odd number >= 1")
        low, high = self.depth_percentiles
        if not 0 <= low < high <= 100:
            problems.append(f"depth_percentiles={self.depth_percentiles} must satisfy 0 <= low < high <= 100")
        if not 0 <= self.depth_floor < 255:
            problems.append(f"depth_floor={self.depth_floor} must be in 0..254")
        if problems:
            raise ValueError("invalid ClipSettings: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values (what the cache key hashes)."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items()}


#: The two input presets: same recipe, different numbers. ``course`` runs on a
#: CPU; ``paper`` is Pigou's input size (and his centred temporal window).
PRESETS: dict[str, ClipSettings] = {
    "course": ClipSettings(name="course", frames=16, size=32, sampling="even"),
    "paper": ClipSettings(name="paper", frames=32, size=64, sampling="centre"),
}


def settings_for(preset: str | ClipSettings) -> ClipSettings:
    """The :class:`ClipSettings` of a preset name (a ClipSettings passes through)."""
    if isinstance(preset, ClipSettings):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown clip preset {preset!r}; known presets: {sorted(PRESETS)}") from None


class ClipError(ValueError):
    """A gesture that cannot be turned into a clip; the message names sequence and gesture."""

    def __init__(self, message: str, gesture: tuple[int, int, int] | None = None):
        super().__init__(message)
        self.gesture = gesture
        """(gesture_id, start, end) of the gesture concerned."""


class UntrackedGestureError(ClipError):
    """Every skeleton frame of a gesture is untracked, so there is nothing to crop around."""


@dataclass(frozen=True)
class CropGeometry:
    """Where a clip's crops lie, frame by frame, in the (possibly mirrored) frame.

    Boxes are integer ``(x0, y0, x1, y1)`` rows, ``x1``/``y1`` exclusive, in the
    coordinates of the frame *as the crops see it*: mirrored when ``mirrored``
    (use :meth:`view` to get that frame for a figure).
    """

    sequence: str
    gesture: tuple[int, int, int]
    frame_size: tuple[int, int]
    """(width, height) of the video."""
    frames: np.ndarray
    """(K,) 1-based frame numbers of the clip, in clip order (may repeat)."""
    mirrored: bool
    """True when the highest hand is the left one and every frame is flipped."""
    person_height: float
    """h, the mean HipCenter-Head pixel distance over the gesture."""
    body: np.ndarray
    """(K, 4) body box per clip frame (the same box in every row)."""
    hand: np.ndarray
    """(K, 4) hand box per clip frame."""
    joints: np.ndarray
    """(K, 20, 2) pixel positions of the joints (untracked frames filled, mirrored)."""

    def view(self, frame: np.ndarray) -> np.ndarray:
        """A full video frame as the crops see it (flipped left-right when mirrored)."""
        return frame[:, ::-1] if self.mirrored else frame


@dataclass(frozen=True)
class GestureClip:
    """One extracted clip and the gesture it came from."""

    clip: np.ndarray
    """uint8 (2 [body, hand], 2 [gray, depth], K, size, size)."""
    gesture_id: int
    start: int
    end: int
    mirrored: bool
    frames: np.ndarray
    """(K,) 1-based frame numbers the clip's frames were cut from."""


def tracked_frames(skeleton: np.ndarray) -> np.ndarray:
    """Bool (N,): frames where the user is tracked (any non-zero value in the row)."""
    return np.any(skeleton.reshape(len(skeleton), -1) != 0, axis=1)


def fill_untracked(skeleton: np.ndarray) -> np.ndarray:
    """Skeleton with untracked (all-zero) frames filled from tracked neighbours.

    Each value is interpolated linearly in time between the nearest tracked
    frames before and after; frames before the first (after the last) tracked
    frame copy it. With no tracked frame at all the skeleton comes back as is.
    """
    skeleton = np.asarray(skeleton, dtype=np.float32)
    tracked = tracked_frames(skeleton)
    if tracked.all() or not tracked.any():
        return skeleton.copy()
    known = np.flatnonzero(tracked)
    everywhere = np.arange(len(skeleton))
    flat = skeleton.reshape(len(skeleton), -1)
    # np.interp holds the end values outside the known range: exactly the
    # "copy the nearest tracked frame" rule for leading and trailing gaps.
    filled = np.stack([np.interp(everywhere, known, flat[known, column])
                       for column in range(flat.shape[1])], axis=1)
    return filled.astype(np.float32).reshape(skeleton.shape)


def mirror_skeleton(skeleton: np.ndarray, width: int) -> np.ndarray:
    """The skeleton of the left-right mirrored frame.

    Pixel x becomes ``width - 1 - x`` and world x its negative, and left and
    right joints swap names, so a raised left hand becomes a raised right
    hand. Orientation quaternions are left as they are (nothing here reads them).
    """
    mirrored = np.array(skeleton, dtype=np.float32)[:, _MIRRORED_JOINTS]
    mirrored[..., PIXEL.start] = (width - 1) - mirrored[..., PIXEL.start]
    mirrored[..., WORLD.start] = -mirrored[..., WORLD.start]
    return mirrored


def highest_hand(skeleton: np.ndarray, gesture: Sequence[int]) -> str:
    """``"left"`` or ``"right"``: the hand with the smaller mean pixel y over the gesture.

    ``skeleton`` should have its untracked frames filled (:func:`fill_untracked`);
    a tie goes to the right hand.
    """
    _, start, end = gesture
    pixels = np.asarray(skeleton)[start - 1:end, :, PIXEL]
    left_y = pixels[:, _HAND_LEFT, 1].mean()
    right_y = pixels[:, _HAND_RIGHT, 1].mean()
    return "left" if left_y < right_y else "right"


def sample_frames(start: int, end: int, num_frames: int | None, sampling: str = "even") -> np.ndarray:
    """1-based frame numbers of a clip over the gesture ``start..end`` (inclusive).

    ``num_frames=None`` gives every frame of the gesture (the variable-length
    form); otherwise see :attr:`ClipSettings.sampling`.
    """
    if end < start:
        raise ValueError(f"gesture end {end} is before its start {start}")
    if num_frames is None:
        return np.arange(start, end + 1)
    length = end - start + 1
    if sampling == "centre" and length >= num_frames:
        first = start + (length - num_frames) // 2
        return np.arange(first, first + num_frames)
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling={sampling!r} must be one of {SAMPLINGS}")
    return _round(np.linspace(start, end, num_frames))


def _round(values: np.ndarray | float) -> np.ndarray:
    """Round half up (np.rint rounds half to even, which makes boxes jump oddly)."""
    return np.floor(np.asarray(values, dtype=np.float64) + 0.5).astype(np.int64)


def _moving_average(track: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over axis 0 with edge values repeated (window odd)."""
    if window <= 1 or len(track) == 1:
        return track
    half = window // 2
    padded = np.pad(track, ((half, half), (0, 0)), mode="edge")
    cumulative = np.cumsum(np.concatenate([np.zeros((1, track.shape[1])), padded]), axis=0)
    return (cumulative[window:] - cumulative[:-window]) / window


def person_height(pixels: np.ndarray) -> float:
    """h, the unit of every crop size: the mean HipCenter-Head distance over the frames of
    ``pixels``, pixel joint positions of shape (frames, 20, 2)."""
    return float(np.linalg.norm(pixels[:, _HEAD] - pixels[:, _HIP], axis=1).mean())


def crop_sides(height_px: float, settings: ClipSettings, frame_size: tuple[int, int]) -> tuple[int, int]:
    """Sides in pixels of the body and the hand square for a person ``height_px`` pixels tall,
    at most the frame's ``(width, height)``."""
    width, height = frame_size
    return (min(int(_round(settings.body_side * height_px)), width, height),
            min(int(_round(settings.hand_side * height_px)), width, height))


def square_boxes(centre_x: np.ndarray, top: np.ndarray, side: int, width: int, height: int) -> np.ndarray:
    """(K, 4) squares of ``side`` with the given centre x and top y, shifted into the frame."""
    x0 = np.clip(_round(np.asarray(centre_x) - side / 2), 0, width - side)
    y0 = np.clip(_round(top), 0, height - side)
    return np.stack([x0, y0, x0 + side, y0 + side], axis=-1).astype(np.int64)


def crop_boxes(skeleton: np.ndarray, gesture: Sequence[int], frame_size: tuple[int, int],
               settings: ClipSettings, variable_length: bool = False,
               sequence_name: str = "sequence") -> CropGeometry:
    """Where the body and hand crops of one gesture lie, frame by frame.

    ``skeleton`` is the whole sequence's (N, 20, 9) array as read from the file
    (untracked frames all zero); ``gesture`` is ``(gesture_id, start, end)``,
    1-based and end inclusive; ``frame_size`` is ``(width, height)``.
    Raises :class:`UntrackedGestureError` when no frame of the gesture is
    tracked, :class:`ClipError` when the gesture lies outside the sequence.
    """
    gesture_id, start, end = (int(value) for value in gesture)
    label = f"{sequence_name}: gesture {gesture_id} (frames {start}-{end})"
    skeleton = np.asarray(skeleton, dtype=np.float32)
    if not 1 <= start <= end <= len(skeleton):
        raise ClipError(f"{label} lies outside the sequence's {len(skeleton)} skeleton frames",
                        (gesture_id, start, end))
    tracked = tracked_frames(skeleton)
    if not tracked[start - 1:end].any():
        raise UntrackedGestureError(f"{label}: the user is untracked in every frame of the gesture",
                                    (gesture_id, start, end))
    # The gesture's frames plus the nearest tracked frame on each side fill in
    # exactly as the whole sequence would (and 30x faster than filling it all).
    before, after = np.flatnonzero(tracked[:start - 1]), np.flatnonzero(tracked[end:])
    first = before[-1] if len(before) else start - 1
    stop = end + after[0] + 1 if len(after) else end
    during_skeleton = fill_untracked(skeleton[first:stop])[start - 1 - first:end - first]
    width, height = frame_size
    mirrored = highest_hand(during_skeleton, (gesture_id, 1, end - start + 1)) == "left"
    if mirrored:
        during_skeleton = mirror_skeleton(during_skeleton, width)
    during = during_skeleton[:, :, PIXEL].astype(np.float64)  # (gesture frames, 20, 2)

    h = person_height(during)
    body_side, hand_side = crop_sides(h, settings, frame_size)
    if min(body_side, hand_side) < 2:
        raise ClipError(f"{label}: person height {h:.1f} px is too small to crop "
                        f"(HipCenter and Head coincide?)", (gesture_id, start, end))

    frames = sample_frames(start, end, None if variable_length else settings.frames, settings.sampling)
    hip_x, hip_y = during[:, _HIP].mean(axis=0)
    body_top = settings.body_bottom * hip_y - body_side
    body = square_boxes(np.full(len(frames), hip_x), np.full(len(frames), body_top),
                        body_side, width, height)
    # After mirroring, the highest hand is always the right one.
    hand_track = _moving_average(during[:, _HAND_RIGHT], settings.hand_smoothing)[frames - start]
    hand = square_boxes(hand_track[:, 0], hand_track[:, 1] - hand_side / 2, hand_side, width, height)
    return CropGeometry(sequence=sequence_name, gesture=(gesture_id, start, end), frame_size=(width, height),
                        frames=frames, mirrored=mirrored, person_height=h,
                        body=body, hand=hand, joints=during[frames - start].astype(np.float32))


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


class _ClipCanvas:
    """The resized crops of one clip, filled frame by frame, then finished into the uint8 clip.

    Gray and depth can arrive in separate decoding passes: :meth:`windows`
    says where to cut, :meth:`add_gray` and :meth:`add_depth` take the cut
    windows. Depth is resized before it is normalised, which is cheaper
    (32x32 instead of ~260x260 pixels per frame) and gives the same image: the
    area average of "user depth mapped linearly, background 0" equals the user
    coverage of the output pixel times the mapped mean user depth. The clip's
    depth range (:attr:`ClipSettings.depth_percentiles`) is measured on those
    output pixels, over both crops and all frames.
    """

    def __init__(self, geometry: CropGeometry, settings: ClipSettings):
        self.geometry, self.settings = geometry, settings
        shape = (2, len(geometry.frames), settings.size, settings.size)
        self.gray = np.empty(shape, np.uint8)
        self.coverage = np.empty(shape, np.float32)  # fraction of the pixel on the user
        self.user_depth = np.empty(shape, np.float32)  # mean depth of that part, mm
        width = geometry.frame_size[0]
        self._windows = []
        for body, hand in zip(geometry.body.tolist(), geometry.hand.tolist()):
            pair = []
            for x0, y0, x1, y1 in (body, hand):
                if geometry.mirrored:  # boxes are in mirrored coordinates; flip after resizing
                    x0, x1 = width - x1, width - x0
                pair.append((slice(y0, y1), slice(x0, x1)))
            self._windows.append(pair)

    def windows(self, k: int) -> list[tuple[slice, slice]]:
        """(rows, columns) of the body and the hand crop of clip frame ``k`` in the unmirrored frame."""
        return self._windows[k]

    def add_gray(self, k: int, gray: list[np.ndarray]) -> None:
        """Clip frame ``k`` from its body and hand windows of the uint8 gray frame."""
        for stream, window in enumerate(gray):
            self.gray[stream, k] = gray_crop(window, self.settings.size)

    def add_depth(self, k: int, depth: list[np.ndarray], mask: list[np.ndarray]) -> None:
        """Clip frame ``k`` from its windows of the depth (mm) and user-mask frames."""
        for stream, (depth_window, mask_window) in enumerate(zip(depth, mask)):
            self.coverage[stream, k], self.user_depth[stream, k] = depth_crop(depth_window, mask_window,
                                                                              self.settings.size)

    def add(self, k: int, frame: dict[str, np.ndarray]) -> None:
        """Clip frame ``k`` from one decoded frame (``"gray"``, ``"depth"`` mm, ``"mask"``)."""
        windows = self.windows(k)
        self.add_gray(k, [frame["gray"][window] for window in windows])
        self.add_depth(k, [frame["depth"][window] for window in windows],
                       [frame["mask"][window] for window in windows])

    def finish(self) -> np.ndarray:
        """uint8 (2 [body, hand], 2 [gray, depth], K, size, size), depth normalised over the clip."""
        return finish_clip(self.gray, self.coverage, self.user_depth, self.geometry.mirrored, self.settings)


def gray_crop(window: np.ndarray, size: int) -> np.ndarray:
    """A window of the uint8 gray frame resized to ``size`` x ``size`` (area average), uint8."""
    return np.rint(_resize(window.astype(np.float32), size)).astype(np.uint8)


def depth_crop(depth_window: np.ndarray, mask_window: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A window of the depth (mm) and user-mask frames resized to ``size`` x ``size``: the fraction of
    each output pixel on the user, and the mean depth of that part (mm), both float32."""
    depth_mm = depth_window.astype(np.float32)
    user = (mask_window & (depth_mm > 0)).astype(np.float32)  # 0 mm: no reading
    small = _resize(cv2.merge([user, depth_mm * user]), size)
    return small[..., 0], small[..., 1] / np.maximum(small[..., 0], 1e-6)


def finish_clip(gray: np.ndarray, coverage: np.ndarray, user_depth: np.ndarray, mirrored: bool,
                settings: ClipSettings) -> np.ndarray:
    """The uint8 clip (2 [body, hand], 2 [gray, depth], K, size, size) from its resized crops, each
    (2, K, size, size): flipped left-right when ``mirrored``, depth mapped over the clip's range
    (see :class:`_ClipCanvas`)."""
    if mirrored:
        gray, coverage, user_depth = gray[..., ::-1], coverage[..., ::-1], user_depth[..., ::-1]
    on_user = coverage > 0
    if on_user.any():
        near, far = np.percentile(user_depth[on_user], settings.depth_percentiles)
    else:  # no user pixel in any crop: the depth channel stays empty
        near = far = 0.0
    floor = settings.depth_floor
    mapped = floor + (far - user_depth) * ((255 - floor) / max(far - near, 1.0))
    depth_image = np.rint(np.clip(mapped, floor, 255) * coverage).astype(np.uint8)
    return np.ascontiguousarray(np.stack([gray, depth_image], axis=1))


def render_clip(geometry: CropGeometry, frames: dict[str, np.ndarray], settings: ClipSettings) -> np.ndarray:
    """Cut, clean and resize the crops of ``geometry`` from decoded frames.

    ``frames`` is what :meth:`chalearn.Sample.read_frames` returns for (at
    least) ``geometry.frames``: key ``"frames"`` (sorted 1-based numbers) and
    stacked ``"gray"`` uint8, ``"depth"`` uint16 mm and ``"mask"`` bool arrays.
    Returns uint8 (2 [body, hand], 2 [gray, depth], K, size, size); see
    :class:`_ClipCanvas` for how depth is cleaned and normalised.
    """
    available = np.asarray(frames["frames"])
    rows = np.minimum(np.searchsorted(available, geometry.frames), len(available) - 1)
    missing = geometry.frames[available[rows] != geometry.frames]
    if len(missing):
        raise ValueError(f"{geometry.sequence}: frames {missing.tolist()} were not read")
    width, height = geometry.frame_size
    if frames["gray"].shape[1:] != (height, width):
        raise ValueError(f"{geometry.sequence}: frames are {frames['gray'].shape[2]}x{frames['gray'].shape[1]}, "
                         f"the geometry expects {width}x{height}")
    canvas = _ClipCanvas(geometry, settings)
    for k, row in enumerate(rows):
        canvas.add(k, {m: frames[m][row] for m in MODALITIES})
    return canvas.finish()


def sample_clips(sample: Any, settings: ClipSettings, variable_length: bool = False,
                 errors: list[ClipError] | None = None) -> list[GestureClip]:
    """Clips of every labelled gesture of one sequence, with ONE decoding pass.

    Each frame a clip needs is cropped as soon as it is decoded
    (:meth:`chalearn.Sample.iter_video`, one pass per video) and only the
    crops are converted, so memory holds the clips and the depth windows, not
    the full frames (which, at 1.2 MB per 640x480 frame, cost more to allocate
    than to crop). One pass per video, because decoding several in lockstep
    costs about twice as much per frame.

    ``sample`` is a :class:`chalearn.Sample`. A gesture that cannot be cropped
    (:class:`ClipError`, e.g. untracked throughout) raises, unless ``errors``
    is a list: then the error is appended to it and the gesture left out.
    """
    skeleton = sample.skeleton()
    geometries = []
    for gesture in sample.gestures:
        try:
            geometries.append(crop_boxes(skeleton, gesture, (sample.width, sample.height), settings,
                                         variable_length, sample.name))
        except ClipError as error:
            if errors is None:
                raise
            errors.append(error)
    canvases = [_ClipCanvas(geometry, settings) for geometry in geometries]
    uses: dict[int, list[tuple[_ClipCanvas, int]]] = {}  # frame number -> (clip, clip frame) pairs
    for canvas in canvases:
        for k, number in enumerate(canvas.geometry.frames.tolist()):
            uses.setdefault(number, []).append((canvas, k))
    # One pass per video, converting only the windows. Only the depth windows
    # wait, until the mask pass pairs them with the user.
    depth_windows = {}
    for number, frame in sample.iter_video("depth", uses):
        for canvas, k in uses[number]:
            depth_windows[id(canvas), k] = [sample.convert("depth", frame[w]) for w in canvas.windows(k)]
    for number, frame in sample.iter_video("user", uses):
        for canvas, k in uses[number]:
            canvas.add_depth(k, depth_windows.pop((id(canvas), k)),
                             [sample.convert("mask", frame[w]) for w in canvas.windows(k)])
    for number, frame in sample.iter_video("color", uses):
        for canvas, k in uses[number]:
            canvas.add_gray(k, [sample.convert("gray", frame[w]) for w in canvas.windows(k)])
    return [GestureClip(clip=canvas.finish(), gesture_id=geometry.gesture[0],
                        start=geometry.gesture[1], end=geometry.gesture[2], mirrored=geometry.mirrored,
                        frames=geometry.frames)
            for canvas, geometry in zip(canvases, geometries)]
