"""Ukrainian or Russian typed in Latin letters ("cholovik byie shcho robyty", "pomosh pri nasilii").

Many residents type Ukrainian on a Polish or English keyboard. Their words are unknown to every Latin-script
frequency list, so without this they read as Polish. Romanization is not one standard (y or i for и, kh or h
for х, ia or ya or ja for я, Polish-style cz/sz/rz …), so both sides are reduced to one lossy *key*: every
word of wordfreq's Ukrainian and Russian lists is romanized and keyed, and a typed word is keyed the same
way and looked up. A word's score is the best frequency (zipf) of a word with its key.

    >>> [round(z) for z in romanized_zipfs(["cholovik", "shcho", "robyty"])["uk"]]
    [5, 7, 6]
    >>> romanized_zipfs(["darmowa", "mammografia"])["ru"]
    [0.0, 0.0]
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from functools import cache

LANGS = ("uk", "ru")
_CYRILLIC_TO_LATIN = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "є": "ie",
    "ж": "zh",
    "з": "z",
    "и": "y",
    "і": "i",
    "ї": "i",
    "й": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "ъ": "",
    "ю": "iu",
    "я": "ia",
    "ы": "y",
    "э": "e",
    "ё": "io",
    "'": "",
    "’": "",
    "ʼ": "",
}
# Applied in order to a romanized word: the spellings of one Cyrillic letter meet in one symbol. Longer
# spellings first (shch before sh, zh before rz); upper-case symbols stand for the merged consonants.
_KEY_STEPS = (
    ("shch", "S"),
    ("szcz", "S"),
    ("sch", "S"),
    ("shh", "S"),
    ("ch", "C"),
    ("cz", "C"),
    ("sh", "S"),
    ("sz", "S"),
    ("zh", "Z"),
    ("rz", "Z"),
    ("kh", "h"),
    ("x", "h"),
    ("g", "h"),
    ("ts", "c"),
    ("w", "v"),
    ("y", "i"),
    ("j", "i"),
)
_REPEATS = re.compile(r"(.)\1+")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")  # a Cyrillic letter (also assistant.language's and eval.romanize's)
WORD = re.compile(r"[^\W\d_]+")  # a word: letters only (also assistant.language's)
_APOSTROPHES = re.compile(r"['’ʼ]")
# A typed word for writing back: apostrophes inside or after it belong to it, since schemes spell ь and the
# Ukrainian apostrophe so ("pol's'koji", "krychyt'"); ``key`` drops them.
TYPED_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]*)*")


_ROMANIZE = str.maketrans(_CYRILLIC_TO_LATIN)


def key(latin: str) -> str:
    """The lossy key of a Latin-letter word: one symbol per Cyrillic sound, doubled letters merged."""
    out = _APOSTROPHES.sub("", latin.lower())
    for old, new in _KEY_STEPS:
        out = out.replace(old, new)
    return _REPEATS.sub(r"\1", out)


def romanize(cyrillic: str) -> str:
    """A Cyrillic word in Latin letters (one of many spellings; ``key`` makes them meet)."""
    return cyrillic.lower().translate(_ROMANIZE)


def keys_of(words: Sequence[str]) -> list[str]:
    """``[key(romanize(w)) for w in words]`` for words without a line break, done on them all at once: one
    ``translate``, each key step and the merging of doubled letters run once over the joined words (no step
    spells a line break, and ``.`` does not match one), ~10× faster for wordfreq's 110k words."""
    out = key(romanize("\n".join(words))).split("\n")
    if len(out) != len(words):  # a word with a line break in it: the slow, word-by-word way
        return [key(romanize(w)) for w in words]
    return out


def keyed_table(freqs: Mapping[str, float]) -> dict[str, tuple[float, str]]:
    """key → (zipf frequency, word) of the most frequent word of ``freqs`` (word → frequency) with that key; of
    words equally frequent (to 0.01 zipf), the first."""
    # (isalpha first: it is true for most words and implies the pattern, which is slower)
    words = [w for w, f in freqs.items() if f > 0 and (w.isalpha() or WORD.fullmatch(_APOSTROPHES.sub("", w)))]
    keys = keys_of(words)
    counts = [freqs[w] for w in words]
    if all(map(operator.ge, counts, counts[1:])):
        # wordfreq lists words most frequent first, so the first word of each key is its best: built backwards,
        # a dict keeps the last value written, and only the kept words need their zipf
        best = dict(zip(reversed(keys), reversed(words), strict=True))
        return {k: (_zipf(freqs[w]), w) for k, w in best.items()}
    out: dict[str, tuple[float, str]] = {}
    for word, k in zip(words, keys, strict=True):
        zipf = _zipf(freqs[word])
        if k not in out or zipf > out[k][0]:
            out[k] = (zipf, word)
    return out


def _zipf(frequency: float) -> float:
    """A word's frequency as zipf (per billion words), to 0.01."""
    return round(math.log10(frequency) + 9, 2)


@cache
def _keyed(lang: str) -> dict[str, tuple[float, str]]:
    """key → (zipf frequency, word) of the most frequent ``lang`` word with that key (wordfreq's small list)."""
    from wordfreq import get_frequency_dict

    return keyed_table(get_frequency_dict(lang, wordlist="small"))


def romanized_zipfs(words: Sequence[str]) -> dict[str, list[float]]:
    """Per language in ``LANGS``: each word's best zipf among words with its key (0 if not plain Latin; ASCII
    apostrophes, as ``TYPED_WORD`` keeps them, belong to the word: "nasyl'stvo", "sim'yi")."""
    return {lang: [_keyed(lang).get(key(w), (0.0, ""))[0] if _plain_latin(w) else 0.0 for w in words] for lang in LANGS}


def _plain_latin(word: str) -> bool:
    """ASCII letters, with apostrophes between or after them."""
    return word.isascii() and word.replace("'", "").isalpha()


def to_cyrillic(text: str, lang: str) -> str:
    """``text`` with each Latin word whose key ``lang`` knows replaced by the most frequent word of that key
    (the model reads "чоловік мене б'є" far better than "cholovik mene byie"); other words stay as typed.

    >>> to_cyrillic("cholovik mene byie, kudy zvernutysia?", "uk")
    "чоловік мене б'є, куди звернутися?"
    """
    table = _keyed(lang)

    def one(match: re.Match) -> str:
        word = match.group(0)
        found = table.get(key(word)) if word.isascii() else None
        return found[1] if found else word

    return TYPED_WORD.sub(one, text)


def search_form(text: str, lang: str) -> str:
    """The text to embed for ``text`` in ``lang``: Ukrainian or Russian typed wholly in Latin letters is written
    back in Cyrillic (``to_cyrillic``), the script the model learnt those languages in; anything else as is. A
    question with any Cyrillic word is left alone: its Latin words are Polish names ("MOPS", "orzeczenie").
    The retriever (language detected) and fine-tuning (language labelled) both embed this form."""
    if CYRILLIC.search(text) or lang not in LANGS:
        return text
    return to_cyrillic(text, lang)
