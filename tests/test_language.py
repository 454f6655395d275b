"""Language detection: deterministic, sensible candidates, short-query fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.language import detect_language
from assistant.messages import reply_language, t


@pytest.mark.parametrize(
    "text, lang",
    [
        ("is there free mammography?", "en"),
        ("czy jest darmowa mammografia?", "pl"),
        ("czy jest darmowa mammografia", "pl"),
        ("Чи є безкоштовна мамографія?", "uk"),
        ("бесплатная маммография для женщин", "ru"),
        ("mammografia", "pl"),
        ("ginekolog", "pl"),
        ("kursy polskiego", "pl"),
        ("cardiology", "en"),
        ("domestic violence", "en"),
        ("przemoc", "pl"),
        ("Hilfe bei häuslicher Gewalt", "de"),
        ("12345", "pl"),
        # Ukrainian and Russian typed in Latin letters (index.romanized)
        ("cholovik mene byie, kudy zvernutysia", "uk"),
        ("mama potrebuie opiky, ya vtomylasia", "uk"),
        ("gde poluchit besplatnuyu pomoshch psikhologa", "ru"),
        # one word known only to the romanized reading is enough; the reply is then in Ukrainian
        ("dopomoha", "uk"),
        ("mobinh na roboti", "uk"),
        ("asystent osobystyi", "uk"),
        # Polish without diacritics stays Polish, even with words that are also Ukrainian when romanized
        ("bez skierowania do ginekologa", "pl"),
        ("na co moge liczyc", "pl"),
        ("asystent osobisty dla niepelnosprawnych", "pl"),
        ("asystent osobisty", "pl"),
        ("darmowa mammografia", "pl"),
        ("pelnomocnik ds przemocy", "pl"),
        # … and its words typed without diacritics are Polish words, even when they romanize to Russian ("мигрантов")
        ("integracja migrantow", "pl"),
        ("prawa pacjentow", "pl"),
        ("uslugi opiekuncze", "pl"),
        ("bezplatne", "pl"),
        ("wplyw na decyzje", "pl"),
        ("rowno traktowanie", "pl"),
        # Cyrillic without і/ї/є/ґ or ы/э/ъ/ё: word frequencies, not langdetect's Macedonian or Bulgarian
        ("притулок для жертв насильства", "uk"),
        ("бизнес-инкубатор", "ru"),
        # a question quoting a name in another language is in the language of its own words
        ("перекладач в urzędzie", "uk"),
        ("Як отримати orzeczenie o niepełnosprawności?", "uk"),
        ("How can I join Przedsiębiorcze Krakowianki?", "en"),
    ],
)
def test_detects_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_report_words_typed_without_diacritics_stay_latin_script() -> None:
    """A resident typing one word of the report on a phone without Polish letters is not answered in another
    language; the two rare words that still read as Russian are the known exceptions (language.py)."""
    from corpus import parse_report
    from index.lexical import fold
    from index.romanized import WORD

    report = parse_report(Path(__file__).resolve().parent.parent / "corpus/reports/krakow-miasto-rownych-szans.txt")
    words = {
        fold(w.lower())
        for p in report.pledges
        for text in (p.title, p.pledge.text, p.status.text)
        for w in WORD.findall(text)
    }
    assert len(words) > 400
    assert {w for w in words if detect_language(w) in ("uk", "ru")} <= {"komponent", "grantow"}


def test_detection_is_deterministic() -> None:
    text = "szkolenia kobiety biznes"
    assert len({detect_language(text) for _ in range(20)}) == 1


def test_reply_language_falls_back_to_english() -> None:
    assert reply_language("uk") == "uk" and reply_language("ja") == "en"
    assert t("pl", "done") == "zrealizowane" and t("ja", "done") == "done"


def test_search_form_writes_romanized_ukrainian_and_russian_in_cyrillic() -> None:
    from assistant.language import search_form

    assert search_form("cholovik mene byie, kudy zvernutysia?") == "чоловік мене б'є, куди звернутися?"
    assert search_form("pomosch pri nasilii v seme") == "помощь при насилии в семье"
    for unchanged in (
        "czy jest darmowa mammografia",
        "is there free mammography?",
        "Як отримати orzeczenie w MOPS?",
    ):  # Polish names inside Cyrillic stay as typed
        assert search_form(unchanged) == unchanged
    # schemes that spell ь or the apostrophe with ' (inside or after a word), and щ as "shh" (GOST 1971)
    assert search_form("kursy pol's'koji movy", "uk") == "курси польської мови"
    assert search_form("syn krychyt' na mene, shho robyty", "uk") == "син кричить на мене, що робити"


def test_retriever_embeds_the_search_form_unless_switched_off(fake_assistant) -> None:
    from dataclasses import replace

    from assistant.retriever import Retriever

    seen: list[str] = []
    for on in (True, False):
        r = Retriever(
            fake_assistant.index, fake_assistant.encoder, replace(fake_assistant.settings, romanized_search=on), "dense"
        )
        r.embed = lambda q: seen.append(q) or fake_assistant.retriever.embed(q)  # spy on what is embedded
        r.retrieve("mama potrebuie opiky")
    assert seen == ["мама потребує опіки", "mama potrebuie opiky"]


def test_every_status_rule_has_a_polish_and_ukrainian_name() -> None:
    from assistant.messages import RULE_NAMES, rule_name
    from corpus.status import RULES

    names = {r.name for r in RULES}
    for lang in ("pl", "uk"):
        assert set(RULE_NAMES[lang]) == names, lang  # a new rule needs its names here
    assert rule_name("uk", "amounts done so far") == "досягнуті дотепер результати"
    assert rule_name("en", "amounts done so far") == rule_name("ja", "amounts done so far") == "amounts done so far"
