"""Status labels: the phrasings a review found mislabelled, negation scope, the labelled set and its figures."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from corpus.status import DOUBTS, LABELS, RULES, clauses, label_text
from corpus.status_model import load_cases, train

# (text, label shown, doubtful) — each was mislabelled before (issue 26), and the general phrasings around them.
CASES = [
    ("Gabinet został otwarty. Nie jest wymagane skierowanie.", "done", False),  # a "nie" not about the status
    ("Zadanie zostało zrealizowane, ale nie w pełni.", "partly_done", False),
    ("Zadanie zostało zrealizowane w 50%.", "partly_done", False),
    ("Zadanie zostało zrealizowane w 100%.", "done", False),
    ("Realizacja zadania została zawieszona.", "not_done", False),
    ("Realizacja zadania została przesunięta na 2026 r.", "planned", False),
    ("Realizacja zadania planowana jest na 2026 r.", "planned", False),
    ("Program był realizowany w latach 2019–2023.", "unclear", False),  # a past programme says nothing about now
    ("Postulat zrealizowano.", "done", False),  # impersonal
    ("Miasto nie wspiera tej inicjatywy.", "not_done", False),
    ("Postulat został zrealizowany.", "done", False),
    ("Powołano pełnomocnika ds. równego traktowania.", "done", False),
    ("Zespół nie tylko został powołany, ale także rozpoczął pracę.", "done", False),  # "nie tylko" is no negation
    ("Postulat nie został zrealizowany.", "not_done", False),
    ("Zadanie nie zostało nawet częściowo zrealizowane.", "not_done", False),
    ("Postulat nie został zrealizowany do końca 2025 r.", "not_done", False),  # a deadline, not "fully"
    ("Zespół został powołany, ale program nie został jeszcze uruchomiony.", "partly_done", False),
    ("Trwają prace nad regulaminem.", "in_progress", False),
    ("Do 30 listopada zrealizowano 120 godzin usług.", "in_progress", False),  # amounts done so far
    ("Zadanie zostanie zrealizowane w 2026 r.", "planned", False),
    ("Odstąpiono od realizacji zadania.", "not_done", False),
    ("Zadanie nie zostało jeszcze rozpoczęte. Planowane jest jego uruchomienie w 2026 roku.", "planned", False),
    ("Wsparcie mniejszości jest ważnym celem miasta.", "unclear", False),
    ("Rada ma trwałe miejsce w strukturze urzędu.", "unclear", False),  # "trwałe" (lasting) is not "trwa"
    # done and work going on that the rules cannot place: "done" is withheld, the label doubted
    ("Trwają prace koncepcyjne; powołano zespół roboczy.", "in_progress", True),
]


@pytest.mark.parametrize("text, label, doubtful", CASES)
def test_phrasings_get_their_label(text: str, label: str, doubtful: bool) -> None:
    got = label_text(text)
    assert (got.label, got.doubtful) == (label, doubtful), got
    assert got.evidence and got.evidence in text
    assert got.rule in {r.name for r in RULES} and (got.doubt in DOUBTS if got.doubtful else got.doubt == "")


DONE_PHRASES = [
    "Postulat został zrealizowany.",
    "Program został uruchomiony w 2024 roku.",
    "Powołano pełnomocnika ds. równego traktowania.",
    "Gabinet został otwarty w marcu.",
    "Zadanie zrealizowano w całości.",
    "W odpowiedzi na potrzeby powołany został Zespół Rzeczników.",
]


@pytest.mark.parametrize("text", DONE_PHRASES)
def test_negating_a_done_phrase_is_never_done(text: str) -> None:
    words = text.split()
    at = next(i for i, w in enumerate(words) if w.lower().startswith(("zost", "powołan", "zrealizowan")))
    for negated in (" ".join(words[:at] + ["nie"] + words[at:]), text + " Program nie jest jeszcze dostępny."):
        assert label_text(negated).label in {"not_done", "partly_done"}, negated


def test_negation_is_read_per_clause() -> None:
    assert clauses("Zespół został powołany, ale program nie został uruchomiony.") == [
        "Zespół został powołany",
        "program nie został uruchomiony.",
    ]
    assert clauses("Program był realizowany w latach 2019–2023.") == ["Program był realizowany w latach 2019–2023."]
    got = label_text("Zespół został powołany, ale program nie został uruchomiony.")
    assert (got.label, got.rule) == ("partly_done", "done in part, not done in part")


def test_real_report_labels_keep_their_evidence(report) -> None:
    labels = [p.status_label for p in report.pledges]
    assert [s.label for s in labels] == [
        "done",
        "in_progress",
        "in_progress",
        "in_progress",
        "in_progress",
        "in_progress",
        "in_progress",
        "done",
        "in_progress",
    ]
    assert labels[7].evidence == "Postulat został zrealizowany." and not labels[7].doubtful
    assert labels[0].rule == "set up and working" and not labels[0].doubtful
    assert not any(s.doubtful for s in labels)
    for p in report.pledges:
        assert p.status_label.evidence in p.status.text
        assert label_text(p.status.text) == p.status_label  # the parser labels through the one public entry


def test_the_labelled_set() -> None:
    cases = load_cases()
    main = [c for c in cases if c.split in ("tune", "test")]
    assert len(main) >= 300 and len({c.text for c in cases}) == len(cases)
    by = Counter((c.label, c.split) for c in main)
    for label in LABELS:  # stratified by label: each label about half in each split
        assert abs(by[label, "tune"] - by[label, "test"]) <= 1, label
    kinds = {c.case for c in main}
    assert {
        "negation_other",
        "partial_words",
        "partial_percent",
        "suspended",
        "postponed",
        "abandoned",
        "past_programme",
        "future_plan",
        "amounts",
        "impersonal",
        "two_statuses",
    } <= kinds


def test_the_classifier_is_learned_deterministically() -> None:
    tune = load_cases(split="tune")
    a, b = train(tune), train(tune)
    assert a.vocab == b.vocab and np.array_equal(a.weights, b.weights)
    assert sum(max((p := a.proba(c.text)), key=p.__getitem__) == c.label for c in tune) / len(tune) > 0.9


def test_the_figures_on_test_are_within_their_limits() -> None:
    from eval.status import figures, label_cases

    result = figures(label_cases("test"))
    assert {k: f["count"] for k, f in result["figures"].items() if not f["ok"]} == {}
    assert result["figures"]["done_when_not_done"]["count"] == 0


def test_every_label_rule_and_doubt_has_words_in_every_reply_language() -> None:
    from assistant.messages import DOUBT_NOTES, MESSAGES, RULE_NAMES

    for lang, words in MESSAGES.items():
        assert set(LABELS) <= set(words), lang
        assert set(DOUBTS) == set(DOUBT_NOTES[lang]), lang
    for lang in ("pl", "uk"):
        assert set(RULE_NAMES[lang]) == {r.name for r in RULES}, lang
