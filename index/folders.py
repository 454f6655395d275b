"""Build folders that are either complete or absent: written beside their target and renamed into place.

A folder's marker file records its format version and the size of every file written with it
(``write_marker``); ``is_complete`` checks all of them, so a file deleted, truncated or swapped by hand afterwards
makes the folder incomplete and it is built again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def file_sizes(folder: Path, skip: str = "") -> dict[str, int]:
    """Every file under ``folder`` (relative path → bytes), except one named ``skip``."""
    folder = Path(folder)
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() != skip
    }


def write_marker(folder: Path, marker: str, info: dict) -> None:
    """Write ``folder/marker``: ``info`` (with its ``format_version``) and ``files``, the size of every file now
    in the folder. Call it last, when everything else is written."""
    (Path(folder) / marker).write_text(json.dumps({**info, "files": file_sizes(folder, marker)}, indent=2))


def read_marker(folder: Path, marker: str) -> dict | None:
    """The marker's JSON object, or None when it is missing or not an object."""
    try:
        info = json.loads((Path(folder) / marker).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def is_complete(folder: Path, marker: str, version: int, files: tuple[str, ...]) -> bool:
    """True when ``folder/marker`` records ``format_version == version``, every file in ``files`` exists, and
    every file the marker lists still has the size it was written with."""
    info = read_marker(folder, marker)
    if info is None or info.get("format_version") != version:
        return False
    folder = Path(folder)
    if not all((folder / f).is_file() for f in files):
        return False
    recorded = info.get("files", {})
    try:
        return all((folder / name).stat().st_size == size for name, size in recorded.items())
    except OSError:
        return False


@contextmanager
def replaced_atomically(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` to fill; on success it replaces ``target``, on error it goes.

    An interrupted build therefore leaves the previous folder (or nothing), never a half-written one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
