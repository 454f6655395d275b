"""The fast keyed tables of index/romanized.py give exactly what the word-by-word way gave (issue 31: the first
question of a cold start spent ~2.3 s building them)."""

from __future__ import annotations

import math
import random
import re

import pytest

from index import romanized as R

EDGE = {
    "щастя": 1e-5,
    "ь": 1e-6,
    "п'ять": 2e-5,
    "пʼять": 2e-5,
    "м’ясо": 3e-6,
    "ёлка": 1e-7,
    "ЩУКА": 1e-7,
    "ссора": 4e-6,
    "сора": 4e-6,
    "a1": 1e-6,
    "x_y": 1e-6,
    "": 1e-6,
    "нуль": 0.0,
}


def reference(freqs: dict[str, float]) -> dict[str, tuple[float, str]]:
    """The tables as they were built before issue 31, word by word (``key(romanize(word))`` one at a time)."""
    out: dict[str, tuple[float, str]] = {}
    for word, freq in freqs.items():
        if freq > 0 and R.WORD.fullmatch(re.sub(r"['’ʼ]", "", word)):
            k = R.key(R.romanize(word))
            zipf = round(math.log10(freq) + 9, 2)
            if k not in out or zipf > out[k][0]:
                out[k] = (zipf, word)
    return out


@pytest.mark.parametrize("lang", R.LANGS)
def test_fast_tables_equal_the_word_by_word_ones(lang: str) -> None:
    from wordfreq import get_frequency_dict

    words = list(get_frequency_dict(lang, wordlist="small").items())
    sample = dict(words[::9])  # most frequent first, as wordfreq lists them
    assert R.keyed_table(sample) == reference(sample)
    shuffled = dict(random.Random(31).sample(words[::9], len(words[::9])))  # not in order: the careful way
    assert R.keyed_table(shuffled) == reference(shuffled)
    assert R.keyed_table(EDGE) == reference(EDGE)
    assert R.keyed_table(dict(sorted(EDGE.items(), key=lambda kv: -kv[1]))) == reference(EDGE)


def test_keys_of_equals_key_of_romanize() -> None:
    words = ["щастя", "ь", "ссора", "п'ять", "ЩУКА", "line\nbreak", "x"]
    assert R.keys_of(words) == [R.key(R.romanize(w)) for w in words]
    assert R.keys_of([]) == []


def test_apostrophes_belong_to_a_romanized_word() -> None:
    """Ukrainian typed with ASCII apostrophes for ь and the apostrophe is read as one word, as ``to_cyrillic``
    reads it (before issue 31 "sim'yi" was "sim" and "yi", and the question read as German)."""
    from assistant.language import detect_language

    assert R.romanized_zipfs(["sim'yi"])["uk"][0] > 3 and R.romanized_zipfs(["sim’yi"])["uk"] == [0.0]
    assert detect_language("nasyl'stvo v sim'yi") == "uk"
    assert detect_language("don't know where to go") == "en" and detect_language("l'aide pour les femmes") == "fr"
