"""Run a retriever over a query set: rankings, abstentions, metrics overall and per language, failures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from assistant.core import Assistant, clean_question
from assistant.language import detect_language
from assistant.retriever import Retriever
from eval.metrics import RANKING_KEYS, abstention_metrics, ranking_metrics, threshold_sweep
from eval.queries import Query

# name → (strategy, settings overrides). "default" is whatever Settings() ships with.
RETRIEVERS: dict[str, tuple[str, dict]] = {
    "lexical": ("lexical", {}),
    "dense-whole": ("dense", {"unit_kinds": "whole"}),
    "dense": ("dense", {}),
    "hybrid": ("hybrid", {}),
    "default": ("", {}),
}


def make_retriever(assistant: Assistant, name: str) -> Retriever:
    """The named retriever over the assistant's loaded index and model."""
    if name not in RETRIEVERS:
        raise ValueError(f"retriever {name!r} is unknown; pass one of {', '.join(RETRIEVERS)} or all")
    strategy, overrides = RETRIEVERS[name]
    if not strategy:
        return assistant.retriever
    return Retriever(assistant.index, assistant.encoder, replace(assistant.settings, **overrides), strategy)


def run_queries(assistant: Assistant, queries: list[Query], retriever_name: str) -> dict:
    """Evaluate one retriever; returns the JSON document ``--json`` writes."""
    retriever = make_retriever(assistant, retriever_name)
    rankings, margins, abstained, langs, failures = {}, {}, {}, {}, []
    lang_ok = 0
    for q in queries:
        text, _ = clean_question(q.query, assistant.settings.max_question_chars)
        result = retriever.retrieve(text)
        ranking = [r.pledge_id for r in result.ranked]
        rankings[q.id], margins[q.id] = ranking, result.margin
        abstained[q.id] = retriever.abstains(result)
        langs[q.id] = q.lang
        lang_ok += detect_language(text) == q.lang
        wrong_top = q.in_scope and ranking[0] not in q.expected
        wrong_abstain = abstained[q.id] != (not q.in_scope)
        if wrong_top or wrong_abstain:
            failures.append({"id": q.id, "question": q.query, "lang": q.lang, "expected": list(q.expected),
                             "got": ranking[:3], "abstained": abstained[q.id], "margin": round(result.margin, 4)})
    expected = {q.id: list(q.expected) for q in queries}
    in_scope = {q.id: q.in_scope for q in queries}
    overall = ranking_metrics(rankings, expected)
    by_lang: dict[str, list[str]] = defaultdict(list)
    for q in queries:
        by_lang[q.lang].append(q.id)
    by_language = {}
    for lang, ids in sorted(by_lang.items()):
        m = ranking_metrics({i: rankings[i] for i in ids}, expected)
        ab = abstention_metrics({i: abstained[i] for i in ids}, {i: in_scope[i] for i in ids})
        by_language[lang] = m | {"false_abstention_rate": ab["false_abstention_rate"], "abstention_recall": ab["recall"],
                                 "n_out_of_scope": sum(not in_scope[i] for i in ids)}
    return {
        "retriever": retriever_name,
        **{k: overall[k] for k in RANKING_KEYS},
        "abstention": {k: v for k, v in abstention_metrics(abstained, in_scope).items() if k != "n_refused"},
        "by_language": by_language,
        "n_in_scope": sum(in_scope.values()),
        "n_out_of_scope": sum(not v for v in in_scope.values()),
        "language_detection_accuracy": round(lang_ok / len(queries), 4),
        "abstain_threshold": assistant.settings.abstain_margin,
        "threshold_sweep": threshold_sweep(margins, in_scope),
        "failures": failures,
    }
