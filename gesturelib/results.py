"""The machine-readable results file that every chapter writes and the README reads.

One JSON document, ``{section: {key: value}}``: notebook 03 writes section
``"table1"``, notebook 06 ``"table2"`` and so on. Writes merge into
what is there and replace the file atomically, so a chapter never loses what
another one wrote and an interrupted write never leaves half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import files, runtime


def load(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """All recorded results (an empty dict when nothing was recorded yet)."""
    path = Path(path or runtime.results_path())
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a valid results file ({err})") from err


def record(section: str, key: str, value: Any, path: str | os.PathLike | None = None) -> None:
    """Store ``value`` under ``section`` / ``key``, keeping everything else in the file."""
    path = Path(path or runtime.results_path())
    document = load(path)
    document.setdefault(section, {})[key] = files.plain(value)
    files.write_json(path, document)


def get(section: str, key: str, default: Any = None, path: str | os.PathLike | None = None) -> Any:
    """One recorded value, or ``default`` when that chapter has not run yet."""
    return load(path).get(section, {}).get(key, default)
