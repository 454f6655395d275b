"""What the app's events do, without Gradio: each method takes the inputs an event gets and returns the HTML and
state it shows, so unit tests drive them directly and app.py keeps only layout and wiring.

    >>> events = UiEvents(Assistant.load(), FeedbackStore("sqlite://"))                      # doctest: +SKIP
    >>> page, turns, last, history, context = events.respond("czy jest darmowa mammografia?", [], "auto", "pl", [])
    ...                                                                                        # doctest: +SKIP

A conversation lives in the browser session's state (``history``: the turns as ``Answer.turn`` records, in
the server's memory for that session only, never written anywhere), so a follow-up ("is it free?") is read with
the turns before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.api import token_ok
from assistant.browse import listing, rows_html
from assistant.cards import answer_html, context_html, library_card, message_html
from assistant.conversation import LANGUAGE, Turn, last_shown
from assistant.core import Assistant, QuestionError
from assistant.feedback import FeedbackStore
from assistant.messages import reply_language, t
from assistant.ui_text import MAX_HISTORY, UI_LANGS, history_html, stats_html, ui_lang
from corpus.translated import Translations


@dataclass
class UiEvents:
    """The app's event handlers over one loaded assistant (shared by all sessions)."""

    assistant: Assistant
    feedback: FeedbackStore
    translations: Translations = field(default_factory=Translations)
    admin_token: str | None = None

    @property
    def section(self) -> str:
        """The reports' sections, from their manifests (the page's title and heading)."""
        return " · ".join(dict.fromkeys(ed.info.section for ed in self.assistant.library.latest()))

    @property
    def examples(self) -> list[str]:
        """Example questions from the reports' manifests, Polish first, then English and Ukrainian."""
        return [
            q for lang in UI_LANGS for ed in self.assistant.library.latest() for q in ed.info.examples.get(lang, [])
        ]

    def respond(
        self, question: str, turns: list[str], choice: str, last: str, history: list[dict[str, Any]] | None = None
    ) -> tuple[str, list[str], str, list[dict[str, Any]], str]:
        """Answer one question with the conversation so far: (the answers' HTML, newest first; the answers kept
        in the session; its language; the conversation's turns; the "continuing about" line). A question that
        cannot be asked gets the reason in the interface's language above the earlier answers."""
        turns, history = list(turns or []), list(history or [])
        lang = ui_lang(choice, last)
        assistant = self.assistant  # one answer, one assistant, even if a better profile is swapped in meanwhile
        try:
            ans = assistant.ask(question or "", lang=choice if choice in UI_LANGS else None, history=history)
        except QuestionError as exc:
            page = message_html(lang, t(lang, f"err_{exc.code}")) + history_html(lang, turns)
            return page, turns, last, history, self.context(history, lang)
        self.feedback.record(ans)
        safety = assistant.contacts.safety_shown(ans.help_contacts, ans.reply_language)
        turns = [answer_html(ans, assistant.library, self.translations, safety), *turns][:MAX_HISTORY]
        history = [*history, ans.turn.to_json()][-assistant.settings.max_history_turns :]
        # the interface follows the question's language, or the language a follow-up asked for
        asked_for = ans.follow_up is not None and ans.follow_up.kind == LANGUAGE
        last = ans.reply_language if asked_for else reply_language(ans.language)
        lang = ui_lang(choice, last)
        return history_html(lang, turns), turns, last, history, self.context(history, lang)

    def context(self, history: list[dict[str, Any]], lang: str) -> str:
        """The line saying what the next question continues ('' when nothing: a new conversation)."""
        turns = [Turn(h["q"], tuple(h["pledge_ids"])) for h in history or []]
        titles = [self.assistant.library.by_id(p).title for p in last_shown(turns)]
        return context_html(lang, titles)

    @staticmethod
    def new_conversation() -> tuple[str, list[str], list[dict[str, Any]], str]:
        """Start again: no answers on the page, no turns, no context line."""
        return "", [], [], ""

    @staticmethod
    def forget_context() -> tuple[list[dict[str, Any]], str]:
        """The next question stands on its own (the answers stay on the page)."""
        return [], ""

    def browse(self, text: str, status: str, changed: bool, choice: str, last: str) -> str:
        """The Browse list for a search text and filters."""
        lang = ui_lang(choice, last)
        rows, fallback = listing(self.assistant, text, status, changed)
        return rows_html(lang, rows, len(self.assistant.library.pledges), self.assistant.library, fallback)

    def open_pledge(self, command: str, choice: str, last: str) -> str:
        """One pledge's card (``command`` is '<pledge id>' or '<pledge id>|<anything>'), with the safety numbers
        when the contacts file lists the pledge; '' for an unknown id."""
        library = self.assistant.library
        try:
            pledge = library.by_id((command or "").split("|", 1)[0])
        except KeyError:
            return ""
        lang = ui_lang(choice, last)
        contacts = self.assistant.contacts.for_answer([pledge.id], False, lang)
        return library_card(lang, library, pledge, self.translations, contacts)

    def deep_link(self, params: dict[str, str]) -> tuple[str, str]:
        """A shared link's (language choice, pledge to open): ``?pledge=<id>&lang=<xx>``; unknown values ignored."""
        lang = params.get("lang", "")
        lang = lang if lang in UI_LANGS else "auto"
        pledge_id = params.get("pledge") or ""
        return lang, pledge_id if pledge_id in {p.id for p in self.assistant.library.pledges} else ""

    def stats(self, token: str, choice: str, last: str) -> str:
        """The operator's counts, only for the right admin token (closed when none is configured)."""
        lang = ui_lang(choice, last)
        if not token_ok(self.admin_token, token):
            return f'<p class="kqa-error" role="alert">{t(lang, "ui_stats_bad")}</p>'
        return stats_html(lang, self.feedback.stats(), {p.id: p.title for p in self.assistant.library.pledges})
