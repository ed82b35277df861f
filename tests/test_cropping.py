"""Clip extraction on hand-made skeletons and frames with known answers."""

import dataclasses

import numpy as np
import pytest

from gesturelib import cropping
from gesturelib.chalearn import JOINT_INDEX, PIXEL

WIDTH, HEIGHT = 640, 480
SETTINGS = cropping.settings_for("course")


def skeleton(frames=40, hip=(320, 300), head=(320, 100), left=(250, 320), right=(400, 150)):
    """A standing user: pixel positions as given, every other joint at the hip, world z 2 m."""
    joints = np.zeros((frames, 20, 9), np.float32)
    joints[:, :, PIXEL] = hip
    joints[:, :, 2] = 2.0
    for name, position in (("HipCenter", hip), ("Head", head), ("HandLeft", left), ("HandRight", right)):
        joints[:, JOINT_INDEX[name], PIXEL] = position
    return joints


def frames_for(count, seed=0):
    """Decoded-frame dict with random gray, depth 1000..3000 mm and a random user mask."""
    rng = np.random.default_rng(seed)
    return {
        "frames": np.arange(1, count + 1),
        "gray": rng.integers(0, 256, (count, HEIGHT, WIDTH), dtype=np.uint8),
        "depth": rng.integers(1000, 3000, (count, HEIGHT, WIDTH), dtype=np.uint16),
        "mask": rng.random((count, HEIGHT, WIDTH)) < 0.7,
    }


def extract_clip(joints, frames, gesture, settings, variable_length=False):
    """The uint8 clip of one gesture from in-memory frames: the boxes, then the crops."""
    height, width = np.asarray(frames["gray"]).shape[1:3]
    return cropping.render_clip(cropping.crop_boxes(joints, gesture, (width, height), settings, variable_length),
                                frames, settings)


def mirror(frames, joints):
    """The same scene seen in a mirror: frames flipped, skeleton mirrored (left <-> right)."""
    flipped = {key: value[..., ::-1].copy() if key != "frames" else value for key, value in frames.items()}
    return flipped, cropping.mirror_skeleton(joints, WIDTH)


def test_boxes_follow_person_height_with_known_answer():
    geometry = cropping.crop_boxes(skeleton(), (5, 5, 30), (WIDTH, HEIGHT), SETTINGS)
    assert geometry.person_height == pytest.approx(200.0)
    assert not geometry.mirrored  # the right hand (y=150) is above the left one (y=320)
    # body: side 1.3*200 = 260 centred on hip x 320, bottom at 1.1*300 = 330
    assert (geometry.body == [190, 70, 450, 330]).all()
    # hand: side 0.5*200 = 100 centred on the right hand (400, 150)
    assert (geometry.hand == [350, 100, 450, 200]).all()

    half = skeleton(hip=(320, 300), head=(320, 200), left=(250, 320), right=(400, 250))
    small = cropping.crop_boxes(half, (5, 5, 30), (WIDTH, HEIGHT), SETTINGS)
    assert small.person_height == pytest.approx(100.0)
    assert (small.body[:, 2] - small.body[:, 0] == 130).all()
    assert (small.hand[:, 2] - small.hand[:, 0] == 50).all()


def test_left_handed_gesture_is_mirrored_to_look_right_handed():
    right_handed = skeleton()
    frames = frames_for(40)
    mirrored_frames, left_handed = mirror(frames, right_handed)
    assert cropping.highest_hand(right_handed, (1, 5, 30)) == "right"
    assert cropping.highest_hand(left_handed, (1, 5, 30)) == "left"

    geometry = cropping.crop_boxes(left_handed, (1, 5, 30), (WIDTH, HEIGHT), SETTINGS)
    assert geometry.mirrored
    # boxes live in the mirrored frame, where the raised hand is the right one again
    reference = cropping.crop_boxes(right_handed, (1, 5, 30), (WIDTH, HEIGHT), SETTINGS)
    assert (geometry.hand == reference.hand).all() and (geometry.body == reference.body).all()
    assert np.array_equal(geometry.view(mirrored_frames["gray"][0]), frames["gray"][0])
    # and the left-handed clip is exactly the right-handed one
    original = extract_clip(right_handed, frames, (1, 5, 30), SETTINGS)
    from_mirror = extract_clip(left_handed, mirrored_frames, (1, 5, 30), SETTINGS)
    assert np.array_equal(original, from_mirror)


def test_mirror_skeleton_swaps_sides_and_flips_x():
    joints = skeleton(frames=1)
    mirrored = cropping.mirror_skeleton(joints, WIDTH)
    assert mirrored[0, JOINT_INDEX["HandRight"], PIXEL].tolist() == [WIDTH - 1 - 250, 320]
    assert mirrored[0, JOINT_INDEX["HandLeft"], PIXEL].tolist() == [WIDTH - 1 - 400, 150]
    assert np.array_equal(cropping.mirror_skeleton(mirrored, WIDTH), joints)


