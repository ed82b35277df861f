"""GestureClips items, the clip augmentation and the seeded loader."""

import math
import pickle

import pytest
import torch

from gesturelib import chalearn, data


@pytest.fixture(scope="module")
def cached(tiny_dataset, tiny_clip_cache):
    return tiny_dataset, tiny_clip_cache


def still_clip(seed=0):
    """A clip whose frames are all the same picture, the same in both channels of a stream."""
    picture = torch.rand(2, 1, 1, 32, 32, generator=torch.Generator().manual_seed(seed))
    return picture.expand(2, 2, 16, 32, 32).clone()


def test_items_have_the_contract_shape_dtype_and_range(cached):
    dataset, cache = cached
    train = data.GestureClips(dataset, "train", cache_dir=cache)
    assert len(train) == 4 and train.labels.tolist() == [2, 10, 2, 10]
    assert train.users.tolist() == [1, 1, 2, 2] and train.sequences[0] == "Sample0001"
    assert train.classes == list(chalearn.GESTURES) and train.classes[train.labels[1]] == "ok"
    clip, label = train[1]
    assert clip.dtype == torch.float32 and clip.shape == (2, 2, 16, 32, 32)
    assert 0.0 <= clip.min() and clip.max() <= 1.0 and clip.max() > 0.5
    assert isinstance(label, int) and label == 10
    assert torch.equal(clip, train.clips[1].float() / 255)


def test_augmentation_moves_all_frames_and_channels_of_a_stream_together():
    torch.manual_seed(0)
    augmented = data.poster_augmentation("course")(still_clip())
    assert augmented.shape == (2, 2, 16, 32, 32)
    for stream in augmented:
        assert torch.equal(stream, stream[:1, :1].expand_as(stream))  # every frame, both channels alike
    assert not torch.allclose(augmented, still_clip())  # and it did move something
    body_draw = augmented[0, 0, 0] - still_clip()[0, 0, 0]
    hand_draw = augmented[1, 0, 0] - still_clip()[1, 0, 0]
    assert not torch.allclose(body_draw, hand_draw)  # independent draws per stream


@pytest.mark.parametrize("preset", ["course", "paper"])
def test_augmentation_is_bit_for_bit_one_v2_random_affine_call_per_stream(preset):
    augment = data.poster_augmentation(preset)
    frames, size = (16, 32) if preset == "course" else (32, 64)
    for seed in range(5):
        clip = torch.rand(2, 2, frames, size, size, generator=torch.Generator().manual_seed(seed))
        torch.manual_seed(seed)
        fast = augment(clip)
        torch.manual_seed(seed)
        assert torch.equal(fast, augment.reference(clip))
        assert fast.shape == clip.shape and not torch.equal(fast, clip)


def test_augmentation_differs_between_clips_of_a_batch(cached):
    dataset, cache = cached
    train = data.GestureClips(dataset, "train", cache_dir=cache, transform=data.poster_augmentation("course"))
    train.clips = torch.stack([train.clips[0]] * 4)  # four copies of one clip
    clips, _ = next(iter(data.make_loader(train, batch_size=4, shuffle=False, seed=0)))
    for i in range(1, 4):
        assert not torch.allclose(clips[0], clips[i])


def test_same_seed_gives_same_batches_and_augmentations(cached):
    dataset, cache = cached
    train = data.GestureClips(dataset, "train", cache_dir=cache, transform=data.poster_augmentation("course"))

    def epochs(seed, num_workers=0):
        loader = data.make_loader(train, batch_size=2, shuffle=True, seed=seed, num_workers=num_workers)
        batches = []
        for _ in range(2):
            for clips, labels in loader:
                torch.rand(3)  # the training loop drawing from the global RNG (dropout...)
                batches.append((clips, labels))
        return batches

    def same(one, two):
        return all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(one, two))

    first = epochs(seed=1)
    assert same(first, epochs(seed=1))
    assert not same(first, epochs(seed=2))
    assert not torch.equal(first[0][0], first[2][0])  # a new epoch draws new augmentations
    state = torch.get_rng_state()
    for _ in data.make_loader(train, batch_size=2, shuffle=True, seed=1):
        pass
    assert torch.equal(state, torch.get_rng_state())  # the loader leaves the global RNG alone
    with_workers = epochs(seed=1, num_workers=2)
    assert same(with_workers, epochs(seed=1, num_workers=2))


