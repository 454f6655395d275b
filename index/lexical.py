"""Polish lexical index: bm25s over lemmatised (simplemma), diacritic-folded, stopword-free terms.

Documents are lemmatised with simplemma when the index is built. Questions are not: loading simplemma's
Polish dictionary costs ~380 MB. Instead the build keeps, from that dictionary, every inflected form whose
lemma is a term of the index (``query_map``, ~2,000 entries); a question word is looked up there, and
otherwise folded and cut to its prefix — the term simplemma would give for every word that can match.

    >>> lex = LexicalIndex.build(["Bezpłatne badania mammograficzne"], prefix=6)
    >>> lex.scores("darmowa mammografia").round(2).tolist() > [0.0]
    True
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

if TYPE_CHECKING:
    from simplemma import Lemmatizer

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Drop diacritics (ł → l too), so 'przemoc w rodzinie' and 'przemoc w rodzinie' without accents meet."""
    text = text.replace("ł", "l").replace("Ł", "L")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    import stopwordsiso

    words = stopwordsiso.stopwords("pl")
    return frozenset(words) | frozenset(fold(w) for w in words)


class _DictionaryData(Protocol):
    """simplemma's dictionary object as used here: its private bytes → bytes table of forms."""

    _dict: dict[bytes, bytes]


class _BM25(Protocol):
    """What is used of bm25s.BM25 (bm25s has no type hints)."""

    def get_scores(self, query_tokens_single: list[str]) -> np.ndarray: ...

    def save(self, save_dir: str, *, show_progress: bool = True) -> None: ...


@lru_cache(maxsize=1)
def _polish() -> tuple[Lemmatizer, dict[bytes, bytes]]:
    """simplemma's lemmatizer and its Polish dictionary, loaded once (~3 s, ~380 MB: build time only)."""
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    factory = DefaultDictionaryFactory()
    lemmatizer = Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=factory))
    return lemmatizer, cast(_DictionaryData, factory.get_dictionary("pl"))._dict  # bytes → bytes, ~4M forms


def release_dictionary() -> None:
    """Forget simplemma's Polish dictionary and the lemma cache built on it (they come back on the next build)."""
    _term.cache_clear()
    _polish.cache_clear()


@lru_cache(maxsize=65536)
def _term(word: str, prefix: int) -> str:
    lemma = _polish()[0].lemmatize(word, lang="pl").lower()
    term = fold(lemma)
    # Cutting to a prefix is light stemming: it joins derived forms (mammografia / mammograficzne)
    # and forms the lemmatiser does not know (no diacritics, typos at the end of a word).
    return term[:prefix] if prefix else term


def _words(text: str) -> list[str]:
    """Lower-cased words minus Polish stopwords and single letters."""
    stop = _stopwords()
    return [w for w in _WORD.findall(text.lower()) if w not in stop and (len(w) > 1 or w.isdigit())]


def analyze(text: str, prefix: int = 6) -> list[str]:
    """Document text → BM25 terms: words, minus stopwords, lemmatised (simplemma), folded, cut to ``prefix``."""
    return [_term(word, prefix) for word in _words(text)]


def build_query_map(vocab: set[str], document_words: set[str], prefix: int) -> dict[str, str]:
    """Inflected form (lower case) → index term, for forms whose own cut would not reach their lemma's term."""

    def cut(text: str) -> str:
        return text[:prefix] if prefix else text

    table: dict[str, str] = {}
    dictionary = _polish()[1]
    # Decide per distinct lemma first (far fewer than forms), then decode only the forms of useful ones.
    useful: dict[bytes, str] = {}
    for raw_lemma in set(dictionary.values()):
        term = cut(fold(raw_lemma.decode().lower()))
        if term in vocab:
            useful[raw_lemma] = term
    for raw_form, raw_lemma in dictionary.items():
        lemma_term = useful.get(raw_lemma)
        if lemma_term is not None:
            # Keyed by the form as written (lower case, diacritics kept), as simplemma looks words up: an
            # unaccented question word falls back to its cut, exactly as with simplemma in memory.
            form = raw_form.decode().lower()
            if cut(fold(form)) != lemma_term:
                table.setdefault(form, lemma_term)
    for word in document_words:  # forms simplemma resolved by rules rather than its dictionary
        term = _term(word, prefix)
        if cut(fold(word)) != term:
            table.setdefault(word, term)
    return table


