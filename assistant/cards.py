"""Answers and pledges as the app's HTML: title, status badge, unofficial translation, Polish quotes, citation
with the quoted lines, votes, copy. Every text is escaped exactly once, here, with ``html.escape``.

The buttons carry data attributes only; assistant/ui.js handles them (votes go to ``/api/feedback``).
"""

from __future__ import annotations

import html
from typing import Any

from assistant.answer import Answer, Citation, Highlight, PledgeAnswer, pledge_citations, report_of, status_fields
from assistant.contacts import HelpContact
from assistant.feedback import REASONS
from assistant.messages import t
from assistant.render import change_note, cite_line, continues, marked, status_notes
from corpus.model import Pledge
from corpus.reports import ReportSet
from corpus.translated import Translated, Translations

ICONS = {"done": "✔", "partly_done": "◐", "in_progress": "↻", "planned": "◷", "not_done": "✖", "unclear": "?"}
LONG_QUESTION = 160  # characters; a longer question is echoed folded, not as a screen-filling block


def e(text: object) -> str:
    """Text (report, question, message) as HTML text or attribute value."""
    # Newlines as character references: the HTML goes through Markdown, where a blank line would end the block.
    return html.escape(str(text), quote=True).replace("\n", "&#10;")


def quote_html(text: str, highlights: list[Highlight]) -> str:
    """A Polish report passage, verbatim, with its best sentences in <mark>."""
    return "„" + marked(text, highlights, "<mark>", "</mark>", e).replace("&#10;&#10;", "<br><br>") + "”"


def badge_html(lang: str, label: str, edition: str) -> str:
    """The status: coloured, with an icon and the edition it is true of."""
    return (
        f'<p class="kqa-badge kqa-s-{e(label)}"><span aria-hidden="true">{ICONS.get(label, "?")}</span> '
        f"{e(t(lang, 'status'))}: <strong>{e(t(lang, label))}</strong> · "
        f"{e(t(lang, 'ui_as_of', edition=edition))}</p>"
    )


def translation_html(lang: str, tr: Translated | None) -> str:
    """The unofficial translation box (only current fields), marked as such; '' when there is none."""
    if tr is None:
        return ""
    rows = []
    if "title" in tr.fields:
        rows.append(f'<p class="kqa-tr-title">{e(tr.fields["title"])}</p>')
    for field, key in (("pledge", "pledge"), ("status", "progress")):
        if field in tr.fields:
            rows.append(f'<p><span class="kqa-k">{e(t(tr.lang, key))}:</span> {e(tr.fields[field])}</p>')
    return (
        f'<div class="kqa-tr" lang="{tr.lang}"><p class="kqa-tr-mark">{e(t(lang, "ui_unofficial"))}</p>'
        + "".join(rows)
        + "</div>"
    )


def source_html(lang: str, report: dict[str, Any], citations: list[Citation]) -> str:
    """The citation (a link when the report has a public URL) and the exact quoted lines, folded."""
    cite = e(cite_line(lang, report, citations))
    if report.get("url"):
        cite = f'<a href="{e(report["url"])}" rel="noopener noreferrer">{cite}</a>'
    blocks = [quoted_lines_html(lang, c) for c in citations]
    return (
        f'<p class="kqa-cite"><span class="kqa-k">{e(t(lang, "source"))}:</span> {cite}</p>'
        f'<details class="kqa-src"><summary>{e(t(lang, "ui_source_lines"))}</summary>{"".join(blocks)}</details>'
    )


def quoted_lines_html(lang: str, c: Citation) -> str:
    """The cited lines, numbered as a reader finds them: by line of the text file, or for a PDF by page and line on
    that page (blank lines of the extracted text are not on the page and are left out)."""
    lines = c.text.split("\n")
    if not c.printed_at:
        items = "".join(f"<li>{e(line) or '&nbsp;'}</li>" for line in lines)
        return f'<ol class="kqa-lines" start="{c.start_line}">{items}</ol>'
    pages: dict[int, list[tuple[int, str]]] = {}
    for line, at in zip(lines, c.printed_at, strict=True):
        if at is not None:
            pages.setdefault(at[0], []).append((at[1], line))
    return "".join(
        f'<p class="kqa-k">{e(t(lang, "page"))} {page}</p><ol class="kqa-lines" start="{rows[0][0]}">'
        + "".join(f"<li>{e(text)}</li>" for _, text in rows)
        + "</ol>"
        for page, rows in pages.items()
    )