def test_unknown_preset_and_split_are_clear_errors(cached):
    dataset, cache = cached
    with pytest.raises(ValueError, match="unknown clip preset"):
        data.poster_augmentation("huge")
    with pytest.raises(ValueError, match="no sequences in split"):
        data.GestureClips(dataset, "holdout", cache_dir=cache)


def test_epoch_views_depend_on_epoch_and_index_only(cached):
    dataset, cache = cached
    plain = data.GestureClips(dataset, "train", "course", cache_dir=cache)
    views = data.EpochViews(torch.utils.data.Subset(plain, [0, 1, 0]), data.poster_augmentation("course"), seed=0)
    views.set_epoch(3)
    torch.manual_seed(123)
    first = [views[i][0] for i in range(3)]
    state = torch.get_rng_state()
    views[1]
    assert torch.equal(torch.get_rng_state(), state)  # the caller's generator is untouched
    torch.manual_seed(999)  # whatever the global generator, the order or the model's draws
    assert all(torch.equal(views[i][0], first[i]) for i in (2, 0, 1))
    assert torch.equal(views.view(0, 3)[0], first[0]) and views.view(0, 3)[1] == plain[0][1]
    assert not torch.equal(first[0], first[2])  # a clip listed twice gets two views
    assert not torch.equal(views.view(0, 4)[0], first[0])  # another epoch, another view
    other_seed = data.EpochViews(views.dataset, views.augmentation, seed=1)
    assert not torch.equal(other_seed.view(0, 3)[0], first[0])
    # seeding the CPU generator alone gives the draw that torch.manual_seed gives
    torch.manual_seed(((0 * 1_000_003 + 3) * 1_000_000_007 + 1) % 2**63)
    assert torch.equal(views.augmentation(plain[1][0]), first[1])
    whole = data.EpochViews(plain, views.augmentation)
    assert torch.equal(whole.users, plain.users) and whole.classes == plain.classes  # metadata reads through
    copy = pickle.loads(pickle.dumps(whole))  # as DataLoader workers receive it
    assert torch.equal(copy[1][0], whole[1][0])


def test_the_trainer_tells_epoch_views_the_epoch(cached):
    from gesturelib import models, train

    class Recording(data.EpochViews):
        def set_epoch(self, epoch):
            seen.append(epoch)
            super().set_epoch(epoch)

    seen = []
    dataset, cache = cached
    views = Recording(data.GestureClips(dataset, "train", "course", cache_dir=cache), data.poster_augmentation("course"))
    config = train.TrainConfig(epochs=2, batch_size=8, num_threads=1)
    train.fit(models.build("student_small", "course"), views, None, config, progress=False)
    assert seen == [0, 1] and views.epoch == 1


def test_inverse_affine_matrix_undoes_the_rotation_zoom_and_shift():
    assert data.inverse_affine_matrix(0.0, 0, 0, 1.0) == [1.0, 0.0, 0.0, -0.0, 1.0, 0.0]
    angle, tx, ty, scale = 30.0, 3, -2, 1.25
    inverse = torch.tensor(data.inverse_affine_matrix(angle, tx, ty, scale), dtype=torch.float64).view(2, 3)
    # The forward map: rotate by angle and zoom about the centre, then shift.
    r = math.radians(angle)
    forward = torch.tensor([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]], dtype=torch.float64) * scale
    point = torch.tensor([5.0, 7.0], dtype=torch.float64)
    moved = forward @ point + torch.tensor([tx, ty], dtype=torch.float64)
    assert torch.allclose(inverse[:, :2] @ moved + inverse[:, 2], point)
