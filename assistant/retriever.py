"""Question → ranked pledges (dense, lexical or both) plus the evidence used to decide whether to abstain.

Strategies: ``dense`` (e5 units, max-pooled per pledge), ``lexical`` (Polish BM25 per pledge) and ``hybrid``
(dense plus a small BM25 term, normalised by its upper bound for the question's known terms: an English
question that shares no Polish stem gets no lexical push, a Polish one — with or without diacritics — does,
and a match on one common word cannot overrule a clear dense ranking).

A long question (a forum post, a helpline message: ``window_min_words`` words or more) is read the way a helpline
worker reads it: besides the whole text, a few windows of consecutive sentences (at most ``window_max``) are
embedded in the same batched encoder call, and each text is compared with the report *and* with the background
on its own. A unit's evidence is its best cosine over the texts relative to that text's closest background
passage, so the sentence that asks the question decides, and an off-topic sentence of the story is judged
against the city topics it is closest to. Short questions take exactly one text, as before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from assistant.language import search_form
from index.encoder import Encoder
from index.store import SearchIndex
from settings import Settings

STRATEGIES = ("hybrid", "dense", "lexical")
# Units fetched from FAISS before pooling per pledge: all of them for reports up to this size (a report section
# has ~70), and for large corpora enough to hold the best units of the top pledges; the rest count as unseen.
MAX_DENSE_CANDIDATES = 2000
# A sentence ends at . ! ? … (any closing quotes or brackets stay with it) before a space; a forum quote ("> …")
# starts one. Punctuation only, so it works the same in every language.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”»)\]]*\s+|\s+(?=>)")


def soft_max(scores: np.ndarray, temperature: float, axis: int = -1) -> np.ndarray:
    """``temperature`` · log Σ exp(score / ``temperature``) along ``axis`` (−inf entries count for nothing): the
    largest score plus a bonus for every other score near it; ``temperature`` 0 is the plain maximum."""
    top = scores.max(axis=axis, keepdims=True)
    if temperature <= 0:
        return np.asarray(np.squeeze(top, axis=axis))
    safe = np.where(np.isfinite(top), top, 0.0)
    spread = np.log(np.exp((scores - safe) / temperature).sum(axis=axis))
    return np.asarray(np.squeeze(safe, axis=axis) + temperature * spread)


def evidence_windows(text: str, min_words: int, max_windows: int, window_words: int) -> list[str]:
    """Windows of consecutive sentences of a long ``text`` to score besides the whole of it ([] when it has fewer
    than ``min_words`` words, or ``min_words`` or ``max_windows`` is 0): at most ``max_windows`` windows of about
    ``window_words`` words or more, cut at the sentence end nearest each even share (inside a run-on sentence,
    at a word)."""
    words = text.split()
    if min_words < 1 or max_windows < 1 or len(words) < min_words:
        return []
    count = min(max_windows, max(1, math.ceil(len(words) / max(1, window_words))))
    if count < 2:
        return []
    # word offsets where a sentence ends, and the end of the text
    ends: list[int] = []
    total = 0
    for sentence in _SENTENCE_BREAK.split(text):
        total += len(sentence.split())
        if ends and ends[-1] == total:
            continue
        ends.append(total)
    cuts = [0]
    for k in range(1, count):
        target = k * len(words) / count
        near = min(ends, key=lambda e: abs(e - target))
        # a sentence longer than a window is cut inside it rather than swallowing its neighbours
        cut = near if abs(near - target) <= window_words / 2 else round(target)
        if cuts[-1] < cut < len(words):
            cuts.append(cut)
    cuts.append(len(words))
    return [" ".join(words[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]


class RetrievalError(ValueError):
    """Bad retrieval arguments; the message names the value and the fix."""


@dataclass(frozen=True)
class Ranked:
    """One pledge's scores for a question."""

    pledge_id: str
    score: float  # what the ranking uses
    dense: float  # best unit cosine (max pooling)
    lexical: float  # BM25 over its upper bound for this question (0..1)


