"""Chapter 10's figures: the timeline of a sequence and the frame scrubber (smoke tests, see ``figure_checks``)."""

import numpy as np

from figure_checks import assert_renders
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


def test_a_spotted_gesture_is_right_when_it_overlaps_a_true_one_of_its_class():
    truth = [(5, 32, 70), (7, 100, 110)]
    predicted = [(5, 60, 80), (5, 75, 90), (7, 20, 40), (7, 110, 120)]  # overlaps, after, wrong class, touches
    assert stream_viz.spotted_right(truth, predicted) == [True, False, False, True]
    assert stream_viz.spotted_right([], predicted[:1]) == [False]


def test_spotting_figure_draws_truth_models_probabilities_and_hand_height():
    result = _result()
    figure = stream_viz.plot_spotting(result, [(5, 32, 70)], {"model a": result.gestures, "model b": [(7, 10, 20)]},
                                      stream.SpottingConfig())
    assert_renders(figure, panels=4)  # gestures, probabilities and its colour bar, hand height


def test_the_scrubber_draws_crops_and_the_probabilities_at_a_frame():
    draw = stream_viz.frame_renderer(_result(), _crops(range(10, 121)))
    late = assert_renders(draw(60), panels=3)  # body crop, hand crop, probabilities
    early = assert_renders(draw(5), panels=3)  # not tracked yet, no window yet: said in the panels
    assert late != early
