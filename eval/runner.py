"""Run a retriever over a query set: rankings, abstentions, metrics (with bootstrap intervals) overall, per
language and per kind, failures; and paired tests of retrievers against a baseline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from assistant.core import Assistant, clean_question
from assistant.language import detect_language
from assistant.retriever import Retriever
from eval.metrics import RANKING_KEYS, bootstrap_ratio, paired_tests, per_question_ranking, threshold_sweep
from eval.queries import Query

# name → (strategy, settings overrides). "default" is whatever Settings() ships with.
RETRIEVERS: dict[str, tuple[str, dict]] = {
    "lexical": ("lexical", {}),
    "dense-whole": ("dense", {"unit_kinds": "whole"}),
    "dense": ("dense", {"unit_kinds": "whole,pledge,status"}),
    "hybrid": ("hybrid", {"unit_kinds": "whole,pledge,status"}),
    "default": ("", {}),
}
BASELINE = "dense-whole"  # what the paired tests compare every other retriever with
SET_KEYS = ("set_coverage", "mean_set_size")
# every metric with an interval: name → (numerator, denominator) per question (see bootstrap_ratio)
_ABSTENTION_KEYS = ("abstention_precision", "abstention_recall", "false_abstention_rate")
# what a resident gets, over all questions: an in-scope one answered (not refused) with a right pledge first,
# or an off-topic one refused — ranking and abstention in one number, so a trade between them shows
HANDLED_KEY = "handled"
METRIC_KEYS = (*RANKING_KEYS, *SET_KEYS, *_ABSTENTION_KEYS, HANDLED_KEY)
_TOP_KEYS = (*RANKING_KEYS, *SET_KEYS, HANDLED_KEY)  # top-level in the JSON (abstention has its own object)


def make_retriever(assistant: Assistant, name: str) -> Retriever:
    """The named retriever over the assistant's loaded index and model."""
    if name not in RETRIEVERS:
        raise ValueError(f"retriever {name!r} is unknown; pass one of {', '.join(RETRIEVERS)} or all")
    strategy, overrides = RETRIEVERS[name]
    if not strategy:
        return assistant.retriever
    return Retriever(assistant.index, assistant.encoder, replace(assistant.settings, **overrides), strategy)


def primary_count_fn(retriever: object) -> Callable[[object], int]:
    """How many of a retrieval's top pledges are the *primary* answers: the retriever's own
    ``primary_count(retrieval) -> int`` if it has one, else 1 (the top pledge)."""
    hook = getattr(retriever, "primary_count", None)
    if hook is None:
        return lambda retrieval: 1
    return lambda retrieval: int(hook(retrieval))


def _ratio_terms(rec: dict, key: str) -> tuple[float, float]:
    """(numerator, denominator) of one question for metric ``key``."""
    if key in RANKING_KEYS:
        return (rec["ranking"][key], 1.0) if rec["in_scope"] else (0.0, 0.0)
    if key == "set_coverage":
        return (float(rec["set_hit"]), 1.0) if rec["in_scope"] else (0.0, 0.0)
    if key == "mean_set_size":
        return (float(rec["set_size"]), 1.0) if rec["in_scope"] else (0.0, 0.0)
    if key == "abstention_precision":
        return float(rec["abstained"] and not rec["in_scope"]), float(rec["abstained"])
    if key == "abstention_recall":
        return (float(rec["abstained"]), 1.0) if not rec["in_scope"] else (0.0, 0.0)
    if key == "false_abstention_rate":
        return (float(rec["abstained"]), 1.0) if rec["in_scope"] else (0.0, 0.0)
    if key == HANDLED_KEY:
        return float(rec["handled"]), 1.0
    raise KeyError(key)


def group_metrics(records: list[dict]) -> dict:
    """Every metric of METRIC_KEYS with its bootstrap 95 % interval (``key`` and ``key_ci`` = {low, high})."""
    out: dict = {"n": sum(r["in_scope"] for r in records), "n_out_of_scope": sum(not r["in_scope"] for r in records)}
    for key in METRIC_KEYS:
        terms = [_ratio_terms(r, key) for r in records]
        value, low, high = bootstrap_ratio([t[0] for t in terms], [t[1] for t in terms])
        out[key] = value
        out[key + "_ci"] = None if value is None else {"low": low, "high": high}
    return out


