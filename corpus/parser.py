"""Report text → pledges, with page breaks repaired and every piece traced to its source lines.

The format: an introduction; then per pledge a heading (1–3 lines), the pledge text, a line
"Stopień realizacji zadania" and the status text; last, a closing paragraph for the whole section.
Blank and space-only lines separate paragraphs but also fall mid-sentence at page breaks (a paragraph
that does not end a sentence is joined to a next one that starts lower-case).

Where layout alone is ambiguous the parser refuses with a ReportFormatError rather than guess:
- Title: the first heading-like paragraph (short, capital, no final period) after the previous status
  (or the file's start). Later heading-like paragraphs are sub-headings and stay in the pledge text; a
  heading straight after the title is refused (a status missing its final period looks the same).
  Not detectable: a pledge that lost its "Stopień realizacji zadania" line mid-report reads as a
  sub-heading of the pledge before it, and a heading above the introduction as the first title.
- Closing: after the last status, 1 paragraph is all status, 2 are status + closing, 3 or more are refused
  unless the report's manifest sets "closing_paragraphs".

    >>> from corpus import load_report
    >>> report = load_report()
    >>> [p.title for p in report.pledges][:1]
    ['Powołamy program przeciwdziałania przemocy i mobbingowi w miejscu pracy']
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from corpus.model import Passage, Pledge, Report, Sentence, Span, map_spans
from corpus.status import label_status

PARSER_VERSION = 2  # 2: titles are the first heading after a status; explicit/inferred closing
MARKER = "stopień realizacji zadania"
MAX_BYTES = 2_000_000  # the real report is ~12 kB; far bigger means the wrong file was given
MAX_HEADING_LINES = 3
# A heading is a short line: the report's longest (3 wrapped lines) has 131 characters; a paragraph of text
# without a final period longer than ~2× that is not a heading but a status missing its period.
MAX_HEADING_CHARS = 250
REPO_ROOT = Path(__file__).resolve().parent.parent

_TERMINAL = re.compile(r"[.!?…][\"'”’»)\]]*$")
_CONTINUATION_START = re.compile(r"^[a-ząćęłńóśźż0-9(„\"–—-]")
# Abbreviations after which a period does not end a Polish sentence (general Polish usage).
_ABBREVIATIONS = frozenset(
    "ds tzw nt np m.in r ul art pkt ok godz tj itp itd dr prof inż mgr św al pl ust poz nr tys mln mld zł".split())
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*\s+(?=[A-ZĄĆĘŁŃÓŚŹŻ0-9„\"(])")


class ReportFormatError(ValueError):
    """The report does not follow the expected format; the message names the file and line."""

    def __init__(self, source: str, line: int | None, problem: str, expected: str) -> None:
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {problem}; expected {expected}")
        self.source, self.line = source, line


@dataclass(frozen=True)
class _Paragraph:
    """Consecutive non-blank lines, possibly joined across a page break; ``lines`` are 1-based numbers."""

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
        """Short, starts with a capital and does not end a sentence: how the report sets headings."""
        text = self.text
        return (len(self.lines) <= MAX_HEADING_LINES and len(text) <= MAX_HEADING_CHARS
                and text[:1].isupper() and not _TERMINAL.search(text))


def _is_marker(line: str) -> bool:
    return " ".join(line.split()).rstrip(":").lower() == MARKER


def relative_source(path: Path) -> str:
    """``path`` relative to the repository when inside it (as citations show it), else as given."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def decode_report(data: bytes, source: str, max_bytes: int = MAX_BYTES) -> list[str]:
    """Bytes → lines, rejecting empty, oversized, binary and non-UTF-8 input with the line named."""
    if len(data) > max_bytes:
        raise ReportFormatError(source, None, f"file is {len(data):,} bytes, over the limit of {max_bytes:,}",
                                "the report's plain text (is this the right file?)")
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise ReportFormatError(source, line, "contains a NUL byte (binary data)", "a plain UTF-8 text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ReportFormatError(source, line, f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
                                "UTF-8 text (re-save the file as UTF-8)") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ReportFormatError(source, None, "file is empty", "the report text with pledges")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _paragraphs(lines: list[str]) -> list[_Paragraph | int]:
    """Group lines into paragraphs; a marker line stands alone as its 1-based line number."""
    items: list[_Paragraph | int] = []
    nums: list[int] = []

    def flush() -> None:
        if nums:
            items.append(_Paragraph(tuple(nums), tuple(lines[n - 1] for n in nums)))
            nums.clear()

    for i, line in enumerate(lines, start=1):
        if _is_marker(line):
            flush()
            items.append(i)
        elif line.strip():
            nums.append(i)
        else:
            flush()
    flush()
    return _join_page_breaks(items)


