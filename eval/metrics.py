"""Ranking metrics (via ranx) over in-scope questions and abstention metrics over all questions.

    >>> ranking_metrics({"q": ["a", "b"]}, {"q": ["b"]})["mrr@10"]
    0.5
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

RANKING_KEYS = ("hit@1", "hit@3", "recall@3", "mrr@10", "ndcg@10")
_RANX_NAMES = {"hit@1": "hit_rate@1", "hit@3": "hit_rate@3", "recall@3": "recall@3", "mrr@10": "mrr@10",
               "ndcg@10": "ndcg@10"}


def ranking_metrics(rankings: Mapping[str, Sequence[str]], expected: Mapping[str, Sequence[str]]) -> dict:
    """Mean hit@1, hit@3, recall@3, mrr@10, ndcg@10 over questions with expected pledges (binary relevance)."""
    qids = [q for q in rankings if expected.get(q)]
    if not qids:
        return {k: None for k in RANKING_KEYS} | {"n": 0}
    from ranx import Qrels, Run, evaluate

    qrels = Qrels({q: {pid: 1 for pid in expected[q]} for q in qids})
    # Scores that only encode rank, so ranx keeps our order exactly (ties broken as the retriever did).
    run = Run({q: {pid: float(len(rankings[q]) - i) for i, pid in enumerate(rankings[q])} or {"<none>": 0.0}
               for q in qids})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64→int64 cast notice inside ranx
        scores = evaluate(qrels, run, list(_RANX_NAMES.values()), make_comparable=True)
    return {k: round(float(scores[_RANX_NAMES[k]]), 4) for k in RANKING_KEYS} | {"n": len(qids)}


def abstention_metrics(abstained: Mapping[str, bool], in_scope: Mapping[str, bool]) -> dict:
    """precision/recall of refusing out-of-scope questions, and the share of in-scope ones wrongly refused."""
    refused = [q for q, a in abstained.items() if a]
    out = [q for q, s in in_scope.items() if not s]
    inside = [q for q, s in in_scope.items() if s]
    right = sum(1 for q in refused if not in_scope[q])
    return {
        "precision": round(right / len(refused), 4) if refused else None,
        "recall": round(right / len(out), 4) if out else None,
        "false_abstention_rate": round(sum(abstained[q] for q in inside) / len(inside), 4) if inside else None,
        "n_refused": len(refused),
    }


def threshold_sweep(margins: Mapping[str, float], in_scope: Mapping[str, bool], steps: int = 41) -> list[dict]:
    """Abstention metrics for thresholds across the observed margins (refuse when margin < threshold)."""
    values = sorted(margins.values())
    if not values:
        return []
    lo, hi = values[0] - 1e-6, values[-1] + 1e-6
    rows = []
    for i in range(steps):
        th = lo + (hi - lo) * i / (steps - 1)
        m = abstention_metrics({q: margins[q] < th for q in margins}, in_scope)
        rows.append({"threshold": round(th, 4), **m})
    return rows
