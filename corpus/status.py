"""Status label from the status text: the first rule (in priority order) that some sentence matches.

Rules, highest priority first — each is a general Polish phrasing of how far a task has got:
- done: a perfective passive saying the task was completed or the promised body set up
  ("Postulat został zrealizowany", "powołany został Zespół ...", "zostało uruchomione").
- in_progress: ongoing or continued work, or results so far ("Trwają uzgodnienia", "realizowane na bieżąco",
  "Kontynuacja programu", "zrealizowano 30 525 godzin", "pozyskano środki", "odbywa się", "jest przedmiotem").
- planned: future or scheduled work only ("planowane jest", "zostanie podpisana", "uwzględnione do realizacji").
- unclear: none of the above.
"""

from __future__ import annotations

import re

from corpus.model import Passage, StatusLabel

_PASSIVE_AUX = r"(?:został|została|zostało|zostały|zostali)"
_COMPLETED = r"(?:zrealizowan|wykonan|powołan|utworzon|uruchomion|wprowadzon|otwart|wdrożon|zakończon)\w*"

RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("done", "completed (perfective passive)",
     re.compile(rf"\b{_PASSIVE_AUX}\s+(?:\w+\s+)?{_COMPLETED}|\b{_COMPLETED}\s+{_PASSIVE_AUX}\b", re.I)),
    ("in_progress", "ongoing or continued work",
     re.compile(r"\b(?:trwa|trwają|kontynuacj\w*|kontynuowan\w*|w trakcie|na bieżąco|realizowan[eyaio]\b|"
                r"odbywa(?:ją)? się|jest przedmiotem|zrealizowano|pozyskan\w*|pozyskał\w*|objęto|"
                r"wspiera(?:ją)?\b|prowadzon\w*|realizacja)", re.I)),
    ("planned", "future or scheduled work",
     re.compile(r"\b(?:planowan\w*|zaplanowan\w*|zostan(?:ie|ą)|będzie|będą|uwzględnion\w* do realizacji|"
                r"przygotowywan\w*)", re.I)),
)
LABELS = ("done", "in_progress", "planned", "unclear")


def label_status(status: Passage) -> StatusLabel:
    """Label a status passage and keep the sentence that decided it as evidence."""
    sentences = [s.text for s in status.sentences] or [status.text]
    for label, rule, pattern in RULES:
        for sentence in sentences:
            if pattern.search(sentence):
                return StatusLabel(label, sentence, rule)
    return StatusLabel("unclear", sentences[0] if sentences else "", "no rule matched")
