"""Build the index from a reports folder, calibrate abstention for that report set, and open the build to serve.

``open_index`` serves the saved build when it was made from the same report files, model and settings; else it
parses the folder and builds anew. A folder that no longer parses leaves the last good build serving (with the
error logged), provided that build fits this code and model — never one made by another parser or model.

Abstention compares a question's best unit cosine with its closest background passages (general city
topics). A background passage about the report set's own subject would refuse that subject, so at build time
the report set's own headings and pledge sentences, asked as questions, decide which background passages stay:
every passage that would push one of them under the abstention threshold is dropped (``calibrate``). A
transport report is therefore never refused on tram tickets, whatever ``background_pl.txt`` says.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np

from corpus import ReportFormatError, code_sha256
from corpus.reports import REPORT_SUFFIXES, LoadedReport, ReportSet, ReportSetError, load_report_set
from index.dense import DenseIndex
from index.encoder import Encoder
from index.followup_head import HEAD_C, train_head
from index.followup_head import TRAINING_FILES as HEAD_FILES
from index.lexical import LexicalIndex
from index.store import (
    INDEX_VERSION,
    IndexLoadError,
    SearchIndex,
    build_lock,
    load_index,
    save_index,
    sha256_file,
    stale_reasons,
)
from index.units import BACKGROUND_FILE, build_units, load_background
from settings import Settings

_PACKAGES = ("faiss-cpu", "bm25s", "simplemma", "sentence-transformers", "stopwordsiso", "pypdf")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def input_fingerprint(folder: Path) -> str:
    """SHA-256 over the names and bytes of the report files and manifests in ``folder`` ('' if none)."""
    digest = hashlib.sha256()
    if not folder.is_dir():
        return ""
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in (*REPORT_SUFFIXES, ".json"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def expected_manifest(encoder: Encoder, settings: Settings) -> dict:
    """What a build for this code, model and settings records; a saved one must match it to be served."""
    return {
        "index_version": INDEX_VERSION,
        "parser_sha256": code_sha256(),  # the parser and status rules by content: a change to either rebuilds
        "background_sha256": hashlib.sha256(BACKGROUND_FILE.read_bytes()).hexdigest(),
        "model": encoder.name,
        "encoder_backend": getattr(encoder, "backend", "unknown"),
        "dim": encoder.dim,
        "query_prompt": getattr(encoder, "query_prompt", None),
        "passage_prompt": getattr(encoder, "passage_prompt", None),
        "lexical_prefix": settings.lexical_prefix,
        "ann_threshold": settings.ann_threshold,
        "abstain_margin": settings.abstain_margin,
        "abstain_margins": settings.abstain_margins,
        "abstain_unit_kinds": settings.abstain_unit_kinds,
        "background_top": settings.background_top,
        # the follow-up head (index.followup_head): its training conversations by content, and its form
        "followup_head": {
            "conversations_sha256": {p.name: sha256_file(p) for p in HEAD_FILES if p.is_file()},
            "c": HEAD_C,
            "k": settings.followup_context_questions,
        },
    }


def embed_texts(encoder: Encoder, texts: list[str], progress: bool, what: str, *, queries: bool = False) -> np.ndarray:
    """``texts``' vectors (passages, or queries with ``queries``) in batches of 16, with a progress bar."""
    from index.progress import progress as counted
    from index.progress import stderr

    encode = encoder.encode_queries if queries else encoder.encode_passages
    batches = [texts[i : i + 16] for i in range(0, len(texts), 16)]
    shown = counted(batches, what, unit="batches", log=stderr if progress else None)
    return np.concatenate([encode(b) for b in shown]).astype(np.float32)


def pseudo_questions(reports: ReportSet) -> list[str]:
    """The report set's own subject, as questions: every heading and every sentence of every pledge text."""
    return [text for p in reports.pledges for text in (p.title, *(s.text for s in p.pledge.sentences))]


def calibrate(
    questions: np.ndarray, units: np.ndarray, abstain_used: np.ndarray, background: np.ndarray, threshold: float
) -> tuple[np.ndarray, dict]:
    """Which background rows to keep so that no pseudo-question is refused at ``threshold``.

    A question is refused when best unit cosine − mean of its top background cosines < threshold; keeping only
    background rows with cosine < best − threshold to every question guarantees that mean stays below it.
    """
    best = (questions @ units[abstain_used].T).max(axis=1)  # (q,)
    near = (questions @ background.T) >= (best - threshold)[:, None]  # (q, b): would pull q under
    keep = ~near.any(axis=0)
    return keep, {
        "pseudo_questions": int(len(questions)),
        "background_given": int(len(background)),
        "background_kept": int(keep.sum()),
        "dropped_background": np.flatnonzero(~keep).tolist(),
        "threshold": threshold,
    }


def strictest_threshold(settings: Settings) -> float:
    """The highest abstention threshold of any language: the background must suit every one of them."""
    return max([settings.abstain_margin, *settings.margins_by_language().values()])


