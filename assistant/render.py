"""Answers and pledges as the CLI (plain text) and the API (JSON) show them, and the pieces the app's HTML cards
(assistant/cards.py, which escapes every text once) share with them: citation lines and status notes."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from assistant.answer import Answer, Citation, Highlight, pledge_citations, report_of, status_fields
from assistant.conversation import DETAIL, LANGUAGE, SIBLING
from assistant.messages import doubt_note, rule_name, t
from corpus.model import Pledge
from corpus.reports import ReportSet

CITATION_KINDS = {"title": "title", "pledge": "pledge_text", "status": "status_text"}
FOLLOWING = (DETAIL, LANGUAGE, SIBLING)  # follow-up kinds that say what they continue


def status_notes(
    lang: str, change: dict[str, Any] | None, doubtful: bool, rule: str, doubt: str = "", *, detail: bool = False
) -> list[str]:
    """The lines that qualify a status: a change since the last edition; when the label is doubtful, one plain
    sentence ("the report's wording is not clear-cut — read the quote"), or with ``detail`` (the CLI) the rule
    and why."""
    notes = []
    if change:
        notes.append(
            t(lang, "changed", since=change["since"], before=t(lang, change["before"]), after=t(lang, change["after"]))
        )
    if doubtful and not detail:
        notes.append(t(lang, "doubtful"))
    elif doubtful:
        why = doubt_note(lang, doubt)
        notes.append(t(lang, "rule", rule=rule_name(lang, rule)) + (f" — {why}" if why else ""))
    return notes


def change_note(lang: str, library: ReportSet, pledge_id: str) -> str:
    """What changed in a pledge since the edition before ('changed since 2024: title, pledge text'), or ''."""
    change = library.changes.get(pledge_id)
    if change is None:
        return ""
    return t(lang, "changed_kinds", since=change.since, kinds=", ".join(t(lang, f"kind_{k}") for k in change.kinds))


def pledge_record(library: ReportSet, pledge: Pledge) -> dict[str, Any]:
    """One pledge as the API lists it: texts, status with evidence and rule, citations and its report."""
    return {
        "pledge_id": pledge.id,
        "title": pledge.title,
        "report": report_of(library, pledge.id),
        **status_fields(library, pledge),
        "pledge_text": pledge.pledge.text,
        "status_text": pledge.status.text,
        "citations": [asdict(c) for c in pledge_citations(library, pledge)],
    }


# --- plain text (CLI) -------------------------------------------------------------------------------------


def marked(text: str, highlights: list[Highlight], left: str, right: str, escape: Callable[[str], str] = str) -> str:
    """``text`` with each highlight wrapped in ``left``/``right`` (offsets from the assistant), every piece of
    the text passed through ``escape`` (the app's HTML escaping; nothing for plain text)."""
    parts, pos = [], 0
    for h in sorted(highlights, key=lambda h: h.start):
        parts += [escape(text[pos : h.start]), left + escape(text[h.start : h.end]) + right]
        pos = h.end
    parts.append(escape(text[pos:]))
    return "".join(parts)


def continues(ans: Answer, library: ReportSet | None) -> list[str]:
    """The titles (ids without ``library``) of the pledges a follow-up continues; [] for a first or new question."""
    if ans.follow_up is None or ans.follow_up.kind not in FOLLOWING:
        return []
    return [library.by_id(p).title if library is not None else p for p in ans.follow_up.about]


def plain_answer(ans: Answer, library: ReportSet | None = None) -> str:
    """Readable plain text: titles, status, quoted passages with **highlights**, citations; for a follow-up, what
    it continues (titles with ``library``)."""
    lang = ans.reply_language
    out = [f"? {ans.question}  [{ans.language}]"]
    out += [f"({t(lang, 'continuing')} {'; '.join(continued)})" for continued in [continues(ans, library)] if continued]
    out += [f"! {n}" for n in ans.notices]
    if ans.abstained:
        out.append(ans.message)
        out += [f"  - {s.title}  ({t(lang, 'status')}: {t(lang, s.status_label)})" for s in ans.suggestions]
        return "\n".join(out + _help_lines(ans))
    for i, a in enumerate(ans.answers, 1):
        out.append(f"\n{i}. {a.title}")
        out.append(f"   {t(lang, 'status')}: {t(lang, a.status_label)}   ({t(lang, 'score')} {a.score:.3f})")
        out += [
            f"   ({note})"
            for note in status_notes(
                lang, a.status_change, a.status_doubtful, a.status_rule, a.status_doubt, detail=True
            )
        ]
        for p in a.passages:
            label = t(lang, "pledge") if p.kind == "pledge" else t(lang, "progress")
            out.append(f"   {label}:")
            out += textwrap.wrap(
                f"„{marked(p.text, p.highlights, '**', '**')}”",
                width=100,
                initial_indent="     ",
                subsequent_indent="     ",
            )
        out.append(f"   {t(lang, 'source')}: {cite_line(lang, a.report, a.citations, detail=True)}")
    return "\n".join(out + _help_lines(ans))


def _help_lines(ans: Answer) -> list[str]:
    """The help numbers the answer carries (a refusal, or a pledge corpus/contacts.json lists), if any."""
    if not ans.help_contacts:
        return []
    return [f"\n{t(ans.reply_language, 'ui_contacts')}"] + [f"  {c.phone} — {c.text}" for c in ans.help_contacts]


def cite_line(lang: str, report: dict[str, Any], citations: list[Citation], *, detail: bool = False) -> str:
    """'Urząd Miasta Krakowa — <report title>, 2025, lines 7–23' for a text file, '…, p. 3, lines 5–21' (or 'pp. 3–4,
    p. 3, line 27 – p. 4, line 5' across a page break) for a PDF, counting the lines on the printed page: what a
    resident can look up. With ``detail``, which lines are the title, the pledge and the status (the CLI)."""
    where = _place(lang, citations)
    line = f"{report['publisher']} — {report['title']}, {report['edition']}, {where}"
    if detail:
        line += (
            " ("
            + ", ".join(f"{_place(lang, [c])} {t(lang, CITATION_KINDS.get(c.kind, c.kind))}" for c in citations)
            + ")"
        )
    return line


def _place(lang: str, citations: list[Citation]) -> str:
    """Where the cited lines are: lines of the text file, or page(s) and lines on the printed page(s)."""
    printed = [p for c in citations for p in (c.printed_at or ()) if p is not None]
    if not printed:
        start = min((c.start_line for c in citations), default=0)
        end = max((c.end_line for c in citations), default=0)
        return f"{t(lang, 'lines')} {start}" + (f"–{end}" if end != start else "")
    (page, first), (last_page, last) = min(printed), max(printed)
    if page == last_page:
        lines = f"{t(lang, 'line')} {first}" if first == last else f"{t(lang, 'lines')} {first}–{last}"
        return f"{t(lang, 'page')} {page}, {lines}"
    return (
        f"{t(lang, 'pages')} {page}–{last_page}, {t(lang, 'page')} {page}, {t(lang, 'line')} {first} – "
        f"{t(lang, 'page')} {last_page}, {t(lang, 'line')} {last}"
    )