def evaluate_retriever(assistant: Assistant, queries: list[Query], retriever_name: str) -> tuple[dict, dict]:
    """Evaluate one retriever; returns the JSON document ``--json`` writes and the rankings per question."""
    retriever = make_retriever(assistant, retriever_name)
    primary_count = primary_count_fn(retriever)
    rankings: dict[str, list[str]] = {}
    margins: dict[str, float] = {}
    records: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    lang_ok = 0
    for q in queries:
        text, _ = clean_question(q.query, assistant.settings.max_question_chars)
        detected = detect_language(text)
        result = retriever.retrieve(text, detected)
        ranking = [r.pledge_id for r in result.ranked]
        rankings[q.id], margins[q.id] = ranking, result.margin
        abstained = retriever.abstains(result, detected)
        size = max(0, min(len(ranking), primary_count(result)))
        # handled right: a right top pledge when in scope, and refused exactly when off-topic
        handled = (not q.in_scope or ranking[0] in q.expected) and abstained == (not q.in_scope)
        records.append(
            {
                "id": q.id,
                "lang": q.lang,
                "kind": q.kind,
                "in_scope": q.in_scope,
                "abstained": abstained,
                "set_size": size,
                "set_hit": any(p in q.expected for p in ranking[:size]),
                "handled": handled,
            }
        )
        lang_ok += detected == q.lang
        if not handled:
            failures.append(
                {
                    "id": q.id,
                    "question": q.query,
                    "lang": q.lang,
                    "kind": q.kind,
                    "expected": list(q.expected),
                    "got": ranking[:3],
                    "abstained": abstained,
                    "margin": round(result.margin, 4),
                }
            )
    expected = {q.id: list(q.expected) for q in queries}
    per_q = per_question_ranking(rankings, expected)
    for rec in records:
        rec["ranking"] = per_q.get(rec["id"])
    in_scope = {q.id: q.in_scope for q in queries}
    overall = group_metrics(records)
    doc = {
        "retriever": retriever_name,
        **{k: overall[k] for k in _TOP_KEYS},
        **{k + "_ci": overall[k + "_ci"] for k in _TOP_KEYS},
        "n_handled": sum(r["handled"] for r in records),
        "abstention": {k: overall["abstention_" + k] for k in ("precision", "precision_ci", "recall", "recall_ci")}
        | {k: overall[k] for k in ("false_abstention_rate", "false_abstention_rate_ci")},
        "by_language": _grouped_metrics(records, "lang"),
        "by_kind": _grouped_metrics(records, "kind"),
        "n_in_scope": overall["n"],
        "n_out_of_scope": overall["n_out_of_scope"],
        "language_detection_accuracy": round(lang_ok / len(queries), 4),
        # per detected language ("*": any other); the sweep below applies one threshold to every language
        "abstain_thresholds": {k: round(v, 4) for k, v in sorted(retriever.thresholds.items())},
        "threshold_sweep": threshold_sweep(margins, in_scope),
        "failures": failures,
    }
    return doc, rankings


def _grouped_metrics(records: list[dict[str, Any]], field: str) -> dict[str, dict]:
    """``group_metrics`` of the records per value of ``field`` (sorted)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        groups[rec[field]].append(rec)
    return {value: group_metrics(recs) for value, recs in sorted(groups.items())}


def run_queries(assistant: Assistant, queries: list[Query], retriever_name: str) -> dict:
    """Evaluate one retriever; returns the JSON document ``--json`` writes."""
    return evaluate_retriever(assistant, queries, retriever_name)[0]


def run_all(assistant: Assistant, queries: list[Query], names: list[str], baseline: str = BASELINE) -> list[dict]:
    """Evaluate ``names`` and add to each document ``paired_vs_baseline``: p-values of hit@1 and mrr@10
    against ``baseline`` (run as well when not in ``names``, only for the tests)."""
    runs = {n: evaluate_retriever(assistant, queries, n) for n in names}
    rankings = {n: r[1] for n, r in runs.items()}
    if baseline not in rankings:
        rankings[baseline] = evaluate_retriever(assistant, queries, baseline)[1]
    tests = paired_tests(rankings, {q.id: list(q.expected) for q in queries}, baseline)
    docs = []
    for n in names:
        doc = runs[n][0]
        doc["paired_vs_baseline"] = {"baseline": baseline, "tests": tests[n]}
        docs.append(doc)
    return docs
