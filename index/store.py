"""The saved index — the one thing that is served: parsed reports, copies of their files, units, FAISS vectors,
background vectors, BM25, the follow-up head and the abstention calibration, with a manifest that records a
SHA-256 per file.

Layout: ``<index_dir>/current`` is a symlink to ``builds/<id>``. A build is written in a temporary folder and
renamed whole (``index.folders.replaced_atomically``); only then does ``current`` switch (an atomic rename), so a
crash never leaves a half-written index. Builds run under a lock file, so two builds at once wait for each
other instead of deleting each other's work; the previous build is kept for a server still reading it.

Inside a build, ``sources/`` holds each edition's text exactly as parsed (what citations quote, by line) and
``sources/original/`` the files as given (the city's PDF, say). ``load_index`` checks every file's hash and
that pledge ids agree across units, BM25, the pledge list and the reports, and refuses a damaged build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus.reports import ReportSet
from index.dense import DenseIndex
from index.folders import replaced_atomically
from index.followup_head import FILE as HEAD_FILE
from index.lexical import LexicalIndex
from index.units import Unit

INDEX_VERSION = 8  # 8: the follow-up head (followup_head.npy)
KEEP_BUILDS = 2  # the current build and the one before it (a replica may still be loading it)


class IndexLoadError(RuntimeError):
    """The saved index is missing, damaged or built for something else; the message says which and why."""


@dataclass
class SearchIndex:
    """Everything answering needs, in memory, as one build holds it."""

    manifest: dict
    reports: ReportSet  # every edition, parsed; citations quote ``reports``' own lines (the build's copies)
    units: list[Unit]
    dense: DenseIndex  # unit vectors (row i ↔ units[i]); the only copy kept
    background: np.ndarray  # background passage vectors (general city topics), after calibration
    lexical: LexicalIndex  # one document per pledge, in ``pledge_ids`` order
    pledge_ids: list[str]
    # the follow-up head's weights (index.followup_head), or None when it was not trained
    followup_head: np.ndarray | None = None
    originals: dict[str, bytes] = field(default_factory=dict, repr=False)  # file name → bytes (saving only)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data: object, *, indent: int | None = None) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")


def _write_build(idx: SearchIndex, folder: Path) -> None:
    """Every file of a build into ``folder``, the manifest (with the files' hashes) last."""
    with open(folder / "units.jsonl", "w", encoding="utf-8") as f:
        for u in idx.units:
            f.write(json.dumps(u.to_json(), ensure_ascii=False) + "\n")
    np.save(folder / "background.npy", idx.background)
    if idx.followup_head is not None:
        np.save(folder / HEAD_FILE, idx.followup_head)
    idx.dense.save(folder / "dense.faiss")
    (folder / "lexical").mkdir()
    idx.lexical.save(folder / "lexical")
    _write_json(folder / "pledges.json", idx.pledge_ids)
    _write_json(folder / "reports.json", idx.reports.to_json())
    (folder / "sources" / "original").mkdir(parents=True)
    for ed in idx.reports:
        (folder / ed.report.source).write_text("\n".join(ed.report.lines) + "\n", encoding="utf-8")
    for name, data in idx.originals.items():
        (folder / "sources" / "original" / name).write_bytes(data)
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    idx.manifest = {**idx.manifest, "files": files}  # what the saved build records, in memory too
    # The manifest goes last: a folder without one is never loaded.
    _write_json(folder / "manifest.json", idx.manifest, indent=2)


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``index_dir`` while building (other builders wait; readers never do)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def save_index(idx: SearchIndex, index_dir: Path) -> Path:
    """Write ``idx`` as a new build under ``index_dir`` and point ``current`` at it; return the build folder.

    Call under ``build_lock`` when several processes may build at once.
    """
    builds = index_dir / "builds"
    final = builds / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{os.urandom(3).hex()}"
    with replaced_atomically(final) as tmp:
        _write_build(idx, tmp)
    link_tmp = index_dir / f".current-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    link_tmp.symlink_to(Path("builds") / final.name)
    os.replace(link_tmp, index_dir / "current")
    _prune(builds, final)
    return final


def _prune(builds: Path, current: Path) -> None:
    """Remove complete builds older than the last ``KEEP_BUILDS`` (temporary folders are the writer's own)."""
    done = sorted(
        (p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in done[:-KEEP_BUILDS]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def _check_hashes(build: Path, manifest: dict) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexLoadError(f"index at {build} records no file hashes (built by an older version); rebuild it")
    for name, digest in files.items():
        path = build / name
        if not path.is_file():
            raise IndexLoadError(f"index at {build} lacks {name}; rebuild it")
        if sha256_file(path) != digest:
            raise IndexLoadError(
                f"index at {build}: {name} does not match its recorded hash (damaged or edited); rebuild it"
            )


def _check_ids(build: Path, idx: SearchIndex) -> None:
    """Pledge ids must agree across the pledge list, the reports, the units and BM25."""
    latest = [p.id for p in idx.reports.pledges]
    problems = []
    if idx.pledge_ids != latest:
        problems.append(
            f"pledges.json lists {len(idx.pledge_ids)} ids, the reports {len(latest)}, or their order differs"
        )
    stray = sorted({u.pledge_id for u in idx.units} - set(latest))
    if stray:
        problems.append(f"units name unknown pledges {stray[:3]}")
    if idx.lexical.n_docs != len(latest):
        problems.append(f"BM25 has {idx.lexical.n_docs} documents for {len(latest)} pledges")
    n = idx.manifest.get("n_units")
    if not (n == len(idx.units) == idx.dense.size) or idx.dense.dim != idx.manifest.get("dim"):
        problems.append(
            f"manifest says {n} units of dim {idx.manifest.get('dim')}, files hold {len(idx.units)} "
            f"units and {idx.dense.size} of dim {idx.dense.dim} in FAISS"
        )
    head = idx.followup_head
    if head is not None and head.shape != (2 * idx.dense.dim + 1,):
        problems.append(f"{HEAD_FILE} holds {head.shape} weights, not {2 * idx.dense.dim + 1} for dim {idx.dense.dim}")
    if problems:
        raise IndexLoadError(f"index at {build} is inconsistent ({'; '.join(problems)}); rebuild it")


def load_index(index_dir: Path) -> SearchIndex:
    """Read the current build, checking every file; raise IndexLoadError naming what is wrong."""
    link = index_dir / "current"
    if not link.exists():
        raise IndexLoadError(f"no index at {index_dir}; build it with `python -m assistant build`")
    build = link.resolve()
    if not (build / "manifest.json").is_file():
        raise IndexLoadError(f"index at {build} lacks manifest.json; rebuild it")
    try:
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("manifest is not a JSON object")
        _check_hashes(build, manifest)
        units = [
            Unit.from_json(json.loads(line))
            for line in (build / "units.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        reports = ReportSet.from_json(json.loads((build / "reports.json").read_text(encoding="utf-8")), build)
        idx = SearchIndex(
            manifest,
            reports,
            units,
            DenseIndex.load(build / "dense.faiss", str(manifest.get("dense_kind", "flat"))),
            np.load(build / "background.npy"),
            LexicalIndex.load(build / "lexical"),
            json.loads((build / "pledges.json").read_text(encoding="utf-8")),
            np.load(build / HEAD_FILE) if HEAD_FILE in manifest["files"] else None,
        )
    except IndexLoadError:
        raise
    except Exception as exc:  # any damaged file: json, numpy, faiss and bm25s each raise their own types
        raise IndexLoadError(f"index at {build} is damaged ({type(exc).__name__}: {exc}); rebuild it") from exc
    _check_ids(build, idx)
    return idx


def stale_reasons(saved: dict, expected: dict) -> list[str]:
    """Human-readable differences between a saved manifest and the expected one (hashes cut to 12 digits)."""

    def shown(key: str, value: object) -> str:
        return repr(value[:12] + "…") if key.endswith("sha256") and isinstance(value, str) and value else repr(value)

    return [f"{k} was {shown(k, saved.get(k))}, now {shown(k, v)}" for k, v in expected.items() if saved.get(k) != v]