K1, B = 1.2, 0.75


class LexicalIndex:
    """BM25 over one document per pledge; knows its vocabulary so callers can tell how much of a query it covers."""

    def __init__(
        self, retriever: _BM25, prefix: int, df: dict[str, int], n_docs: int, query_map: dict[str, str]
    ) -> None:
        self.retriever = retriever
        self.prefix = prefix
        self.df = df
        self.n_docs = n_docs
        self.query_map = query_map
        self.vocab: frozenset[str] = frozenset(df)

    @classmethod
    def build(cls, documents: list[str], prefix: int = 6) -> LexicalIndex:
        """Index ``documents`` (one per pledge)."""
        import bm25s

        tokens = [analyze(d, prefix) or ["<empty>"] for d in documents]
        retriever = bm25s.BM25(k1=K1, b=B)
        retriever.index(tokens, show_progress=False)
        df = Counter(t for doc in tokens for t in set(doc))
        words = {w for d in documents for w in _words(d)}
        index = cls(retriever, prefix, dict(df), len(documents), build_query_map(set(df), words, prefix))
        release_dictionary()  # ~380 MB that serving never needs: a server that rebuilt at start must not keep it
        return index

    def query_terms(self, query: str) -> list[str]:
        """Question → terms, via ``query_map`` (no dictionary in memory); unknown words are cut to the prefix."""
        terms = []
        for word in _words(query):
            form = fold(word)
            terms.append(self.query_map.get(word) or (form[: self.prefix] if self.prefix else form))
        return terms

    def idf(self, term: str) -> float:
        """The idf of bm25s' default ("lucene") scoring, log(1 + (N − df + 0.5) / (df + 0.5)); bm25s does not
        expose it, so it is computed here from the document frequencies (tests check it against bm25s)."""
        df = self.df.get(term, 0)
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def normalized_scores(self, query: str) -> np.ndarray:
        """BM25 over its upper bound for this query, Σ idf of its known terms: in 0..1, absolute.

        Lucene's term-frequency part tf / (tf + k1·(1 − b + b·dl/avgdl)) is below 1, so no document reaches
        the bound. Unlike dividing by the best document's score, a document that matches one common word of
        the question gets a small value, not 1.0, so a weak lexical match cannot overrule the dense ranking.
        """
        terms = [t for t in self.query_terms(query) if t in self.vocab]
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        return self.scores(query) / np.float32(sum(self.idf(t) for t in terms))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros when no term matches)."""
        terms = [t for t in self.query_terms(query) if t in self.vocab]
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(terms), dtype=np.float32)

    def save(self, path: Path) -> None:
        """Write the bm25s files (with their ``params.index.json``) plus the analyzer's settings."""
        self.retriever.save(str(path), show_progress=False)
        (path / "analyzer.json").write_text(
            json.dumps(
                {
                    "prefix": self.prefix,
                    "lemmatizer": "simplemma",
                    "stopwords": "stopwordsiso:pl",
                    "fold": True,
                    "k1": K1,
                    "b": B,
                    "n_docs": self.n_docs,
                    "df": self.df,
                    "query_map": self.query_map,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        """Read an index written by ``save``."""
        import bm25s

        analyzer = json.loads((path / "analyzer.json").read_text(encoding="utf-8"))
        return cls(
            bm25s.BM25.load(str(path), show_progress=False),
            int(analyzer["prefix"]),
            {str(k): int(v) for k, v in analyzer["df"].items()},
            int(analyzer["n_docs"]),
            {str(k): str(v) for k, v in analyzer["query_map"].items()},
        )