def vote_html(lang: str, answer_id: str, pledge_id: str) -> str:
    """👍/👎 for one pledge of one answer, the "what was wrong?" choice, and a live "thank you"."""
    data = (
        f'data-aid="{e(answer_id)}" data-pid="{e(pledge_id)}" data-thanks="{e(t(lang, "ui_thanks"))}" '
        f'data-unvoted="{e(t(lang, "ui_unvoted"))}" data-error="{e(t(lang, "err_store"))}"'
    )
    reasons = "".join(
        f'<button type="button" class="kqa-btn" data-reason="{r}" aria-pressed="false">{e(t(lang, r))}</button>'
        for r in REASONS
    )
    return (
        f'<div class="kqa-vote" role="group" aria-label="{e(t(lang, "ui_vote_q"))}" {data}>'
        f'<span class="kqa-k">{e(t(lang, "ui_vote_q"))}</span>'
        f'<button type="button" class="kqa-btn" data-vote="up" aria-pressed="false" '
        f'><span aria-hidden="true">👍</span> {e(t(lang, "ui_up"))}</button>'
        f'<button type="button" class="kqa-btn" data-vote="down" aria-pressed="false" '
        f'><span aria-hidden="true">👎</span> {e(t(lang, "ui_down"))}</button>'
        f'<span class="kqa-thanks" role="status"></span>'
        f'<div class="kqa-reasons" hidden><span class="kqa-k">{e(t(lang, "ui_what_wrong"))}</span>{reasons}</div>'
        "</div>"
    )


def copy_text(lang: str, pledge: Pledge, report: dict[str, Any], citations: list[Citation]) -> str:
    """Clean plain text of a pledge with its citation, for pasting into an e-mail or a case note."""
    label = pledge.status_label.label
    as_of = t(lang, "ui_as_of", edition=report["edition"])
    return "\n".join(
        [
            pledge.title,
            f"{t(lang, 'status')}: {t(lang, label)} ({as_of})",
            f"{t(lang, 'pledge')}: „{pledge.pledge.text}”",
            f"{t(lang, 'progress')}: „{pledge.status.text}”",
            f"{t(lang, 'source')}: {cite_line(lang, report, citations)}",
        ]
    )


def copy_buttons(lang: str, text: str, pledge_id: str) -> str:
    """'Copy' (plain text with citation) and 'Copy link' (the pledge's shareable address)."""
    return (
        f'<div class="kqa-actions"><button type="button" class="kqa-btn" data-copy="{e(text)}" '
        f'data-done="{e(t(lang, "ui_copied"))}">{e(t(lang, "ui_copy"))}</button>'
        f'<button type="button" class="kqa-btn" data-copy-link="{e(pledge_id)}" data-lang="{e(lang)}" '
        f'data-done="{e(t(lang, "ui_copied"))}">{e(t(lang, "ui_copy_link"))}</button></div>'
    )


def pledge_card(
    lang: str,
    pledge: Pledge,
    report: dict[str, Any],
    citations: list[Citation],
    translations: Translations,
    change: dict[str, Any] | None,
    highlights: tuple[list[Highlight], list[Highlight]] = ([], []),
    heading: str = "h2",
) -> str:
    """One pledge: title, badge, notes (a status change; the rule of a doubtful label), translation, Polish
    quotes, citation, copy buttons."""
    label = pledge.status_label
    notes = "".join(
        f'<p class="kqa-note">{e(n)}</p>' for n in status_notes(lang, change, label.doubtful, label.rule, label.doubt)
    )
    return (
        f'<{heading} class="kqa-title" lang="pl">{e(pledge.title)}</{heading}>'
        f"{badge_html(lang, pledge.status_label.label, report['edition'])}{notes}"
        f"{translation_html(lang, translations.for_pledge(pledge, lang))}"
        f'<p class="kqa-k">{e(t(lang, "pledge"))}:</p>'
        f'<blockquote lang="pl">{quote_html(pledge.pledge.text, highlights[0])}</blockquote>'
        f'<p class="kqa-k">{e(t(lang, "progress"))}:</p>'
        f'<blockquote lang="pl">{quote_html(pledge.status.text, highlights[1])}</blockquote>'
        f"{source_html(lang, report, citations)}"
        f"{copy_buttons(lang, copy_text(lang, pledge, report, citations), pledge.id)}"
    )


def answer_card(lang: str, ans: Answer, a: PledgeAnswer, library: ReportSet, translations: Translations) -> str:
    """One matching pledge of an answer, with its own votes."""
    pledge = library.by_id(a.pledge_id)
    pledge_hl, status_hl = (p.highlights for p in a.passages)
    body = pledge_card(lang, pledge, a.report, a.citations, translations, a.status_change, (pledge_hl, status_hl))
    return (
        f'<article class="kqa-card" data-pledge="{e(a.pledge_id)}">{body}'
        f"{vote_html(lang, ans.answer_id, a.pledge_id)}</article>"
    )