@pytest.mark.parametrize("hand", [(3, 2), (WIDTH - 1, HEIGHT - 1), (-40, 600)])
def test_crops_at_the_frame_border_stay_inside(hand):
    joints = skeleton(hip=(30, 420), head=(30, 220), left=(30, HEIGHT + 200), right=hand)
    geometry = cropping.crop_boxes(joints, (2, 1, 40), (WIDTH, HEIGHT), SETTINGS)
    for boxes, side in ((geometry.body, 260), (geometry.hand, 100)):
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 2] <= WIDTH).all() and (boxes[:, 3] <= HEIGHT).all()
        assert (boxes[:, 2] - boxes[:, 0] == side).all() and (boxes[:, 3] - boxes[:, 1] == side).all()
    assert geometry.body[0, 0] == 0  # shifted right, not cut
    clip = extract_clip(joints, frames_for(40), (2, 1, 40), SETTINGS)
    assert clip.shape == (2, 2, 16, 32, 32)


def test_crop_larger_than_the_frame_is_clamped_to_it():
    giant = skeleton(hip=(320, 470), head=(320, 10))  # h = 460: body side 598 > 480
    geometry = cropping.crop_boxes(giant, (2, 1, 40), (WIDTH, HEIGHT), SETTINGS)
    assert (geometry.body[:, 2] - geometry.body[:, 0] == HEIGHT).all()
    assert (geometry.body[:, [1, 3]] == [0, HEIGHT]).all()


def test_untracked_frames_are_interpolated_exactly():
    joints = np.zeros((10, 20, 9), np.float32)
    joints[2] = 10.0
    joints[6] = 30.0
    filled = cropping.fill_untracked(joints)
    expected = [10, 10, 10, 15, 20, 25, 30, 30, 30, 30]
    assert filled[:, 7, 8].tolist() == expected
    assert (filled == filled[:, :1, :1]).all()  # every value of a frame filled alike here
    assert cropping.tracked_frames(joints).tolist() == [False, False, True, False, False, False, True,
                                                        False, False, False]


def test_untracked_gap_inside_a_gesture_moves_the_hand_box_linearly():
    joints = skeleton(frames=21)
    joints[:, JOINT_INDEX["HandRight"], PIXEL] = np.stack([np.linspace(200, 400, 21), np.full(21, 150)], 1)
    joints[5:15] = 0  # untracked frames 6..15
    no_smoothing = dataclasses.replace(SETTINGS, hand_smoothing=1)
    geometry = cropping.crop_boxes(joints, (1, 1, 21), (WIDTH, HEIGHT), no_smoothing, variable_length=True)
    centres = (geometry.hand[:, 0] + geometry.hand[:, 2]) / 2
    assert centres.tolist() == [200 + 10 * i for i in range(21)]


def test_gesture_edges_interpolate_towards_tracked_frames_outside_the_gesture():
    joints = skeleton(frames=21)
    joints[:, JOINT_INDEX["HandRight"], PIXEL] = np.stack([np.linspace(200, 400, 21), np.full(21, 150)], 1)
    joints[5:9] = 0   # frames 6-9: the gesture's first frames
    joints[10:15] = 0  # frames 11-15: its last ones; frame 10 is tracked
    no_smoothing = dataclasses.replace(SETTINGS, hand_smoothing=1)
    geometry = cropping.crop_boxes(joints, (1, 6, 15), (WIDTH, HEIGHT), no_smoothing, variable_length=True)
    centres = (geometry.hand[:, 0] + geometry.hand[:, 2]) / 2
    assert centres.tolist() == [250 + 10 * i for i in range(10)]  # frames 5 and 16 anchor the ends


def test_gesture_with_every_frame_untracked_is_a_clear_error():
    joints = skeleton(frames=40)
    joints[9:20] = 0
    with pytest.raises(cropping.UntrackedGestureError, match=r"Sample0042: gesture 7 \(frames 10-20\)") as info:
        cropping.crop_boxes(joints, (7, 10, 20), (WIDTH, HEIGHT), SETTINGS, sequence_name="Sample0042")
    assert isinstance(info.value, ValueError) and info.value.gesture == (7, 10, 20)
    # one tracked frame is enough: the rest is filled from it
    cropping.crop_boxes(joints, (7, 10, 21), (WIDTH, HEIGHT), SETTINGS)


def test_gesture_outside_the_sequence_is_an_error():
    with pytest.raises(cropping.ClipError, match="outside"):
        cropping.crop_boxes(skeleton(frames=40), (1, 30, 41), (WIDTH, HEIGHT), SETTINGS)


