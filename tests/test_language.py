"""Language detection: deterministic, sensible candidates, short-query fallback."""

from __future__ import annotations

import pytest

from assistant.language import detect_language
from assistant.messages import reply_language, t


@pytest.mark.parametrize("text, lang", [
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
])
def test_detects_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_detection_is_deterministic() -> None:
    text = "szkolenia kobiety biznes"
    assert len({detect_language(text) for _ in range(20)}) == 1


def test_reply_language_falls_back_to_english() -> None:
    assert reply_language("uk") == "uk" and reply_language("ja") == "en"
    assert t("pl", "done") == "zrealizowane" and t("ja", "done") == "done"
