"""The assistant: load once, then ``ask`` is cheap.

>>> from assistant import Assistant
>>> a = Assistant.load()                                    # doctest: +SKIP
>>> ans = a.ask("is there free mammography?")               # doctest: +SKIP
>>> ans.answers[0].title                                    # doctest: +SKIP
'Zapewnimy kobietom w każdym wieku dostęp do programów profilaktycznych ...'
"""

from __future__ import annotations

import logging
import math
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial

from assistant.answer import Answer, SentenceIndex, Suggestion, pledge_answer, sentence_index
from assistant.contacts import Contacts
from assistant.conversation import (
    DETAIL,
    LANGUAGE,
    FollowUp,
    FollowUpPolicy,
    HistoryError,
    Reading,
    Turn,
    check_history,
    context_text,
    last_answered,
    last_shown,
    needs_context,
    read_turn,
    word_count,
)
from assistant.language import detect_language
from assistant.language_request import language_request
from assistant.messages import MESSAGES, reply_language, t
from assistant.retriever import Retrieval, Retriever
from corpus.reports import ReportSet
from index.build import open_index
from index.encoder import Encoder, load_encoder
from index.followup_head import logit as followup_logit
from index.profiles import first, served
from index.store import SearchIndex
from settings import Settings

log = logging.getLogger("assistant")


class QuestionError(ValueError):
    """The question cannot be answered as given (e.g. empty); the message says what to type instead.

    ``code`` names the problem ("empty", "no_words", "top_k") so that interfaces can show it in the reader's
    language from the message catalogue; ``str()`` is the English message for the CLI and the API.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# Work per question is bounded before anything else touches the text: only this many characters per allowed
# character are even looked at (control characters and runs of spaces can shrink the text by that much).
_RAW_FACTOR = 4


def clean_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Drop control characters, collapse whitespace and cut to ``max_chars``; report whether it was cut.

    The input is cut first (to ``4 × max_chars``), so a 50 MB paste costs no more than a long question.
    """
    if not isinstance(question, str):
        raise QuestionError("empty", f"question must be text, not {type(question).__name__}")
    raw_cut = len(question) > _RAW_FACTOR * max_chars
    raw = question[: _RAW_FACTOR * max_chars]
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in raw)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("empty", 'the question is empty; type a question, e.g. "is there free mammography?"')
    if not any(ch.isalpha() for ch in text):
        raise QuestionError(
            "no_words",
            "the question has no words (only digits, signs or emoji); type a question "
            'in words, e.g. "is there free mammography?"',
        )
    if len(text) > max_chars:
        return text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars], True
    return text, raw_cut


