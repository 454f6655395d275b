"""The app's HTML for people in a hurry, in danger or with a screen reader (issue 31), with the fake encoder:
safety numbers before the quotes, the city's contact after a refusal, controls named for their pledge, Copy with
the translation, refusals that lead on, plain words under a doubtful label, and the quick exit's neutral page."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant import Assistant
from assistant.cards import answer_html, copy_text, library_card, pledge_card, short_title
from assistant.render import status_notes
from assistant.ui_text import heading_html
from corpus.translated import Translations

VIOLENCE = "powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie"


@pytest.fixture(scope="module")
def answering(fake_settings_in_module) -> Assistant:
    from index.fake import FakeEncoder

    return Assistant.load(
        replace(fake_settings_in_module, abstain_margin=-10), encoder=FakeEncoder(), log_fn=lambda m: None
    )


@pytest.fixture(scope="module")
def fake_settings_in_module(tmp_path_factory: pytest.TempPathFactory):
    from conftest import fake_settings_in

    return fake_settings_in(tmp_path_factory.mktemp("index"))


def _names(page: str) -> list[str]:
    """The accessible names of the buttons and summaries of a card (aria-label, else the text)."""
    names = [unescape(m) for m in re.findall(r'<button[^>]*aria-label="([^"]*)"', page)]
    names += [re.sub(r"<[^>]+>", "", unescape(m)) for m in re.findall(r"<summary>(.*?)</summary>", page)]
    return names


def test_every_control_names_its_pledge(answering: Assistant) -> None:
    ans = answering.ask("opieka wytchnieniowa dla osób z niepełnosprawnościami", top_k=3, lang="en")
    page = answer_html(ans, answering.library, Translations())
    primary = ans.answers[0]
    names = _names(page.split('<details class="kqa-more">')[0])  # what is not folded away
    assert f"Copy — {short_title(primary.title)}" in names and f"Copy link — {short_title(primary.title)}" in names
    assert f"Helpful — {short_title(primary.title)}" in names and f"Not helpful — {short_title(primary.title)}" in names
    assert len(names) == len(set(names)), names  # unique
    assert all(" — " in n for n in names), names
    every = _names(page)  # the folded cards too: one name per control and pledge
    assert len(every) == len(set(every))


def test_short_titles_cut_at_a_word() -> None:
    assert short_title("Krótki tytuł") == "Krótki tytuł"
    cut = short_title("Rozwiniemy system opieki wyręczeniowej dla opiekunów osób z niepełnosprawnościami w Krakowie")
    assert cut.endswith("…") and len(cut) <= 61 and cut.startswith("Rozwiniemy system opieki")


def test_safety_numbers_come_before_the_quotes(answering: Assistant) -> None:
    ans = answering.ask("Powołamy pełnomocnika ds. przeciwdziałania przemocy w rodzinie", top_k=1)
    assert ans.answers[0].pledge_id == VIOLENCE
    safety = answering.contacts.safety_shown(ans.help_contacts, ans.reply_language)
    assert safety
    page = answer_html(ans, answering.library, Translations(), safety)
    assert page.index('class="kqa-contacts kqa-safety"') < page.index("<blockquote")
    assert page.index('class="kqa-contacts kqa-safety"') < page.index('class="kqa-title"')
    assert "Potrzebujesz pomocy teraz?" in page and "800 120 002" in page
    announce = unescape(re.search(r'data-announce="([^"]*)"', page).group(1))
    assert announce.startswith("Potrzebujesz pomocy teraz? 112, 800 120 002.") and "Status: " in announce


def test_other_refusals_get_the_city_contact_after_the_suggestions(fake_assistant: Assistant) -> None:
    refusing = Assistant.load(
        replace(fake_assistant.settings, abstain_margin=10), encoder=fake_assistant.encoder, log_fn=lambda m: None
    )
    ans = refusing.ask("ile kosztuje bilet tramwajowy?", lang="en")
    assert ans.abstained and not refusing.contacts.safety_shown(ans.help_contacts, ans.reply_language)
    page = answer_html(ans, refusing.library, Translations(), False)
    assert "112" not in re.sub(r'data-aid="[^"]*"|data-answer="[^"]*"', "", page)
    assert page.index("kqa-suggestions") < page.index('class="kqa-contacts kqa-general"')
    assert "Other matters for the city" in page and "Need help now?" not in page
    assert 'data-announce="Not in the report."' in page
    # the closest pledges are links that open them, titled in the reader's language where a translation exists
    links = re.findall(r'<a href="\?pledge=([^&"]+)&amp;lang=en" data-open="([^"]+)" lang="(\w+)">([^<]+)</a>', page)
    assert len(links) == len(ans.suggestions) >= 1
    assert all(href == pid for href, pid, _, _ in links)
    translated = [(pid, title) for _, pid, lang, title in links if lang == "en"]
    assert translated, links
    for pid, title in translated:
        assert unescape(title) != refusing.library.by_id(pid).title


def test_copy_gives_the_translation_marked_then_the_polish_and_the_citation(answering: Assistant) -> None:
    pledge = answering.library.by_id(VIOLENCE)
    tr = Translations().for_pledge(pledge, "en")
    assert tr is not None
    from assistant.answer import pledge_citations, report_of

    report, cites = report_of(answering.library, pledge.id), pledge_citations(answering.library, pledge)
    text = copy_text("en", pledge, report, cites, tr)
    lines = text.split("\n")
    assert lines[0] == "[Unofficial translation — the Polish quote below is the evidence]"
    assert lines[1] == tr.fields["title"]
    assert text.index(tr.fields["pledge"]) < text.index("Original (Polish)") < text.index(pledge.pledge.text)
    assert text.index(pledge.status.text) < text.index("Source: Urząd Miasta Krakowa")
    assert copy_text("pl", pledge, report, cites, None).split("\n")[0] == pledge.title  # nothing to mark
    card = pledge_card("en", pledge, report, cites, Translations(), None)
    copied = unescape(re.search(r'data-copy="([^"]*)"', card).group(1)).replace("&#10;", "\n")
    assert copied == text
    # the actions come before the translation and the quotes: a phone reaches them without scrolling past those
    assert card.index('class="kqa-bar"') < card.index('class="kqa-tr"') < card.index("<blockquote")
    assert 'tabindex="-1"' in card.split("</h2>")[0]  # the heading focus moves to after an answer


def test_doubtful_labels_say_so_in_plain_words(answering: Assistant) -> None:
    pledge = answering.library.pledges[0]
    label = replace(pledge.status_label, doubtful=True, doubt="weak", rule="amounts done so far")
    doubtful = [replace(pledge, status_label=label)]
    for lang, sentence in (
        ("en", "The report's wording is not clear-cut — read the quote."),
        ("pl", "Sformułowanie raportu nie jest jednoznaczne — przeczytaj cytat."),
        ("uk", "Формулювання звіту не однозначне — прочитайте цитату."),
    ):
        page = library_card(lang, answering.library, doubtful[0], Translations())
        assert unescape(page).count(sentence) == 1
        assert not any(w in page for w in ("label by rule", "według reguły", "за правилом", "weak cue"))
    assert "według reguły" in status_notes("pl", None, True, label.rule, label.doubt, detail=True)[0]  # the CLI


def test_quick_exit_is_first_and_leads_to_a_neutral_local_page(tmp_path: Path, answering: Assistant) -> None:
    from assistant.api import Service
    from assistant.feedback import FeedbackStore
    from assistant.web import create_server, secured

    head = heading_html("uk", "Kraków")
    assert head.index('id="quick-exit"') < head.index("<h1>")  # first in tab order
    assert 'href="start"' in head and 'aria-label="Швидкий вихід: негайно залишити цю сторінку"' in head
    service = Service(answering.settings, FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}"), answering)
    client = TestClient(secured(create_server(service), answering.settings), base_url="http://127.0.0.1")
    resp = client.get("/start")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    assert "<title>Nowa karta</title>" in resp.text and "Krak" not in resp.text and "http" not in resp.text
    assert "default-src 'self'" in resp.headers["content-security-policy"]


def test_a_listed_pledge_opened_in_browse_shows_the_numbers_first(answering: Assistant, tmp_path: Path) -> None:
    from assistant.feedback import FeedbackStore
    from assistant.ui_events import UiEvents

    events = UiEvents(answering, FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}"))
    card = events.open_pledge(VIOLENCE, "uk", "pl")
    assert card.index("kqa-safety") < card.index('class="kqa-title"') and "800 120 002" in card
    assert "kqa-contacts" not in events.open_pledge("wesprzemy-mniejszosci-narodowe", "uk", "pl")
