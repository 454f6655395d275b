"""Status label from the status text: the first rule (in priority order) that some clause matches.

Each sentence is cut into clauses (at , ; : ( ) dashes and at "a", "ale", "lecz", "jednak", "natomiast",
"zaś", "i", "oraz"). A clause is *negated* when "nie" (but not "nie tylko") stands at most four words before
a status word — an auxiliary "został…/zostanie", a participle like "zrealizowan…", an impersonal form like
"powołano", or a word of progress or plans. Positive rules never look at a negated clause, so
"nie został zrealizowany" can never be ``done``; negated clauses are read only by the negation rules.

Rules, highest priority first — each is a general Polish phrasing of how far a task has got:

 1. partly_done  "done in part, not done in part": one clause is done, another not_done
                 ("Zespół został powołany, program nie został jeszcze uruchomiony").
 2. partly_done  "not fully completed" (negated): "nie został w pełni / w całości / do końca zrealizowany".
 3. partly_done  "partial completion": "częściowo", "w części", "częściowa realizacja".
 4. done         "completed (perfective passive)": "Postulat został zrealizowany", "powołany został Zespół",
                 "zostało uruchomione", "powołano", "zrealizowano w całości".
 5. not_done     "negated status" (negated): "nie został zrealizowany", "nie zostało jeszcze uruchomione",
                 "nie powołano", "nie rozpoczęto", "nie będzie kontynuowany".
 6. not_done     "negative participle": "niezrealizowane", "nierozpoczęte", "niewdrożony".
 7. not_done     "abandoned or stopped": "odstąpiono od", "zrezygnowano z", "zaniechano", "wstrzymano".
 8. in_progress  "ongoing or continued work": "Trwają uzgodnienia", "realizowane na bieżąco", "w trakcie",
                 "Kontynuacja programu", "odbywa się", "jest przedmiotem".
 9. in_progress  "results so far (weak cue)": "zrealizowano 30 525 godzin", "pozyskano środki", "objęto",
                 "wspiera", "Realizacja programów".
10. planned      "future or scheduled work": "planowane jest", "uwzględnione do realizacji", "przewidziano".
11. planned      "future tense (weak cue)": "zostanie podpisana", "będzie", "będą".
12. unclear      "no rule matched".

``doubtful`` is True when the label could be doubted: clauses of the status match rules for different
labels, the deciding rule is a weak cue (9, 11), or a negated clause was involved. An ``unclear`` label is
not doubtful: it already says the text could not be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.model import Passage, StatusLabel
from corpus.sentences import split_sentences

_PASSIVE_AUX = r"(?:został|została|zostało|zostały|zostali)"
_COMPLETED = r"(?:zrealizowan|wykonan|powołan|utworzon|uruchomion|wprowadzon|otwart|wdrożon|zakończon|ukończon)\w*"
# Impersonal past forms that report a body or scheme set up ("powołano Zespół"); "zrealizowano" and
# "wykonano" are left out because the report uses them for amounts of work done so far.
_SET_UP = r"(?:powołano|utworzono|uruchomiono|wprowadzono|otwarto|wdrożono|zakończono|ukończono)"
# "do końca 2025 r." is a deadline, not "fully": only a bare "do końca" means "to the end".
_FULLY = (r"(?:w pełni|w całości|całkowicie|do końca(?!\s+(?:\d|r\.|roku|miesiąca|kwartału|stycznia|lutego|"
          r"marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia)))")
# Words whose negation negates the status: auxiliaries, participles, impersonal -no/-to forms,
# progress and plan words. "nie tylko" ("not only") is not a negation.
_STATUS_WORD = (rf"(?:{_PASSIVE_AUX}|zostan(?:ie|ą)|{_COMPLETED}|\w+(?:ono|ano|ęto)\b|rozpocz\w*|podję\w*|"
                r"realizow\w*|realizuj\w*|prowadz\w*|trwa\w*|kontynuow\w*|odbywa\w*|plan\w*|przewid\w*|"
                r"będzie|będą|jest|są)")
NEGATION = re.compile(rf"\bnie\s+(?!tylko\b)(?:\S+\s+){{0,4}}?{_STATUS_WORD}", re.I)
_CLAUSE_BREAK = re.compile(r"[,;:()–—]|\s(?:a|ale|lecz|jednak|natomiast|zaś|i|oraz)\s", re.I)


@dataclass(frozen=True)
class Rule:
    """One labelling rule: ``negated`` rules read only negated clauses, the others only the rest."""

    label: str
    name: str
    pattern: re.Pattern[str]
    negated: bool = False
    weak: bool = False


MIXED = "done in part, not done in part"
RULES: tuple[Rule, ...] = (
    Rule("partly_done", "not fully completed", re.compile(rf"\bnie\b.*\b{_FULLY}\b", re.I), negated=True),
    Rule("partly_done", "partial completion", re.compile(r"\bczęściow\w*|\bw części\b", re.I)),
    Rule("done", "completed (perfective passive)",
         re.compile(rf"\b{_PASSIVE_AUX}\s+(?:\w+\s+)?{_COMPLETED}|\b{_COMPLETED}\s+{_PASSIVE_AUX}\b|"
                    rf"\b{_SET_UP}\b|\bzrealizowano\s+{_FULLY}", re.I)),
    Rule("not_done", "negated status", re.compile(r""), negated=True),
    Rule("not_done", "negative participle",
         re.compile(r"\bnie(?:zrealizowan|wykonan|rozpoczęt|uruchomion|wdrożon|zakończon|ukończon)\w*", re.I)),
    Rule("not_done", "abandoned or stopped",
         re.compile(r"\b(?:odstąpiono od|zrezygnowano z|zaniechan\w*|wstrzyman\w*|wstrzymano)", re.I)),
    Rule("in_progress", "ongoing or continued work",
         re.compile(r"\b(?:trwa(?:ją)?\b|kontynuacj\w*|kontynuowan\w*|w trakcie|na bieżąco|realizowan[eyaio]\b|"
                    r"odbywa(?:ją)? się|jest przedmiotem|prowadzon\w*)", re.I)),
    Rule("in_progress", "results so far (weak cue)",
         re.compile(r"\b(?:zrealizowano|pozyskan\w*|pozyskał\w*|objęto|wspiera(?:ją)?\b|realizacja\b)", re.I),
         weak=True),
    Rule("planned", "future or scheduled work",
         re.compile(r"\b(?:planowan\w*|zaplanowan\w*|uwzględnion\w* do realizacji|przygotowywan\w*|"
                    r"przewidzian\w*|przewiduje się)", re.I)),
    Rule("planned", "future tense (weak cue)", re.compile(r"\b(?:zostan(?:ie|ą)|będzie|będą)\b", re.I),
         weak=True),
)
LABELS = ("done", "partly_done", "in_progress", "planned", "not_done", "unclear")


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence: negation is read per clause so it cannot reach across a comma or "ale"."""
    return [c.strip() for c in _CLAUSE_BREAK.split(sentence) if c and c.strip()]


