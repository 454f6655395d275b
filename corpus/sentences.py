"""Where a Polish sentence ends: one definition for the parser, the PDF reader and the status labeller.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (closing quotes or brackets may follow). A colon or a semicolon
does not end one: after "Działania obejmują:" or "szkolenia dla urzędników;" the same sentence goes on (a list),
so a paragraph cut by a page break after either is continued on the next page, and a line ending with either is
not a finished sentence. A period after a common abbreviation ("ds.", "m.in.", "r.") does not end one either.
"""

from __future__ import annotations

import re

_CLOSERS = r"[\"'”’»)\]]*"
TERMINAL = re.compile(rf"[.!?…]{_CLOSERS}$")
# A line ending in any of these is not a heading: headings carry no final punctuation at all.
PUNCTUATED = re.compile(rf"[.!?…:;,]{_CLOSERS}$")
# Abbreviations after which a period does not end a Polish sentence (general Polish usage).
ABBREVIATIONS = frozenset(
    "ds tzw nt np m.in r ul art pkt ok godz tj itp itd dr prof inż mgr św al pl ust poz nr tys mln mld zł".split()
)
_SENTENCE_END = re.compile(rf"[.!?…]{_CLOSERS}\s+(?=[A-ZĄĆĘŁŃÓŚŹŻ0-9„\"(])")


def ends_sentence(text: str) -> bool:
    """Whether ``text`` (a line or a paragraph) ends a sentence: see the module's docstring."""
    return bool(TERMINAL.search(text.rstrip()))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence offsets in ``text``; paragraph breaks always end a sentence, abbreviations never do."""
    bounds: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        start = para.start()
        for m in _SENTENCE_END.finditer(para.group()):
            word = re.search(r"(\S+)$", para.group()[: m.start()])
            if word and word.group(1).lower().rstrip(".") in ABBREVIATIONS:
                continue
            end = para.start() + m.start() + len(m.group().rstrip())
            bounds.append((start, end))
            start = para.start() + m.end()
        if start < para.end():
            bounds.append((start, para.end()))
    return bounds