def _join_page_breaks(items: list[_Paragraph | int]) -> list[_Paragraph | int]:
    """Join a paragraph cut mid-sentence by a page break to its continuation (which starts lowercase)."""
    out: list[_Paragraph | int] = []
    for item in items:
        prev = out[-1] if out else None
        if (isinstance(item, _Paragraph) and isinstance(prev, _Paragraph)
                and not _TERMINAL.search(prev.text) and _CONTINUATION_START.match(item.text)):
            out[-1] = _Paragraph(prev.lines + item.lines, prev.texts + item.texts)
        else:
            out.append(item)
    return out


def slugify(title: str) -> str:
    """Stable ASCII id from a title: 'Wesprzemy mniejszości narodowe' → 'wesprzemy-mniejszosci-narodowe'."""
    folded = unicodedata.normalize("NFKD", title.replace("ł", "l").replace("Ł", "L"))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence offsets in ``text``; paragraph breaks always end a sentence, abbreviations never do."""
    bounds: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        start = para.start()
        for m in _SENTENCE_END.finditer(para.group()):
            word = re.search(r"(\S+)$", para.group()[:m.start()])
            if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
            end = para.start() + m.start() + len(m.group().rstrip())
            bounds.append((start, end))
            start = para.start() + m.end()
        if start < para.end():
            bounds.append((start, para.end()))
    return bounds


def _passage(kind: str, paras: list[_Paragraph], source: str) -> Passage:
    """Join paragraphs into one passage text, keeping which line each character came from."""
    parts: list[str] = []
    line_at: list[tuple[int, int]] = []  # (offset in text, source line)
    offset = 0
    for i, para in enumerate(paras):
        if i:
            parts.append("\n\n")
            offset += 2
        for j, (num, raw) in enumerate(zip(para.lines, para.texts)):
            piece = " ".join(raw.split())
            if j:
                parts.append(" ")
                offset += 1
            line_at.append((offset, num))
            parts.append(piece)
            offset += len(piece)
    text = "".join(parts)

    def line_of(pos: int) -> int:
        return max((n for off, n in line_at if off <= pos), default=paras[0].first)

    sentences = tuple(Sentence(text[s:e], s, e, Span(source, line_of(s), line_of(e - 1)))
                      for s, e in split_sentences(text))
    return Passage(kind, text, Span(source, paras[0].first, paras[-1].last), sentences)


def _check_no_orphan_heading(paras: list[_Paragraph], source: str) -> None:
    """After the last status line a heading followed by text means a pledge lost its status line."""
    for para, nxt in zip(paras, paras[1:]):
        if para.looks_like_heading():
            raise ReportFormatError(
                source, para.first, f"heading-like line {para.text[:60]!r} is followed by text "
                f"(line {nxt.first}) but not by 'Stopień realizacji zadania'",
                "every pledge to have its status line (or, if this is status text, end it with a period)")


def _split_segment(seg: list[_Paragraph], marker_line: int, source: str) -> tuple[int, list[_Paragraph]]:
    """Where the title is in the paragraphs before a marker, and the pledge text after it.

    The title is the first heading-like paragraph after the previous status (or the file's start): a status
    is sentences, so it ends at the first heading. Later heading-like paragraphs are sub-headings and stay in
    the pledge text. A heading straight after the title is refused: it is as likely the title with the status
    before it lacking its final period as a sub-heading.
    """
    if not seg:
        raise ReportFormatError(source, marker_line, "'Stopień realizacji zadania' has no pledge before it",
                                "a heading and the pledge text above this line")
    head_at = next((i for i, para in enumerate(seg) if para.looks_like_heading()), None)
    if head_at is None or head_at == len(seg) - 1:
        what = "no heading" if head_at is None else "no pledge text"
        raise ReportFormatError(source, marker_line, f"'Stopień realizacji zadania' has {what} above it",
                                "a heading (1–3 lines, no final period), a blank line, the pledge text, "
                                "then this line")
    head, nxt = seg[head_at], seg[head_at + 1]
    if nxt.looks_like_heading():
        raise ReportFormatError(
            source, head.first, f"two heading-like lines in a row ({head.text[:60]!r}, then "
            f"{nxt.text[:60]!r} at line {nxt.first}): cannot tell which is the pledge title",
            "a status that ends with a period, then the title, then the pledge text (sub-headings only "
            "after some pledge text)")
    return head_at, seg[head_at + 1:]


def _split_last(last: list[_Paragraph], marker_line: int, closing_paragraphs: int | None,
                source: str) -> tuple[list[_Paragraph], list[_Paragraph]]:
    """The last status and the section's closing, from the paragraphs after the last marker.

    Layout cannot tell the section's closing paragraph from a status paragraph, so the count of closing
    paragraphs is given (``closing_paragraphs``) or inferred only where the report's own shape settles it:
    one paragraph is all status; two are one status paragraph and one closing; more are refused.
    """
    if not last:
        raise ReportFormatError(source, marker_line, "status text is empty", "text after 'Stopień realizacji zadania'")
    _check_no_orphan_heading(last, source)
    if closing_paragraphs is None:
        if len(last) > 2:
            raise ReportFormatError(
                source, last[0].first, f"{len(last)} paragraphs follow the last 'Stopień realizacji zadania' "
                f"(line {marker_line}): cannot tell the last status from the section's closing",
                'the number of closing paragraphs set as "closing_paragraphs" in the report\'s manifest')
        closing_paragraphs = len(last) - 1
    if not 0 <= closing_paragraphs < len(last):
        raise ReportFormatError(
            source, last[0].first, f"closing_paragraphs={closing_paragraphs} leaves no status text: only "
            f"{len(last)} paragraph(s) follow the last 'Stopień realizacji zadania' (line {marker_line})",
            f"closing_paragraphs between 0 and {len(last) - 1}")
    cut = len(last) - closing_paragraphs
    return last[:cut], last[cut:]


def _pledges(heads: list[tuple[_Paragraph, list[_Paragraph]]], statuses: list[list[_Paragraph]],
             source: str) -> tuple[Pledge, ...]:
    """Pledge records from (title, pledge text) and status paragraphs; headings must be unique."""
    pledges: list[Pledge] = []
    seen: dict[str, int] = {}
    for (head, text), status in zip(heads, statuses):
        title = head.text
        pid = slugify(title)
        if pid in seen:
            raise ReportFormatError(source, head.first, f"heading {title!r} repeats the heading at line "
                                    f"{seen[pid]}", "each pledge heading to be unique")
        seen[pid] = head.first
        status_passage = _passage("status", status, source)
        pledges.append(Pledge(id=pid, title=title, title_passage=_passage("title", [head], source),
                              pledge=_passage("pledge", text, source), status=status_passage,
                              status_label=label_status(status_passage)))
    return tuple(pledges)


def parse_report_text(lines: list[str], source: str, closing_paragraphs: int | None = None,
                      pages: Sequence[int | None] | None = None) -> Report:
    """Parse decoded lines of a report; ``source`` names the file in errors and citations.

    ``closing_paragraphs``: how many paragraphs after the last status are the section's closing
    (None: inferred, see ``_split_last``). ``pages[i]`` is the PDF page of line i+1 (None, or no ``pages``,
    for a text file): every span gets the page where it starts.
    """
    if pages is not None and len(pages) != len(lines):
        raise ValueError(f"pages has {len(pages)} entries for {len(lines)} lines; expected one page per line")
    items = _paragraphs(lines)
    markers = [i for i, item in enumerate(items) if isinstance(item, int)]
    if not markers:
        raise ReportFormatError(source, len(lines), "no line reads 'Stopień realizacji zadania'",
                                "each pledge heading and text to be followed by that line and the status")
    bounds = [-1, *markers, len(items)]
    segments = [[p for p in items[a + 1:b] if isinstance(p, _Paragraph)] for a, b in zip(bounds, bounds[1:])]
    marker_lines = [items[i] for i in markers]
    intro: Passage | None = None
    heads: list[tuple[_Paragraph, list[_Paragraph]]] = []
    statuses: list[list[_Paragraph]] = []
    for k, marker_line in enumerate(marker_lines):
        head_at, text = _split_segment(segments[k], marker_line, source)
        before = segments[k][:head_at]
        if k == 0:
            intro = _passage("intro", before, source) if before else None
        elif not before:
            raise ReportFormatError(source, marker_lines[k - 1], "status text is empty",
                                    "text after 'Stopień realizacji zadania' before the next heading")
        else:
            statuses.append(before)
        heads.append((segments[k][head_at], text))
    last, closing = _split_last(segments[-1], marker_lines[-1], closing_paragraphs, source)
    statuses.append(last)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    report = Report(source, digest, tuple(lines), intro, _pledges(heads, statuses, source),
                    _passage("closing", closing, source) if closing else None)
    if pages is None:
        return report
    return map_spans(report, lambda span: replace(span, page=pages[span.start_line - 1]))


def parse_report(path: Path | str, *, max_bytes: int = MAX_BYTES, closing_paragraphs: int | None = None) -> Report:
    """Read and parse a report file; errors name the file and line (see ReportFormatError).

    ``closing_paragraphs`` is passed to ``parse_report_text`` (a report's manifest can set it: see
    corpus/reports.py).
    """
    path = Path(path)
    source = relative_source(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReportFormatError(source, None, "file not found", "a path to the report text") from None
    except IsADirectoryError:
        raise ReportFormatError(source, None, "is a directory", "a path to the report text file") from None
    if path.suffix.lower() == ".pdf":
        from corpus.pdf import pdf_lines  # imported here: text reports never need the PDF library

        lines, pages = pdf_lines(data, source)
        return parse_report_text(lines, source, closing_paragraphs, pages=pages)
    if data.startswith(b"%PDF-"):
        raise ReportFormatError(source, None, "is a PDF file with a text-file name",
                                f"a file ending in .pdf for a PDF (rename it to {path.stem}.pdf)")
    return parse_report_text(decode_report(data, source, max_bytes), source, closing_paragraphs)


