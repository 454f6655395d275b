"""What the app's events do, without Gradio: each method takes the inputs an event gets and returns the HTML and
state it shows, so unit tests drive them directly and app.py keeps only layout and wiring.

    >>> events = UiEvents.for_assistant(Assistant.load())                    # doctest: +SKIP
    >>> page, turns, last = events.respond("czy jest darmowa mammografia?", [], "auto", "pl")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.browse import rows_html, search
from assistant.cards import answer_html, library_card, message_html
from assistant.core import Assistant, QuestionError
from assistant.feedback import FeedbackStore
from assistant.messages import reply_language, t
from corpus.translated import Translations
from assistant.api import token_ok
from assistant.ui_text import MAX_HISTORY, UI_LANGS, history_html, stats_html, ui_lang


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
        return [q for lang in UI_LANGS for ed in self.assistant.library.latest()
                for q in ed.info.examples.get(lang, [])]

    def respond(self, question: str, turns: list, choice: str, last: str) -> tuple[str, list, str]:
        """Answer one question: (the answers' HTML, newest first; the turns kept in the session; its language).
        A question that cannot be asked gets the reason in the interface's language above the earlier answers."""
        turns = list(turns or [])
        lang = ui_lang(choice, last)
        try:
            ans = self.assistant.ask(question or "", lang=choice if choice in UI_LANGS else None)
        except QuestionError as exc:
            return message_html(lang, t(lang, f"err_{exc.code}")) + history_html(lang, turns), turns, last
        self.feedback.record(ans)
        turns = [answer_html(ans, self.assistant.library, self.translations), *turns][:MAX_HISTORY]
        last = reply_language(ans.language)
        return history_html(ui_lang(choice, last), turns), turns, last

    def browse(self, text: str, status: str, changed: bool, choice: str, last: str) -> str:
        """The Browse list for a search text and filters."""
        lang = ui_lang(choice, last)
        return rows_html(lang, search(self.assistant, text, status, changed), len(self.assistant.library.pledges),
                         self.assistant.library)

    def open_pledge(self, command: str, choice: str, last: str) -> str:
        """One pledge's card (``command`` is '<pledge id>' or '<pledge id>|<anything>'); '' for an unknown id."""
        library = self.assistant.library
        try:
            pledge = library.by_id((command or "").split("|", 1)[0])
        except KeyError:
            return ""
        return library_card(ui_lang(choice, last), library, pledge, self.translations)

    def deep_link(self, params: dict) -> tuple[str, str]:
        """A shared link's (language choice, pledge to open): ``?pledge=<id>&lang=<xx>``; unknown values ignored."""
        lang = params.get("lang") if params.get("lang") in UI_LANGS else "auto"
        pledge_id = params.get("pledge") or ""
        return lang, pledge_id if pledge_id in {p.id for p in self.assistant.library.pledges} else ""

    def stats(self, token: str, choice: str, last: str) -> str:
        """The operator's counts, only for the right admin token (closed when none is configured)."""
        lang = ui_lang(choice, last)
        if not token_ok(self.admin_token, token):
            return f'<p class="kqa-error" role="alert">{t(lang, "ui_stats_bad")}</p>'
        return stats_html(lang, self.feedback.stats())

