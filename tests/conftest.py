"""Fixtures shared by the test modules: small datasets built once per session, and quick mode."""

import shutil

import pytest

from gesturelib import synth
from tiny_dataset import write_dataset


@pytest.fixture(scope="session")
def tiny_dataset_source(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("tiny-source") / "tiny")


@pytest.fixture(scope="module")
def tiny_dataset(tiny_dataset_source, tmp_path_factory):
    """The tiny real-format dataset (``tests/tiny_dataset.py``), a fresh copy per test module
    (file names, sizes and times kept), which that module may change."""
    return shutil.copytree(tiny_dataset_source, tmp_path_factory.mktemp("tiny") / "tiny")


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