def test_temporal_sampling():
    assert cropping.sample_frames(1, 31, 16, "even").tolist() == list(range(1, 32, 2))
    assert cropping.sample_frames(10, 13, 8, "even").tolist() == [10, 10, 11, 11, 12, 12, 13, 13]
    assert cropping.sample_frames(11, 50, 32, "centre").tolist() == list(range(15, 47))  # 40 frames: 4 cut each side
    assert cropping.sample_frames(10, 13, 8, "centre").tolist() == [10, 10, 11, 11, 12, 12, 13, 13]
    assert cropping.sample_frames(5, 9, None).tolist() == [5, 6, 7, 8, 9]


def test_variable_length_clip_has_every_gesture_frame():
    joints = skeleton()
    clip = extract_clip(joints, frames_for(40), (3, 4, 28), SETTINGS, variable_length=True)
    assert clip.shape == (2, 2, 25, 32, 32) and clip.dtype == np.uint8
    paper = extract_clip(joints, frames_for(40), (3, 4, 28), cropping.settings_for("paper"))
    assert paper.shape == (2, 2, 32, 64, 64)


def test_depth_is_inverted_masked_and_normalised_per_clip():
    joints = skeleton()
    frames = {"frames": np.arange(1, 41), "gray": np.zeros((40, HEIGHT, WIDTH), np.uint8),
              "depth": np.full((40, HEIGHT, WIDTH), 3500, np.uint16),
              "mask": np.zeros((40, HEIGHT, WIDTH), bool)}
    frames["mask"][:, 80:340, 200:440] = True    # the user: body at 2000 mm
    frames["depth"][:, 80:340, 200:440] = 2000
    frames["depth"][:, 90:210, 340:440] = 1200    # the raised hand, nearer
    exact = dataclasses.replace(SETTINGS, depth_percentiles=(0.0, 100.0))
    clip = extract_clip(joints, frames, (1, 5, 30), exact)
    body_depth, hand_depth = clip[0, 1], clip[1, 1]
    assert hand_depth[:, 16, 16].tolist() == [255] * 16  # nearest user depth -> 255
    assert body_depth[:, 31, 16].tolist() == [exact.depth_floor] * 16  # farthest -> floor
    assert body_depth[:, 0, 0].tolist() == [0] * 16  # background (outside the mask) -> 0
    assert body_depth[0, 31, 2] == exact.depth_floor
    frames["depth"][:, 300:340, 200:260] = 0  # a depth hole on the user counts as background
    assert extract_clip(joints, frames, (1, 5, 30), exact)[0, 1, 0, 31, 2] == 0


def test_gray_crop_is_the_resized_box_content():
    joints = skeleton()
    frames = frames_for(40)
    frames["gray"][:] = np.arange(WIDTH)[None, None] * 255 // WIDTH
    clip = extract_clip(joints, frames, (1, 5, 30), SETTINGS)
    hand = clip[1, 0, 0]  # box x 350..450: values rise left to right, same on every row
    assert (np.diff(hand[0].astype(int)) >= 0).all() and (hand == hand[0]).all()
    assert abs(int(hand[0, 0]) - 350 * 255 // WIDTH) <= 1 and abs(int(hand[0, -1]) - 449 * 255 // WIDTH) <= 1


def test_hand_smoothing_removes_jitter():
    joints = skeleton()
    jitter = np.where(np.arange(40) % 2 == 0, 6.0, -6.0)
    joints[:, JOINT_INDEX["HandRight"], 7] += jitter
    raw = cropping.crop_boxes(joints, (1, 1, 40), (WIDTH, HEIGHT), SETTINGS, variable_length=True)
    smooth = cropping.crop_boxes(joints, (1, 1, 40), (WIDTH, HEIGHT), dataclasses.replace(SETTINGS, hand_smoothing=5),
                                 variable_length=True)
    assert SETTINGS.hand_smoothing == 1  # the default follows the hand frame by frame
    assert np.ptp(raw.hand[:, 0]) == 12
    assert np.ptp(smooth.hand[2:-2, 0]) <= 3  # away from the ends, where the window is padded


def test_settings_are_validated_and_presets_known():
    assert (SETTINGS.frames, SETTINGS.size) == (16, 32)
    assert (cropping.settings_for("paper").frames, cropping.settings_for("paper").size) == (32, 64)
    with pytest.raises(ValueError, match="unknown clip preset"):
        cropping.settings_for("huge")
    with pytest.raises(ValueError, match="hand_smoothing"):
        dataclasses.replace(SETTINGS, hand_smoothing=4)
    with pytest.raises(ValueError, match="sampling"):
        dataclasses.replace(SETTINGS, sampling="random")
    with pytest.raises(dataclasses.FrozenInstanceError):
        SETTINGS.frames = 8
