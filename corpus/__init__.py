"""Stage 1: the report files and the parser (report text → pledges with source spans); a folder of reports with
their manifests and editions (``corpus/reports/``), PDF input, and what changed between editions."""

from __future__ import annotations

from pathlib import Path

from corpus.model import Passage, Pledge, Report, Sentence, Span, StatusLabel
from corpus.parser import PARSER_VERSION, ReportFormatError, parse_report

CORPUS_DIR = Path(__file__).resolve().parent
REPORTS_DIR = CORPUS_DIR / "reports"
DEFAULT_REPORT = REPORTS_DIR / "krakow-miasto-rownych-szans.txt"


def load_report(path: Path | str | None = None) -> Report:
    """Parse one report file (default: the bundled Kraków report, whose closing is one paragraph)."""
    return parse_report(Path(path) if path else DEFAULT_REPORT, closing_paragraphs=None if path else 1)


__all__ = ["PARSER_VERSION", "DEFAULT_REPORT", "REPORTS_DIR", "Passage", "Pledge", "Report", "ReportFormatError",
           "Sentence", "Span", "StatusLabel", "load_report", "parse_report"]
