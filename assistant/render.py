"""Answers and pledges as the CLI (plain text), the app (Markdown) and the API (JSON) show them — one place.

User text is escaped exactly once, here: HTML special characters become entities and Markdown syntax is
neutralised, so `<img src=x onerror=…>` or `**x**` in a question shows as typed.
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import asdict

from assistant.answer import Answer, Citation, Highlight, PledgeAnswer, pledge_citations, report_of
from assistant.messages import t
from corpus.model import Pledge
from corpus.reports import ReportSet

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$])")
CITATION_KINDS = {"title": "title", "pledge": "pledge_text", "status": "status_text"}


def as_text(text: str) -> str:
    """User or report text shown literally in Markdown: HTML escaped, Markdown (and `$` for LaTeX) neutralised."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def cite_line(lang: str, report: dict, citations: list[Citation]) -> str:
    """'Urząd Miasta Krakowa — <title>, 2025, p. 3, lines 7 (title), 9–14 (pledge), 18–23 (status)'."""
    parts = [f"{c.start_line}{'' if c.start_line == c.end_line else f'–{c.end_line}'} "
             f"({t(lang, CITATION_KINDS.get(c.kind, c.kind))})" for c in citations]
    page = f", {t(lang, 'page')} {citations[0].page}" if citations and citations[0].page else ""
    return (f"{report['publisher']} — {report['title']} ({report['section']}), {report['edition']}{page}, "
            f"{t(lang, 'lines')} " + ", ".join(parts))


def status_notes(lang: str, a: PledgeAnswer | dict) -> list[str]:
    """The lines that qualify a status: a change since the last edition; the rule when the label is doubtful."""
    get = a.get if isinstance(a, dict) else lambda k: getattr(a, k)
    notes = []
    change = get("status_change")
    if change:
        notes.append(t(lang, "changed", since=change["since"], before=t(lang, change["before"]),
                       after=t(lang, change["after"])))
    if get("status_doubtful"):
        notes.append(t(lang, "rule", rule=get("status_rule")))
    return notes


def pledge_record(library: ReportSet, pledge: Pledge) -> dict:
    """One pledge as the API lists it: texts, status with evidence and rule, citations and its report."""
    change = library.status_changes.get(pledge.id)
    label = pledge.status_label
    return {"pledge_id": pledge.id, "title": pledge.title, "report": report_of(library, pledge.id),
            "status_label": label.label, "status_evidence": label.evidence, "status_rule": label.rule,
            "status_doubtful": label.doubtful, "status_change": asdict(change) if change else None,
            "pledge_text": pledge.pledge.text, "status_text": pledge.status.text,
            "citations": [asdict(c) for c in pledge_citations(library, pledge)]}


# --- plain text (CLI) -------------------------------------------------------------------------------------

def _marked(text: str, highlights: list[Highlight], left: str, right: str, escape=lambda s: s) -> str:
    """``text`` with each highlight wrapped in ``left``/``right`` (offsets from the assistant)."""
    parts, pos = [], 0
    for h in sorted(highlights, key=lambda h: h.start):
        parts += [escape(text[pos:h.start]), left + escape(text[h.start:h.end]) + right]
        pos = h.end
    parts.append(escape(text[pos:]))
    return "".join(parts)


def plain_answer(ans: Answer) -> str:
    """Readable plain text: titles, status, quoted passages with **highlights**, citations."""
    lang = ans.reply_language
    out = [f"? {ans.question}  [{ans.language}]"]
    out += [f"! {n}" for n in ans.notices]
    if ans.abstained:
        out.append(ans.message)
        out += [f"  - {s.title}  ({t(lang, 'status')}: {t(lang, s.status_label)})" for s in ans.suggestions]
        return "\n".join(out)
    for i, a in enumerate(ans.answers, 1):
        out.append(f"\n{i}. {a.title}")
        out.append(f"   {t(lang, 'status')}: {t(lang, a.status_label)}   ({t(lang, 'score')} {a.score:.3f})")
        out += [f"   ({note})" for note in status_notes(lang, a)]
        for p in a.passages:
            label = t(lang, "pledge") if p.kind == "pledge" else t(lang, "progress")
            out.append(f"   {label}:")
            out += textwrap.wrap(f"„{_marked(p.text, p.highlights, '**', '**')}”", width=100,
                                 initial_indent="     ", subsequent_indent="     ")
        out.append(f"   {t(lang, 'source')}: {cite_line(lang, a.report, a.citations)}")
    return "\n".join(out)


