"""Writing files so that nobody ever reads half of one.

Every file the library writes (datasets, clip caches, models, checkpoints,
teacher logits, exports, results, notebooks, the README) goes through
:func:`atomic_path`: the content is written to a temporary file in the same
folder, flushed to disk, given the usual permissions and renamed over the
target in one step (``os.replace``). A reader sees the old file or the new
one, processes that train side by side can share a folder, and a crash or an
error leaves the old file as it was and no temporary file behind.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

#: Permissions of every file written: readable by all, writable by the owner
#: (``mkstemp`` would leave a private 0o600 file).
FILE_MODE = 0o644


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        descriptor = os.open(temporary, os.O_RDWR)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(content)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (``\\n`` line ends on every OS)."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding=encoding, newline="") as file:
        file.write(text)


def plain(value: Any) -> Any:
    """``value`` as JSON types: numpy / torch scalars and arrays become numbers and lists,
    keys become strings, and NaN and infinities become ``null``."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, document: Any) -> None:
    """Write ``document`` (through :func:`plain`) as indented, key-sorted JSON, atomically."""
    write_text(path, json.dumps(plain(document), indent=2, sort_keys=True, allow_nan=False) + "\n")


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj)`` to ``path`` atomically (read it back with ``torch.load(..., weights_only=True)``)."""
    import torch  # here: the dataset writers use this module without torch

    with atomic_path(path) as temporary:
        torch.save(obj, temporary)
