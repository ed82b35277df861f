"""A tiny dataset in the real ChaLearn format, for tests of everything that reads one.

Five sequences of 30 frames at 96x72 with the gestures :data:`GESTURES`: two
training users (the second left-handed, so mirrored), a validation user whose
second gesture is untracked throughout, a test user, and a corrupt training
zip. Tests get it through ``conftest``'s ``tiny_dataset`` fixture.
"""

import numpy as np

from gesturelib import chalearn, cropping

WIDTH, HEIGHT, FRAMES = 96, 72, 30
GESTURES = [(3, 3, 12), (11, 15, 26)]


def scene(t):
    """Frame t of a right-handed user raising the hand on the image's right side."""
    hand_x, hand_y = 64 + 2 * (t % 3), 22
    gray = np.full((HEIGHT, WIDTH), 90, np.uint8)
    depth = np.full((HEIGHT, WIDTH), 3500, np.uint16)
    mask = np.zeros((HEIGHT, WIDTH), bool)
    gray[12:64, 36:60], depth[12:64, 36:60], mask[12:64, 36:60] = 150, 2000, True  # body
    hand = (slice(hand_y - 4, hand_y + 4), slice(hand_x - 4, hand_x + 4))
    gray[hand], depth[hand], mask[hand] = 240, 1500, True
    joints = np.zeros((20, 9), np.float32)
    joints[:, 2] = 2.0
    joints[:, 7:9] = (48, 56)
    joints[chalearn.JOINT_INDEX["Head"], 7:9] = (48, 16)
    joints[chalearn.JOINT_INDEX["HandRight"], 7:9] = (hand_x, hand_y)
    joints[chalearn.JOINT_INDEX["HandLeft"], 7:9] = (34, 62)
    return gray, depth, mask, joints


def write_sequence(path, left_handed=False, untracked=()):
    """One sequence with GESTURES; ``left_handed`` mirrors everything; ``untracked`` frames get zero skeletons."""
    with chalearn.SampleWriter(path, WIDTH, HEIGHT, max_depth=4000) as writer:
        for t in range(1, FRAMES + 1):
            gray, depth, mask, joints = scene(t)
            if left_handed:
                gray, depth, mask = gray[:, ::-1], depth[:, ::-1], mask[:, ::-1]
                joints = cropping.mirror_skeleton(joints[None], WIDTH)[0]
            if t in untracked:
                joints = np.zeros_like(joints)
            color = np.repeat(np.ascontiguousarray(gray)[..., None], 3, axis=2)
            writer.add_frame(color, np.ascontiguousarray(depth), np.ascontiguousarray(mask), joints)
        writer.finish(GESTURES)


def write_dataset(folder):
    """Five sequences: two train users (one left-handed), a validation one whose second
    gesture is untracked throughout, a test one, and a corrupt train zip."""
    folder.mkdir(parents=True, exist_ok=True)
    write_sequence(folder / "Sample0001.zip")
    write_sequence(folder / "Sample0002.zip", left_handed=True)
    write_sequence(folder / "Sample0003.zip", untracked=range(14, 28))
    write_sequence(folder / "Sample0004.zip")
    (folder / "Sample0005.zip").write_bytes(b"this is not a zip file")
    rows = ["sample,user,split", "1,1,train", "2,2,train", "3,3,validation", "4,4,test", "5,5,train"]
    (folder / "sequences.csv").write_text("\n".join(rows) + "\n")
    return folder