# --- Markdown (app) ---------------------------------------------------------------------------------------

def quote_markdown(text: str, highlights: list[Highlight]) -> str:
    """A report passage as Markdown with its highlighted sentences in bold."""
    return "„" + _marked(text, highlights, "**", "**", as_text).replace("\n\n", "<br><br>") + "”"


def badge(lang: str, label: str) -> str:
    """Status badge as Markdown, e.g. 'Status: `zrealizowane`'."""
    return f"{t(lang, 'status')}: `{t(lang, label)}`"


def markdown_messages(ans: Answer) -> list[dict]:
    """Chat messages for one answer: the best pledge, further matches folded, then the sources folded."""
    lang = ans.reply_language
    notes = "".join(f"*{as_text(n)}*\n\n" for n in ans.notices)
    if ans.abstained:
        items = "\n".join(f"- {as_text(s.title)} — {badge(lang, s.status_label)}" for s in ans.suggestions)
        return [{"role": "assistant", "content": f"{notes}**{as_text(ans.message)}**\n\n{items}"}]
    blocks, sources = [], []
    for i, a in enumerate(ans.answers, 1):
        pledge, status = a.passages
        notes = "".join(f"\n\n*{as_text(n)}*" for n in status_notes(lang, a))
        blocks.append(f"### {i}. {as_text(a.title)}\n**{badge(lang, a.status_label)}**{notes}\n\n"
                      f"*{t(lang, 'pledge')}:* {quote_markdown(pledge.text, pledge.highlights)}\n\n"
                      f"*{t(lang, 'progress')}:* {quote_markdown(status.text, status.highlights)}")
        sources.append(f"{i}. {as_text(a.title)}: {as_text(cite_line(lang, a.report, a.citations))}")
    messages = [{"role": "assistant", "content": notes + blocks[0]}]
    if len(blocks) > 1:  # further matches folded away, so a phone screen shows the best one first
        messages.append({"role": "assistant", "content": "\n\n---\n\n".join(blocks[1:]),
                         "metadata": {"title": f"{t(lang, 'more')} ({len(blocks) - 1})", "status": "done"}})
    messages.append({"role": "assistant", "content": "\n".join(sources),
                     "metadata": {"title": f"{t(lang, 'source')} ({t(lang, 'report')}: {ans.answers[0].report['section']})",
                                  "status": "done"}})
    return messages


def markdown_pledge(library: ReportSet, pledge: Pledge, lang: str) -> str:
    """One pledge in full with its citation (Browse)."""
    record = pledge_record(library, pledge)
    notes = "".join(f"\n\n*{as_text(n)}*" for n in status_notes(lang, record))
    return (f"### {as_text(pledge.title)}\n**{badge(lang, pledge.status_label.label)}**{notes}\n\n"
            f"*{t(lang, 'pledge')}:* {quote_markdown(pledge.pledge.text, [])}\n\n"
            f"*{t(lang, 'progress')}:* {quote_markdown(pledge.status.text, [])}\n\n"
            f"**{t(lang, 'source')}:** {as_text(cite_line(lang, record['report'], pledge_citations(library, pledge)))}")


def cite_short(report: dict, citations: list[Citation], lang: str) -> str:
    """'Urząd Miasta Krakowa — <report title>, 2025, p. 3 / lines 7–23': what a resident can look up."""
    start = min((c.start_line for c in citations), default=0)
    end = max((c.end_line for c in citations), default=0)
    page = f", {t(lang, 'page')} {citations[0].page} /" if citations and citations[0].page else ","
    span = f"{start}" if start == end else f"{start}–{end}"
    return f"{report['publisher']} — {report['title']}, {report['edition']}{page} {t(lang, 'lines')} {span}"
