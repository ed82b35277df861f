"""Fixtures shared by the test modules: small datasets, a clip cache and a tiny trained model, built once
per session, and quick mode."""

import shutil

import pytest
import torch
import torch.nn.functional as F

from gesturelib import clipcache, synth
from tiny_dataset import write_dataset
from tiny_model import TinyJoint, separable_clips


@pytest.fixture(scope="session")
def tiny_dataset_source(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("tiny-source") / "tiny")


@pytest.fixture(scope="module")
def tiny_dataset(tiny_dataset_source, tmp_path_factory):
    """The tiny real-format dataset (``tests/tiny_dataset.py``), a fresh copy per test module
    (file names, sizes and times kept), which that module may change."""
    return shutil.copytree(tiny_dataset_source, tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture(scope="session")
def tiny_clip_cache(tiny_dataset_source, tmp_path_factory):
    """The clip cache (course preset) of the tiny dataset, built once. Its key hashes the sequences'
    names, sizes and times, which every ``tiny_dataset`` copy keeps, so each copy finds it."""
    cache = tmp_path_factory.mktemp("clips") / "cache"
    with pytest.warns(UserWarning, match="skipped"):  # the tiny dataset has a corrupt sequence
        clipcache.prepare(tiny_dataset_source, "course", cache_dir=cache, workers=1, progress=False)
    return cache


@pytest.fixture(scope="session")
def quick_embedded(tmp_path_factory):
    """The embedded dataset of quick mode: a few short sequences with gestures and pauses."""
    return synth.generate(tmp_path_factory.mktemp("quick") / "embedded-quick", "quick", workers=1, progress=False)


@pytest.fixture
def quick_data(tmp_path, monkeypatch):
    """Quick mode on a private data root (its own embedded dataset, clips and models)."""
    monkeypatch.setenv("GESTURELIB_QUICK", "1")
    monkeypatch.setenv("GESTURELIB_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def tiny_trained():
    """A :class:`tiny_model.TinyJoint` trained for 40 Adam steps (eval mode) and a held-out batch.
    Shared by the session: a test that changes the model works on a copy."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = TinyJoint()
    x, y = separable_clips(64, seed=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval(), separable_clips(64, seed=2)