def check_top_k(top_k: object, n: int) -> int:
    """``top_k`` as an int in 1..n; anything else (3.7, "3", True, NaN) is refused with a clear message."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= n:
        raise QuestionError(
            "top_k",
            f"top_k must be a whole number from 1 to {n} (the number of pledges), not {top_k!r}; pass e.g. top_k=3",
        )
    return top_k


@dataclass
class Assistant:
    """Question → language → retrieval → extractive, cited answer (or "not in the report")."""

    settings: Settings
    library: ReportSet  # every report and edition the build holds; answers come from the latest editions
    index: SearchIndex
    encoder: Encoder
    retriever: Retriever
    contacts: Contacts = field(default_factory=Contacts.load)
    sentences: SentenceIndex = field(init=False, repr=False)
    _pledge_ids: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sentences = sentence_index(self.index.units)
        self._pledge_ids = frozenset(p.id for p in self.library.pledges)

    @classmethod
    def load(
        cls,
        settings: Settings | None = None,
        *,
        encoder: Encoder | None = None,
        contacts: Contacts | None = None,
        progress: bool = False,
        log_fn: Callable[[str], None] | None = None,
    ) -> Assistant:
        """Load the model (or use ``encoder``) and open the index build, rebuilding it when the reports folder,
        model or settings changed; a broken reports folder leaves the last good build serving (logged). The help
        contacts are read first, so a broken file stops before the long part. Profile ``auto`` becomes the best
        one built (``index.profiles.served``), or the first one when ``encoder`` is given."""
        settings = settings or Settings.from_env()
        settings = served(settings) if encoder is None else first(settings)
        contacts = contacts or Contacts.load(settings.contacts_file)
        encoder = encoder or load_encoder(settings)
        index = open_index(settings, encoder, progress=progress, log=log_fn or log.warning)
        unknown = sorted(contacts.pledges - {p.id for p in index.reports.pledges})
        if unknown:  # e.g. next year's report renamed a pledge: say so, rather than lose its help numbers quietly
            (log_fn or log.warning)(
                f"{settings.contacts_file}: no loaded report has pledge(s) "
                f"{', '.join(unknown)}; answers about them get no help numbers — fix "
                "'pledges' (ids: GET /api/pledges)"
            )
        return cls(
            settings, index.reports, index, encoder, Retriever(index, encoder, settings, settings.strategy), contacts
        )

    def retrieve(self, question: str, lang: str | None = None) -> Retrieval:
        """Ranking and abstention evidence for an already cleaned question (in ``lang``, if known)."""
        return self.retriever.retrieve(question, lang)

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        *,
        lang: str | None = None,
        report: str | None = None,
        history: Iterable[object] | None = None,
    ) -> Answer:
        """Answer ``question`` with up to ``top_k`` quoted, cited pledges, or say it is not in the report.

        ``lang`` fixes the reply's language (pl, en, uk); by default it follows the question's (or the language
        a follow-up asks for). ``report`` (a report key, or a section's name) limits answers to that report.
        ``history``: the earlier turns of this conversation, oldest first, as ``Turn`` records or dicts
        ``{"q": …, "pledge_ids": […]}`` (``Answer.turn``); only the last ``max_history_turns`` are read.
        """
        if lang is not None and lang not in MESSAGES:
            raise QuestionError("lang", f"lang {lang!r} is not a reply language; use one of {', '.join(MESSAGES)}")
        allowed = self._report_filter(report)
        n = len(allowed) if allowed is not None else len(self.library.pledges)
        top_k = min(self.settings.top_k, n) if top_k is None else check_top_k(top_k, n)
        text, truncated = clean_question(question, self.settings.max_question_chars)
        try:
            turns = check_history(history, self._pledge_ids, self.settings.max_history_turns)
        except HistoryError as exc:
            raise QuestionError("history", str(exc)) from None
        if self.settings.log_questions:
            log.info("question: %s", text)
        detected = detect_language(text)
        request = language_request(text) if turns else None
        if request is not None and request.pure:
            # the last answer that showed pledges: after "is it free?" was refused, "po ukraińsku" asks for the
            # pledge the conversation is about, not for "not in the report" in Ukrainian
            last = last_answered(turns)
            again = self.ask(
                turns[last].q, top_k, lang=reply_language(request.lang), report=report, history=turns[:last]
            )
            return replace(
                again,
                answer_id=uuid.uuid4().hex,
                question=text,
                language=detected,
                truncated=truncated,
                follow_up=FollowUp(LANGUAGE, last_shown(turns)),
            )
        reply = lang or reply_language(request.lang if request is not None else detected)
        reading, shown, alone = self._read(text, detected, turns)
        return self._compose(
            text,
            detected,
            reply,
            reading,
            shown,
            alone,
            top_k=top_k,
            allowed=allowed,
            truncated=truncated,
            previous=last_shown(turns),
        )

    @property
    def policy(self) -> FollowUpPolicy:
        s = self.settings
        return FollowUpPolicy(
            s.followup_alone_margin,
            s.followup_context_margin,
            s.followup_offtopic_margin,
            s.followup_short_words,
            s.followup_background_max,
            s.followup_stay_gain,
            s.followup_needs_logit if self.index.followup_head is not None else math.inf,
            s.followup_answer_margin,
            s.followup_agree_margin,
        )

    def _read(self, text: str, detected: str, turns: list[Turn]) -> tuple[Reading, Retrieval, Retrieval]:
        """How the turn is answered, the retrieval it is answered from, and the turn's own retrieval (at most
        two retrievals: the turn alone, and with its context only when the decision can depend on it)."""
        alone = self.retrieve(text, detected)
        if not turns:
            return Reading("refuse" if self.retriever.abstains(alone, detected) else "alone", None), alone, alone
        context = None
        threshold, words = self.retriever.threshold(detected), word_count(text)
        if needs_context(alone, self.policy, threshold, words):
            expanded = context_text(turns, text, self.settings.followup_context_questions)
            context = self.retrieve(expanded, detect_language(expanded))
        needs = self.head_logit(alone, context)
        reading = read_turn(alone, context, last_shown(turns), self.policy, threshold, words, needs)
        return reading, (context if reading.source == "context" and context is not None else alone), alone

    def head_logit(self, alone: Retrieval, context: Retrieval | None) -> float:
        """The follow-up head's logit for a turn (``index.followup_head``); -inf without a head or a context."""
        head = self.index.followup_head
        if head is None or context is None or alone.vector is None or context.vector is None:
            return -math.inf
        return followup_logit(head, alone.vector, context.vector)

    def _compose(
        self,
        text: str,
        detected: str,
        reply: str,
        reading: Reading,
        shown: Retrieval,
        alone: Retrieval,
        *,
        top_k: int,
        allowed: set[str] | None,
        truncated: bool,
        previous: tuple[str, ...],
    ) -> Answer:
        """The Answer for a reading: quoted pledges from ``shown``, highlights for the turn itself (``alone``).
        A refusal in a conversation about a pledge with safety numbers keeps those numbers."""
        notices = [t(reply, "truncated", n=self.settings.max_question_chars)] if truncated else []
        ranked = [r for r in shown.ranked if allowed is None or r.pledge_id in allowed][:top_k]
        common = partial(
            Answer,
            answer_id=uuid.uuid4().hex,
            question=text,
            language=detected,
            reply_language=reply,
            truncated=truncated,
            retriever=self.retriever.strategy,
            margin=round(alone.margin, 4),
            follow_up=reading.follow_up,
        )
        if reading.source == "refuse":
            suggestions = [
                Suggestion(
                    r.pledge_id,
                    self.library.by_id(r.pledge_id).title,
                    self.library.by_id(r.pledge_id).status_label.label,
                    round(r.score, 4),
                )
                for r in ranked
            ]
            return common(
                abstained=True,
                message=t(reply, "not_in_report"),
                answers=[],
                suggestions=suggestions,
                notices=notices,
                help_contacts=self.contacts.for_answer(
                    [], True, reply, near_safety=self.near_safety(alone) or bool(set(previous) & self.contacts.pledges)
                ),
            )
        n_primary = self.retriever.primary_count(shown)
        if reading.follow_up is not None and reading.follow_up.kind == DETAIL:
            # Whether a sentence answers "is it free?" could not be told from retrieval scores (docs/evaluation.md,
            # Conversations), so a detail answer says what is always true: the quote is all the report says.
            notices.append(t(reply, "no_more"))
        answers = [
            pledge_answer(
                self.library,
                self.library.by_id(r.pledge_id),
                r.score,
                self.sentences,
                alone.unit_scores,
                self.settings.highlight_window,
                primary=i < n_primary,
            )
            for i, r in enumerate(ranked)
        ]
        return common(
            abstained=False,
            message="",
            answers=answers,
            notices=notices,
            help_contacts=self.contacts.for_answer([a.pledge_id for a in answers], False, reply),
        )

    def near_safety(self, retrieval: Retrieval) -> bool:
        """Whether a refused question is close to a pledge the contacts file lists (violence at home or at work):
        that pledge scores within ``contacts_safety_margin`` of the closest general city topic."""
        return any(
            r.pledge_id in self.contacts.pledges
            and r.dense - retrieval.background >= self.settings.contacts_safety_margin
            for r in retrieval.ranked
        )

    def _report_filter(self, report: str | None) -> set[str] | None:
        """Pledge ids of the report named by key or section (None: all reports)."""
        if report is None:
            return None
        for ed in self.library.latest():
            if report in (ed.key, ed.info.section):
                return {p.id for p in ed.report.pledges}
        known = ", ".join(ed.key for ed in self.library.latest())
        raise QuestionError("report", f"report {report!r} is unknown; use one of {known}")
