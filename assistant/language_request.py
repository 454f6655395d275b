"""Requests for the same answer in another language ("po ukraińsku proszę", "in English?", "польською").

General phrases only: how people ask for a language, in the languages residents write in. Nothing here names a
pledge or a question. A turn is a *pure* request when every word besides the phrase is a common word (very
frequent in some candidate language: "can you say that", "proszę", "будь ласка") or a request verb
("translate", "przetłumacz"); "are there courses in English?" is not one ("courses" is a content word), and
neither is "kursy polskiego" (a genitive is not a way of asking for a language).

    >>> language_request("po ukraińsku proszę")
    LanguageRequest(lang='uk', pure=True)
    >>> language_request("Can you say that in English?")
    LanguageRequest(lang='en', pure=True)
    >>> language_request("czy są kursy polskiego?") is None
    True
    >>> language_request("are there Polish courses in English?")
    LanguageRequest(lang='en', pure=False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.language import folded_polish_zipf
from index.lexical import fold

# "in <language>" as people ask for it, by the language asked for (ISO 639-1); matched in lower case with Latin
# letters' diacritics ignored ("po ukraińsku" = "po ukrainsku"). Bare names ("english", "українська") count only in
# a pure request.
_PHRASES: dict[str, tuple[str, ...]] = {
    "pl": (
        "po polsku",
        "in polish",
        "into polish",
        "auf polnisch",
        "en polonais",
        "en polaco",
        "in polacco",
        "польською",
        "польській",
        "по-польськи",
        "по польськи",
        "по-польски",
        "по польски",
        "на польском",
        "на польській",
        "polskoju",
        "polskoyu",
        "polskoiu",
        "pol's'koiu",
        "pol's'koju",
        "pol'skoju",
    ),
    "en": (
        "po angielsku",
        "in english",
        "into english",
        "auf englisch",
        "en anglais",
        "en ingles",
        "in inglese",
        "англійською",
        "англійській",
        "по-англійськи",
        "по англійськи",
        "по-английски",
        "по английски",
        "на английском",
        "на англійській",
        "anhliiskoiu",
        "angliyskoyu",
        "anglijskoju",
        "angliiskoiu",
        "po angliisky",
        "po anhliisky",
        "po angliyski",
        "po angliiski",
    ),
    "uk": (
        "po ukrainsku",
        "in ukrainian",
        "into ukrainian",
        "auf ukrainisch",
        "en ukrainien",
        "en ucraniano",
        "in ucraino",
        "українською",
        "українській",
        "по-українськи",
        "по українськи",
        "по-украински",
        "по украински",
        "на украинском",
        "на українській",
        "ukrainskoju",
        "ukrainskoyu",
        "ukrayinskoyu",
        "ukrainskoiu",
        "ukrains'koju",
        "ukrajinskoju",
        "po ukrajinsku",
    ),
    "ru": (
        "po rosyjsku",
        "in russian",
        "into russian",
        "auf russisch",
        "en russe",
        "en ruso",
        "in russo",
        "російською",
        "російській",
        "по-російськи",
        "по-русски",
        "по русски",
        "на русском",
        "rosiiskoiu",
        "po russki",
        "po-russki",
    ),
    "de": (
        "po niemiecku",
        "in german",
        "into german",
        "auf deutsch",
        "en allemand",
        "en aleman",
        "in tedesco",
        "німецькою",
        "німецькій",
        "по-німецьки",
        "по-немецки",
        "по немецки",
        "на немецком",
    ),
    "fr": (
        "po francusku",
        "in french",
        "into french",
        "auf franzosisch",
        "auf französisch",
        "en francais",
        "en frances",
        "in francese",
        "французькою",
        "по-французски",
        "на французском",
    ),
    "es": (
        "po hiszpansku",
        "in spanish",
        "into spanish",
        "auf spanisch",
        "en espagnol",
        "en espanol",
        "in spagnolo",
        "іспанською",
        "по-испански",
        "на испанском",
    ),
    "it": (
        "po wlosku",
        "in italian",
        "into italian",
        "auf italienisch",
        "en italien",
        "en italiano",
        "in italiano",
        "італійською",
        "по-итальянски",
        "на итальянском",
    ),
    "vi": (
        "po wietnamsku",
        "in vietnamese",
        "into vietnamese",
        "auf vietnamesisch",
        "en vietnamien",
        "tiếng việt",
        "bằng tiếng việt",
        "в'єтнамською",
        "вʼєтнамською",
        "по-вьетнамски",
        "на вьетнамском",
    ),
    "be": (
        "po białorusku",
        "in belarusian",
        "into belarusian",
        "па-беларуску",
        "па беларуску",
        "білоруською",
        "по-белорусски",
        "на белорусском",
    ),
}
_NAMES: dict[str, tuple[str, ...]] = {
    "pl": ("polski", "polish", "polnisch", "польська", "польский", "polska"),
    "en": (
        "angielski",
        "english",
        "englisch",
        "англійська",
        "английский",
        "anglais",
        "ingles",
        "inglese",
        "англ",
        "angl",
        "eng",
    ),
    "uk": ("ukrainski", "ukrainian", "ukrainisch", "українська", "украинский", "ukrainska", "ukrainska mova"),
    "ru": ("rosyjski", "russian", "russisch", "російська", "русский"),
    "de": ("niemiecki", "german", "deutsch", "німецька", "немецкий"),
    "fr": ("francuski", "french", "francais", "французька"),
    "es": ("hiszpanski", "spanish", "espanol", "іспанська"),
    "it": ("wloski", "italian", "italiano", "італійська"),
    "vi": ("wietnamski", "vietnamese"),
    "be": ("białoruski", "belarusian", "беларуская", "білоруська"),
}
# Verbs and words of asking for a translation that are not frequent enough to count as common words.
_REQUEST_WORDS = frozenset(
    (
        "translate",
        "translation",
        "translated",
        "przetłumacz",
        "przetlumacz",
        "przetłumaczyć",
        "tłumaczenie",
        "napisz",
        "napisać",
        "odpowiedz",
        "odpowiedź",
        "odpowiedzieć",
        "pokaż",
        "powtórz",
        "powiedz",
        "wersja",
        "переклади",
        "перекладіть",
        "перекласти",
        "переклад",
        "напиши",
        "напишіть",
        "відповідай",
        "відповідайте",
        "покажи",
        "покажіть",
        "скажи",
        "скажіть",
        "повтори",
        "повторіть",
        "версія",
        "переведи",
        "переведите",
        "перевести",
        "ответь",
        "ответьте",
        "напишите",
        "скажите",
        "покажите",
        "übersetzen",
        "ubersetzen",
        "übersetze",
        "ubersetze",
        "antworte",
        "antworten",
        "bitte",
        "prosze",
        "proszę",
        "pls",
        "plz",
        "please",
        "thanks",
        "dzięki",
        "dzieki",
        "дякую",
        "спасибо",
        "danke",
        "version",
        "versions",
        "poproszę",
        "poprosze",
        "prosimy",
        "поясніть",
        "put",
        "switch",
        "write",
        "repeat",
    )
)
# A word this frequent (wordfreq's zipf) in some candidate language is a function word, not content.
COMMON_ZIPF = 4.8
_FREQ_LANGS = ("pl", "en", "uk", "ru", "de", "fr", "es", "it", "vi")
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
MAX_WORDS = 10  # a longer request (a remark after a break aside) is a question of its own, whatever phrase it holds


@dataclass(frozen=True)
class LanguageRequest:
    """The language asked for, and whether the turn asks for nothing else (then the last answer is re-shown)."""

    lang: str
    pure: bool


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern[str], str, bool]]:
    """(pattern, language, is a bare name), longest phrases first so "in english" wins over "english"."""
    items = [(p, lang, False) for lang, ps in _PHRASES.items() for p in ps]
    items += [(n, lang, True) for lang, ns in _NAMES.items() for n in ns]
    items.sort(key=lambda item: -len(item[0]))
    return [(re.compile(rf"(?<![\w-]){re.escape(_fold_latin(p))}(?![\w-])"), lang, bare) for p, lang, bare in items]


def _common(word: str) -> bool:
    """A function word (frequent in some candidate language, Polish typed without diacritics included), a
    request word, or too short to carry a topic."""
    from wordfreq import zipf_frequency

    if word in _REQUEST_WORDS or len(word) <= 2 or folded_polish_zipf(word) >= COMMON_ZIPF:
        return True
    return any(zipf_frequency(word, lang, wordlist="small") >= COMMON_ZIPF for lang in _FREQ_LANGS)


def _fold_latin(text: str) -> str:
    """Latin letters without diacritics, one character for one (offsets stay valid); Cyrillic untouched, where
    folding would change letters (ї → і, й → и)."""
    return "".join((fold(c)[:1] or c) if c < "\u0250" else c for c in text)


def language_request(text: str) -> LanguageRequest | None:
    """The language ``text`` asks the answer to be in, or None when it asks for none.

    Pure (the last answer again, in that language): every word before the phrase is a common word, and after it
    either only common words or a break (",", "?", "—") and a remark of whom it is for ("po polsku, for my
    landlady"); a bare language name only as nearly the whole turn ("English?", "англ").
    """
    lower = " ".join(text.lower().split())
    words = _WORD.findall(lower)
    folded = _fold_latin(lower)
    # the first language named is the one asked for: "російською можна? мама не читає українською"
    found = sorted(
        ((m.start(), -len(m.group()), m.end(), lang, bare) for p, lang, bare in _patterns() if (m := p.search(folded))),
    )
    for start, _, end, lang, bare in found:
        before, after = _WORD.findall(lower[:start]), lower[end:]
        if bare:
            if len(words) <= 3 and all(_common(w) for w in before + _WORD.findall(after)):
                return LanguageRequest(lang, True)
            continue  # "Polish courses": a bare language name is a request only when nothing else is asked
        # up to the first break (",", "?", "—"), the rest may be a remark: "po polsku proszę, dla sąsiadki"
        head = _WORD.findall(re.split(r"[,.;:!?\u2013\u2014]", after, maxsplit=1)[0])
        if len(before) + len(_WORD.findall(lower[start:end])) + len(head) > MAX_WORDS:
            return None
        return LanguageRequest(lang, all(_common(w) for w in before + head))
    return None
