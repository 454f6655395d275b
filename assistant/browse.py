"""Browse for helpline staff: search by meaning (the assistant's own retrieval) plus literal match, filters by
status and by "changed since the last edition" (any change: status label, status text, pledge text or title —
corpus.diff pairs pledges across editions by content), and the list as HTML rows that open a pledge.

A pledge is listed as "similar in meaning" only when the question is not refused and the pledge scores at least
``Settings.browse_meaning_min`` (chosen on tune: ``python -m eval.browse_threshold``); a search that matches
nothing says so and lists every pledge below (the filters still apply)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.cards import ICONS, e
from assistant.core import Assistant, QuestionError, clean_question
from assistant.language import detect_language
from assistant.messages import t
from assistant.render import change_note
from assistant.retriever import Ranked
from corpus.model import Pledge
from corpus.reports import ReportSet
from corpus.status import LABELS as STATUSES
from index.lexical import fold

MEANING_TOP = 3  # pledges kept from the meaning search when the question is in the report's scope


@dataclass(frozen=True)
class Row:
    """One listed pledge and why it is listed ("literal", "meaning" or "" when there is no search text)."""

    pledge: Pledge
    why: str


def literal_ids(assistant: Assistant, text: str) -> list[str]:
    """Pledges whose title or texts contain every word of ``text`` (case and diacritics ignored). Long words
    match by their first ``lexical_prefix`` letters (6), as the index's BM25 does, so "mammografia" finds
    "mammograficzne"."""
    prefix = assistant.settings.lexical_prefix or None
    words = [w[:prefix] for w in fold(text).lower().split()]
    out = []
    for p in assistant.library.pledges:
        hay = fold(f"{p.title} {p.pledge.text} {p.status.text}").lower()
        if words and all(w in hay for w in words):
            out.append(p.id)
    return out


def meaning_candidates(assistant: Assistant, text: str) -> list[Ranked]:
    """The ``MEANING_TOP`` pledges the assistant ranks first for ``text`` (any language), best first, with their
    scores; none when it would refuse the question ("not in the report") or cannot ask it (no words)."""
    try:
        question, _ = clean_question(text, assistant.settings.max_question_chars)
    except QuestionError:
        return []
    lang = detect_language(question)
    retrieval = assistant.retrieve(question, lang)
    if assistant.retriever.abstains(retrieval, lang):
        return []
    return list(retrieval.ranked[:MEANING_TOP])


def meaning_ids(assistant: Assistant, text: str, minimum: float | None = None) -> list[str]:
    """Pledges similar in meaning to ``text``: the candidates scoring at least ``minimum`` (default
    ``browse_meaning_min``), so that nonsense ("xqzzv") lists nothing instead of the three least unlike."""
    floor = assistant.settings.browse_meaning_min if minimum is None else minimum
    return [r.pledge_id for r in meaning_candidates(assistant, text) if r.score >= floor]


def search(assistant: Assistant, text: str, status: str, changed_only: bool) -> list[Row]:
    """Rows for Browse: literal matches first, then matches by meaning; then the filters."""
    library = assistant.library
    text = (text or "").strip()
    if text:
        literal = literal_ids(assistant, text)
        meaning = [pid for pid in meaning_ids(assistant, text) if pid not in literal]
        rows = [Row(library.by_id(pid), "literal") for pid in literal] + [
            Row(library.by_id(pid), "meaning") for pid in meaning
        ]
    else:
        rows = [Row(p, "") for p in library.pledges]
    if status in STATUSES:
        rows = [r for r in rows if r.pledge.status_label.label == status]
    if changed_only:
        rows = [r for r in rows if r.pledge.id in library.changes]
    return rows


def listing(assistant: Assistant, text: str, status: str, changed_only: bool) -> tuple[list[Row], list[Row]]:
    """Browse's rows, and, when a search text matched nothing, every pledge the filters keep (to list below "no
    pledge matches")."""
    rows = search(assistant, text, status, changed_only)
    fallback = search(assistant, "", status, changed_only) if not rows and (text or "").strip() else []
    return rows, fallback


def rows_html(
    lang: str, rows: list[Row], total: int, library: ReportSet | None = None, fallback: list[Row] | None = None
) -> str:
    """The list: one full-width button per pledge (title, localised status, what changed since the edition before
    when ``library`` is given); no table, so nothing overflows. No rows but a ``fallback`` (the whole list, for a
    search text that matched nothing): "no pledge matches" and that list below it."""
    if not rows and fallback:
        return (
            f'<p class="kqa-count kqa-nomatch" role="status">{e(t(lang, "ui_no_match", total=len(fallback)))}'
            f"</p>{_items_html(lang, fallback, library)}"
        )
    if not rows:
        return f'<p class="kqa-count" role="status">{e(t(lang, "ui_none"))}</p>'
    return f'<p class="kqa-count" role="status">{e(t(lang, "ui_count", n=len(rows), total=total))}</p>' + _items_html(
        lang, rows, library
    )


def _items_html(lang: str, rows: list[Row], library: ReportSet | None) -> str:
    """The rows as a list of buttons that open their pledge."""
    items = []
    for r in rows:
        label = r.pledge.status_label.label
        why = (
            f' <span class="kqa-why">· {e(t(lang, "ui_literal" if r.why == "literal" else "ui_by_meaning"))}</span>'
            if r.why
            else ""
        )
        changed = change_note(lang, library, r.pledge.id) if library is not None else ""
        why += f' <span class="kqa-why">· {e(changed)}</span>' if changed else ""
        items.append(
            f'<li><button type="button" class="kqa-row" data-open="{e(r.pledge.id)}">'
            f'<span class="kqa-row-title" lang="pl">{e(r.pledge.title)}</span>'
            f'<span class="kqa-chip kqa-s-{label}"><span aria-hidden="true">{ICONS.get(label, "?")}</span> '
            f"{e(t(lang, label))}</span>{why}</button></li>"
        )
    return f'<ul class="kqa-rows">{"".join(items)}</ul>'
