"""Build folders that are either complete or absent: written beside their target and renamed into place."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def is_complete(folder: Path, marker: str, version: int, files: tuple[str, ...]) -> bool:
    """True when ``folder/marker`` records ``format_version == version`` and every file in ``files`` exists."""
    try:
        info = json.loads((Path(folder) / marker).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("format_version") == version and \
        all((Path(folder) / f).is_file() for f in files)


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
