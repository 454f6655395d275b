"""Stage 1: the report files and the parser (report text → pledges with source spans); a folder of reports with
their manifests and editions (``corpus/reports/``), PDF input, status labels and what changed between editions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from corpus.errors import ReportFormatError
from corpus.model import Passage, Pledge, Report, Sentence, Span, StatusLabel
from corpus.parser import parse_report
from corpus.reports import DEFAULT_REPORT, REPORTS_DIR

CORPUS_DIR = Path(__file__).resolve().parent


def code_sha256(folder: Path = CORPUS_DIR) -> str:
    """SHA-256 over the code that turns report files into records — every module here (parser, PDF reader, status
    rules, manifests) and the labelled status cases the status classifier learns from. A saved build records it,
    so a change to any of them rebuilds the index without anyone bumping a version by hand."""
    digest = hashlib.sha256()
    for path in sorted([*folder.glob("*.py"), *folder.glob("*.jsonl")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_report(path: Path | str | None = None) -> Report:
    """Parse one report file (default: the bundled Kraków report), with the parsing fields of its manifest."""
    return parse_report(Path(path) if path else DEFAULT_REPORT)


__all__ = [
    "CORPUS_DIR",
    "DEFAULT_REPORT",
    "REPORTS_DIR",
    "Passage",
    "Pledge",
    "Report",
    "ReportFormatError",
    "Sentence",
    "Span",
    "StatusLabel",
    "code_sha256",
    "load_report",
    "parse_report",
]
