"""The causal recogniser of whole sequences, its prediction files, its scores and its command line."""

import itertools
import zipfile

import numpy as np
import pytest
import torch

from gesturelib import chalearn, cropping, models, runtime, stream

SETTINGS = cropping.settings_for("course")
SHARED_GT = runtime.real_labels_dir()


@pytest.fixture(scope="module")
def dataset(quick_embedded):
    return quick_embedded


@pytest.fixture(scope="module")
def sample(dataset):
    return chalearn.Sample(chalearn.dataset_index(dataset)[0].path)


@pytest.fixture(scope="module")
def predict():
    torch.manual_seed(0)
    return stream.torch_predictor(models.build("student_small", "course"))


def test_scores_at_a_frame_do_not_depend_on_later_frames(sample, predict):
    """Causality: frames after t are replaced by other frames; everything up to t stays the same."""
    frames = list(stream.lockstep_frames(sample))
    t = len(frames) // 2
    rng = np.random.default_rng(0)
    altered = frames[:t] + [(n, row[::-1].copy(), rng.integers(0, 255, c.shape, np.uint8), d[::-1].copy(), u)
                            for n, row, c, d, u in frames[t:]]
    runs = []
    for feed in (frames, altered):
        recogniser = stream.Recogniser(predict, SETTINGS, (sample.width, sample.height))
        scores, decided = [], []
        for number, row, color, depth, user in feed:
            frame_scores, detections = recogniser.step(number, row, color, depth, user, sample.convert)
            scores.append(frame_scores)
            decided += detections
        runs.append((np.stack(scores), decided))
    (scores, decided), (scores_altered, decided_altered) = runs
    np.testing.assert_array_equal(scores[:t], scores_altered[:t])
    assert [d for d in decided if d.decided_at <= t] == [d for d in decided_altered if d.decided_at <= t]
    assert not np.array_equal(scores[t + 8:], scores_altered[t + 8:])  # the later frames do matter


def test_spotter_hysteresis_lead_trail_and_minimum_length():
    config = stream.SpottingConfig(smoothing=1, raise_on=0.5, raise_off=0.2, hold=3, lead=2, trail=1, min_frames=5)
    spotter = stream.Spotter(config)
    heights = [0.0] * 5 + [0.6, 0.9, 0.8, 0.3, 0.25, 0.1, 0.1, 0.1] + [0.0] * 3 + [0.7, 0.1, 0.1, 0.1]
    closed = {t: span for t, h in enumerate(heights, 1) if (span := spotter.update(t, h))}
    # rise at frame 6 (lead 2 -> starts at 4); last frame at or above 0.2 is 10; closed 3 frames later
    assert closed == {13: (4, 11)}  # the one-frame flick at 17 spans 15..18 with lead and trail: under min_frames
    assert config.delay == 2
    open_spotter = stream.Spotter(config)
    for t, h in enumerate([0.0, 0.9, 0.9, 0.9, 0.9], 1):
        assert open_spotter.update(t, h) is None
    assert open_spotter.close(5) == (1, 5)  # an open gesture at the end of the sequence
    # a rise soon after a span: its lead stops at the frame after the span's end, so spans never overlap
    close_by = stream.Spotter(stream.SpottingConfig(smoothing=1, raise_on=0.5, raise_off=0.2, hold=2, lead=8,
                                                    trail=2, min_frames=1))
    heights = [0.0] * 10 + [0.9] * 5 + [0.0] * 3 + [0.9] * 5 + [0.0] * 3
    found = [span for t, h in enumerate(heights, 1) if (span := close_by.update(t, h))]
    assert found == [(3, 17), (18, 25)]  # without the guard the second would start at 11
    with pytest.raises(ValueError, match="trail"):
        stream.SpottingConfig(hold=2, trail=3)
    with pytest.raises(ValueError, match="raise_off"):
        stream.SpottingConfig(raise_on=0.1, raise_off=0.2)


def _crops(number, left_y, right_y):
    gray = np.stack([np.full((32, 32), v, np.uint8) for v in (10, 20, 30)])
    gray[:, :, 0] = 200  # a bright left column tells mirrored crops apart
    coverage = np.ones((3, 32, 32), np.float32)
    return stream.FrameCrops(number, gray, coverage, coverage * 1000, np.array([left_y, right_y], np.float32), 0.5)


