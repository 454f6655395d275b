"""Question → ranked pledges (dense, lexical or both) plus the evidence used to decide whether to abstain.

Strategies: ``dense`` (e5 units, max-pooled per pledge), ``lexical`` (Polish BM25 per pledge) and ``hybrid``
(dense plus a small BM25 term, normalised by its upper bound for the question's known terms: an English
question that shares no Polish stem gets no lexical push, a Polish one — with or without diacritics — does,
and a match on one common word cannot overrule a clear dense ranking).
"""

from __future__ import annotations

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
    background: float  # mean cosine to the closest background (general city topic) passages
    margin: float  # best unit cosine minus ``background``: below the threshold → not in the report


class Retriever:
    """Ranks pledges for questions with one strategy over one loaded index."""

    def __init__(self, index: SearchIndex, encoder: Encoder, settings: Settings, strategy: str = "hybrid") -> None:
        if strategy not in STRATEGIES:
            raise RetrievalError(f"retriever {strategy!r} is unknown; pass one of {', '.join(STRATEGIES)}")
        if settings.background_top < 1:
            raise RetrievalError(f"background_top of {settings.background_top} must be at least 1")
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
        return self.encoder.encode_queries([question])[0]

    def _unit_scores(self, qvec: np.ndarray) -> np.ndarray:
        k = min(self.index.dense.size, MAX_DENSE_CANDIDATES)
        scores, ids = self.index.dense.search(qvec[None, :], k)
        out = np.full(self.index.dense.size, -np.inf, dtype=np.float32)
        valid = ids[0] >= 0
        out[ids[0][valid]] = scores[0][valid]
        return out

    def retrieve(self, question: str, lang: str | None = None) -> Retrieval:
        """Score every pledge for ``question`` (in ``lang``, detected again only if needed and not given)."""
        n = len(self.index.pledge_ids)
        lex_norm = (np.zeros(n, dtype=np.float32) if self.strategy == "dense"
                    else self.index.lexical.normalized_scores(question))
        top_lex = float(lex_norm.max()) if lex_norm.size else 0.0
        if self.strategy == "lexical":
            unit_scores = np.full(len(self.index.units), -np.inf, dtype=np.float32)
            dense = np.zeros(n, dtype=np.float32)
            # BM25 alone has no background to compare with: it answers when any question term is in the
            # report and refuses otherwise (±1 lies far outside any threshold, so abstains() decides just that).
            background, margin = 0.0, 1.0 if top_lex > 0 else -1.0
            fused = lex_norm
        else:
            qvec = self.embed(search_form(question, lang) if self.settings.romanized_search else question)
            unit_scores = self._unit_scores(qvec)
            pooled = np.where(self._unit_used, unit_scores, -np.inf)
            dense = np.full(n, -np.inf, dtype=np.float32)
            np.maximum.at(dense, self._unit_pledge, pooled)
            dense = np.where(np.isfinite(dense), dense, 0.0).astype(np.float32)
            # Short background sentences compete with the report's units of every size, sentences included.
            best_unit = float(np.where(self._abstain_used, unit_scores, -np.inf).max())
            bg = np.sort(self.index.background @ qvec)[-self.settings.background_top:]
            background = float(bg.mean()) if bg.size else 0.0
            margin = best_unit - background
            fused = dense + (self.settings.lexical_weight * lex_norm if self.strategy == "hybrid" else 0)
        order = np.argsort(-fused, kind="stable")
        ranked = tuple(Ranked(self.index.pledge_ids[i], float(fused[i]), float(dense[i]), float(lex_norm[i]))
                       for i in order)
        return Retrieval(ranked, unit_scores, background, margin)

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

