"""Status labels on crafted Polish sentences (general phrasings, negated and partial variants) and on the report."""

from __future__ import annotations

import pytest

from corpus.model import Passage, Sentence, Span
from corpus.parser import split_sentences
from corpus.status import LABELS, RULES, clauses, label_status


def _label(text: str):
    sentences = tuple(Sentence(text[a:b], a, b, Span("t.txt", 1, 1)) for a, b in split_sentences(text))
    return label_status(Passage("status", text, Span("t.txt", 1, 1), sentences))


CASES: dict[str, list[str]] = {
    "done": [
        "Postulat został zrealizowany.",
        "W odpowiedzi na potrzeby powołany został Zespół Rzeczników.",
        "Program został uruchomiony w 2024 roku.",
        "Powołano pełnomocnika ds. równego traktowania.",
        "Gabinet został otwarty w marcu.",
        "Zadanie zrealizowano w całości.",
        # "nie tylko" is not a negation; a "nie" in another clause or away from the status word is not either
        "Zespół nie tylko został powołany, ale także rozpoczął pracę.",
        "Pomoc dla osób, które nie mają ubezpieczenia, została uruchomiona.",
        "Program został uruchomiony dla osób nie posiadających ubezpieczenia.",
    ],
    "partly_done": [
        "Postulat został częściowo zrealizowany.",
        "Zadanie zostało zrealizowane w części.",
        "Częściowa realizacja programu.",
        "Postulat nie został w pełni zrealizowany.",
        "Program nie został do końca wdrożony.",
        "Zadania nie zrealizowano w całości.",
        "Zespół został powołany, ale program nie został jeszcze uruchomiony.",
        "Gabinet został otwarty. Program szczepień nie został uruchomiony.",
    ],
    "not_done": [
        "Postulat nie został zrealizowany.",
        "Program nie zostało jeszcze uruchomione.",
        "Zespół nie został powołany.",
        "Nie powołano pełnomocnika.",
        "Gabinet nie został jeszcze otwarty.",
        "Realizacji zadania nie rozpoczęto.",
        "Zadanie nie jest realizowane.",
        "Program nie będzie kontynuowany.",
        "Zadanie nie zostało nawet częściowo zrealizowane.",
        "Postulat nie został zrealizowany do końca 2025 r.",
        "Zadanie pozostaje niezrealizowane.",
        "Odstąpiono od realizacji zadania.",
        "Postulat nie został zrealizowany. Trwają uzgodnienia z partnerami.",
        "Program nie został uruchomiony. Planowane jest jego uruchomienie w 2026 roku.",
    ],
    "in_progress": [
        "Trwają prace nad regulaminem.",
        "Zadanie jest realizowane na bieżąco.",
        "Program jest w trakcie realizacji.",
        "Kontynuacja programu w 2025 roku.",
        "Do 30 listopada zrealizowano 120 godzin usług.",
        "Zadanie nie tylko jest realizowane, ale też rozszerzane.",
    ],
    "planned": [
        "Planowane jest uruchomienie programu w 2026 roku.",
        "Zadanie zostało uwzględnione do realizacji w programie.",
        "Umowa zostanie podpisana do końca roku.",
        "Przewidziano otwarcie gabinetu w 2026 roku.",
        "W 2026 roku będzie ogłoszony konkurs.",
    ],
    "unclear": [
        "Wsparcie mniejszości jest ważnym celem miasta.",
        "Brak danych.",
        "Szczegóły na stronie internetowej.",
        "Rada ma trwałe miejsce w strukturze urzędu.",  # "trwałe" (lasting) is not "trwa" (is ongoing)
    ],
}


@pytest.mark.parametrize("label, text", [(label, text) for label, texts in CASES.items() for text in texts])
def test_crafted_sentences_get_their_label(label: str, text: str) -> None:
    got = _label(text)
    assert got.label == label, got
    assert got.evidence and got.evidence in text
    assert got.rule in {r.name for r in RULES} | {"done in part, not done in part", "no rule matched"}


def test_every_label_is_tested_and_known() -> None:
    assert set(CASES) == set(LABELS) and {r.label for r in RULES} < set(LABELS)


@pytest.mark.parametrize("text", CASES["done"][:6])
def test_negating_a_done_phrase_is_never_done(text: str) -> None:
    words = text.split()
    # put "nie" before the auxiliary / impersonal verb, however the sentence is ordered
    at = next(i for i, w in enumerate(words) if w.lower().startswith(("zost", "powołan", "zrealizowan")))
    negated = " ".join(words[:at] + ["nie"] + words[at:])
    got = _label(negated)
    assert got.label in {"not_done", "partly_done"} and got.doubtful, (negated, got)


@pytest.mark.parametrize("text, doubtful", [
    ("Postulat został zrealizowany.", False),
    ("Trwają prace nad regulaminem.", False),
    ("Do 30 listopada zrealizowano 120 godzin usług.", True),  # weak cue
    ("W 2026 roku będzie ogłoszony konkurs.", True),  # weak cue
    ("Postulat nie został zrealizowany.", True),  # negation
    ("Trwają prace. Planowane jest otwarcie w 2026 roku.", True),  # sentences disagree
    ("Brak danych.", False),
])
def test_doubtful_marks_labels_to_question(text: str, doubtful: bool) -> None:
    assert _label(text).doubtful is doubtful


def test_negation_is_read_per_clause() -> None:
    assert clauses("Zespół został powołany, ale program nie został uruchomiony.") == \
           ["Zespół został powołany", "program nie został uruchomiony."]
    got = _label("Zespół został powołany, ale program nie został uruchomiony.")
    assert (got.label, got.rule, got.doubtful) == ("partly_done", "done in part, not done in part", True)


def test_real_report_labels_keep_their_evidence(report) -> None:
    labels = [p.status_label for p in report.pledges]
    assert [s.label for s in labels] == ["done", "in_progress", "in_progress", "in_progress", "in_progress",
                                         "in_progress", "in_progress", "done", "in_progress"]
    assert labels[7].evidence == "Postulat został zrealizowany." and not labels[7].doubtful
    assert labels[0].rule == "completed (perfective passive)" and not labels[0].doubtful
    for p in report.pledges:
        assert p.status_label.evidence in p.status.text


def test_every_label_has_words_in_every_reply_language() -> None:
    from assistant.messages import MESSAGES
    for lang, words in MESSAGES.items():
        assert set(LABELS) <= set(words), lang