def _clause_rule(clause: str) -> int | None:
    """Index in RULES of the first rule this clause matches (negated clauses see only negated rules)."""
    negated = bool(NEGATION.search(clause))
    return next((i for i, r in enumerate(RULES) if r.negated == negated and r.pattern.search(clause)), None)


def label_status(status: Passage) -> StatusLabel:
    """Label a status passage and keep the sentence that decided it, the rule and whether to doubt it."""
    sentences = [s.text for s in status.sentences] or [status.text]
    hits: list[tuple[int, str]] = []  # (rule index, sentence) for every clause some rule matched
    negation_seen = False
    for sentence in sentences:
        for clause in clauses(sentence):
            negation_seen |= bool(NEGATION.search(clause))
            rule = _clause_rule(clause)
            if rule is not None:
                hits.append((rule, sentence))
    if not hits:
        return StatusLabel("unclear", sentences[0] if sentences else "", "no rule matched", False)
    labels = {RULES[i].label for i, _ in hits}
    if {"done", "not_done"} <= labels:
        # Something was completed and something was not: saying "done" would overstate, "not done" deny it.
        evidence = next(s for i, s in hits if RULES[i].label == "not_done")
        return StatusLabel("partly_done", evidence, MIXED, True)
    best, evidence = min(hits, key=lambda h: h[0])
    rule = RULES[best]
    return StatusLabel(rule.label, evidence, rule.name, len(labels) > 1 or rule.weak or negation_seen)


def label_text(text: str) -> StatusLabel:
    """Label a status text given as plain text."""
    from corpus.model import Sentence, Span
    sentences = tuple(Sentence(text[a:b], a, b, Span("", 1, 1)) for a, b in split_sentences(text))
    return label_status(Passage("status", text, Span("", 1, 1), sentences))