def build_index(
    reports: ReportSet, encoder: Encoder, settings: Settings, *, fingerprint: str, progress: bool = False
) -> SearchIndex:
    """Embed every unit of the latest editions and the background; calibrate; build FAISS and BM25."""
    named = ReportSet(reports.folder, {key: tuple(_as_copy(ed) for ed in eds) for key, eds in reports.editions.items()})
    units = [u for ed in named.latest() for u in build_units(ed.report)]
    pledge_ids = [p.id for p in named.pledges]
    whole = {u.pledge_id: u.text for u in units if u.kind == "whole"}
    # BM25 (mostly loading simplemma's dictionary) runs beside the embedding, which leaves the GIL to ONNX.
    with ThreadPoolExecutor(1) as pool:
        lexical_job = pool.submit(LexicalIndex.build, [whole[pid] for pid in pledge_ids], settings.lexical_prefix)
        vectors = embed_texts(encoder, [u.text for u in units], progress, "embedding report units")
        background = embed_texts(encoder, load_background(), progress, "embedding background passages")
        questions = encoder.encode_queries(pseudo_questions(named)).astype(np.float32)
        head, head_info = _followup_head(encoder, settings, progress)
        lexical = lexical_job.result()
    abstain_kinds = {k.strip() for k in settings.abstain_unit_kinds.split(",")}
    keep, calibration = calibrate(
        questions,
        vectors,
        np.array([u.kind in abstain_kinds for u in units]),
        background,
        strictest_threshold(settings),
    )
    dense = DenseIndex.build(vectors, settings.ann_threshold)
    manifest = {
        **expected_manifest(encoder, settings),
        "inputs_sha256": fingerprint,
        "n_units": len(units),
        "dense_kind": dense.kind,
        "calibration": calibration,
        "followup_head_trained": head_info,
        "reports": [
            {
                "key": ed.key,
                "title": ed.info.title,
                "section": ed.info.section,
                "edition": ed.info.edition,
                "file": ed.info.file,
                "copy": ed.report.source,
                "pledges": len(ed.report.pledges),
            }
            for ed in named
        ],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {p: _version(p) for p in _PACKAGES},
    }
    originals = {
        name: (reports.folder / name).read_bytes()
        for name in (Path(ed.info.file).name for ed in reports)
        if (reports.folder / name).is_file()
    }
    return SearchIndex(manifest, named, units, dense, background[keep], lexical, pledge_ids, head, originals)


def _followup_head(encoder: Encoder, settings: Settings, progress: bool) -> tuple[np.ndarray | None, dict | None]:
    """The follow-up head for this encoder, or none when the training conversations are not there (a trimmed
    checkout: follow-ups are then read by their retrieval scores alone)."""
    files = [p for p in HEAD_FILES if p.is_file()]
    if not files:
        return None, None
    return train_head(
        lambda texts: embed_texts(encoder, texts, progress, "embedding follow-up turns", queries=True),
        files,
        settings.followup_context_questions,
    )


def _as_copy(ed: LoadedReport) -> LoadedReport:
    """An edition whose spans name its copy inside the build ('sources/NAME.txt', or 'sources/NAME.pdf.txt'
    for the text extracted from a PDF) instead of the live file."""
    name = Path(ed.info.file).name
    copy = f"sources/{name if name.endswith('.txt') else name + '.txt'}"
    return replace(ed, report=ed.report.with_source(copy))


def open_index(
    settings: Settings, encoder: Encoder, *, progress: bool = False, log: Callable[[str], None] = print
) -> SearchIndex:
    """The saved build if it fits the reports folder, model and settings; else build (and save) a new one."""
    expected = expected_manifest(encoder, settings)
    fingerprint = input_fingerprint(settings.reports)
    saved: SearchIndex | None = None
    try:
        saved = load_index(settings.index_dir)
        reasons = stale_reasons(saved.manifest, {**expected, "inputs_sha256": fingerprint})
        if not reasons:
            return saved
        log(f"index at {settings.index_dir} is stale ({'; '.join(r[:160] for r in reasons)}); rebuilding")
    except IndexLoadError as exc:
        log(f"{exc} — rebuilding")
    try:
        return rebuild(settings, encoder, progress=progress, log=log)
    except (ReportFormatError, ReportSetError) as exc:
        if saved is None or stale_reasons(saved.manifest, expected):
            raise  # nothing fit to serve: no build, or one made by another parser, model or settings
        files = ", ".join(r["file"] for r in saved.manifest["reports"])
        log(
            f"ERROR: {exc}. Serving the last good index (reports {files}, built {saved.manifest.get('built_at')}) "
            "until the reports are fixed."
        )
        return saved


def _fitting_build(settings: Settings, encoder: Encoder, fingerprint: str) -> SearchIndex | None:
    try:
        saved = load_index(settings.index_dir)
    except IndexLoadError:
        return None
    fits = not stale_reasons(saved.manifest, {**expected_manifest(encoder, settings), "inputs_sha256": fingerprint})
    return saved if fits else None


def rebuild(
    settings: Settings,
    encoder: Encoder,
    *,
    progress: bool = False,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> SearchIndex:
    """Parse the reports folder and save a new build (under the build lock). Unless ``force``, a build that
    another process finished while this one waited for the lock, for the same reports and settings, is used."""
    with build_lock(settings.index_dir):
        fingerprint = input_fingerprint(settings.reports)
        done = None if force else _fitting_build(settings, encoder, fingerprint)
        if done is not None:
            return done
        reports = load_report_set(settings.reports)
        idx = build_index(reports, encoder, settings, fingerprint=fingerprint, progress=progress)
        path = save_index(idx, settings.index_dir)
    log(
        f"index rebuilt: {len(idx.units)} units, {len(idx.pledge_ids)} pledges from "
        f"{len(list(idx.reports))} edition(s), {len(idx.background)} of "
        f"{idx.manifest['calibration']['background_given']} background passages kept → {path}"
    )
    return idx
