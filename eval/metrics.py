"""Ranking metrics (via ranx) over in-scope questions and abstention metrics over all questions.

>>> ranking_metrics({"q": ["a", "b"]}, {"q": ["b"]})["mrr@10"]
0.5
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 13
RANKING_KEYS = ("hit@1", "hit@3", "recall@3", "mrr@10", "ndcg@10")
_RANX_NAMES = {
    "hit@1": "hit_rate@1",
    "hit@3": "hit_rate@3",
    "recall@3": "recall@3",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
}


def _ranx_inputs(
    rankings: Mapping[str, Sequence[str]], expected: Mapping[str, Sequence[str]], name: str | None = None
) -> tuple:
    """Qrels and Run over the questions with expected pledges (binary relevance)."""
    from ranx import Qrels, Run

    qids = [q for q in rankings if expected.get(q)]
    if not qids:
        return [], None, None
    qrels = Qrels({q: {pid: 1 for pid in expected[q]} for q in qids})
    # Scores that only encode rank, so ranx keeps our order exactly (ties broken as the retriever did).
    run = Run(
        {q: {pid: float(len(rankings[q]) - i) for i, pid in enumerate(rankings[q])} or {"<none>": 0.0} for q in qids},
        name=name,
    )
    return qids, qrels, run


def per_question_ranking(
    rankings: Mapping[str, Sequence[str]], expected: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """hit@1, hit@3, recall@3, mrr@10, ndcg@10 of each question with expected pledges (ranx, per query)."""
    qids, qrels, run = _ranx_inputs(rankings, expected)
    if not qids:
        return {}
    from ranx import evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64→int64 cast notice inside ranx
        evaluate(qrels, run, list(_RANX_NAMES.values()), make_comparable=True)
    return {q: {k: float(run.scores[_RANX_NAMES[k]][q]) for k in RANKING_KEYS} for q in qids}


def ranking_metrics(rankings: Mapping[str, Sequence[str]], expected: Mapping[str, Sequence[str]]) -> dict:
    """Mean hit@1, hit@3, recall@3, mrr@10, ndcg@10 over questions with expected pledges (binary relevance)."""
    per_q = per_question_ranking(rankings, expected)
    if not per_q:
        return {k: None for k in RANKING_KEYS} | {"n": 0}
    return {k: round(float(np.mean([m[k] for m in per_q.values()])), 4) for k in RANKING_KEYS} | {"n": len(per_q)}


def bootstrap_ratio(
    num: Sequence[float], den: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float | None, float | None, float | None]:
    """``sum(num) / sum(den)`` and its percentile 95 % interval, resampling questions with replacement.

    A mean over some questions is the ratio with ``den`` = 1 for those questions and 0 for the rest, so
    every metric here (rank means over in-scope questions, abstention recall over out-of-scope ones, …)
    resamples the *same* question set and the group sizes vary as they would in a new sample. Resamples
    whose denominator is 0 are dropped. Returns ``(value, low, high)``; all None when ``sum(den)`` is 0.

        >>> bootstrap_ratio([1, 1, 1], [1, 1, 1])
        (1.0, 1.0, 1.0)
    """
    num_a, den_a = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if num_a.shape != den_a.shape or num_a.ndim != 1:
        raise ValueError("num and den must be 1-d sequences of the same length")
    if not den_a.sum():
        return None, None, None
    value = float(num_a.sum() / den_a.sum())
    idx = np.random.default_rng(seed).integers(0, len(num_a), size=(resamples, len(num_a)))
    nums, dens = num_a[idx].sum(axis=1), den_a[idx].sum(axis=1)
    ok = dens > 0
    stats = nums[ok] / dens[ok]
    low, high = np.percentile(stats, [2.5, 97.5])
    # Clamp float noise so that the interval always holds the point estimate.
    return round(value, 4), round(min(float(low), value), 4), round(max(float(high), value), 4)


def randomization_test(a: Sequence[float], b: Sequence[float], permutations: int = 10_000, seed: int = 42) -> float:
    """Two-sided paired randomization (sign-flip) test of mean(a) = mean(b); seeded, so reproducible.

    Same statistic as ranx's Fisher randomization test (|mean difference|), but ranx's own implementation
    seeds numba's RNG inside a parallel function, which does not seed the worker threads: its p-values
    change from run to run (0.40–0.45 on one pair of arrays here). p = (1 + #{|perm| ≥ |obs|}) / (1 + N).

        >>> randomization_test([1, 0, 1], [1, 0, 1])
        1.0
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    count = 0
    for start in range(0, permutations, 1000):
        signs = rng.choice((-1.0, 1.0), size=(min(1000, permutations - start), d.size))
        count += int((np.abs((signs * d).mean(axis=1)) >= observed - 1e-12).sum())
    return (1 + count) / (1 + permutations)


def paired_tests(
    rankings_by_run: Mapping[str, Mapping[str, Sequence[str]]],
    expected: Mapping[str, Sequence[str]],
    baseline: str,
    keys: Sequence[str] = ("hit@1", "mrr@10"),
    permutations: int = 10_000,
    seed: int = 42,
) -> dict[str, dict | None]:
    """p-values of each run against ``baseline`` on the in-scope questions.

    Per metric: the paired Student t-test from ``ranx.compare`` (``p_student``; None when both runs score
    every question alike, where the t statistic is undefined) and a seeded paired randomization test
    over ranx's per-question scores (``p_randomization``, see ``randomization_test``); ``delta`` is the
    run's mean minus the baseline's. The baseline's own entry is None.
    """
    from ranx import compare

    names = list(rankings_by_run)
    if baseline not in names:
        raise ValueError(f"baseline {baseline!r} is not among the runs {names}")
    qids, qrels, _ = _ranx_inputs(rankings_by_run[baseline], expected)
    out: dict[str, dict | None] = {n: None for n in names}
    if not qids or len(names) < 2:
        return out
    runs = [_ranx_inputs({q: rankings_by_run[n][q] for q in qids}, expected, name=n)[2] for n in names]
    per_q = {n: per_question_ranking({q: rankings_by_run[n][q] for q in qids}, expected) for n in names}
    metrics = [_RANX_NAMES[k] for k in keys]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba casts; scipy's "precision loss" on identical runs
        student = compare(qrels, runs, metrics, stat_test="student", make_comparable=True, max_p=0.05)
    for n in names:
        if n == baseline:
            continue
        row = {}
        for k, m in zip(keys, metrics, strict=True):
            a = [per_q[n][q][k] for q in qids]
            b = [per_q[baseline][q][k] for q in qids]
            p_student = float(student.comparisons[baseline, n][m]["p_value"])
            row[k] = {
                "p_randomization": round(randomization_test(a, b, permutations, seed), 4),
                "p_student": None if np.isnan(p_student) else round(p_student, 4),
                "delta": round(float(np.mean(a) - np.mean(b)), 4),
            }
        out[n] = row
    return out


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
