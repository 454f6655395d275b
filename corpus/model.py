"""The records the parser produces: a report section, its pledges and where each piece came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any, TypeVar, cast


@dataclass(frozen=True)
class Span:
    """Lines ``start_line``..``end_line`` (1-based, inclusive) of ``source`` (path relative to the repo).

    ``page`` is the 1-based PDF page where the span's text starts; None for a plain-text source.
    """

    source: str
    start_line: int
    end_line: int
    page: int | None = None


@dataclass(frozen=True)
class Sentence:
    """One sentence of a passage: its text, its offsets in the passage text and its source lines."""

    text: str
    start: int
    end: int
    span: Span


@dataclass(frozen=True)
class Passage:
    """A run of report text with page breaks repaired (``text``) and the lines it came from (``span``)."""

    kind: str  # "title" | "pledge" | "status" | "intro" | "closing"
    text: str
    span: Span
    sentences: tuple[Sentence, ...] = field(default=())


@dataclass(frozen=True)
class StatusLabel:
    """A status label with the sentence of the status text that justifies it and the rule that decided it.

    ``doubtful`` marks a label a reader should not take at face value; ``doubt`` says why (a key of
    corpus.status.DOUBTS, "" when not doubtful) and the answer names the rule and the reason.
    """

    label: str  # "done" | "partly_done" | "in_progress" | "planned" | "not_done" | "unclear"
    evidence: str
    rule: str
    doubtful: bool
    doubt: str = ""


@dataclass(frozen=True)
class Pledge:
    """One pledge: heading, pledge text and the "Stopień realizacji zadania" text that follows it."""

    id: str
    title: str
    title_passage: Passage
    pledge: Passage
    status: Passage
    status_label: StatusLabel


@dataclass(frozen=True)
class Report:
    """A parsed report section: introduction, pledges in order, closing paragraph.

    ``positions[i]`` is where line i+1 is printed — (page, line on that page) — for a report read from a PDF
    (None for a text file, whose line numbers are already what a reader counts).
    """

    source: str
    sha256: str
    lines: tuple[str, ...]
    intro: Passage | None
    pledges: tuple[Pledge, ...]
    closing: Passage | None
    positions: tuple[tuple[int, int] | None, ...] | None = None

    def by_id(self, pledge_id: str) -> Pledge:
        """The pledge with this id, or KeyError naming the ids there are."""
        for p in self.pledges:
            if p.id == pledge_id:
                return p
        raise KeyError(f"no pledge {pledge_id!r}; known ids: {', '.join(p.id for p in self.pledges)}")

    def source_text(self, span: Span) -> str:
        """The exact text of the source file at ``span`` (lines joined with newlines)."""
        return "\n".join(self.lines[span.start_line - 1 : span.end_line])

    def printed_at(self, span: Span) -> tuple[tuple[int, int] | None, ...] | None:
        """(page, line on that page) of each line of ``span`` (None for a blank line); None for a text file."""
        if self.positions is None:
            return None
        lines = range(span.start_line - 1, span.end_line)
        return tuple(self.positions[i] if self.lines[i].strip() else None for i in lines)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict (what a saved index keeps); ``Report.from_json`` reverses it exactly."""
        return asdict(self)

    @staticmethod
    def from_json(d: dict[str, Any]) -> Report:
        """Inverse of ``to_json``."""

        def span(x: dict[str, Any]) -> Span:
            return Span(**x)

        def passage(x: dict[str, Any]) -> Passage:
            sentences = tuple(Sentence(s["text"], s["start"], s["end"], span(s["span"])) for s in x["sentences"])
            return Passage(x["kind"], x["text"], span(x["span"]), sentences)

        pledges = tuple(
            Pledge(
                id=p["id"],
                title=p["title"],
                title_passage=passage(p["title_passage"]),
                pledge=passage(p["pledge"]),
                status=passage(p["status"]),
                status_label=StatusLabel(**p["status_label"]),
            )
            for p in d["pledges"]
        )
        positions = d.get("positions")
        return Report(
            d["source"],
            d["sha256"],
            tuple(d["lines"]),
            passage(d["intro"]) if d["intro"] else None,
            pledges,
            passage(d["closing"]) if d["closing"] else None,
            None if positions is None else tuple((p[0], p[1]) if p else None for p in positions),
        )

    def with_source(self, source: str) -> Report:
        """The same report with every span naming ``source`` (e.g. the copy inside a saved index)."""
        return replace(map_spans(self, lambda s: replace(s, source=source)), source=source)


_T = TypeVar("_T")


def map_spans(node: _T, fn: Callable[[Span], Span]) -> _T:
    """``node`` (a frozen record, or a tuple of them) with every Span inside it replaced by ``fn(span)``."""
    if isinstance(node, Span):
        return cast(_T, fn(node))  # _T is Span here; mypy cannot narrow a TypeVar
    if isinstance(node, tuple):
        return type(node)(map_spans(item, fn) for item in node)
    if is_dataclass(node) and not isinstance(node, type):
        changes = {
            f.name: map_spans(getattr(node, f.name), fn)
            for f in fields(node)
            if isinstance(getattr(node, f.name), (Span, tuple)) or is_dataclass(getattr(node, f.name))
        }
        return replace(node, **changes)
    return node