def test_a_span_becomes_a_training_style_clip_mirrored_for_the_left_hand():
    right = stream.span_clip([_crops(n, 100, 50) for n in range(1, 41)], SETTINGS)
    assert right.shape == (2, 2, 16, 32, 32) and right.dtype == np.uint8
    assert (right[0, 0] == np.where(np.arange(32) == 0, 200, 10)).all()  # body, as cropped
    assert (right[1, 0, :, :, 1:] == 30).all()  # the right hand's crop
    left = stream.span_clip([_crops(n, 50, 100) for n in range(1, 41)], SETTINGS)
    assert (left[1, 0, :, :, :-1] == 20).all() and (left[1, 0, :, :, -1] == 200).all()  # left hand, mirrored


def test_recognise_reports_every_frame_and_spots_in_order(sample, predict):
    result, kept = stream.recognise(sample, predict, SETTINGS, keep_crops=True)
    assert result.scores.shape == (sample.num_frames, 20)
    assert np.allclose(result.scores[~np.isnan(result.scores).any(1)].sum(1), 1, atol=1e-5)
    assert len(kept) == np.count_nonzero(~np.isnan(result.heights))
    starts = [d.start for d in result.detections]
    assert starts == sorted(starts) and all(d.start <= d.end < d.decided_at + 1 for d in result.detections)
    assert set(result.seconds) == {"decode", "crop", "model", "spotting"}
    # the stored crops give back the very detections of the online run
    by_number = {f.number: f for f in kept}
    classify = lambda span: stream.clip_probabilities(predict, stream.clip_of_span(by_number, span, SETTINGS))  # noqa: E731
    assert stream.spot(kept, sample.num_frames, stream.SpottingConfig(), classify) == result.detections


def test_tune_scores_every_configuration_and_keeps_the_best(sample, predict):
    kept = stream.observe(sample, SETTINGS)
    online = stream.recognise(sample, predict, SETTINGS, scores_every_window=False, keep_crops=True)[1]
    assert [f.number for f in kept] == [f.number for f in online]
    assert all(np.array_equal(a.gray, b.gray) and np.array_equal(a.user_depth, b.user_depth) and a.height == b.height
               for a, b in zip(kept, online))
    truth = stream.Truth(sample.name, sample.gestures, sample.num_frames)
    grid = {"raise_on": (0.2, 0.4), "raise_off": (0.1, 0.3), "min_confidence": (0.0, 0.99)}
    tuned = stream.tune([(truth, kept)], {"student": predict, "same again": predict}, SETTINGS, grid=grid)
    assert tuned["student"] == tuned["same again"]
    best, rows = tuned["student"]
    assert len(rows) == 6  # (0.2, 0.3) is not a valid pair
    assert max(r["mean_jaccard"] for r in rows) == next(
        r["mean_jaccard"] for r in rows if all(r[k] == getattr(best, k) for k in grid))


def test_prediction_files_round_trip_through_the_label_parser(tmp_path):
    gestures = [(3, 10, 40), (20, 45, 80), (1, 100, 101)]
    path = stream.write_prediction(tmp_path / "Sample0001_prediction.csv", gestures)
    assert chalearn.read_labels(path, 200) == gestures
    assert stream.write_prediction(tmp_path / "Sample0002_prediction.csv", []).read_text() == ""
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.mark.skipif(not SHARED_GT.is_dir(), reason="needs ../shared/data/chalearn2014_validation_gt")
def test_scoring_a_folder_equals_jaccard_score_on_the_real_ground_truth(tmp_path, capsys):
    truth = stream.read_truth(SHARED_GT)
    assert len(truth) > 200
    chosen = {t.name: t for t in truth[:3]}
    predictions = {  # the truth shifted, one gesture dropped and one relabelled: partial overlaps
        "shifted": [(g, min(s + 5, n), min(e + 5, n)) for (g, s, e), n in
                    zip(chosen[truth[0].name].gestures, itertools.repeat(truth[0].num_frames))],
        "dropped": chosen[truth[1].name].gestures[1:],
        "relabelled": [(g % 20 + 1 if i == 0 else g, s, e) for i, (g, s, e) in enumerate(chosen[truth[2].name].gestures)],
    }
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    for t, predicted in zip(chosen.values(), predictions.values()):
        for suffix in (chalearn.LABELS_SUFFIX, chalearn.DATA_SUFFIX):
            (gt_dir / (t.name + suffix)).write_bytes((SHARED_GT / (t.name + suffix)).read_bytes())
        stream.write_prediction(tmp_path / "pred" / (t.name + stream.PREDICTION_SUFFIX), predicted)
    for official in (False, True):
        scores = stream.score_folder(tmp_path / "pred", gt_dir, official=official)
        expected = {t.name: chalearn.jaccard_score(t.gestures, p, t.num_frames, official=official)
                    for t, p in zip(chosen.values(), predictions.values())}
        assert scores == expected and all(0 < v < 1 for v in scores.values())
    assert stream.main(["--score", str(tmp_path / "pred"), "--truth", str(gt_dir)]) == 0
    mean = np.mean([chalearn.jaccard_score(t.gestures, p, t.num_frames)
                    for t, p in zip(chosen.values(), predictions.values())])
    assert f"over 3 sequences (challenge definition): {mean:.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("text, message", [("3,10\n", "columns"), ("3,10,x\n", "non-integer"),
                                           ("21,10,20\n", "outside 1..20"), ("0,10,20\n", "outside 1..20")])
