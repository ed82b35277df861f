"""Chapter 10's figures: the timeline of a sequence and the frame scrubber."""

import numpy as np

from gesturelib import stream
from gesturelib.figures import stream_viz


def _result(num_frames=120):
    scores = np.full((num_frames, 20), np.nan, np.float32)
    scores[40:] = np.eye(20, dtype=np.float32)[4]  # from frame 41 on, all probability on gesture id 5
    heights = np.where((np.arange(num_frames) > 30) & (np.arange(num_frames) < 70), 0.8, 0.0).astype(np.float32)
    detections = [stream.Detection(30, 72, 75, 5, 0.9)]
    return stream.SequenceResult("Sample0001", num_frames, scores, heights, detections)


def _crops(numbers):
    gray = np.zeros((3, 32, 32), np.uint8)
    ones = np.ones((3, 32, 32), np.float32)
    return [stream.FrameCrops(n, gray, ones, ones, np.array([50.0, 80.0], np.float32), 0.5) for n in numbers]


def test_timeline_shows_truth_each_model_probabilities_and_hand_height():
    result = _result()
    figure = stream_viz.plot_spotting(result, [(5, 32, 70)], {"model a": result.gestures, "model b": [(7, 10, 20)]},
                                      stream.SpottingConfig())
    top, middle, bottom = figure.axes[:3]
    assert [t.get_text() for t in top.get_yticklabels()] == ["model b", "model a", "ground truth"]
    colours = [tuple(np.round(c.get_facecolor()[0][:3], 2)) for c in top.collections]
    assert len(colours) == 3 and colours[1] != colours[2]  # a right and a wrong detection differ
    assert middle.images[0].get_array().shape == (20, 120)
    assert {line.get_label() for line in bottom.lines} >= {"highest hand above the hip", "raise_on = 0.3"}


def test_the_scrubber_draws_crops_and_the_probabilities_at_a_frame():
    draw = stream_viz.frame_renderer(_result(), _crops(range(10, 121)))
    late = draw(60)
    body, hand, bars = late.axes
    assert "frame 60" in bars.get_title() and len(bars.patches) == 20
    assert body.images and hand.images
    early = draw(5)  # not tracked yet, no window yet
    assert early.axes[0].texts and early.axes[2].texts
