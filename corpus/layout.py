"""Lines → paragraphs and marker lines, and the page-break joins a paragraph may need (layout only, no pledges).

Blank and space-only lines separate paragraphs but also fall mid-sentence at page breaks. A paragraph that does
not end a sentence (``corpus.sentences``) is continued by the next one (``joined``) when that starts in lower
case, or when it starts with a digit, „ ( or a dash and the paragraph cannot be a heading. A heading-like
paragraph followed by one starting with a digit, „ or ( stays apart: a heading and its text ("Wesprzemy
seniorów" / "„Złota rączka” dla…"). A sentence really cut there leaves an extra heading-like line, which the
parser refuses (two heading-like lines between markers) rather than guess which reading is meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.errors import ReportFormatError
from corpus.sentences import PUNCTUATED, ends_sentence

MARKER = "stopień realizacji zadania"
_MARKER_LINE = re.compile(rf"^{MARKER}\b(?P<sep>\s*[:.–—-])?\s*(?P<rest>.*)$", re.I)
_NEW_TEXT = re.compile(r"^[A-ZĄĆĘŁŃÓŚŹŻ0-9„\"(]")
MAX_HEADING_LINES = 3
# A heading is a short line: the report's longest (3 wrapped lines) has 131 characters; a paragraph of text
# without a final period longer than ~2× that is not a heading but a status missing its period.
MAX_HEADING_CHARS = 250
CONTINUATION_START = re.compile(r"^[a-ząćęłńóśźż0-9(„\"–—-]")


@dataclass(frozen=True)
class Paragraph:
    """Consecutive non-blank lines, possibly joined across a page break; ``lines`` are 1-based numbers and
    ``texts`` their text (for a marker line with the status on it, only the part after the marker)."""

    lines: tuple[int, ...]
    texts: tuple[str, ...]

    @property
    def first(self) -> int:
        return self.lines[0]

    @property
    def last(self) -> int:
        return self.lines[-1]

    @property
    def text(self) -> str:
        return " ".join(" ".join(t.split()) for t in self.texts)

    def looks_like_heading(self) -> bool:
        """Short, starts with a capital and carries no final punctuation: how the report sets headings."""
        text = self.text
        return (
            len(self.lines) <= MAX_HEADING_LINES
            and len(text) <= MAX_HEADING_CHARS
            and text[:1].isupper()
            and not PUNCTUATED.search(text)
        )

    def joined(self, other: Paragraph) -> Paragraph:
        return Paragraph(self.lines + other.lines, self.texts + other.texts)


@dataclass(frozen=True)
class Marker:
    """A "Stopień realizacji zadania" line (1-based number)."""

    line: int


def marker_rest(line: str, number: int, source: str) -> str | None:
    """None when ``line`` is not a marker line; else the status text after the marker on it ('' for none)."""
    m = _MARKER_LINE.match(" ".join(line.split()))
    if not m:
        return None
    rest = m.group("rest")
    if rest and not m.group("sep") and not _NEW_TEXT.match(rest):
        raise ReportFormatError(
            source,
            number,
            f"text after 'Stopień realizacji zadania' goes on in lower case "
            f"({rest[:40]!r}): a sentence, or the marker with its status?",
            "the marker alone on its line, or followed by ':' and the status text",
        )
    return rest


def items(lines: list[str], source: str) -> list[Paragraph | Marker]:
    """Group lines into paragraphs (not yet joined across page breaks) and marker lines."""
    out: list[Paragraph | Marker] = []
    nums: list[int] = []
    texts: list[str] = []

    def flush() -> None:
        if nums:
            out.append(Paragraph(tuple(nums), tuple(texts)))
            nums.clear()
            texts.clear()

    for i, line in enumerate(lines, start=1):
        rest = marker_rest(line, i, source)
        if rest is not None:
            flush()
            out.append(Marker(i))
            if rest:
                nums.append(i)
                texts.append(rest)
        elif line.strip():
            nums.append(i)
            texts.append(line)
        else:
            flush()
    flush()
    return out


def continues(prev: Paragraph, nxt: Paragraph) -> bool:
    """Whether ``nxt`` continues ``prev`` across a page break (see the module's docstring)."""
    if ends_sentence(prev.text) or not CONTINUATION_START.match(nxt.text):
        return False
    return nxt.text[:1].islower() or not prev.looks_like_heading()


def joined(paras: list[Paragraph]) -> list[Paragraph]:
    """``paras`` with each paragraph cut by a page break joined to its continuation."""
    out: list[Paragraph] = []
    for para in paras:
        if out and continues(out[-1], para):
            out[-1] = out[-1].joined(para)
        else:
            out.append(para)
    return out
