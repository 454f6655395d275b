"""Stage 1: the report files and the parser (report text → pledges with source spans)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from corpus.model import Passage, Pledge, Report, Sentence, Span, StatusLabel
from corpus.parser import PARSER_VERSION, ReportFormatError, parse_report

CORPUS_DIR = Path(__file__).resolve().parent
DEFAULT_REPORT = CORPUS_DIR / "krakow-miasto-rownych-szans.txt"


def load_report(path: Path | str | None = None) -> Report:
    """Parse the report at ``path`` (default: the bundled Kraków report)."""
    return parse_report(Path(path) if path else DEFAULT_REPORT)


@lru_cache(maxsize=1)
def report_manifest() -> dict:
    """Title, section, publisher and year of the bundled report."""
    return json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))


__all__ = ["PARSER_VERSION", "DEFAULT_REPORT", "Passage", "Pledge", "Report", "ReportFormatError", "Sentence",
           "Span", "StatusLabel", "load_report", "parse_report", "report_manifest"]
