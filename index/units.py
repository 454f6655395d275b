"""Units of retrieval: the pieces of each pledge that are embedded and searched, pooled back per pledge.

Kinds: ``whole`` (title + pledge + status), ``pledge`` (title + pledge text), ``status`` (title + status text),
``sentence`` (title + one sentence of the pledge or status text; also what highlighting uses).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from corpus.model import Report, Span

KINDS = ("whole", "pledge", "status", "sentence")
BACKGROUND_FILE = Path(__file__).resolve().parent / "background_pl.txt"


@dataclass(frozen=True)
class Unit:
    """One embedded text and where it came from (``passage`` is "pledge" or "status" for sentences)."""

    pledge_id: str
    kind: str
    text: str
    span: Span
    passage: str = ""
    start: int = 0  # offsets of a sentence inside its passage text
    end: int = 0

    def to_json(self) -> dict:
        """Plain dict for the saved index."""
        return asdict(self)

    @staticmethod
    def from_json(d: dict) -> Unit:
        """Inverse of ``to_json``."""
        return Unit(**{**d, "span": Span(**d["span"])})


def build_units(report: Report) -> list[Unit]:
    """Every unit kind for every pledge, in report order."""
    units: list[Unit] = []
    for p in report.pledges:
        whole_span = Span(p.title_passage.span.source, p.title_passage.span.start_line, p.status.span.end_line)
        units.append(Unit(p.id, "whole", f"{p.title}\n{p.pledge.text}\n{p.status.text}", whole_span))
        units.append(Unit(p.id, "pledge", f"{p.title}\n{p.pledge.text}", p.pledge.span, "pledge"))
        units.append(Unit(p.id, "status", f"{p.title}\n{p.status.text}", p.status.span, "status"))
        for passage in (p.pledge, p.status):
            for s in passage.sentences:
                # The title gives a short sentence ("Trwają uzgodnienia ...") the topic it is about.
                units.append(Unit(p.id, "sentence", f"{p.title}: {s.text}", s.span, passage.kind, s.start, s.end))
    return units


def load_background(path: Path = BACKGROUND_FILE) -> list[str]:
    """Background passages (general city topics) used to tell off-topic questions apart."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
