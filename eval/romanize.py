"""The romanized view of a query set: its Ukrainian and Russian questions as typed on a Latin keyboard.

Many residents write Ukrainian or Russian in Latin letters ("cholovik byie, shcho robyty"), and few such
questions are in the query files. This view transliterates every Cyrillic ``uk``/``ru`` question with one of
the ASCII schemes residents meet (passports, road signs, "simple"), picked per question from its id so that a
run is reproducible, lower-cased as typed on a phone. The schemes come from ``translitua``, written apart from
``index.romanized``, so the view does not grade that module's own spelling rules.

    python -m eval --queries eval/dev.jsonl --split tune --romanized
    python -m eval.crossfit --romanized
"""

from __future__ import annotations

import zlib
from dataclasses import replace

from eval.queries import Query
from index.romanized import CYRILLIC, LANGS

SUFFIX = "~lat"  # appended to a romanized question's id


def _schemes() -> dict[str, tuple]:
    """ASCII-only schemes per language (diacritic schemes such as ISO 9 are not typed on phones)."""
    import translitua as t

    return {
        "uk": (
            t.UkrainianKMU,
            t.UkrainianBGN2019,
            t.UkrainianSimple,
            t.UkrainianPassport2007,
            t.UkrainianGOST1971,
            t.UkrainianNational1996,
        ),
        "ru": (t.RussianICAO, t.RussianInternationalPassport, t.RussianSimple, t.RussianGOST2006, t.RussianISO9SystemB),
    }


def romanize_question(text: str, lang: str, qid: str) -> str:
    """``text`` in Latin letters with the scheme ``qid`` picks among ``lang``'s (Latin words stay)."""
    from translitua import translit

    schemes = _schemes()[lang]
    scheme = schemes[zlib.crc32(qid.encode()) % len(schemes)]
    return translit(text, scheme).lower()


def romanized_view(queries: list[Query]) -> list[Query]:
    """The ``uk``/``ru`` questions with Cyrillic letters, romanized (ids end in ``SUFFIX``); others dropped."""
    return [
        replace(q, id=q.id + SUFFIX, query=romanize_question(q.query, q.lang, q.id))
        for q in queries
        if q.lang in LANGS and CYRILLIC.search(q.query)
    ]