def test_a_bad_prediction_file_names_the_file_and_the_problem(dataset, tmp_path, text, message):
    name = chalearn.dataset_index(dataset)[0].name
    (tmp_path / (name + stream.PREDICTION_SUFFIX)).write_text(text)
    with pytest.raises(chalearn.FormatError, match=f"{name}_prediction.csv.*{message}"):
        stream.score_folder(tmp_path, dataset)


def test_bad_sequences_are_skipped_with_their_reason_and_the_rest_is_written(dataset, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    good = chalearn.dataset_index(dataset)[0].path
    (data / good.name).write_bytes(good.read_bytes())
    (data / "Sample0901.zip").write_bytes(b"not a zip at all")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(data / "Sample0902.zip", "w") as dst:
        for info in src.infolist():
            if not info.filename.endswith(chalearn.SKELETON_SUFFIX):
                dst.writestr(info.filename.replace(good.stem, "Sample0902"), src.read(info))
    torch.manual_seed(0)
    written, skipped = stream.predict_folder(data, models.build("student_small"), tmp_path / "out", progress=False)
    assert [p.name for p in written] == [good.stem + stream.PREDICTION_SUFFIX]
    assert set(skipped) == {"Sample0901", "Sample0902"}
    assert "Sample0901.zip" in skipped["Sample0901"]
    assert "Sample0902_skeleton.csv" in skipped["Sample0902"]
    chalearn.read_labels(written[0])  # a valid prediction file


def test_the_command_line_asks_for_what_it_needs(capsys):
    with pytest.raises(SystemExit):
        stream.main(["--data", "somewhere"])
    assert "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        stream.main(["--score", "somewhere"])
    assert "--truth" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        stream.load_model("no-such-model")


def test_spotting_errors_name_each_outcome():
    truth = [(1, 10, 20), (2, 30, 40), (3, 50, 60), (4, 70, 80), (5, 90, 100), (6, 110, 120)]
    predicted = [(1, 12, 19),  # correct
                 (9, 30, 40),  # wrong class
                 # gesture 3 missed
                 (4, 70, 74), (4, 76, 80),  # split
                 (5, 95, 115),  # merges 5 and 6
                 (7, 130, 140)]  # false alarm
    assert stream.spotting_errors(truth, predicted) == {
        "correct": 1, "wrong class": 1, "missed": 1, "split": 1, "merged": 1, "false alarm": 1}


def test_throughput_reports_speed_by_part_and_the_delay(sample, predict):
    figures = stream.throughput(sample, predict, SETTINGS)
    assert figures["frames"] == sample.num_frames and figures["fps"] > 0
    assert figures["realtime_factor"] == pytest.approx(figures["fps"] / sample.fps)
    assert {"decode_ms_per_frame", "crop_ms_per_frame", "model_ms_per_frame"} <= set(figures)
    assert figures["delay_s"] > 0


def test_every_inference_form_predicts_what_fp32_does():
    torch.manual_seed(0)
    model = models.build("student_small", "course")
    clips_ = torch.rand(4, *models.input_shape("course"))
    reference = stream.predictor(model, "fp32")(clips_)
    tolerances = {"onnxruntime": 1e-4, "fp16": 2e-2, "int8": 5e-2}
    for form, tolerance in tolerances.items():
        logits = stream.predictor(model, form)(clips_)
        assert logits.dtype == torch.float32 and logits.shape == reference.shape
        torch.testing.assert_close(logits, reference, atol=tolerance, rtol=0, msg=form)
    with pytest.raises(ValueError, match="unknown form"):
        stream.predictor(model, "int4")
