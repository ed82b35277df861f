"""Real-time recognition of a continuous stream: gestures spotted in whole sequences, frame by frame.

Every chapter before this one classifies clips cut at the labelled boundaries.
The ChaLearn 2014 challenge scored something else: whole unsegmented
sequences, by the Jaccard index (:func:`chalearn.jaccard_score`). A
:class:`Recogniser` reads a sequence one frame at a time and uses nothing
but the frames it has seen:

1. **Crops, online** (:class:`OnlineCropper`). The person height ``h`` (the
   HipCenter-Head distance) and the hip position are averaged over the
   tracked frames among the last ``history`` frames, so the body box and the
   crop sizes follow the user without the future; an untracked frame keeps the
   last tracked skeleton. Each frame is cropped three ways: the body box, a
   box on the left hand and one on the right hand. Which hand is the highest
   is decided later, per clip, from the clip's own frames (all in the past),
   and a left-handed clip is mirrored, as in training.
2. **Per-frame scores.** Every ``stride`` frames the model classifies the last
   ``window`` frames, time-normalised to the clip length as in training; a
   frame's class probabilities are those of the latest window.
3. **Spotting** (:class:`Spotter`). The users of ChaLearn rest their hands low
   between gestures. The signal is the highest hand's height above the hip, in
   person heights, averaged over the last ``smoothing`` frames. With
   hysteresis, a gesture starts when it rises above ``raise_on`` and ends once
   it has stayed below ``raise_off`` for ``hold`` frames; its interval starts
   ``lead`` frames before the rise (the hand moves before it is high) and ends
   ``trail`` frames after the last high frame. When a gesture ends, the model
   classifies its frames, time-normalised exactly like a training clip, and
   the gesture is emitted when the top probability reaches ``min_confidence``
   (otherwise it is taken for a movement that is not a gesture).

The decision on a gesture comes ``hold - trail`` frames after its end: that is
the recogniser's delay. Every threshold is chosen on the validation users only
(:func:`tune`). ``python -m gesturelib.stream`` writes ChaLearn prediction
files (``SampleNNNN_prediction.csv``: gesture id, start, end) and scores a
folder of them against the ground truth.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from . import chalearn, cropping, files, results

#: A classifier, ``clips -> logits``: float clips (N, 2, 2, T, H, W) in [0, 1] to logits (N, 20).
Predictor = Callable[[torch.Tensor], torch.Tensor]

_HIP = chalearn.JOINT_INDEX["HipCenter"]
_HANDS = (chalearn.JOINT_INDEX["HandLeft"], chalearn.JOINT_INDEX["HandRight"])
PREDICTION_SUFFIX = "_prediction.csv"


@dataclass(frozen=True)
class SpottingConfig:
    """The recogniser's settings (frames are video frames, 20 per second)."""

    history: int = 40  #: frames over which the person height and the hip are averaged
    window: int = 40  #: frames of a sliding window for the per-frame scores (about a median gesture)
    stride: int = 4  #: frames between two sliding windows
    smoothing: int = 3  #: frames over which the hand height is averaged
    raise_on: float = 0.3  #: hand height (person heights above the hip) that starts a gesture
    raise_off: float = 0.1  #: hand height under which a gesture ends (after ``hold`` frames)
    hold: int = 3  #: frames the hand must stay under ``raise_off``
    lead: int = 4  #: frames added before the rise
    trail: int = 0  #: frames added after the last high frame (at most ``hold``: frames already seen)
    min_frames: int = 8  #: shorter spans are not gestures
    max_frames: int = 150  #: a span this long is closed and decided at once
    min_confidence: float = 0.0  #: top class probability a span needs to be emitted

    def __post_init__(self) -> None:
        problems = []
        if not self.raise_off < self.raise_on:
            problems.append(f"raise_off ({self.raise_off}) must be below raise_on ({self.raise_on})")
        if not 0 <= self.trail <= self.hold:
            problems.append(f"trail ({self.trail}) must lie in 0..hold ({self.hold}): later frames are not seen yet")
        for name in ("history", "window", "stride", "smoothing", "hold", "min_frames", "max_frames"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if self.lead < 0 or not 0 <= self.min_confidence <= 1:
            problems.append("lead must be >= 0 and min_confidence in [0, 1]")
        if problems:
            raise ValueError("invalid SpottingConfig: " + "; ".join(problems))

    @property
    def delay(self) -> int:
        """Frames from a gesture's end to its decision."""
        return self.hold - self.trail


# ---------------------------------------------------------------------------------------------
# Crops, online


@dataclass(frozen=True)
class FrameCrops:
    """One frame's crops, resized: index 0 the body box, 1 the left hand's, 2 the right hand's."""

    number: int  #: 1-based frame number
    gray: np.ndarray  #: uint8 (3, size, size)
    coverage: np.ndarray  #: float32 (3, size, size): fraction of each pixel on the user
    user_depth: np.ndarray  #: float32 (3, size, size): mean depth (mm) of that part
    hands_y: np.ndarray  #: (2,) pixel y of the left and the right hand
    height: float  #: the hand height above the hip, in person heights, of the highest hand


class OnlineCropper:
    """Crop boxes of each new frame from the skeleton frames seen so far (see the module docstring)."""

    def __init__(self, settings: cropping.ClipSettings, frame_size: tuple[int, int], history: int = 40):
        self.settings, self.frame_size = settings, frame_size
        self.history = history
        self._recent: deque[tuple[int, np.ndarray]] = deque()  # (frame, joints' pixels) of recent tracked frames
        self._last: np.ndarray | None = None

    def boxes(self, number: int, skeleton_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
        """``(boxes (3, 4) [body, left hand, right hand], joints (20, 2), hand height)`` of frame
        ``number``, or None while no tracked frame has been seen (or the person is too small to crop)."""
        row = np.asarray(skeleton_row, dtype=np.float64)
        if np.any(row != 0):
            self._last = row[:, chalearn.PIXEL]
            self._recent.append((number, self._last))
        while self._recent and self._recent[0][0] <= number - self.history:
            self._recent.popleft()
        if self._last is None:
            return None
        recent = np.stack([joints for _, joints in self._recent] if self._recent else [self._last])
        height = cropping.person_height(recent)
        body_side, hand_side = cropping.crop_sides(height, self.settings, self.frame_size)
        if min(body_side, hand_side) < 2:
            return None
        width, frame_height = self.frame_size
        hip_x, hip_y = recent[:, _HIP].mean(axis=0)
        joints = self._last
        body = cropping.square_boxes([hip_x], [self.settings.body_bottom * hip_y - body_side], body_side,
                                     width, frame_height)[0]
        hands = [cropping.square_boxes([joints[j, 0]], [joints[j, 1] - hand_side / 2], hand_side, width,
                                       frame_height)[0] for j in _HANDS]
        raised = (joints[_HIP, 1] - joints[list(_HANDS), 1].min()) / height
        return np.stack([body, *hands]), joints, float(raised)

    def crop(self, number: int, skeleton_row: np.ndarray, color_bgr: np.ndarray, depth_bgr: np.ndarray,
             user_bgr: np.ndarray, convert: Callable[[str, np.ndarray], np.ndarray]) -> FrameCrops | None:
        """The next frame's crops (``convert``: :meth:`chalearn.Sample.convert`), or None (see :meth:`boxes`)."""
        found = self.boxes(number, skeleton_row)
        if found is None:
            return None
        boxes, joints, raised = found
        size = self.settings.size
        gray = np.empty((3, size, size), np.uint8)
        coverage = np.empty((3, size, size), np.float32)
        user_depth = np.empty((3, size, size), np.float32)
        for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
            window = (slice(y0, y1), slice(x0, x1))
            gray[i] = cropping.gray_crop(convert("gray", color_bgr[window]), size)
            coverage[i], user_depth[i] = cropping.depth_crop(convert("depth", depth_bgr[window]),
                                                             convert("mask", user_bgr[window]), size)
        return FrameCrops(number, gray, coverage, user_depth, joints[list(_HANDS), 1].astype(np.float32), raised)


def span_clip(frames: Sequence[FrameCrops], settings: cropping.ClipSettings) -> np.ndarray:
    """The uint8 clip (2, 2, T, size, size) of consecutive frames, as training cuts a gesture: T frames
    evenly spaced over the span, the highest hand over the span (mirrored when it is the left one),
    depth mapped over the clip."""
    if not frames:
        raise ValueError("a clip needs at least one frame")
    picks = cropping.sample_frames(1, len(frames), settings.frames, settings.sampling) - 1
    left_y, right_y = np.mean([f.hands_y for f in frames], axis=0)
    mirrored = bool(left_y < right_y)
    hand = 1 if mirrored else 2
    chosen = [frames[i] for i in picks]

    def streams(attribute: str) -> np.ndarray:
        return np.stack([np.stack([getattr(f, attribute)[k] for f in chosen]) for k in (0, hand)])

    return cropping.finish_clip(streams("gray"), streams("coverage"), streams("user_depth"), mirrored, settings)


def clip_of_span(crops_by_number: dict[int, FrameCrops], span: tuple[int, int],
                 settings: cropping.ClipSettings) -> np.ndarray:
    """:func:`span_clip` of the stored crops of frames ``span[0]..span[1]`` (frames without crops left out)."""
    return span_clip([crops_by_number[n] for n in range(span[0], span[1] + 1) if n in crops_by_number], settings)


# ---------------------------------------------------------------------------------------------
# Spotting


class Spotter:
    """Hysteresis on the hand height: feed one value per frame, get the spans that end.

    :meth:`update` takes frame ``t``'s raw hand height (None before any tracked
    frame) and returns ``(start, end)`` when a span is closed at ``t``.
    """

    def __init__(self, config: SpottingConfig):
        self.config = config
        self._values: deque[float] = deque(maxlen=config.smoothing)
        self._start: int | None = None
        self._last_high = 0
        self._first_frame: int | None = None
        self._last_end = 0  # a span never reaches back into the one before it

    def update(self, t: int, value: float | None) -> tuple[int, int] | None:
        c = self.config
        if value is None:
            return None
        if self._first_frame is None:
            self._first_frame = t
        self._values.append(value)
        level = sum(self._values) / len(self._values)
        if self._start is None:
            if level > c.raise_on:
                self._start, self._last_high = max(self._first_frame, self._last_end + 1, t - c.lead), t
            return None
        if level >= c.raise_off:
            self._last_high = t
        if t - self._last_high >= c.hold or t - self._start + 1 >= c.max_frames:
            return self._close(min(self._last_high + c.trail, t))
        return None

    def close(self, t: int) -> tuple[int, int] | None:
        """The open span at the end of the sequence (frame ``t``), if any."""
        return None if self._start is None else self._close(min(self._last_high + self.config.trail, t))

    def _close(self, end: int) -> tuple[int, int] | None:
        start, self._start, self._last_end = self._start, None, end
        return (start, end) if end - start + 1 >= self.config.min_frames else None


@dataclass(frozen=True)
class Detection:
    """A span the spotter closed, with the model's decision."""

    start: int
    end: int
    decided_at: int  #: the frame at which the decision was taken
    label: int  #: gesture id 1..20
    confidence: float  #: the model's probability of ``label``

    @property
    def gesture(self) -> tuple[int, int, int]:
        return (self.label, self.start, self.end)


def decide(span: tuple[int, int], decided_at: int, probs: np.ndarray, config: SpottingConfig) -> Detection | None:
    """The gesture a closed span becomes: the model's top class, if its probability reaches
    ``min_confidence`` (else None: a movement that is not a gesture)."""
    label = int(probs.argmax())
    if probs[label] < config.min_confidence:
        return None
    return Detection(span[0], span[1], decided_at, label + 1, float(probs[label]))


def torch_predictor(model: torch.nn.Module) -> Predictor:
    """A :data:`Predictor` running ``model`` in eval mode without gradients (inference mode)."""
    model.eval()

    def predict(batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return model(batch).float()
    return predict


def clip_probabilities(classifier: Predictor, clip: np.ndarray) -> np.ndarray:
    """Class probabilities (20,) of one uint8 clip."""
    return batch_probabilities(classifier, clip[None])[0]


class Recogniser:
    """The causal recogniser: :meth:`step` one frame at a time, then :meth:`finish`.

    ``classifier`` turns clips into logits (:func:`torch_predictor`, or an ONNX
    Runtime session); ``scores_every_window`` False skips the sliding-window
    scores (spotting does not need them). ``seconds`` adds up the time spent
    cropping, in the model and in spotting.
    """

    def __init__(self, classifier: Predictor, settings: cropping.ClipSettings, frame_size: tuple[int, int],
                 config: SpottingConfig = SpottingConfig(), scores_every_window: bool = True):
        self.classifier, self.settings, self.config = classifier, settings, config
        self.scores_every_window = scores_every_window
        self.cropper = OnlineCropper(settings, frame_size, config.history)
        self.spotter = Spotter(config)
        self._frames: deque[FrameCrops] = deque(maxlen=max(config.window, config.max_frames + config.lead) + 1)
        self._scores = np.full(chalearn.NUM_CLASSES, np.nan, np.float32)
        self._t = 0
        self.last_crops: FrameCrops | None = None  #: the crops of the last frame stepped (None: none yet)
        self.seconds = {"crop": 0.0, "model": 0.0, "spotting": 0.0}

    def step(self, number: int, skeleton_row: np.ndarray, color_bgr: np.ndarray, depth_bgr: np.ndarray,
             user_bgr: np.ndarray, convert: Callable[[str, np.ndarray], np.ndarray]
             ) -> tuple[np.ndarray, list[Detection]]:
        """Frame ``number``'s class probabilities (NaN before the first window) and the gestures decided now."""
        self._t = number
        start = time.perf_counter()
        crops = self.last_crops = self.cropper.crop(number, skeleton_row, color_bgr, depth_bgr, user_bgr, convert)
        if crops is not None:
            self._frames.append(crops)
        self.seconds["crop"] += time.perf_counter() - start
        if self.scores_every_window and crops is not None and number % self.config.stride == 0:
            window = [f for f in self._frames if f.number > number - self.config.window]
            self._scores = self._probabilities(window)
        start = time.perf_counter()
        span = self.spotter.update(number, None if crops is None else crops.height)
        self.seconds["spotting"] += time.perf_counter() - start
        return self._scores.copy(), self._decide(span)

    def finish(self) -> list[Detection]:
        """The gesture still open at the end of the sequence, decided."""
        return self._decide(self.spotter.close(self._t))

    def _probabilities(self, frames: list[FrameCrops]) -> np.ndarray:
        clip = span_clip(frames, self.settings)
        start = time.perf_counter()
        result = clip_probabilities(self.classifier, clip)
        self.seconds["model"] += time.perf_counter() - start
        return result

    def _decide(self, span: tuple[int, int] | None) -> list[Detection]:
        if span is None:
            return []
        frames = [f for f in self._frames if span[0] <= f.number <= span[1]]
        if len(frames) < self.config.min_frames:
            return []
        detection = decide(span, self._t, self._probabilities(frames), self.config)
        return [] if detection is None else [detection]


# ---------------------------------------------------------------------------------------------
# Whole sequences


def lockstep_frames(sample: chalearn.Sample) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(number, skeleton row, color BGR, depth BGR, user BGR)`` of every frame, in one sequential pass
    over the three videos in lockstep."""
    skeleton = sample.skeleton()
    videos = [sample.iter_video(name) for name in ("color", "depth", "user")]
    for (number, color), (_, depth), (_, user) in zip(*videos):
        yield number, skeleton[number - 1], color, depth, user


@dataclass
class SequenceResult:
    """What the recogniser made of one sequence."""

    name: str
    num_frames: int
    scores: np.ndarray  #: float32 (num_frames, 20), NaN before the first window
    heights: np.ndarray  #: float32 (num_frames,), the hand height (NaN untracked at the start)
    detections: list[Detection]
    seconds: dict[str, float] = field(default_factory=dict)  #: decode, crop, model, spotting

    @property
    def gestures(self) -> list[tuple[int, int, int]]:
        return [d.gesture for d in self.detections]


def recognise(sample: chalearn.Sample, classifier: Predictor, settings: cropping.ClipSettings,
              config: SpottingConfig = SpottingConfig(), scores_every_window: bool = True,
              keep_crops: bool = False) -> tuple[SequenceResult, list[FrameCrops]]:
    """Run a :class:`Recogniser` over a whole sequence, frame by frame. With ``keep_crops`` the
    frames' crops come back too (for figures and for :func:`tune`)."""
    recogniser = Recogniser(classifier, settings, (sample.width, sample.height), config, scores_every_window)
    scores = np.full((sample.num_frames, chalearn.NUM_CLASSES), np.nan, np.float32)
    heights = np.full(sample.num_frames, np.nan, np.float32)
    detections, kept = [], []
    decode, start = 0.0, time.perf_counter()
    for number, row, color, depth, user in lockstep_frames(sample):
        decode += time.perf_counter() - start
        scores[number - 1], decided = recogniser.step(number, row, color, depth, user, sample.convert)
        detections += decided
        if recogniser.last_crops is not None:
            heights[number - 1] = recogniser.last_crops.height
            if keep_crops:
                kept.append(recogniser.last_crops)
        start = time.perf_counter()
    detections += recogniser.finish()
    return SequenceResult(sample.name, sample.num_frames, scores, heights, detections,
                          {"decode": decode, **recogniser.seconds}), kept


def spans(crops: Sequence[FrameCrops], num_frames: int, config: SpottingConfig) -> list[tuple[int, int, int]]:
    """``(start, end, decided_at)`` of every span the :class:`Spotter` closes over a sequence's stored
    crops that holds at least ``min_frames`` cropped frames: the spans a :class:`Recogniser` decides on."""
    spotter = Spotter(config)
    by_number = {f.number: f for f in crops}
    closed = []

    def keep(span: tuple[int, int] | None, t: int) -> None:
        if span is not None and sum(1 for n in range(span[0], span[1] + 1) if n in by_number) >= config.min_frames:
            closed.append((span[0], span[1], t))

    for t in range(1, num_frames + 1):
        crop = by_number.get(t)
        keep(spotter.update(t, None if crop is None else crop.height), t)
    keep(spotter.close(num_frames), num_frames)
    return closed


def spot(crops: Sequence[FrameCrops], num_frames: int, config: SpottingConfig,
         classify: Callable[[tuple[int, int]], np.ndarray]) -> list[Detection]:
    """The detections of :class:`Recogniser` from a sequence's stored crops: the same spans and
    decisions, with ``classify(span) -> probabilities``."""
    decided = (decide((start, end), t, classify((start, end)), config)
               for start, end, t in spans(crops, num_frames, config))
    return [d for d in decided if d is not None]


# ---------------------------------------------------------------------------------------------
# Prediction files and scores


def write_prediction(path: str | os.PathLike, gestures: Iterable[Sequence[int]]) -> Path:
    """Write a ChaLearn prediction file (``gesture id,start,end`` per line), atomically."""
    path = Path(path)
    files.write_text(path, "".join(f"{int(g)},{int(s)},{int(e)}\n" for g, s, e in gestures))
    return path


@dataclass(frozen=True)
class Truth:
    """One sequence's ground truth: its gestures and number of frames."""

    name: str
    gestures: list[tuple[int, int, int]]
    num_frames: int


def read_truth(folder: str | os.PathLike, split: str | None = None) -> list[Truth]:
    """The ground truth of a folder: ``SampleNNNN_labels.csv`` + ``SampleNNNN_data.csv`` files (the
    challenge's layout), or a dataset folder of sample zips / folders with their labels (of
    ``split`` only, when given)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such ground-truth folder")
    label_files = sorted(folder.glob("Sample*" + chalearn.LABELS_SUFFIX))
    if label_files:
        truth = []
        for labels in label_files:
            name = labels.name[: -len(chalearn.LABELS_SUFFIX)]
            data_file = folder / (name + chalearn.DATA_SUFFIX)
            if not data_file.exists():
                raise chalearn.FormatError(f"{data_file}: missing (the number of frames of {labels.name})")
            num_frames = chalearn.read_data(data_file).num_frames
            truth.append(Truth(name, chalearn.read_labels(labels, num_frames), num_frames))
        return truth
    samples = [info.path for info in chalearn.dataset_index(folder) if split is None or info.split == split]
    if not samples:
        raise chalearn.FormatError(f"{folder}: no SampleNNNN_labels.csv files and no sample zips or folders"
                                   + (f" in split {split!r}" if split else ""))
    return [Truth(s.name, s.gestures, s.num_frames) for s in map(chalearn.Sample, samples)]


def score_folder(predictions: str | os.PathLike, truth_folder: str | os.PathLike, official: bool = False,
                 split: str | None = None) -> dict[str, float]:
    """The Jaccard index of every ground-truth sequence (``name -> index``) against
    ``predictions/SampleNNNN_prediction.csv``; a missing prediction file counts as no gestures.
    Bad rows or ids outside 1..20 raise :class:`chalearn.FormatError` naming the file."""
    predictions = Path(predictions)
    if not predictions.is_dir():
        raise FileNotFoundError(f"{predictions}: no such prediction folder")
    scores = {}
    for truth in read_truth(truth_folder, split):
        path = predictions / (truth.name + PREDICTION_SUFFIX)
        predicted = chalearn.read_labels(path, truth.num_frames) if path.exists() else []
        scores[truth.name] = chalearn.jaccard_score(truth.gestures, predicted, truth.num_frames, official)
    if not scores:
        raise ValueError(f"{truth_folder}: no ground-truth sequences")
    return scores


# ---------------------------------------------------------------------------------------------
# Choosing the thresholds on the validation users

#: The grid :func:`tune` searches.
GRID = {"raise_on": (0.2, 0.3, 0.45), "raise_off": (0.0, 0.1, 0.2), "lead": (0, 4, 8), "trail": (0, 2),
        "min_confidence": (0.0, 0.3, 0.5, 0.7)}


def tune(observed: Iterable[tuple[Truth, list[FrameCrops]]], predictors: dict[str, Predictor],
         settings: cropping.ClipSettings, base: SpottingConfig = SpottingConfig(),
         grid: dict[str, Sequence] | None = None, batch_size: int = 64) -> dict[str, tuple[SpottingConfig, list[dict]]]:
    """For each model of ``predictors``, the configuration of ``grid`` with the best mean Jaccard index
    over the ``observed`` sequences (the validation users': their ground truth and their crops from
    :func:`observe`), and every configuration's mean (one row each).

    The sequences are read once for all models; the spans of every configuration are found first
    (they do not depend on the model), and each distinct span is classified once per model, in
    batches of ``batch_size`` clips."""
    grid = grid or GRID
    names = list(grid)
    configs = []
    for values in itertools.product(*grid.values()):
        try:
            configs.append(replace(base, **dict(zip(names, values))))
        except ValueError:  # e.g. raise_off >= raise_on
            continue
    totals = {model: np.zeros(len(configs)) for model in predictors}
    count = 0
    for truth, crops in observed:
        by_number = {f.number: f for f in crops}
        closed = {}  # the spotting settings (all but min_confidence) -> their spans
        for config in configs:
            key = replace(config, min_confidence=0.0)
            if key not in closed:
                closed[key] = spans(crops, truth.num_frames, key)
        distinct = sorted({(start, end) for found in closed.values() for start, end, _ in found})
        batch = np.stack([clip_of_span(by_number, span, settings) for span in distinct]) if distinct else None
        for model, predict in predictors.items():
            probs = {} if batch is None else dict(zip(distinct, batch_probabilities(predict, batch, batch_size)))
            for i, config in enumerate(configs):
                decided = (decide((start, end), t, probs[start, end], config)
                           for start, end, t in closed[replace(config, min_confidence=0.0)])
                predicted = [d.gesture for d in decided if d is not None]
                totals[model][i] += chalearn.jaccard_score(truth.gestures, predicted, truth.num_frames)
        count += 1
    if not count:
        raise ValueError("tune needs at least one observed sequence")
    tuned = {}
    for model, total in totals.items():
        means = total / count
        rows = [{**{n: getattr(c, n) for n in names}, "mean_jaccard": float(m)} for c, m in zip(configs, means)]
        tuned[model] = (configs[int(means.argmax())], rows)
    return tuned


def batch_probabilities(classifier: Predictor, batch: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (N, 20) of uint8 clips (N, 2, 2, T, H, W), ``batch_size`` at a time."""
    out = []
    for i in range(0, len(batch), batch_size):
        chunk = torch.from_numpy(batch[i:i + batch_size]).float().div_(255)
        out.append(torch.softmax(classifier(chunk), dim=1).numpy())
    return np.concatenate(out)


def observe(sample: chalearn.Sample, settings: cropping.ClipSettings, history: int = SpottingConfig.history
            ) -> list[FrameCrops]:
    """Every frame's crops of a sequence (what a :class:`Recogniser` keeps of each frame), without a model."""
    cropper = OnlineCropper(settings, (sample.width, sample.height), history)
    kept = []
    for number, row, color, depth, user in lockstep_frames(sample):
        crops = cropper.crop(number, row, color, depth, user, sample.convert)
        if crops is not None:
            kept.append(crops)
    return kept


#: The kinds of spotting outcome :func:`spotting_errors` counts.
OUTCOMES = ("correct", "wrong class", "missed", "split", "merged", "false alarm")


def spotting_errors(truth: Sequence[Sequence[int]], predicted: Sequence[Sequence[int]]) -> dict[str, int]:
    """What the spotting made of each gesture, by frame overlap of the intervals.

    A true gesture that no prediction overlaps is *missed*; one that two or more
    predictions overlap is *split*; a prediction that overlaps two or more true
    gestures is *merged* (counted once per prediction, its gestures not counted
    again). A true gesture overlapped by exactly one prediction that overlaps it
    alone is *correct* or of the *wrong class*. A prediction that overlaps no
    true gesture is a *false alarm*.
    """
    def overlaps(a, b) -> bool:
        return a[1] <= b[2] and b[1] <= a[2]

    counts = dict.fromkeys(OUTCOMES, 0)
    merged_truth = set()
    for p in predicted:
        hits = [i for i, t in enumerate(truth) if overlaps(t, p)]
        if not hits:
            counts["false alarm"] += 1
        elif len(hits) > 1:
            counts["merged"] += 1
            merged_truth.update(hits)
    for i, t in enumerate(truth):
        if i in merged_truth:
            continue
        hits = [p for p in predicted if overlaps(t, p)]
        if not hits:
            counts["missed"] += 1
        elif len(hits) > 1:
            counts["split"] += 1
        else:
            counts["correct" if hits[0][0] == t[0] else "wrong class"] += 1
    return counts


def throughput(sample: chalearn.Sample, classifier: Predictor, settings: cropping.ClipSettings,
               config: SpottingConfig = SpottingConfig()) -> dict[str, float]:
    """End-to-end speed of the recogniser on one sequence (decoding, cropping, the model every
    ``stride`` frames and at each decision, spotting): frames per second, the real-time factor
    against the sequence's own frame rate, milliseconds per frame by part, and the mean delay from a
    gesture's end to its decision (frames of video, plus the time to compute the decision)."""
    start = time.perf_counter()
    result, _ = recognise(sample, classifier, settings, config)
    seconds = time.perf_counter() - start
    fps = sample.num_frames / seconds
    decisions = [d.decided_at - d.end for d in result.detections]
    per_decision = result.seconds["model"] / max(1, len(result.detections) + sample.num_frames // config.stride)
    return {"frames": sample.num_frames, "seconds": seconds, "fps": fps, "realtime_factor": fps / sample.fps,
            **{f"{part}_ms_per_frame": 1e3 * s / sample.num_frames for part, s in result.seconds.items()},
            "delay_s": (float(np.mean(decisions)) if decisions else config.delay) / sample.fps + per_decision}


# ---------------------------------------------------------------------------------------------
# Model forms and the command line

#: The inference forms a recogniser can run: PyTorch fp32, fp16 (weights and arithmetic), int8
#: (dynamic: Linear and LSTM weights), and ONNX Runtime (fp32, graph optimisations on).
FORMS = ("fp32", "fp16", "int8", "onnxruntime")


def predictor(model: torch.nn.Module, form: str = "fp32", onnx_path: str | os.PathLike | None = None) -> Predictor:
    """A :data:`Predictor` of ``model`` in ``form`` (one thread for ONNX Runtime, as PyTorch here).
    ``onnx_path``: where to write (or find) the ONNX export; a temporary file when None."""
    from . import compress, export, models

    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; choose from {', '.join(FORMS)}")
    model = model.cpu().eval()
    if form == "fp32":
        return torch_predictor(model)
    if form == "fp16":
        half = compress.to_fp16(model)
        run = torch_predictor(half)
        return lambda batch: run(batch.half())
    if form == "int8":
        return torch_predictor(compress.quantize_int8(model))
    example = torch.rand(2, *models.input_shape(model.preset))
    if onnx_path is None:  # the session holds the model in memory: the file can go at once
        with tempfile.TemporaryDirectory(prefix="gesturelib-stream-") as folder:
            session = export.onnx_session(export.export_onnx(model, Path(folder) / "model.onnx", example), threads=1)
    else:
        if not Path(onnx_path).exists():
            export.export_onnx(model, onnx_path, example)
        session = export.onnx_session(onnx_path, threads=1)
    return lambda batch: export.onnx_logits(session, batch)


def load_model(spec: str) -> torch.nn.Module:
    """A model by kind (the chapters' model of the embedded dataset: ``cnn3d`` the teacher,
    ``joint``, ``lstm``, or ``student_small`` / ``student_medium`` distilled, seed 0; trained first
    if no chapter did) or by path (a model-cache folder, or the ``model.pt`` inside one)."""
    from . import modelcache, models, recipes

    if spec in models.KINDS:
        if spec.startswith("student"):
            return recipes.trained_student(spec, seed=0, with_teacher=True)[0]
        return recipes.trained(spec)[0]
    path = Path(spec)
    folder = path.parent if path.name == "model.pt" else path
    if not folder.is_dir():
        raise FileNotFoundError(f"{spec}: neither a model kind ({', '.join(models.KINDS)}) nor a model folder")
    return modelcache.load(folder)[0]


def predict_folder(dataset_dir: str | os.PathLike, model: torch.nn.Module, out: str | os.PathLike,
                   config: SpottingConfig = SpottingConfig(), form: str = "fp32", split: str | None = None,
                   progress: bool = True) -> tuple[list[Path], dict[str, str]]:
    """Write ``out/SampleNNNN_prediction.csv`` for every sequence of ``dataset_dir`` (of ``split`` only,
    when given). Returns the files written and the sequences skipped, with the reason (a corrupt
    zip, a missing skeleton, ...): one bad sequence does not stop the others."""
    index = [info for info in chalearn.dataset_index(dataset_dir) if split is None or info.split == split]
    if not index:
        raise ValueError(f"{dataset_dir}: no sequences" + (f" in split {split!r}" if split else ""))
    predict = predictor(model, form)
    settings = cropping.settings_for(model.preset)
    written, skipped = [], {}
    for info in tqdm(index, desc="sequences", unit="seq", disable=not progress):
        try:
            result, _ = recognise(chalearn.Sample(info.path), predict, settings, config, scores_every_window=False)
        except (chalearn.FormatError, OSError, ValueError) as error:
            skipped[info.name] = str(error)
            continue
        written.append(write_prediction(Path(out) / (info.name + PREDICTION_SUFFIX), result.gestures))
    return written, skipped


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(
        prog="python -m gesturelib.stream",
        description="Spot gestures in whole ChaLearn sequences and write prediction files; or score them.")
    parser.add_argument("--data", help="dataset folder (SampleNNNN.zip files or folders)")
    parser.add_argument("--model", default="student_small", help="model kind or model-cache folder")
    parser.add_argument("--out", help="folder for the SampleNNNN_prediction.csv files")
    parser.add_argument("--split", help="only the sequences of this split (train, validation, test)")
    parser.add_argument("--form", default="fp32", choices=FORMS, help="inference form")
    parser.add_argument("--thresholds", help="JSON file of SpottingConfig fields (default: chapter 10's, "
                                             "else the built-in defaults)")
    parser.add_argument("--score", metavar="PREDICTIONS", help="score this prediction folder against --truth")
    parser.add_argument("--truth", help="ground truth: _labels.csv + _data.csv files, or a dataset folder")
    parser.add_argument("--official", action="store_true", help="the official evaluation code's Jaccard")
    args = parser.parse_args(argv)

    if args.score:
        if not args.truth:
            parser.error("--score needs --truth")
        scores = score_folder(args.score, args.truth, official=args.official, split=args.split)
        for name, value in scores.items():
            print(f"{name}  {value:.4f}")
        mode = "official evaluation code" if args.official else "challenge definition"
        print(f"mean Jaccard index over {len(scores)} sequences ({mode}): {np.mean(list(scores.values())):.4f}")
        return 0
    if not (args.data and args.out):
        parser.error("give --data and --out to write predictions, or --score and --truth to score them")
    config = SpottingConfig()
    if args.thresholds:
        config = replace(config, **json.loads(Path(args.thresholds).read_text()))
    else:
        tuned = results.get("realtime", "spotting")
        if tuned:
            config = replace(config, **tuned)
    print(f"spotting: {config}")
    written, skipped = predict_folder(args.data, load_model(args.model), args.out, config, args.form, args.split)
    print(f"wrote {len(written)} prediction files to {args.out}")
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    return 1 if skipped else 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