def contacts_html(lang: str, contacts: list[HelpContact]) -> str:
    """The help numbers, as tappable phone links."""
    items = "".join(
        f'<li><a href="tel:{e(c.phone.replace(" ", ""))}">{e(c.phone)}</a> — {e(c.text)}</li>' for c in contacts
    )
    title = e(t(lang, "ui_contacts"))
    return f'<aside class="kqa-contacts" aria-label="{title}"><p class="kqa-k">{title}</p><ul>{items}</ul></aside>'


def asked_html(lang: str, question: str) -> str:
    """The question as asked; a long paste is folded to its first words."""
    label = f'<span class="kqa-k">{e(t(lang, "ui_asked"))}:</span> '
    if len(question) <= LONG_QUESTION:
        return f'<p class="kqa-asked">{label}{e(question)}</p>'
    return (
        f'<details class="kqa-asked"><summary>{label}{e(question[:80])}… '
        f"({e(t(lang, 'ui_long_q', n=len(question)))})</summary><p>{e(question)}</p></details>"
    )


def answer_html(ans: Answer, library: ReportSet, translations: Translations) -> str:
    """A whole reply: the question, notices, the answers, other matches folded, help contacts when they apply."""
    lang = ans.reply_language
    out = [asked_html(lang, ans.question), follow_up_html(lang, ans, library)]
    out += [f'<p class="kqa-note">{e(n)}</p>' for n in ans.notices]
    if ans.abstained:
        items = "".join(f"<li>{e(s.title)} — {e(t(lang, s.status_label))}</li>" for s in ans.suggestions)
        out.append(
            f'<article class="kqa-card" data-pledge="-"><h2 class="kqa-title">{e(ans.message)}</h2>'
            f"<ul>{items}</ul>{vote_html(lang, ans.answer_id, '-')}</article>"
        )
    else:
        primary = [a for a in ans.answers if a.primary] or ans.answers[:1]
        rest = [a for a in ans.answers if a not in primary]
        out += [answer_card(lang, ans, a, library, translations) for a in primary]
        if rest:
            cards = "".join(answer_card(lang, ans, a, library, translations) for a in rest)
            summary = f"<summary>{e(t(lang, 'more'))} ({len(rest)})</summary>"
            out.append(f'<details class="kqa-more">{summary}{cards}</details>')
    if ans.help_contacts:
        out.append(contacts_html(lang, ans.help_contacts))
    return f'<section class="kqa-turn" data-answer="{e(ans.answer_id)}" data-ui-lang="{lang}">{"".join(out)}</section>'


def context_html(lang: str, titles: list[str]) -> str:
    """'Continuing about: <title>': what a follow-up question will be read with ('' for none)."""
    if not titles:
        return ""
    names = "; ".join(f'<span lang="pl">{e(title)}</span>' for title in titles)
    return f'<p class="kqa-context"><span class="kqa-k">{e(t(lang, "continuing"))}</span> {names}</p>'


def follow_up_html(lang: str, ans: Answer, library: ReportSet) -> str:
    """Under the question: what a follow-up continues (detail, language, sibling), '' otherwise."""
    return context_html(lang, continues(ans, library))


def message_html(lang: str, text: str) -> str:
    """A plain notice in place of an answer (an empty question, a bad request)."""
    return f'<section class="kqa-turn" data-ui-lang="{lang}"><p class="kqa-error" role="alert">{e(text)}</p></section>'


def library_card(lang: str, library: ReportSet, pledge: Pledge, translations: Translations) -> str:
    """A pledge opened in Browse (or by a shared link): the full card with the status change, if any."""
    card = pledge_card(
        lang,
        pledge,
        report_of(library, pledge.id),
        pledge_citations(library, pledge),
        translations,
        status_fields(library, pledge)["status_change"],
    )
    note = change_note(lang, library, pledge.id)
    return (
        f'<article class="kqa-card" data-pledge="{e(pledge.id)}" data-ui-lang="{lang}">{card}'
        + (f'<p class="kqa-note">{e(note)}</p>' if note else "")
        + f"{earlier_html(lang, library, pledge)}</article>"
    )


def earlier_html(lang: str, library: ReportSet, pledge: Pledge) -> str:
    """Older editions of the pledge, folded: each edition's status label and status text, quoted."""
    items = "".join(
        f"<li>{badge_html(lang, p.status_label.label, ed.info.edition)}"
        f'<blockquote lang="pl">{e(p.status.text)}</blockquote></li>'
        for ed, p in library.earlier(pledge.id)
    )
    return (
        f'<details class="kqa-earlier"><summary>{e(t(lang, "ui_editions"))}</summary><ul>{items}</ul></details>'
        if items
        else ""
    )
