"""The saved index: units, FAISS vectors, background vectors and BM25, with a manifest; atomic and self-checking.

Layout: ``<index_dir>/current`` is a symlink to ``builds/<id>``; a build is written in a temporary folder,
renamed, and only then does ``current`` switch (an atomic rename), so a crash never leaves a half-written index.

    >>> idx = open_index(settings, report, encoder)   # loads, or rebuilds when stale   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from corpus import PARSER_VERSION
from corpus.model import Report
from index.dense import DenseIndex
from index.encoder import Encoder
from index.lexical import LexicalIndex
from index.units import BACKGROUND_FILE, Unit, build_units, load_background
from settings import Settings

INDEX_VERSION = 6
_FILES = ("manifest.json", "units.jsonl", "dense.faiss", "background.npy", "lexical/analyzer.json",
          "pledges.json", "report.txt")


class IndexLoadError(RuntimeError):
    """The saved index is missing, damaged or built for something else; the message says which and why."""


@dataclass
class SearchIndex:
    """Everything retrieval needs, in memory; ``report_text`` is the report it was built from."""

    manifest: dict
    units: list[Unit]
    dense: DenseIndex  # unit vectors (row i ↔ units[i]); the only copy kept
    background: np.ndarray  # background passage vectors (general city topics)
    lexical: LexicalIndex  # one document per pledge, in ``pledge_ids`` order
    pledge_ids: list[str]
    report_text: str = ""  # snapshot: lets the last good index keep serving if the report file breaks


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def expected_manifest(report: Report, encoder: Encoder, settings: Settings) -> dict:
    """What a fresh index for this report, model and settings records; a saved one must match it."""
    background = BACKGROUND_FILE.read_bytes()
    return {
        "index_version": INDEX_VERSION,
        "parser_version": PARSER_VERSION,
        "corpus_source": report.source,
        "corpus_sha256": report.sha256,
        "background_sha256": hashlib.sha256(background).hexdigest(),
        "model": encoder.name,
        "encoder_backend": getattr(encoder, "backend", "unknown"),
        "dim": encoder.dim,
        "query_prompt": getattr(encoder, "query_prompt", None),
        "passage_prompt": getattr(encoder, "passage_prompt", None),
        "lexical_prefix": settings.lexical_prefix,
        "ann_threshold": settings.ann_threshold,
    }


def build_index(report: Report, encoder: Encoder, settings: Settings, progress: bool = False) -> SearchIndex:
    """Embed every unit and background passage; build FAISS and BM25."""
    from concurrent.futures import ThreadPoolExecutor

    units = build_units(report)
    pledge_ids = [p.id for p in report.pledges]
    whole = {u.pledge_id: u.text for u in units if u.kind == "whole"}
    # BM25 (mostly loading simplemma's dictionary) runs beside the embedding, which leaves the GIL to ONNX.
    with ThreadPoolExecutor(1) as pool:
        lexical_job = pool.submit(LexicalIndex.build, [whole[pid] for pid in pledge_ids], settings.lexical_prefix)
        texts = [u.text for u in units]
        batches = [texts[i:i + 16] for i in range(0, len(texts), 16)]
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding report units", unit="batch")
        vectors = np.concatenate([encoder.encode_passages(b) for b in batches]).astype(np.float32)
        background = encoder.encode_passages(load_background()).astype(np.float32)
        lexical = lexical_job.result()
    dense = DenseIndex.build(vectors, settings.ann_threshold)
    manifest = {**expected_manifest(report, encoder, settings), "n_units": len(units), "dense_kind": dense.kind,
                "n_background": len(background), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "versions": {p: _version(p) for p in ("faiss-cpu", "bm25s", "simplemma", "sentence-transformers",
                                                      "stopwordsiso")}}
    return SearchIndex(manifest, units, dense, background, lexical, pledge_ids,
                       "\n".join(report.lines) + "\n")


def save_index(idx: SearchIndex, index_dir: Path) -> Path:
    """Write ``idx`` under ``index_dir`` atomically and point ``current`` at it; return the build folder."""
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        with open(tmp / "units.jsonl", "w", encoding="utf-8") as f:
            for u in idx.units:
                f.write(json.dumps(u.to_json(), ensure_ascii=False) + "\n")
        np.save(tmp / "background.npy", idx.background)
        idx.dense.save(tmp / "dense.faiss")
        (tmp / "lexical").mkdir()
        idx.lexical.save(tmp / "lexical")
        (tmp / "pledges.json").write_text(json.dumps(idx.pledge_ids))
        (tmp / "report.txt").write_text(idx.report_text, encoding="utf-8")
        # The manifest goes last: a folder without one is never loaded.
        (tmp / "manifest.json").write_text(json.dumps(idx.manifest, indent=2, ensure_ascii=False))
        final = builds / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{tmp.name[-6:]}"
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    link_tmp = index_dir / f".current-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    link_tmp.symlink_to(Path("builds") / final.name)
    os.replace(link_tmp, index_dir / "current")
    for old in builds.iterdir():  # keep only the build in use
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_index(index_dir: Path) -> SearchIndex:
    """Read the current build, checking every file; raise IndexLoadError naming what is wrong."""
    build = index_dir / "current"
    if not build.exists():
        raise IndexLoadError(f"no index at {index_dir}; build it with `python -m assistant build`")
    missing = [f for f in _FILES if not (build / f).is_file()]
    if missing:
        raise IndexLoadError(f"index at {build.resolve()} lacks {', '.join(missing)}; rebuild it")
    try:
        manifest = json.loads((build / "manifest.json").read_text())
        if not isinstance(manifest, dict):
            raise ValueError("manifest is not a JSON object")
        units = [Unit.from_json(json.loads(line)) for line in
                 (build / "units.jsonl").read_text(encoding="utf-8").splitlines()]
        background = np.load(build / "background.npy")
        dense = DenseIndex.load(build / "dense.faiss", str(manifest.get("dense_kind", "flat")))
        lexical = LexicalIndex.load(build / "lexical")
        pledge_ids = json.loads((build / "pledges.json").read_text())
        report_text = (build / "report.txt").read_text(encoding="utf-8")
    except Exception as exc:  # any damaged file: json, numpy, faiss and bm25s each raise their own types
        raise IndexLoadError(f"index at {build.resolve()} is damaged ({type(exc).__name__}: {exc}); rebuild it") from exc
    n = manifest.get("n_units")
    if not (n == len(units) == dense.size) or dense.dim != manifest.get("dim"):
        raise IndexLoadError(f"index at {build.resolve()} is inconsistent (manifest says {n} units of dim "
                             f"{manifest.get('dim')}, files hold {len(units)} units and {dense.size} of dim "
                             f"{dense.dim} in FAISS); rebuild it")
    return SearchIndex(manifest, units, dense, background, lexical, pledge_ids, report_text)


def stale_reasons(saved: dict, expected: dict) -> list[str]:
    """Human-readable differences between a saved manifest and the expected one."""
    return [f"{k} was {saved.get(k)!r}, now {v!r}" for k, v in expected.items() if saved.get(k) != v]


def open_index(settings: Settings, report: Report, encoder: Encoder, *, progress: bool = False,
               log: Callable[[str], None] = print) -> SearchIndex:
    """Load the saved index if it matches this report, model and settings; otherwise rebuild and save it."""
    expected = expected_manifest(report, encoder, settings)
    try:
        idx = load_index(settings.index_dir)
        reasons = stale_reasons(idx.manifest, expected)
        if not reasons:
            return idx
        log(f"index at {settings.index_dir} is stale ({'; '.join(reasons)}); rebuilding")
    except IndexLoadError as exc:
        log(f"{exc} — rebuilding")
    idx = build_index(report, encoder, settings, progress=progress)
    save_index(idx, settings.index_dir)
    log(f"index rebuilt: {len(idx.units)} units, {len(idx.pledge_ids)} pledges, model {encoder.name}")
    return idx
