"""Polish lexical index: bm25s over lemmatised (simplemma), diacritic-folded, stopword-free terms.

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

import numpy as np

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


@lru_cache(maxsize=65536)
def _term(word: str, prefix: int) -> str:
    import simplemma

    lemma = simplemma.lemmatize(word, lang="pl").lower()
    term = fold(lemma)
    # Cutting to a prefix is light stemming: it joins derived forms (mammografia / mammograficzne)
    # and forms the lemmatiser does not know (no diacritics, typos at the end of a word).
    return term[:prefix] if prefix else term


def analyze(text: str, prefix: int = 6) -> list[str]:
    """Text → BM25 terms: words, minus Polish stopwords, lemmatised, folded, cut to ``prefix`` letters."""
    stop = _stopwords()
    terms = []
    for word in _WORD.findall(text.lower()):
        if word in stop or (len(word) < 2 and not word.isdigit()):
            continue
        terms.append(_term(word, prefix))
    return terms


K1, B = 1.2, 0.75


class LexicalIndex:
    """BM25 over one document per pledge; knows its vocabulary so callers can tell how much of a query it covers."""

    def __init__(self, retriever: object, prefix: int, df: dict[str, int], n_docs: int) -> None:
        self.retriever = retriever
        self.prefix = prefix
        self.df = df
        self.n_docs = n_docs
        self.vocab: frozenset[str] = frozenset(df)

    @classmethod
    def build(cls, documents: list[str], prefix: int = 6) -> LexicalIndex:
        """Index ``documents`` (one per pledge)."""
        import bm25s

        tokens = [analyze(d, prefix) or ["<empty>"] for d in documents]
        retriever = bm25s.BM25(k1=K1, b=B)
        retriever.index(tokens, show_progress=False)
        df = Counter(t for doc in tokens for t in set(doc))
        return cls(retriever, prefix, dict(df), len(documents))

    def _idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))  # bm25s' "lucene" idf

    def normalized_scores(self, query: str) -> np.ndarray:
        """BM25 divided by its upper bound for this query, (k1+1)·Σ idf of its known terms: 0..1, absolute.

        Unlike dividing by the best document's score, a document that matches one common word of the
        question gets a small value, not 1.0, so a weak lexical match cannot overrule the dense ranking.
        """
        terms = [t for t in analyze(query, self.prefix) if t in self.vocab]
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        bound = (K1 + 1) * sum(self._idf(t) for t in terms)
        return self.scores(query) / np.float32(bound)

    def coverage(self, query: str) -> float:
        """Share of the query's terms that occur in the indexed documents (0 for an English question)."""
        terms = analyze(query, self.prefix)
        return sum(t in self.vocab for t in terms) / len(terms) if terms else 0.0

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros when no term matches)."""
        terms = [t for t in analyze(query, self.prefix) if t in self.vocab]
        if not terms:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(terms), dtype=np.float32)  # type: ignore[attr-defined]

    def save(self, path: Path) -> None:
        """Write the bm25s files (with their ``params.index.json``) plus the analyzer's settings."""
        self.retriever.save(str(path), show_progress=False)  # type: ignore[attr-defined]
        (path / "analyzer.json").write_text(json.dumps({
            "prefix": self.prefix, "lemmatizer": "simplemma", "stopwords": "stopwordsiso:pl", "fold": True,
            "k1": K1, "b": B, "n_docs": self.n_docs, "df": self.df}, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        """Read an index written by ``save``."""
        import bm25s

        analyzer = json.loads((path / "analyzer.json").read_text())
        return cls(bm25s.BM25.load(str(path), show_progress=False), int(analyzer["prefix"]),
                   {str(k): int(v) for k, v in analyzer["df"].items()}, int(analyzer["n_docs"]))
