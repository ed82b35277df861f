"""The machine-readable results file that every chapter writes and the README reads.

One JSON document, ``{section: {key: value}}``: notebook 03 writes section
``"table1"``, notebook 06 ``"table2"`` and so on. Writes merge into
what is there and replace the file atomically, so a chapter never loses what
another one wrote and an interrupted write never leaves half a file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from . import config


def load(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """All recorded results (an empty dict when nothing was recorded yet)."""
    path = Path(path or config.results_path())
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a valid results file ({err})") from err


def _plain(value: Any) -> Any:
    """Turn numpy / torch scalars and arrays into JSON types; NaN becomes None."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, document: Any) -> None:
    """Write ``document`` as JSON to ``path`` through a temporary file and a rename."""
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def record(section: str, key: str, value: Any, path: str | os.PathLike | None = None) -> None:
    """Store ``value`` under ``section`` / ``key``, keeping everything else in the file."""
    path = Path(path or config.results_path())
    document = load(path)
    document.setdefault(section, {})[key] = _plain(value)
    write_json_atomic(path, document)


def get(section: str, key: str, default: Any = None, path: str | os.PathLike | None = None) -> Any:
    """One recorded value, or ``default`` when that chapter has not run yet."""
    return load(path).get(section, {}).get(key, default)
