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
NAME_CHARS = 60  # a pledge title is cut to about this in the names of its controls ("Copy — Rozwiniemy system…")


def e(text: object) -> str:
    """Text (report, question, message) as HTML text or attribute value."""
    # Newlines as character references: the HTML goes through Markdown, where a blank line would end the block.
    return html.escape(str(text), quote=True).replace("\n", "&#10;")


def short_title(title: str) -> str:
    """A pledge title cut at a word to about ``NAME_CHARS`` characters, for naming the pledge's controls."""
    if len(title) <= NAME_CHARS:
        return title
    cut = title[:NAME_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:—-")
    return cut + "…"


def named(lang: str, action: str, title: str) -> str:
    """A control's accessible name that says which pledge it is for: 'Copy — Rozwiniemy system…' (escaped)."""
    return e(t(lang, "ui_named", action=action, title=short_title(title)))


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


def source_html(lang: str, report: dict[str, Any], citations: list[Citation], title: str = "") -> str:
    """The citation (a link when the report has a public URL) and the exact quoted lines, folded (the fold's name
    says which pledge, for screen readers)."""
    cite = e(cite_line(lang, report, citations))
    if report.get("url"):
        cite = f'<a href="{e(report["url"])}" rel="noopener noreferrer">{cite}</a>'
    blocks = [quoted_lines_html(lang, c) for c in citations]
    return (
        f'<p class="kqa-cite"><span class="kqa-k">{e(t(lang, "source"))}:</span> {cite}</p>'
        f'<details class="kqa-src"><summary>{e(t(lang, "ui_source_lines"))}{sr_title(title)}</summary>'
        f"{''.join(blocks)}</details>"
    )


def sr_title(title: str) -> str:
    """' — <short title>' for screen readers only (a control's name saying which pledge; '' without a title)."""
    return f'<span class="kqa-sr"> — {e(short_title(title))}</span>' if title else ""


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


def vote_html(lang: str, answer_id: str, pledge_id: str, title: str) -> str:
    """👍/👎 for one pledge of one answer, the "what was wrong?" choice, and a live "thank you"; each button's name
    says which pledge it is about."""
    data = (
        f'data-aid="{e(answer_id)}" data-pid="{e(pledge_id)}" data-thanks="{e(t(lang, "ui_thanks"))}" '
        f'data-unvoted="{e(t(lang, "ui_unvoted"))}" data-error="{e(t(lang, "err_store"))}"'
    )
    reasons = "".join(
        f'<button type="button" class="kqa-btn" data-reason="{r}" aria-pressed="false" '
        f'aria-label="{named(lang, t(lang, r), title)}">{e(t(lang, r))}</button>'
        for r in REASONS
    )
    return (
        f'<div class="kqa-vote" role="group" aria-label="{named(lang, t(lang, "ui_vote_q"), title)}" {data}>'
        f'<span class="kqa-k">{e(t(lang, "ui_vote_q"))}</span>'
        f'<button type="button" class="kqa-btn" data-vote="up" aria-pressed="false" '
        f'aria-label="{named(lang, t(lang, "ui_up"), title)}"><span aria-hidden="true">👍</span> '
        f"{e(t(lang, 'ui_up'))}</button>"
        f'<button type="button" class="kqa-btn" data-vote="down" aria-pressed="false" '
        f'aria-label="{named(lang, t(lang, "ui_down"), title)}"><span aria-hidden="true">👎</span> '
        f"{e(t(lang, 'ui_down'))}</button>"
        f'<span class="kqa-thanks" role="status"></span>'
        f'<div class="kqa-reasons" hidden><span class="kqa-k">{e(t(lang, "ui_what_wrong"))}</span>{reasons}</div>'
        "</div>"
    )


def copy_text(
    lang: str, pledge: Pledge, report: dict[str, Any], citations: list[Citation], tr: Translated | None = None
) -> str:
    """Clean plain text of a pledge with its citation, for pasting into an e-mail or a case note, or reading out
    to a caller: the unofficial translation first when one is shown (marked as such), then the Polish quotes."""
    label = pledge.status_label.label
    status = f"{t(lang, 'status')}: {t(lang, label)} ({t(lang, 'ui_as_of', edition=report['edition'])})"
    polish = [
        pledge.title,
        f"{t(lang, 'pledge')}: „{pledge.pledge.text}”",
        f"{t(lang, 'progress')}: „{pledge.status.text}”",
    ]
    source = f"{t(lang, 'source')}: {cite_line(lang, report, citations)}"
    if tr is None:
        return "\n".join([polish[0], status, *polish[1:], source])
    fields = tr.fields
    translated = [f"[{t(lang, 'ui_unofficial')}]", fields.get("title", ""), status]
    translated += [
        f"{t(tr.lang, key)}: {fields[field]}"
        for field, key in (("pledge", "pledge"), ("status", "progress"))
        if field in fields
    ]
    return "\n".join([line for line in translated if line] + ["", t(lang, "ui_original"), *polish, source])


def copy_buttons(lang: str, text: str, pledge_id: str, title: str) -> str:
    """'Copy' (plain text with citation) and 'Copy link' (the pledge's shareable address), named for the pledge."""
    return (
        f'<div class="kqa-actions"><button type="button" class="kqa-btn" data-copy="{e(text)}" '
        f'aria-label="{named(lang, t(lang, "ui_copy"), title)}" '
        f'data-done="{e(t(lang, "ui_copied"))}">{e(t(lang, "ui_copy"))}</button>'
        f'<button type="button" class="kqa-btn" data-copy-link="{e(pledge_id)}" data-lang="{e(lang)}" '
        f'aria-label="{named(lang, t(lang, "ui_copy_link"), title)}" '
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
    votes: str = "",
) -> str:
    """One pledge: title (focusable, for moving focus to a new answer), badge, notes (a status change; a plain
    sentence for a doubtful label), the actions (copy, copy link, ``votes``) before the long texts so a phone
    reaches them without scrolling past the quotes, translation, Polish quotes, citation."""
    label = pledge.status_label
    tr = translations.for_pledge(pledge, lang)
    notes = "".join(
        f'<p class="kqa-note">{e(n)}</p>' for n in status_notes(lang, change, label.doubtful, label.rule, label.doubt)
    )
    actions = copy_buttons(lang, copy_text(lang, pledge, report, citations, tr), pledge.id, pledge.title)
    return (
        f'<{heading} class="kqa-title" lang="pl" tabindex="-1">{e(pledge.title)}</{heading}>'
        f"{badge_html(lang, pledge.status_label.label, report['edition'])}{notes}"
        f'<div class="kqa-bar">{actions}{votes}</div>'
        f"{translation_html(lang, tr)}"
        f'<p class="kqa-k">{e(t(lang, "pledge"))}:</p>'
        f'<blockquote lang="pl">{quote_html(pledge.pledge.text, highlights[0])}</blockquote>'
        f'<p class="kqa-k">{e(t(lang, "progress"))}:</p>'
        f'<blockquote lang="pl">{quote_html(pledge.status.text, highlights[1])}</blockquote>'
        f"{source_html(lang, report, citations, pledge.title)}"
    )


def answer_card(lang: str, ans: Answer, a: PledgeAnswer, library: ReportSet, translations: Translations) -> str:
    """One matching pledge of an answer, with its own votes."""
    pledge = library.by_id(a.pledge_id)
    pledge_hl, status_hl = (p.highlights for p in a.passages)
    body = pledge_card(
        lang,
        pledge,
        a.report,
        a.citations,
        translations,
        a.status_change,
        (pledge_hl, status_hl),
        votes=vote_html(lang, ans.answer_id, a.pledge_id, pledge.title),
    )
    return f'<article class="kqa-card" data-pledge="{e(a.pledge_id)}">{body}</article>'


def contacts_html(lang: str, contacts: list[HelpContact], safety: bool = True) -> str:
    """The help numbers, as tappable phone links: "Need help now?" over safety numbers, "Other matters for the
    city" over the city's general contact alone."""
    items = "".join(
        f'<li><a href="tel:{e(c.phone.replace(" ", ""))}">{e(c.phone)}</a> — {e(c.text)}</li>' for c in contacts
    )
    title = e(t(lang, "ui_contacts" if safety else "ui_contacts_general"))
    kind = "kqa-safety" if safety else "kqa-general"
    return (
        f'<aside class="kqa-contacts {kind}" aria-label="{title}"><p class="kqa-k">{title}</p><ul>{items}</ul></aside>'
    )


def asked_html(lang: str, question: str) -> str:
    """The question as asked; a long paste is folded to its first words."""
    label = f'<span class="kqa-k">{e(t(lang, "ui_asked"))}:</span> '
    if len(question) <= LONG_QUESTION:
        return f'<p class="kqa-asked">{label}{e(question)}</p>'
    return (
        f'<details class="kqa-asked"><summary>{label}{e(question[:80])}… '
        f"({e(t(lang, 'ui_long_q', n=len(question)))})</summary><p>{e(question)}</p></details>"
    )


def answer_html(ans: Answer, library: ReportSet, translations: Translations, safety: bool = False) -> str:
    """A whole reply: the question, notices, the answers, other matches folded, help contacts when they apply —
    before everything else when they are ``safety`` numbers (someone in danger must not scroll for them), after
    the answer otherwise. ``data-announce`` is what a screen reader is told when the answer arrives (ui.js)."""
    lang = ans.reply_language
    out = [asked_html(lang, ans.question), follow_up_html(lang, ans, library)]
    out += [f'<p class="kqa-note">{e(n)}</p>' for n in ans.notices]
    contacts = contacts_html(lang, ans.help_contacts, safety) if ans.help_contacts else ""
    out.append(contacts if safety else "")
    if ans.abstained:
        out.append(refusal_card(lang, ans, library, translations))
    else:
        primary = [a for a in ans.answers if a.primary] or ans.answers[:1]
        rest = [a for a in ans.answers if a not in primary]
        out += [answer_card(lang, ans, a, library, translations) for a in primary]
        if rest:
            cards = "".join(answer_card(lang, ans, a, library, translations) for a in rest)
            summary = f"<summary>{e(t(lang, 'more'))} ({len(rest)})</summary>"
            out.append(f'<details class="kqa-more">{summary}{cards}</details>')
    out.append("" if safety else contacts)
    return (
        f'<section class="kqa-turn" data-answer="{e(ans.answer_id)}" data-ui-lang="{lang}" '
        f'data-announce="{e(announcement(ans, library, translations, safety))}">{"".join(out)}</section>'
    )


def title_for(lang: str, pledge: Pledge, translations: Translations) -> tuple[str, str]:
    """(title, its language): the unofficial translation's title for the reader where one is current, else the
    Polish title."""
    tr = translations.for_pledge(pledge, lang)
    return (tr.fields["title"], tr.lang) if tr is not None and "title" in tr.fields else (pledge.title, "pl")


def refusal_card(lang: str, ans: Answer, library: ReportSet, translations: Translations) -> str:
    """ "Not in the report" with the closest pledges as links that open them (Browse; a plain link works without
    the script too), titled in the reader's language where a translation exists."""
    items = []
    for s in ans.suggestions:
        title, title_lang = title_for(lang, library.by_id(s.pledge_id), translations)
        href = f"?pledge={s.pledge_id}&lang={lang}"
        items.append(
            f'<li><a href="{e(href)}" data-open="{e(s.pledge_id)}" lang="{title_lang}">{e(title)}</a>'
            f" — {e(t(lang, s.status_label))}</li>"
        )
    return (
        f'<article class="kqa-card" data-pledge="-"><h2 class="kqa-title" tabindex="-1">{e(ans.message)}</h2>'
        f'<ul class="kqa-suggestions">{"".join(items)}</ul>'
        f"{vote_html(lang, ans.answer_id, '-', t(lang, 'ui_not_in_report'))}</article>"
    )


def announcement(ans: Answer, library: ReportSet, translations: Translations, safety: bool) -> str:
    """What the live region says when the answer arrives: the help numbers first when they are safety numbers,
    then the first pledge's title and status, or "not in the report"."""
    lang = ans.reply_language
    if ans.abstained:
        said = t(lang, "ui_not_in_report") + "."
    else:
        first = ([a for a in ans.answers if a.primary] or ans.answers)[0]
        title, _ = title_for(lang, library.by_id(first.pledge_id), translations)
        said = t(lang, "ui_announce", title=title, status=t(lang, first.status_label))
    if safety:
        said = f"{t(lang, 'ui_contacts')} {', '.join(c.phone for c in ans.help_contacts)}. {said}"
    return said


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


def library_card(
    lang: str, library: ReportSet, pledge: Pledge, translations: Translations, contacts: list[HelpContact] | None = None
) -> str:
    """A pledge opened in Browse (or by a shared link): the full card with the status change, if any; the safety
    numbers the contacts file lists for it (``contacts``) come first, as beside an answer."""
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
        f'<article class="kqa-card" data-pledge="{e(pledge.id)}" data-ui-lang="{lang}">'
        + (contacts_html(lang, contacts) if contacts else "")
        + card
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
