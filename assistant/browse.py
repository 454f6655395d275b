"""Browse for helpline staff: search by meaning (the assistant's own retrieval) plus literal match, filters by
status and by "changed since the last edition" (any change: status label, status text, pledge text or title —
corpus.diff pairs pledges across editions by content), and the list as HTML rows that open a pledge."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.cards import ICONS, e
from assistant.core import Assistant, QuestionError
from assistant.messages import t
from assistant.render import change_note
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


def meaning_ids(assistant: Assistant, text: str) -> list[str]:
    """Pledges the assistant would answer ``text`` with (any language); none when it is out of scope."""
    try:
        ans = assistant.ask(text, top_k=min(MEANING_TOP, len(assistant.library.pledges)))
    except QuestionError:
        return []
    return [] if ans.abstained else [a.pledge_id for a in ans.answers]


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


def rows_html(lang: str, rows: list[Row], total: int, library: ReportSet | None = None) -> str:
    """The list: one full-width button per pledge (title, localised status, what changed since the edition before
    when ``library`` is given); no table, so nothing overflows."""
    if not rows:
        return f'<p class="kqa-count" role="status">{e(t(lang, "ui_none"))}</p>'
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
    return (
        f'<p class="kqa-count" role="status">{e(t(lang, "ui_count", n=len(rows), total=total))}</p>'
        f'<ul class="kqa-rows">{"".join(items)}</ul>'
    )
