"""Extractive answers: pledge and status passages quoted from the report, best sentences marked, cited by line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from assistant.contacts import HelpContact
from assistant.conversation import FollowUp, Turn
from corpus.model import Passage, Pledge, Span
from corpus.reports import ReportSet
from index.units import Unit

MAX_HIGHLIGHTS = 2  # per passage: more would mark everything in short passages


@dataclass(frozen=True)
class Highlight:
    """A sentence of a passage (``text`` == passage text[start:end]) that matches the question best."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class QuotedPassage:
    """Report text quoted as-is (page breaks repaired), with its highlighted sentences."""

    kind: str  # "pledge" | "status"
    text: str
    highlights: list[Highlight]


@dataclass(frozen=True)
class Citation:
    """Where a quote comes from: ``text`` is exactly lines start_line..end_line of ``source``, the copy of the
    report inside the served index build (``data/index/current/<source>``); ``page`` is the PDF page where the
    text starts (None for a text file)."""

    kind: str
    source: str
    start_line: int
    end_line: int
    page: int | None
    text: str
    # PDF only: (page, line on that page) of each line of ``text``, None for a blank line (citations count the lines
    # a reader sees on the printed page, not the lines of the extracted text)
    printed_at: tuple[tuple[int, int] | None, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class PledgeAnswer:
    """One matching pledge as the assistant shows it, with the report and edition it is quoted from.

    ``status_rule`` names the rule that gave the label; ``status_doubtful`` says the label could be doubted
    (then interfaces name the rule). ``status_change`` is set when the label moved since the edition before.
    """

    pledge_id: str
    title: str
    report: dict[str, Any]  # {"key", "title", "section", "edition", "publisher", "url"}
    status_label: str
    status_evidence: str
    status_rule: str
    status_doubtful: bool
    status_doubt: str  # why the label is doubtful (corpus.status.DOUBTS), "" when it is not
    status_change: dict[str, Any] | None  # {"since", "before", "after"}
    score: float
    primary: bool  # one of the answers (True) or one of the "other matches" (False)
    passages: list[QuotedPassage]
    citations: list[Citation]


@dataclass(frozen=True)
class Suggestion:
    """A pledge offered when the question is not covered."""

    pledge_id: str
    title: str
    status_label: str
    score: float


@dataclass(frozen=True, kw_only=True)
class Answer:
    """The assistant's whole reply to one question (see ``to_json`` for the CLI/API shape).

    ``answer_id`` is random: feedback names the answer it is about without any text of the question.
    ``help_contacts`` are the help numbers (corpus/contacts.json) for a refusal or an answer showing a pledge
    that file lists (family violence, workplace mobbing), in the reply's language; every interface shows them.
    ``follow_up`` says how a later turn of a conversation was read (None for a first question); ``turn()`` is
    the record a client keeps and sends back as ``history`` with its next question.
    """

    answer_id: str
    question: str
    language: str
    reply_language: str
    abstained: bool
    message: str
    answers: list[PledgeAnswer]
    suggestions: list[Suggestion] = field(default_factory=list)
    truncated: bool = False
    notices: list[str] = field(default_factory=list)
    retriever: str = "hybrid"
    margin: float = 0.0
    help_contacts: list[HelpContact] = field(default_factory=list)
    follow_up: FollowUp | None = None
    # this answer as a conversation turn: the question and the pledges shown as answers (not "other matches";
    # none when refused), what a client sends back in ``history`` with its next question. Always computed here
    # (a value passed in is replaced), so ``dataclasses.replace`` keeps it true; a field, so the API documents it.
    # The default is only a placeholder for ``__post_init__`` to replace: it keeps the type a Turn, never None.
    turn: Turn = Turn("")

    def __post_init__(self) -> None:
        object.__setattr__(self, "turn", Turn(self.question, tuple(a.pledge_id for a in self.answers if a.primary)))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict with the fields ``ask --json`` documents."""
        return asdict(self)


def cite(library: ReportSet, kind: str, span: Span) -> Citation:
    """A citation whose text is read from the report's own lines, so it always equals the source."""
    return Citation(
        kind,
        span.source,
        span.start_line,
        span.end_line,
        span.page,
        library.source_text(span),
        library.printed_at(span),
    )


def pledge_citations(library: ReportSet, pledge: Pledge) -> list[Citation]:
    """Title, pledge and status citations of a pledge, each quoting the source lines exactly."""
    return [
        cite(library, "title", pledge.title_passage.span),
        cite(library, "pledge", pledge.pledge.span),
        cite(library, "status", pledge.status.span),
    ]


def report_of(library: ReportSet, pledge_id: str) -> dict[str, Any]:
    """The report and edition a pledge is answered from, as answers and API rows carry it."""
    ed = library.edition_of(pledge_id)
    return {
        "key": ed.key,
        "title": ed.info.title,
        "section": ed.info.section,
        "edition": ed.info.edition,
        "publisher": ed.info.publisher,
        "url": ed.info.url,
    }


def status_fields(library: ReportSet, pledge: Pledge) -> dict[str, Any]:
    """A pledge's status as answers, API rows and cards carry it: label, evidence, rule, doubt, change."""
    change = library.status_changes.get(pledge.id)
    label = pledge.status_label
    return {
        "status_label": label.label,
        "status_evidence": label.evidence,
        "status_rule": label.rule,
        "status_doubtful": label.doubtful,
        "status_doubt": label.doubt,
        "status_change": asdict(change) if change else None,
    }


SentenceIndex = dict[str, list[tuple[int, Unit]]]


def sentence_index(units: list[Unit]) -> SentenceIndex:
    """Sentence units (with their row in the index) per pledge, computed once per loaded index."""
    out: SentenceIndex = {}
    for i, u in enumerate(units):
        if u.kind == "sentence":
            out.setdefault(u.pledge_id, []).append((i, u))
    return out


def highlights_for(
    passage: Passage, sentences: list[tuple[float, Unit]], best: float, window: float
) -> list[Highlight]:
    """Sentences of ``passage`` scoring within ``window`` of the pledge's best sentence, best first — never all
    of a passage of several sentences (marking everything points at nothing): then only the best one."""
    picked = [(score, u) for score, u in sentences if u.passage == passage.kind and score >= best - window]
    picked.sort(key=lambda su: -su[0])
    picked = picked[:MAX_HIGHLIGHTS]
    if len(picked) > 1 and len(picked) == len(passage.sentences):
        picked = picked[:1]
    return [Highlight(passage.text[u.start : u.end], u.start, u.end) for _, u in picked]


def pledge_answer(
    library: ReportSet,
    pledge: Pledge,
    score: float,
    sentences: SentenceIndex,
    unit_scores: np.ndarray,
    window: float,
    *,
    primary: bool,
) -> PledgeAnswer:
    """Quote, highlight and cite one pledge."""
    scored = [(float(unit_scores[i]), u) for i, u in sentences.get(pledge.id, []) if np.isfinite(unit_scores[i])]
    best = max((sc for sc, _ in scored), default=float("inf"))
    passages = [
        QuotedPassage(p.kind, p.text, highlights_for(p, scored, best, window)) for p in (pledge.pledge, pledge.status)
    ]
    return PledgeAnswer(
        pledge_id=pledge.id,
        title=pledge.title,
        report=report_of(library, pledge.id),
        **status_fields(library, pledge),
        score=round(score, 4),
        primary=primary,
        passages=passages,
        citations=pledge_citations(library, pledge),
    )
