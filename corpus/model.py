"""The records the parser produces: a report section, its pledges and where each piece came from."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    ``doubtful`` marks a label a reader should not take at face value (clauses disagree, a weak cue or a
    negation decided it); the answer then names the rule.
    """

    label: str  # "done" | "partly_done" | "in_progress" | "planned" | "not_done" | "unclear"
    evidence: str
    rule: str
    doubtful: bool


@dataclass(frozen=True)
class Pledge:
    """One pledge: heading, pledge text and the "Stopień realizacji zadania" text that follows it."""

    id: str
    title: str
    title_passage: Passage
    pledge: Passage
    status: Passage
    status_label: StatusLabel

    @property
    def number(self) -> int:
        """Position of the pledge in the report (1-based), derived from where its heading is."""
        return self.title_passage.span.start_line


@dataclass(frozen=True)
class Report:
    """A parsed report section: introduction, pledges in order, closing paragraph."""

    source: str
    sha256: str
    lines: tuple[str, ...]
    intro: Passage | None
    pledges: tuple[Pledge, ...]
    closing: Passage | None

    def by_id(self, pledge_id: str) -> Pledge:
        """The pledge with this id, or KeyError naming the ids there are."""
        for p in self.pledges:
            if p.id == pledge_id:
                return p
        raise KeyError(f"no pledge {pledge_id!r}; known ids: {', '.join(p.id for p in self.pledges)}")

    def source_text(self, span: Span) -> str:
        """The exact text of the source file at ``span`` (lines joined with newlines)."""
        return "\n".join(self.lines[span.start_line - 1:span.end_line])