@dataclass(frozen=True)
class Retrieval:
    """A ranking of all pledges and what abstention looks at."""

    ranked: tuple[Ranked, ...]
    unit_scores: np.ndarray  # dense cosine per index unit (-inf where not fetched)
    background: float  # mean cosine of the whole question to its closest background (general city topic) passages
    margin: float  # best unit evidence minus ``background``: below the threshold → not in the report
    windows: int = 0  # windows of a long question scored besides the whole text (0: a short question)
    vector: np.ndarray | None = None  # the whole text's query vector (None for the lexical strategy)


class Retriever:
    """Ranks pledges for questions with one strategy over one loaded index."""

    def __init__(self, index: SearchIndex, encoder: Encoder, settings: Settings, strategy: str = "hybrid") -> None:
        if strategy not in STRATEGIES:
            raise RetrievalError(f"retriever {strategy!r} is unknown; pass one of {', '.join(STRATEGIES)}")
        if settings.background_top < 1:
            raise RetrievalError(f"background_top of {settings.background_top} must be at least 1")
        if not 0.0 <= settings.window_weight <= 1.0:
            raise RetrievalError(
                f"window_weight of {settings.window_weight} must lie in 0..1 (0: the whole text "
                "alone, 1: the best window's evidence); set KQA_WINDOW_WEIGHT in that range"
            )
        if settings.window_pool not in ("mean", "max"):
            raise RetrievalError(f"window_pool {settings.window_pool!r} is unknown; set KQA_WINDOW_POOL to mean or max")
        if min(settings.window_min_words, settings.window_max, settings.window_words) < 0:
            raise RetrievalError(
                "window_min_words, window_max and window_words must not be negative (0 turns "
                f"windows off), not {settings.window_min_words}, {settings.window_max}, "
                f"{settings.window_words}"
            )
        self.index, self.encoder, self.settings, self.strategy = index, encoder, settings, strategy
        self._pledge_row = {pid: i for i, pid in enumerate(index.pledge_ids)}
        self._unit_pledge = np.array([self._pledge_row[u.pledge_id] for u in index.units])
        self._unit_used = self._kind_mask("unit_kinds", settings.unit_kinds)
        self._abstain_used = self._kind_mask("abstain_unit_kinds", settings.abstain_unit_kinds)
        self.thresholds = settings.margins_by_language()

    def _kind_mask(self, name: str, value: str) -> np.ndarray:
        """Which index units a comma-separated kind list selects; an unknown kind is an error."""
        kinds = {k.strip() for k in value.split(",") if k.strip()}
        known = {u.kind for u in self.index.units}
        if not kinds or not kinds <= known:
            raise RetrievalError(f"{name} {value!r} must name some of {', '.join(sorted(known))}")
        return np.array([u.kind in kinds for u in self.index.units])

    def embed(self, question: str) -> np.ndarray:
        """The question's vector (query prompt)."""
        return np.asarray(self.encoder.encode_queries([question])[0])

    def windows(self, text: str) -> list[str]:
        """The windows of ``text`` scored besides the whole of it (none for a short question)."""
        s = self.settings
        return evidence_windows(text, s.window_min_words, s.window_max, s.window_words)

    def _unit_scores(self, qvecs: np.ndarray) -> np.ndarray:
        """Dense cosine per text (rows) and index unit (columns); -inf where FAISS did not fetch the unit."""
        k = min(self.index.dense.size, MAX_DENSE_CANDIDATES)
        scores, ids = self.index.dense.search(qvecs, k)
        out = np.full((len(qvecs), self.index.dense.size), -np.inf, dtype=np.float32)
        for row, (s_row, i_row) in enumerate(zip(scores, ids, strict=True)):
            valid = i_row >= 0
            out[row, i_row[valid]] = s_row[valid]
        return out

    def _evidence(self, text: str) -> tuple[np.ndarray, float, int, np.ndarray]:
        """Unit scores and background of ``text``, with its windows' evidence when it is long (one encoder call).

        Each text's cosines are taken relative to its own background (``_background``); a unit's evidence is the
        whole text's relative score blended (``window_weight``) with its windows' — their mean, or with
        ``window_pool`` "max" the best of them — and put back on the whole text's scale (adding its background).
        A short question has one text: its own cosines, unchanged. Also returns the whole text's vector.
        """
        texts = [text, *self.windows(text)]
        qvecs = self.encoder.encode_queries(texts) if len(texts) > 1 else self.embed(text)[None, :]
        units = self._unit_scores(qvecs)
        backgrounds = self._background(self.index.background @ qvecs.T)
        if len(texts) == 1:
            return units[0], float(backgrounds[0]), 0, qvecs[0]
        relative = units - backgrounds[:, None]
        windows = relative[1:].max(axis=0) if self.settings.window_pool == "max" else relative[1:].mean(axis=0)
        w = self.settings.window_weight
        # (the ends apart: 0 × −inf, an unfetched unit's score, would be NaN)
        blended = relative[0] if w <= 0 else windows if w >= 1 else (1 - w) * relative[0] + w * windows
        return (blended + backgrounds[0]).astype(np.float32), float(backgrounds[0]), len(texts) - 1, qvecs[0]

    def _background(self, cosines: np.ndarray) -> np.ndarray:
        """How close each text (column) is to general city topics: the soft maximum of its background cosines
        at ``abstain_temperature``, or with temperature 0 the mean of its ``background_top`` closest."""
        if not cosines.size:
            return np.zeros(cosines.shape[1], dtype=np.float32)
        if self.settings.abstain_temperature > 0:
            return soft_max(cosines, self.settings.abstain_temperature, axis=0)
        return np.asarray(np.sort(cosines, axis=0)[-self.settings.background_top :].mean(axis=0))

    def retrieve(self, question: str, lang: str | None = None) -> Retrieval:
        """Score every pledge for ``question`` (in ``lang``, detected again only if needed and not given)."""
        n = len(self.index.pledge_ids)
        lex_norm = (
            np.zeros(n, dtype=np.float32)
            if self.strategy == "dense"
            else self.index.lexical.normalized_scores(question)
        )
        top_lex = float(lex_norm.max()) if lex_norm.size else 0.0
        if self.strategy == "lexical":
            unit_scores = np.full(len(self.index.units), -np.inf, dtype=np.float32)
            dense = np.zeros(n, dtype=np.float32)
            # BM25 alone has no background to compare with: it answers when any question term is in the
            # report and refuses otherwise (±1 lies far outside any threshold, so abstains() decides just that).
            background, margin, windows, vector = 0.0, 1.0 if top_lex > 0 else -1.0, 0, None
            fused = lex_norm
        else:
            text = search_form(question, lang) if self.settings.romanized_search else question
            unit_scores, background, windows, vector = self._evidence(text)
            pooled = np.where(self._unit_used, unit_scores, -np.inf)
            dense = np.full(n, -np.inf, dtype=np.float32)
            np.maximum.at(dense, self._unit_pledge, pooled)
            dense = np.where(np.isfinite(dense), dense, 0.0).astype(np.float32)
            # Short background sentences compete with the report's units of every size, sentences included.
            abstain_units = np.where(self._abstain_used, unit_scores, -np.inf)
            margin = float(soft_max(abstain_units, self.settings.abstain_temperature)) - background
            fused = dense + (self.settings.lexical_weight * lex_norm if self.strategy == "hybrid" else 0)
        order = np.argsort(-fused, kind="stable")
        ranked = tuple(
            Ranked(self.index.pledge_ids[i], float(fused[i]), float(dense[i]), float(lex_norm[i])) for i in order
        )
        return Retrieval(ranked, unit_scores, background, margin, windows, vector)

    def primary_count(self, retrieval: Retrieval) -> int:
        """How many of the ranked pledges are answers (the rest are "other matches"): every pledge scoring within
        ``answer_set_delta`` of the best, so that a near-tie shows both instead of hiding the right one."""
        if not retrieval.ranked:
            return 0
        floor = retrieval.ranked[0].score - self.settings.answer_set_delta
        return sum(1 for r in retrieval.ranked if r.score >= floor)

    def threshold(self, lang: str | None) -> float:
        """The abstention threshold for a question in ``lang`` (``abstain_margins``, else ``abstain_margin``)."""
        return self.settings.abstain_threshold(lang, self.thresholds)

    def abstains(self, retrieval: Retrieval, lang: str | None = None, threshold: float | None = None) -> bool:
        """True when the question is closer to general city topics than to any pledge (by the margin setting)."""
        return retrieval.margin < (self.threshold(lang) if threshold is None else threshold)
