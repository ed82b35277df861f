"""Project-wide settings: quick mode, where data and caches live, and seeding.

Quick mode (``GESTURELIB_QUICK=1``) shrinks data and epochs so every notebook
runs in seconds; CI and nbval use it. Notebooks read sizes from here and from
the modules that own them, never hard-code them.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The project's public repository: the notebooks' Colab setup cells clone it and the README's
#: Colab badges open its notebooks (``tests/test_packaging.py`` checks that they all agree).
REPO_URL = "https://github.com/gesturelib/compact-gestures"


def quick_mode() -> bool:
    """True when ``GESTURELIB_QUICK`` is set to a true value (1, true, yes)."""
    return os.environ.get("GESTURELIB_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def data_root() -> Path:
    """Folder for generated datasets, clip caches and trained models.

    ``GESTURELIB_DATA`` overrides the default ``<repo>/data``. Quick mode keeps
    its artefacts in a separate subfolder so they never mix with full-mode ones.
    """
    root = Path(os.environ.get("GESTURELIB_DATA", REPO_ROOT / "data"))
    return root / "quick" if quick_mode() else root


def results_path() -> Path:
    """The machine-readable results file that chapters write and the README reads."""
    name = "results_quick.json" if quick_mode() else "results.json"
    return Path(os.environ.get("GESTURELIB_RESULTS", REPO_ROOT / "results" / name))


def real_labels_dir() -> Path:
    """Where the real annotation files of the 230 ChaLearn 2014 validation sequences are, when present.

    ``GESTURELIB_REAL_LABELS`` overrides the default, a ``shared/data`` folder
    beside the checkout (where this project's own machines keep them; they are
    never copied into the repository).
    """
    default = REPO_ROOT.parent / "shared" / "data" / "chalearn2014_validation_gt"
    return Path(os.environ.get("GESTURELIB_REAL_LABELS", default))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so the same seed gives the same numbers on CPU."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
