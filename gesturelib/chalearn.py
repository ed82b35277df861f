"""Reader (and writer) for the ChaLearn LAP 2014 Track 3 "Montalbano V2" format.

One sequence is one ``SampleNNNN.zip`` holding, at top level:

- ``SampleNNNN_data.csv``: one line ``numFrames,fps,maxDepth``;
- ``SampleNNNN_labels.csv`` (labelled sets only): ``gestureID,startFrame,endFrame``
  per gesture, ids 1..20, frames 1-based, end inclusive, no overlaps;
- ``SampleNNNN_skeleton.csv``: one row per frame, 20 joints x 9 values
  (``Wx,Wy,Wz`` world metres, ``Rx,Ry,Rz,Rw`` orientation quaternion, ``Px,Py``
  integer pixels); rows of zeros where the user is not tracked;
- ``SampleNNNN_color.mp4``, ``_depth.mp4`` (3-channel gray,
  ``depth_mm = round(gray / 255 * maxDepth)``) and ``_user.mp4`` (user mask,
  threshold at 128), 640x480 at 20 fps in the real data.

Why not the official starter kit: it unzips every sample next to the zip and
seeks frame by frame, which is slow and writes wherever the archive's member
names say. Here a sample is read straight from the zip (an extracted folder
works too), the small CSV files when it is opened, the skeleton and the videos
only on request, in one sequential decode pass. Every
inconsistency raises :class:`FormatError` naming the file, the member and the
problem. :class:`SampleWriter` writes the same format (the embedded dataset
uses it), and :func:`jaccard_score` is the challenge's metric.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from . import files

#: The 20 Italian gestures, index 0 is gesture id 1.
GESTURES: tuple[str, ...] = (
    "vattene", "vieniqui", "perfetto", "furbo", "cheduepalle",
    "chevuoi", "daccordo", "seipazzo", "combinato", "freganiente",
    "ok", "cosatifarei", "basta", "prendere", "noncenepiu",
    "fame", "tantotempo", "buonissimo", "messidaccordo", "sonostufo",
)
NUM_CLASSES = len(GESTURES)

#: Kinect skeleton joints in the official column order of ``_skeleton.csv``.
JOINTS: tuple[str, ...] = (
    "HipCenter", "Spine", "ShoulderCenter", "Head",
    "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight",
    "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
    "HipRight", "KneeRight", "AnkleRight", "FootRight",
)
NUM_JOINTS = len(JOINTS)
JOINT_INDEX = {name: i for i, name in enumerate(JOINTS)}

#: Per joint, the 9 values of a skeleton row, in file order.
JOINT_FIELDS: tuple[str, ...] = ("Wx", "Wy", "Wz", "Rx", "Ry", "Rz", "Rw", "Px", "Py")
WORLD = slice(0, 3)
ROTATION = slice(3, 7)
PIXEL = slice(7, 9)

SKELETON_COLUMNS = NUM_JOINTS * len(JOINT_FIELDS)

#: Member name suffixes of one sample (``SampleNNNN`` + suffix).
DATA_SUFFIX = "_data.csv"
LABELS_SUFFIX = "_labels.csv"
SKELETON_SUFFIX = "_skeleton.csv"
VIDEO_SUFFIXES = {"color": "_color.mp4", "depth": "_depth.mp4", "user": "_user.mp4"}

#: Which video each decoded modality comes from.
MODALITY_VIDEO = {"gray": "color", "color": "color", "depth": "depth", "mask": "user"}

#: The official split by sample number (inclusive ranges).
OFFICIAL_SPLITS = {"train": (1, 470), "validation": (471, 700), "test": (701, 940)}

#: User-mask video values at or above this are the user.
MASK_THRESHOLD = 128

_SAMPLE_NAME = re.compile(r"Sample\d+")

# OpenCV >= 4.11 decodes from any Python stream with read/seek (the
# ``IStreamReader`` interface), so zip members are decoded without touching the
# disk. Older builds only take a path: the member is then copied to a private
# temporary file for the duration of one decode pass.
_STREAM_CAPTURE = hasattr(cv2, "IStreamReader")


class FormatError(ValueError):
    """A file is not in the Montalbano V2 format; the message names the file and the problem."""


# --------------------------------------------------------------------------- CSV files


@dataclass(frozen=True)
class SampleData:
    """The contents of a ``_data.csv`` file."""

    num_frames: int
    fps: int
    max_depth: int


def _lines(text: str) -> list[str]:
    """Lines of a CSV text, trailing blank lines dropped (the real files end with a newline)."""
    text = text.rstrip()
    return text.splitlines() if text else []


def _int_cells(line: str, columns: int, where: str, line_number: int) -> list[int]:
    cells = line.split(",")
    if len(cells) != columns:
        raise FormatError(
            f"{where}: line {line_number} has {len(cells)} columns, expected {columns}")
    try:
        return [int(cell) for cell in cells]
    except ValueError:
        raise FormatError(
            f"{where}: line {line_number} has a non-integer value: {line.strip()!r}") from None


def parse_data(text: str, where: str) -> SampleData:
    """Parse the text of a ``_data.csv`` file (``where`` names it in errors)."""
    lines = _lines(text)
    if len(lines) != 1:
        raise FormatError(f"{where}: expected one line numFrames,fps,maxDepth, found {len(lines)}")
    num_frames, fps, max_depth = _int_cells(lines[0], 3, where, 1)
    for field, value in (("numFrames", num_frames), ("fps", fps), ("maxDepth", max_depth)):
        if value < 1:
            raise FormatError(f"{where}: {field} must be positive, got {value}")
    return SampleData(num_frames, fps, max_depth)


def check_gestures(gestures: Iterable[Sequence[int]], num_frames: int | None, where: str,
                   error: type[Exception] = FormatError) -> list[tuple[int, int, int]]:
    """Validate a label list: ids 1..20, 1 <= start <= end <= num_frames, no overlaps.

    Returns the gestures as int tuples in their given order. ``num_frames`` None
    skips the upper frame bound (a loose labels file without its data file).
    """
    result = []
    for number, gesture in enumerate(gestures, 1):
        gesture_id, start, end = (int(v) for v in gesture)
        if not 1 <= gesture_id <= NUM_CLASSES:
            raise error(f"{where}: gesture {number} has id {gesture_id}, outside 1..{NUM_CLASSES}")
        if start > end:
            raise error(f"{where}: gesture {number} starts at frame {start} after its end {end}")
        if start < 1 or (num_frames is not None and end > num_frames):
            raise error(f"{where}: gesture {number} spans frames {start}..{end}, outside "
                        f"1..{num_frames if num_frames is not None else 'numFrames'}")
        result.append((gesture_id, start, end))
    ordered = sorted(result, key=lambda g: g[1])
    for before, after in zip(ordered, ordered[1:]):
        if after[1] <= before[2]:
            raise error(f"{where}: gestures {before} and {after} overlap")
    return result


def parse_labels(text: str, where: str, num_frames: int | None = None) -> list[tuple[int, int, int]]:
    """Parse and validate the text of a ``_labels.csv`` file."""
    rows = [_int_cells(line, 3, where, i) for i, line in enumerate(_lines(text), 1)]
    return check_gestures(rows, num_frames, where)


def parse_skeleton(text: str, where: str, num_frames: int) -> np.ndarray:
    """Parse a ``_skeleton.csv`` text into float32 (num_frames, 20, 9)."""
    lines = _lines(text)
    for i, line in enumerate(lines, 1):
        columns = line.count(",") + 1
        if columns != SKELETON_COLUMNS:
            raise FormatError(
                f"{where}: line {i} has {columns} columns, expected {SKELETON_COLUMNS}")
    if len(lines) != num_frames:
        raise FormatError(f"{where}: {len(lines)} skeleton rows, but numFrames is {num_frames}")
    try:  # numpy's C parser; the slow cell-by-cell pass below only names a bad cell
        values = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2) if lines else np.empty(0)
    except ValueError:
        values = None
    if values is None or not np.isfinite(values).all():
        cells = ",".join(lines).split(",")
        bad = next(i for i, cell in enumerate(cells) if not _is_finite_number(cell))
        raise FormatError(f"{where}: line {bad // SKELETON_COLUMNS + 1}, column "
                          f"{bad % SKELETON_COLUMNS + 1} is not a finite number: {cells[bad]!r}")
    return values.astype(np.float32).reshape(num_frames, NUM_JOINTS, len(JOINT_FIELDS))


def _is_finite_number(cell: str) -> bool:
    try:
        return bool(np.isfinite(float(cell)))
    except ValueError:
        return False


def _read_text_file(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not a text file") from None


def read_data(path: str | os.PathLike) -> SampleData:
    """Read a loose ``SampleNNNN_data.csv`` file (as the real validation ground truth comes)."""
    path = Path(path)
    return parse_data(_read_text_file(path), str(path))


def read_labels(path: str | os.PathLike, num_frames: int | None = None) -> list[tuple[int, int, int]]:
    """Read a loose ``SampleNNNN_labels.csv`` file; give ``num_frames`` to check the frame range."""
    path = Path(path)
    return parse_labels(_read_text_file(path), str(path), num_frames)


# --------------------------------------------------------------------------- where members live


def _leaves_folder(name: str) -> bool:
    """True for a member name that is absolute or climbs out with ``..``."""
    posix = name.replace("\\", "/")
    return posix.startswith("/") or bool(re.match(r"[A-Za-z]:", posix)) or ".." in posix.split("/")


class _GuardedStream(io.BufferedIOBase):
    """A read/seek stream for OpenCV that never lets a Python exception reach C++.

    An exception raised inside OpenCV's read callback kills the interpreter
    (segmentation fault, OpenCV 4.14, e.g. for a member with a bad CRC); here
    the error is kept and the stream simply ends, and the caller reports it.
    """

    def __init__(self, raw: io.IOBase):
        super().__init__()
        self._raw = raw
        self.error: Exception | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.read(size)
        except Exception as exc:  # noqa: BLE001 - must not propagate into OpenCV
            self.error = exc
            return b""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._raw.seek(offset, whence)
        except Exception as exc:  # noqa: BLE001 - must not propagate into OpenCV
            self.error = exc
            return -1


@dataclass
class _OpenVideo:
    capture: cv2.VideoCapture
    stream: _GuardedStream | None = None

    def read_error(self) -> Exception | None:
        return self.stream.error if self.stream is not None else None


_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)
#: One decoding thread per video. FFmpeg's default (one per core) decodes these
#: small mp4v frames no faster in wall time but at twice the CPU time, which
#: halves the throughput of the parallel clip preparation.
_CAPTURE_PARAMS = [cv2.CAP_PROP_N_THREADS, 1]


class _ZipSource:
    """Members of one sample zip, looked up by their expected names, never extracted."""

    def __init__(self, path: Path):
        self.path = path
        self._members: dict[str, zipfile.ZipInfo] = {}
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise FormatError(f"{path}: not a zip file ({exc})") from None
        for info in infos:
            if _leaves_folder(info.filename):
                raise FormatError(f"{path}: member name {info.filename!r} leaves the archive's folder")
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename).parts
            if len(parts) > 2:  # at top level, or inside one enclosing folder
                continue
            if parts[-1] in self._members:
                raise FormatError(f"{path}: member {parts[-1]} appears more than once")
            self._members[parts[-1]] = info

    def where(self, member: str) -> str:
        return f"{self.path} (member {member})"

    def has(self, member: str) -> bool:
        return member in self._members

    def read_text(self, member: str) -> str:
        try:
            with zipfile.ZipFile(self.path) as archive:
                data = archive.read(self._members[member])
        except _ZIP_READ_ERRORS as exc:
            raise FormatError(f"{self.where(member)}: cannot read the member ({exc})") from None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FormatError(f"{self.where(member)}: not a text file") from None

    @contextmanager
    def open_video(self, member: str) -> Iterator[_OpenVideo]:
        info = self._members[member]
        with zipfile.ZipFile(self.path) as archive:
            if _STREAM_CAPTURE:
                # The member is read whole (one pass, CRC checked) and decoded from
                # memory: ffmpeg seeks to the index at the end of an mp4 and back,
                # and each backward seek in a zip member re-reads it from the start.
                try:
                    stream = _GuardedStream(io.BytesIO(archive.read(info)))
                except _ZIP_READ_ERRORS as exc:
                    raise FormatError(f"{self.where(member)}: cannot read the member ({exc})") from None
                capture = cv2.VideoCapture(stream, cv2.CAP_FFMPEG, _CAPTURE_PARAMS)
                try:
                    yield _OpenVideo(capture, stream)
                finally:
                    capture.release()
            else:
                # Fallback for OpenCV < 4.11: a private temporary copy whose name
                # is ours, never derived from the member name.
                handle, temp_name = tempfile.mkstemp(prefix="gesturelib-video-", suffix=".mp4")
                try:
                    try:
                        with os.fdopen(handle, "wb") as target, archive.open(info) as raw:
                            shutil.copyfileobj(raw, target)
                    except _ZIP_READ_ERRORS as exc:
                        raise FormatError(
                            f"{self.where(member)}: cannot read the member ({exc})") from None
                    capture = cv2.VideoCapture(temp_name, cv2.CAP_FFMPEG, _CAPTURE_PARAMS)
                    try:
                        yield _OpenVideo(capture)
                    finally:
                        capture.release()
                finally:
                    os.unlink(temp_name)


class _FolderSource:
    """Members of one extracted sample folder."""

    def __init__(self, path: Path):
        self.path = path

    def where(self, member: str) -> str:
        return str(self.path / member)

    def has(self, member: str) -> bool:
        return (self.path / member).is_file()

    def read_text(self, member: str) -> str:
        return _read_text_file(self.path / member)

    @contextmanager
    def open_video(self, member: str) -> Iterator[_OpenVideo]:
        capture = cv2.VideoCapture(str(self.path / member), cv2.CAP_FFMPEG, _CAPTURE_PARAMS)
        try:
            yield _OpenVideo(capture)
        finally:
            capture.release()


# --------------------------------------------------------------------------- samples


class Sample:
    """One Montalbano V2 sequence, from ``SampleNNNN.zip`` or an extracted ``SampleNNNN/`` folder.

    Opening reads only ``_data.csv`` and ``_labels.csv``; the skeleton and the
    videos are read when asked for. Frame numbers are 1-based as in the files.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if self.path.is_dir():
            self._source: _ZipSource | _FolderSource = _FolderSource(self.path)
            self.name = self.path.name
        elif self.path.is_file():
            self._source = _ZipSource(self.path)
            self.name = self.path.stem
        else:
            raise FileNotFoundError(f"{self.path}: no such sample zip or folder")
        required = [DATA_SUFFIX, SKELETON_SUFFIX, *VIDEO_SUFFIXES.values()]
        for suffix in required:
            if not self._source.has(self.name + suffix):
                raise FormatError(f"{self.path}: missing member {self.name + suffix}")
        data = parse_data(self._source.read_text(self._member(DATA_SUFFIX)),
                          self._source.where(self._member(DATA_SUFFIX)))
        self.num_frames, self.fps, self.max_depth = data.num_frames, data.fps, data.max_depth
        labels = self._member(LABELS_SUFFIX)
        self.gestures: list[tuple[int, int, int]] = (
            parse_labels(self._source.read_text(labels), self._source.where(labels), self.num_frames)
            if self._source.has(labels) else [])

    def __repr__(self) -> str:
        return (f"Sample({self.name!r}, frames={self.num_frames}, fps={self.fps}, "
                f"gestures={len(self.gestures)}, path={str(self.path)!r})")

    def _member(self, suffix: str) -> str:
        return self.name + suffix

    # ---- skeleton

    @cached_property
    def _skeleton(self) -> np.ndarray:
        member = self._member(SKELETON_SUFFIX)
        return parse_skeleton(self._source.read_text(member), self._source.where(member),
                              self.num_frames)

    def skeleton(self) -> np.ndarray:
        """Float32 (num_frames, 20, 9), :data:`JOINTS` x :data:`JOINT_FIELDS`; untracked frames are zeros."""
        return self._skeleton.copy()

    def tracked(self) -> np.ndarray:
        """Bool (num_frames,): True where the skeleton row is not all zeros."""
        return np.any(self._skeleton != 0, axis=(1, 2))

    # ---- video

    @cached_property
    def _frame_size(self) -> tuple[int, int]:
        member = self._member(VIDEO_SUFFIXES["color"])
        with self._source.open_video(member) as video:
            opened = video.capture.isOpened()
            width = int(video.capture.get(cv2.CAP_PROP_FRAME_WIDTH)) if opened else 0
            height = int(video.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) if opened else 0
            if width <= 0 or height <= 0:
                raise FormatError(f"{self._source.where(member)}: cannot decode the video"
                                  + _reason(video.read_error()))
        return width, height

    @property
    def width(self) -> int:
        """Frame width in pixels (read from the colour video's header)."""
        return self._frame_size[0]

    @property
    def height(self) -> int:
        """Frame height in pixels (read from the colour video's header)."""
        return self._frame_size[1]

    def gray(self) -> np.ndarray:
        """Uint8 (num_frames, H, W) luminance of the colour video."""
        return self._stack(None, ("gray",))["gray"]

    def color(self) -> np.ndarray:
        """Uint8 (num_frames, H, W, 3) RGB."""
        return self._stack(None, ("color",))["color"]

    def depth(self) -> np.ndarray:
        """Uint16 (num_frames, H, W) depth in millimetres (0 where the sensor saw nothing)."""
        return self._stack(None, ("depth",))["depth"]

    def user_mask(self) -> np.ndarray:
        """Bool (num_frames, H, W), True on the user."""
        return self._stack(None, ("mask",))["mask"]

    def read_frames(self, frames: Iterable[int],
                    modalities: Sequence[str] = ("gray", "depth", "mask")) -> dict[str, np.ndarray]:
        """Decode only the given 1-based frames: one sequential pass per needed video.

        Returns ``{"frames": sorted unique frame numbers, modality: stacked
        array, ...}`` in the order of ``modalities`` ("gray", "color", "depth",
        "mask"). Holds every frame in memory; :meth:`iter_video` does not.
        """
        numbers = self._frame_numbers(frames, modalities)
        return {"frames": numbers, **self._stack(numbers, modalities)}

    def iter_video(self, video: str, frames: Iterable[int] | None = None
                   ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(number, BGR frame)`` of one video ("color", "depth" or "user") for the given 1-based frames.

        One sequential pass, in increasing frame order, that stops after the
        last wanted frame; frames in between are decoded (the codec needs them)
        but not converted. With ``frames=None`` every frame is yielded and the
        video must hold exactly ``num_frames`` frames. :meth:`convert` turns a
        frame, or a window cut from one, into a modality: a consumer that crops
        as it goes converts only what it keeps and never holds more than one
        full frame.
        """
        if video not in VIDEO_SUFFIXES:
            raise ValueError(f"unknown video {video!r}; choose from {list(VIDEO_SUFFIXES)}")
        numbers = None if frames is None else self._frame_numbers(frames, ())
        if numbers is not None and not numbers.size:
            return
        where = self._source.where(self._member(VIDEO_SUFFIXES[video]))
        last = self.num_frames if numbers is None else int(numbers[-1])
        wanted = None if numbers is None else set(numbers.tolist())
        with self._source.open_video(self._member(VIDEO_SUFFIXES[video])) as opened:
            capture = opened.capture
            if not capture.isOpened():
                raise FormatError(f"{where}: cannot decode the video" + _reason(opened.read_error()))
            for number in range(1, last + 1):
                keep = wanted is None or number in wanted
                ok, frame = capture.read() if keep else (capture.grab(), None)
                if not ok:
                    raise FormatError(f"{where}: the video ends after {number - 1} frames, but "
                                      f"numFrames is {self.num_frames}" + _reason(opened.read_error()))
                if keep:
                    if frame.shape[:2] != (self.height, self.width):
                        raise FormatError(f"{where}: frame {number} is {frame.shape[1]}x{frame.shape[0]}, "
                                          f"the colour video is {self.width}x{self.height}")
                    yield number, frame
            if numbers is None and capture.grab():
                raise FormatError(f"{where}: the video has more frames than numFrames ({self.num_frames})")
            if opened.read_error() is not None:
                raise FormatError(f"{where}: cannot read the member" + _reason(opened.read_error()))

    def _frame_numbers(self, frames: Iterable[int], modalities: Sequence[str]) -> np.ndarray:
        """Sorted unique frame numbers, checked against the sequence and the modality names."""
        numbers = np.unique(np.asarray(list(frames), dtype=np.int64))
        unknown = [m for m in modalities if m not in MODALITY_VIDEO]
        if unknown:
            raise ValueError(f"unknown modalities {unknown}; choose from {list(MODALITY_VIDEO)}")
        if numbers.size and (numbers[0] < 1 or numbers[-1] > self.num_frames):
            raise ValueError(f"{self.name}: frames must lie in 1..{self.num_frames}, "
                             f"got {numbers[0]}..{numbers[-1]}")
        return numbers

    def _stack(self, numbers: np.ndarray | None, modalities: Sequence[str]) -> dict[str, np.ndarray]:
        """The frames converted and stacked into one array per modality (``None``: every frame)."""
        count = self.num_frames if numbers is None else len(numbers)
        shapes = {"gray": (), "color": (3,), "depth": (), "mask": ()}
        dtypes = {"gray": np.uint8, "color": np.uint8, "depth": np.uint16, "mask": bool}
        out = {m: np.empty((count, self.height, self.width, *shapes[m]), dtypes[m]) for m in modalities}
        # One pass per video: decoding one video at a time costs about half as
        # much per frame as decoding several in lockstep (their decoders evict
        # each other's reference frames from the CPU cache).
        for video in dict.fromkeys(MODALITY_VIDEO[m] for m in modalities):
            wanted = [m for m in modalities if MODALITY_VIDEO[m] == video]
            for slot, (_, frame) in enumerate(self.iter_video(video, numbers)):
                for modality in wanted:
                    out[modality][slot] = self.convert(modality, frame)
        return out

    def convert(self, modality: str, frame_bgr: np.ndarray) -> np.ndarray:
        """A decoded BGR frame (or a window cut from one) as ``modality``: "gray" uint8,
        "color" RGB uint8, "depth" uint16 mm or "mask" bool."""
        if modality == "gray":
            return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        if modality == "color":
            return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        # Depth and mask are gray videos: one channel, copied out contiguously
        # (a strided [..., 0] view makes the lookups several times slower).
        channel = cv2.extractChannel(frame_bgr, 0)
        if modality == "depth":
            return cv2.LUT(channel, self._depth_table)
        return channel >= MASK_THRESHOLD

    @cached_property
    def _depth_table(self) -> np.ndarray:
        """Gray level -> millimetres, ``round(gray / 255 * maxDepth)``."""
        return np.rint(np.arange(256) / 255 * self.max_depth).astype(np.uint16)


def _reason(error: Exception | None) -> str:
    return f" ({error})" if error is not None else ""


def open_sample(path: str | os.PathLike) -> Sample:
    """Open ``SampleNNNN.zip`` or an extracted ``SampleNNNN/`` folder (reads only the small CSVs)."""
    return Sample(path)


# --------------------------------------------------------------------------- writing


class SampleWriter:
    """Write one sequence in the exact Montalbano V2 format, frame by frame.

    ``with SampleWriter("out/Sample0001.zip", 640, 480) as writer:`` then
    ``writer.add_frame(...)`` per frame and ``writer.finish(gestures)``. Videos
    are encoded as they come (mp4v) into a private temporary folder; ``finish``
    writes the zip under a temporary name and renames it, so a zip that exists
    is complete. Same inputs give byte-identical CSV members (and fixed zip
    timestamps).
    """

    def __init__(self, zip_path: str | os.PathLike, width: int, height: int,
                 fps: int = 20, max_depth: int = 4095):
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            # mp4v silently crops odd sizes to even ones, which the reader would then reject.
            raise ValueError(f"width and height must be positive and even, got {width}x{height}")
        if int(fps) != fps or fps < 1 or int(max_depth) != max_depth or max_depth < 1:
            raise ValueError(f"fps and max_depth must be positive integers, got {fps}, {max_depth}")
        self.zip_path = Path(zip_path)
        self.name = self.zip_path.stem
        self.width, self.height = int(width), int(height)
        self.fps, self.max_depth = int(fps), int(max_depth)
        self.num_frames = 0
        self._skeleton_rows: list[str] = []
        self._workdir = tempfile.TemporaryDirectory(prefix="gesturelib-writer-")
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        self._videos: dict[str, cv2.VideoWriter] = {}
        for kind in VIDEO_SUFFIXES:
            # Depth and mask go in as single-channel frames: the mp4 is the same
            # (YUV 4:2:0, decoded as 3 equal channels), but the colour conversion
            # of a 3-channel gray frame leaves the decoded blue channel ~4 levels low.
            writer = cv2.VideoWriter(self._video_path(kind), fourcc, self.fps,
                                     (self.width, self.height), kind == "color")
            self._videos[kind] = writer
            if not writer.isOpened():
                self.close()
                raise RuntimeError("OpenCV cannot write mp4v video (no FFmpeg in this build?)")

    def _video_path(self, kind: str) -> str:
        return str(Path(self._workdir.name) / f"{kind}.mp4")

    def __enter__(self) -> "SampleWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def add_frame(self, color_rgb: np.ndarray, depth_mm: np.ndarray, user_mask: np.ndarray,
                  skeleton: np.ndarray) -> None:
        """Append one frame: RGB uint8 HxWx3, depth uint16 mm HxW, mask bool HxW, skeleton (20, 9).

        An untracked frame has an all-zero skeleton. Pixel coordinates are
        written as integers, as in the real files.
        """
        if self._workdir is None:
            raise RuntimeError(f"{self.zip_path}: the writer is already finished or closed")
        size = (self.height, self.width)
        for label, array, shape, dtype in (("color_rgb", color_rgb, (*size, 3), np.uint8),
                                           ("depth_mm", depth_mm, size, np.uint16),
                                           ("user_mask", user_mask, size, np.bool_)):
            if array.shape != shape or array.dtype != dtype:
                raise ValueError(f"{label} must be {np.dtype(dtype).name} {shape}, "
                                 f"got {array.dtype} {array.shape}")
        joints = np.asarray(skeleton, dtype=np.float32)
        if joints.shape != (NUM_JOINTS, len(JOINT_FIELDS)) or not np.isfinite(joints).all():
            raise ValueError(f"skeleton must be finite ({NUM_JOINTS}, {len(JOINT_FIELDS)}), "
                             f"got shape {np.shape(skeleton)}")
        self._videos["color"].write(cv2.cvtColor(color_rgb, cv2.COLOR_RGB2BGR))
        # Depth in mm -> gray level, round(depth / maxDepth * 255), saturating.
        self._videos["depth"].write(cv2.convertScaleAbs(depth_mm, alpha=255 / self.max_depth))
        self._videos["user"].write(user_mask.view(np.uint8) * np.uint8(255))
        self._skeleton_rows.append(_skeleton_row(joints))
        self.num_frames += 1

    def finish(self, gestures: Iterable[Sequence[int]] = ()) -> Path:
        """Validate the labels, write the zip atomically and return its path."""
        if self._workdir is None:
            raise RuntimeError(f"{self.zip_path}: the writer is already finished or closed")
        if self.num_frames == 0:
            raise ValueError(f"{self.zip_path}: no frames were added")
        labels = check_gestures(gestures, self.num_frames, str(self.zip_path), error=ValueError)
        for writer in self._videos.values():
            writer.release()
        csv_members = {
            DATA_SUFFIX: f"{self.num_frames},{self.fps},{self.max_depth}\n",
            LABELS_SUFFIX: "".join(f"{g},{s},{e}\n" for g, s, e in labels),
            SKELETON_SUFFIX: "".join(self._skeleton_rows),
        }
        try:
            with files.atomic_path(self.zip_path) as temporary, open(temporary, "wb") as target, \
                    zipfile.ZipFile(target, "w") as archive:
                for kind, suffix in VIDEO_SUFFIXES.items():
                    info = _zip_info(self.name + suffix, zipfile.ZIP_STORED)
                    with open(self._video_path(kind), "rb") as video, archive.open(info, "w") as member:
                        shutil.copyfileobj(video, member)
                for suffix, text in csv_members.items():
                    # Level 1: a third of the default level's time, files ~15 % larger.
                    archive.writestr(_zip_info(self.name + suffix, zipfile.ZIP_DEFLATED),
                                     text.encode("ascii"), compresslevel=1)
        finally:
            self.close()
        return self.zip_path

    def close(self) -> None:
        """Release the encoders and delete the temporary videos (no zip unless finished)."""
        for writer in self._videos.values():
            writer.release()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


def _zip_info(name: str, compression: int) -> zipfile.ZipInfo:
    """A member header with a fixed timestamp, so equal contents give equal zips."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


_FIELD_FORMATS = ["%.9g"] * 7 + ["%d"] * 2
_ROW_FORMAT = ",".join(_FIELD_FORMATS * NUM_JOINTS) + "\n"


def _skeleton_row(joints: np.ndarray) -> str:
    """One CSV row: world/rotation with 9 significant digits (exact for float32), integer pixels."""
    values = joints.astype(np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0
    values[:, PIXEL] = np.rint(values[:, PIXEL]) + 0.0
    return _ROW_FORMAT % tuple(values.ravel().tolist())


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class SequenceInfo:
    """One sequence of a dataset folder: where it is, its user (-1 unknown) and split."""

    path: Path
    name: str
    user: int
    split: str


def list_samples(folder: str | os.PathLike) -> list[Path]:
    """``SampleNNNN.zip`` files and extracted ``SampleNNNN/`` folders in ``folder``, sorted by name.

    When both a zip and its extracted folder exist the zip is listed.
    """
    found: dict[str, Path] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and path.suffix == ".zip" and _SAMPLE_NAME.fullmatch(path.stem):
            found[path.stem] = path
        elif path.is_dir() and _SAMPLE_NAME.fullmatch(path.name):
            found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def official_split(name: str) -> str:
    """The ChaLearn 2014 split of ``SampleNNNN`` by its number."""
    number = int(name[len("Sample"):])
    for split, (first, last) in OFFICIAL_SPLITS.items():
        if first <= number <= last:
            return split
    raise ValueError(f"{name} is outside the official ChaLearn numbering 1..940; "
                     "describe the split in a sequences.csv")


def dataset_index(folder: str | os.PathLike) -> list[SequenceInfo]:
    """The sequences of a dataset folder with their user and split, sorted by name.

    Reads ``folder/sequences.csv`` (``sample,user,split``) when present;
    otherwise every sample found gets the official split by number and user -1.
    """
    folder = Path(folder)
    listing = folder / "sequences.csv"
    if not listing.exists():
        return [SequenceInfo(path, _sample_name(path), -1, official_split(_sample_name(path)))
                for path in list_samples(folder)]
    rows = list(csv.reader(io.StringIO(_read_text_file(listing))))
    if not rows or [cell.strip() for cell in rows[0]] != ["sample", "user", "split"]:
        raise FormatError(f"{listing}: the header must be sample,user,split")
    available = {_sample_name(path): path for path in list_samples(folder)}
    index = []
    for line_number, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != 3:
            raise FormatError(f"{listing}: line {line_number} has {len(row)} columns, expected 3")
        sample, user, split = (cell.strip() for cell in row)
        name = f"Sample{int(sample):04d}" if sample.isdigit() else sample
        if name not in available:
            raise FormatError(f"{listing}: line {line_number}: no {name}.zip or {name}/ in {folder}")
        if split not in OFFICIAL_SPLITS:
            raise FormatError(f"{listing}: line {line_number}: split {split!r} is not one of "
                              f"{', '.join(OFFICIAL_SPLITS)}")
        try:
            user_id = int(user)
        except ValueError:
            raise FormatError(
                f"{listing}: line {line_number}: user {user!r} is not an integer") from None
        index.append(SequenceInfo(available[name], name, user_id, split))
    return sorted(index, key=lambda info: info.name)


def _sample_name(path: Path) -> str:
    return path.stem if path.suffix == ".zip" else path.name


# --------------------------------------------------------------------------- evaluation


def _check_intervals(gestures: Iterable[Sequence[int]], num_frames: int, what: str
                     ) -> list[tuple[int, int, int]]:
    result = []
    for gesture_id, start, end in gestures:
        gesture_id, start, end = int(gesture_id), int(start), int(end)
        if not 1 <= gesture_id <= NUM_CLASSES:
            raise ValueError(f"{what}: gesture id {gesture_id} outside 1..{NUM_CLASSES}")
        if not 1 <= start <= end <= num_frames:
            raise ValueError(f"{what}: interval {start}..{end} is not within 1..{num_frames} "
                             "with start <= end")
        result.append((gesture_id, start, end))
    return result


def _activation(gestures: list[tuple[int, int, int]], num_frames: int, drop_end: bool) -> np.ndarray:
    """Bool (NUM_CLASSES + 1, num_frames): which frames each gesture id covers."""
    active = np.zeros((NUM_CLASSES + 1, num_frames), dtype=bool)
    for gesture_id, start, end in gestures:
        active[gesture_id, start - 1:end - 1 if drop_end else end] = True
    return active


def jaccard_score(ground_truth: Iterable[Sequence[int]], prediction: Iterable[Sequence[int]],
                  num_frames: int, official: bool = False) -> float:
    """The ChaLearn 2014 Jaccard index of one sequence.

    Gestures are (gesture_id, start, end) tuples, frames 1-based, end inclusive.

    Default (the challenge's definition): per gesture class, J = |A ∩ B| / |A ∪ B|
    over frames, where A are the frames labelled with the class and B those
    predicted as it; a predicted class absent from the ground truth scores 0;
    the result is the mean over the classes present in the ground truth or the
    prediction.

    ``official=True`` reproduces the numbers of the challenge's evaluation code
    (``gesture_overlap_csv`` in ``ChalearnLAPEvaluation.py`` of the ChaLearn LAP
    2014 starter kit, X. Baró and M. A. Bautista), which differs in two ways:
    it marks frames ``start-1:end-1`` of a 0-based vector, i.e. the end frame
    is dropped from every interval (ground truth and prediction), and it
    averages over the ground-truth classes only -- its "false positives" are
    ``setdiff1d(gt, union1d(gt, pred))``, always empty, so a predicted class
    absent from the ground truth is ignored instead of scoring 0.

    Raises ValueError for ids outside 1..20 or intervals outside 1..num_frames
    (the official code would clip them silently), and where the index is
    undefined: no classes to average over, or (official) a class whose
    intervals all vanish when the end frame is dropped (its code divides 0 by 0).
    """
    gt = _check_intervals(ground_truth, num_frames, "ground truth")
    pred = _check_intervals(prediction, num_frames, "prediction")
    gt_active = _activation(gt, num_frames, drop_end=official)
    pred_active = _activation(pred, num_frames, drop_end=official)
    classes = {g for g, _, _ in gt} if official else {g for g, _, _ in gt + pred}
    if not classes:
        raise ValueError("the Jaccard index is undefined for a sequence without gestures"
                         + (" in the ground truth" if official else " or predictions"))
    scores = []
    for gesture_id in sorted(classes):
        union = np.count_nonzero(gt_active[gesture_id] | pred_active[gesture_id])
        if union == 0:
            # Only in official mode: one-frame intervals vanish when the end is dropped
            # and the official code divides 0 by 0.
            raise ValueError(f"official Jaccard is undefined (0/0) for gesture id {gesture_id}: "
                             "all its intervals are one frame long")
        scores.append(np.count_nonzero(gt_active[gesture_id] & pred_active[gesture_id]) / union)
    return float(np.mean(scores))


def mean_jaccard(pairs: Iterable[tuple[Sequence[Sequence[int]], Sequence[Sequence[int]], int]],
                 official: bool = False) -> float:
    """Mean of :func:`jaccard_score` over sequences.

    ``pairs`` yields one (ground_truth, prediction, num_frames) per sequence;
    every sequence weighs the same, as in the official ``evalGesture``.
    """
    scores = [jaccard_score(gt, pred, num_frames, official=official)
              for gt, pred, num_frames in pairs]
    if not scores:
        raise ValueError("mean_jaccard needs at least one sequence")
    return float(np.mean(scores))
