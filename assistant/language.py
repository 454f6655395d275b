"""Language of a question: deterministic langdetect over likely languages, with fallbacks for short text.

    >>> detect_language("is there free mammography?")
    'en'
    >>> detect_language("mammografia")
    'pl'
"""

from __future__ import annotations

import re
from functools import lru_cache

# Languages Kraków residents are likely to write in; Polish first: it wins ties (the report's language).
CANDIDATES = ("pl", "en", "uk", "ru", "de", "fr", "es", "it", "cs", "sk", "pt")
# Latin-script languages the word-list fallback weighs (each costs a dictionary in memory).
LEXICON_CANDIDATES = ("pl", "en", "de", "fr", "es", "it")
_POLISH_LETTERS = re.compile(r"[ąćęłńśźżĄĆĘŁŃŚŹŻ]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_UKRAINIAN_LETTERS = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN_LETTERS = re.compile(r"[ыэъёЫЭЪЁ]")
SHORT_WORDS = 2  # up to this many words, langdetect is unreliable; a lexicon decides instead


@lru_cache(maxsize=1)
def _factory() -> None:
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0  # langdetect is random unless seeded


def _lexicon_guess(text: str) -> str:
    """simplemma's word-list detector over the candidates; ties go to the earlier candidate (Polish)."""
    import simplemma

    scores = dict(simplemma.langdetect(text, lang=LEXICON_CANDIDATES))
    best = max(scores.values(), default=0.0)
    return next((c for c in LEXICON_CANDIDATES if scores.get(c, 0.0) == best), "pl") if best > 0 else "pl"


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language; 'pl' when nothing can be told (e.g. digits only)."""
    letters = "".join(ch for ch in text if ch.isalpha())
    if not letters:
        return "pl"
    cyr, lat = len(_CYRILLIC.findall(letters)), len(_LATIN.findall(letters))
    if cyr > lat:
        if _UKRAINIAN_LETTERS.search(text):
            return "uk"
        if _RUSSIAN_LETTERS.search(text):
            return "ru"
    elif lat and _POLISH_LETTERS.search(text):
        return "pl"
    if lat and len(re.findall(r"\w+", text)) <= SHORT_WORDS:
        return _lexicon_guess(text)
    _factory()
    from langdetect import LangDetectException, detect_langs

    try:
        ranked = detect_langs(text)
    except LangDetectException:
        return "pl"
    for guess in ranked:
        if guess.lang in CANDIDATES:
            return guess.lang
    if ranked and ranked[0].prob > 0.9:  # confidently another language (e.g. Japanese): say so
        return ranked[0].lang
    return _lexicon_guess(text) if lat else ("uk" if cyr else ranked[0].lang if ranked else "pl")
