"""The app's own page pieces (heading, notes, filters, the Stats table) and its inline script and styles.

app.py only lays these out and wires events; words come from assistant/messages.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.cards import e
from assistant.feedback import REASONS
from assistant.feedback_schema import NO_PLEDGE
from assistant.messages import t
from corpus.status import LABELS as STATUSES

HERE = Path(__file__).resolve().parent
UI_LANGS = ("pl", "en", "uk")
EXIT_PATH = "start"  # the neutral page "Quick exit" leaves for (assistant/web.py serves it), relative to the app
MAX_HISTORY = 20  # earlier answers kept in the page (in the session's memory only, never on disk)


# Gradio scopes the app's css under its container, so rules for the container itself go into <head> instead:
# its 32 px page padding leaves too little of a 320 px screen.
PAGE_CSS = """@media (max-width: 480px) { .gradio-container .main {padding: 6px !important;} }
.gradio-container {max-width: 980px !important; margin: auto;}"""


def head() -> str:
    """Inline <script> (assistant/ui.js) and page-level styles: the CSP allows inline code, nothing from outside."""
    return f"<style>{PAGE_CSS}</style><script>{(HERE / 'ui.js').read_text(encoding='utf-8')}</script>"


def css() -> str:
    """The app's styles (assistant/ui.css)."""
    return (HERE / "ui.css").read_text(encoding="utf-8")


def ui_lang(choice: str | None, last: str | None) -> str:
    """The interface's language: the reader's choice, else the language of their last question."""
    if choice in UI_LANGS:
        return str(choice)
    return last if last in UI_LANGS else "pl"


def heading_html(lang: str, section: str) -> str:
    """The "Quick exit" link (first on every page, so first in tab order; ui.js replaces the page with the neutral
    ``/start`` page and leaves no history entry to go back to), the page's one h1 (naming the reports' sections,
    from their manifests) and the line on what can be asked; ``data-ui-lang`` sets <html lang> (ui.js)."""
    return (
        f'<div data-ui-lang="{lang}"><a id="quick-exit" class="kqa-exit" href="{EXIT_PATH}" data-exit '
        f'aria-label="{e(t(lang, "ui_exit_name"))}">{e(t(lang, "ui_exit"))}'
        '<span aria-hidden="true"> ✕</span></a>'
        f"<h1>{e(t(lang, 'ui_h1', section=section))}</h1><p>{e(t(lang, 'ui_lead'))}</p></div>"
    )


def busy_html(lang: str) -> str:
    """Where ui.js says a second question is refused while one is being answered."""
    return f'<p id="busy-note" role="status" data-busy="{e(t(lang, "ui_busy"))}"></p>'


def examples_label(lang: str) -> str:
    return f'<p class="kqa-k">{e(t(lang, "ui_examples"))}</p>'


def status_choices(lang: str) -> list[tuple[str, str]]:
    """The Browse status filter in the reader's language (values stay the label codes)."""
    return [(t(lang, "ui_all"), "all")] + [(t(lang, s), s) for s in STATUSES]


def history_html(lang: str, turns: list[str]) -> str:
    """The newest answer first and open; earlier ones folded below it."""
    if not turns:
        return ""
    earlier = ""
    if len(turns) > 1:
        earlier = (
            f'<details class="kqa-earlier"><summary>{e(t(lang, "ui_earlier"))} ({len(turns) - 1})</summary>'
            + "".join(turns[1:])
            + "</details>"
        )
    return turns[0] + earlier


PL = " lang='pl'"


def _table(caption: str, counts: dict[str, int], polish: frozenset[str] = frozenset()) -> str:
    """One small table: a row per count, its label a row heading (``lang="pl"`` for the ``polish`` ones, the
    pledges' titles)."""
    rows = "".join(
        f"<tr><th scope='row'{PL if k in polish else ''}>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in counts.items()
    )
    return f"<table class='kqa-stats'><caption>{e(caption)}</caption><tbody>{rows}</tbody></table>"


def _vote_label(lang: str, outcome: str) -> str:
    """A vote outcome of FeedbackStore.stats ("up", "down:wrong_pledge", "down:unspecified") in words."""
    if outcome == "up":
        return t(lang, "ui_up")
    reason = outcome.partition(":")[2]
    return f"{t(lang, 'ui_down')}: {t(lang, reason)}" if reason in REASONS else t(lang, "ui_down")


def stats_html(lang: str, stats: dict[str, Any], titles: dict[str, str] | None = None) -> str:
    """FeedbackStore.stats() as small tables: totals, by day, language, pledge, and feedback outcome. Pledges are
    named by ``titles`` (id → title; an id missing there, e.g. of an older report, as it is), the top "pledge" of
    a refusal as "refused", vote reasons in words."""
    titles = titles or {}
    refused = t(lang, "ui_st_refused")

    def name(pid: str) -> str:
        return refused if pid == NO_PLEDGE else titles.get(pid, pid)

    polish = frozenset(titles.values())
    by_pledge: dict[str, int] = {}
    for pid, n in stats["by_pledge"].items():
        by_pledge[name(pid)] = by_pledge.get(name(pid), 0) + n
    feedback = {
        f"{name(pid)} · {_vote_label(lang, k)}": n
        for pid, outcome in stats["feedback"].items()
        for k, n in outcome.items()
    }
    return (
        "<div class='kqa-stats-all'>"
        + _table(
            t(lang, "ui_st_since", since=stats["since"]),
            {t(lang, "ui_st_answers"): stats["answers"], refused: stats["not_in_report"]},
        )
        + _table(t(lang, "ui_st_day"), stats["by_day"])
        + _table(t(lang, "ui_st_lang"), stats["by_language"])
        + _table(t(lang, "ui_st_pledge"), by_pledge, polish)
        + _table(t(lang, "ui_st_feedback"), feedback)
        + "</div>"
    )
