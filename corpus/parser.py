"""Report text → pledges, with page breaks repaired and every piece traced to its source lines.

The format: an introduction; then per pledge a heading (1–3 lines), the pledge text, a line
"Stopień realizacji zadania" (the status may start on that line, after the marker) and the status text; last,
the section's closing paragraphs. Paragraphs and page breaks: ``corpus.layout``.

Where layout alone is ambiguous the parser refuses with a ReportFormatError (``file, line N: …; expected …``)
rather than guess:
- Title: between two "Stopień realizacji zadania" lines exactly one heading-like paragraph (short, capital, no
  final punctuation) must have text after it: that is the title, what comes before it the previous status (or the
  introduction), what follows the pledge text. A second one is refused, whether it is a sub-heading inside a
  status or inside a pledge text: layout cannot tell which of the two is the title. A heading-like line right
  above "Stopień realizacji zadania" stays in the pledge text (no title can be there: no pledge text follows it).
- After the last status: a heading followed by text is a pledge that lost its marker line, and is refused. One
  paragraph is the status; more are refused unless the manifest says how many close the section
  (``closing_paragraphs``).
- Count: when the manifest names ``pledges``, a different number of pledges is refused.

A report's manifest is ``NAME.json`` beside ``NAME.txt``/``NAME.pdf`` (see corpus/reports.py); ``parse_report``
reads its two parsing fields when it is there and no others are given.

    >>> from corpus import load_report
    >>> report = load_report()
    >>> [p.title for p in report.pledges][:1]
    ['Powołamy program przeciwdziałania przemocy i mobbingowi w miejscu pracy']
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from corpus.errors import ReportFormatError
from corpus.layout import CONTINUATION_START, Marker, Paragraph, items, joined
from corpus.model import Passage, Pledge, Report, Sentence, Span, map_spans
from corpus.pdf import pdf_lines
from corpus.sentences import TERMINAL, split_sentences
from corpus.status import label_text

__all__ = [
    "ParseOptions",
    "ReportFormatError",
    "decode_report",
    "parse_report",
    "parse_report_text",
    "relative_source",
    "slugify",
    "split_sentences",
]

MAX_BYTES = 2_000_000  # the real report is ~12 kB; far bigger means the wrong file was given
REPO_ROOT = Path(__file__).resolve().parent.parent
_MARKER = "'Stopień realizacji zadania'"
# The names older tests and tools import from here (one definition, in corpus.sentences and corpus.layout).
_TERMINAL, _CONTINUATION_START = TERMINAL, CONTINUATION_START
OPTION_HINTS = {
    "closing_paragraphs": "how many paragraphs close the section (a whole number ≥ 0), or leave it out",
    "pledges": "how many pledges the report has (a whole number ≥ 1), or leave it out",
}


@dataclass(frozen=True)
class ParseOptions:
    """What a report's manifest tells the parser: paragraphs after the last status that close the section, and
    how many pledges there are (checked). None: not given (more than one closing paragraph is then refused)."""

    closing_paragraphs: int | None = None
    pledges: int | None = None

    @staticmethod
    def from_manifest(data: dict[str, Any], manifest: str) -> ParseOptions:
        """The two fields of a manifest's JSON object; a wrong value is refused naming the manifest."""
        values = {name: data.get(name) for name in OPTION_HINTS}
        for name, value in values.items():
            least = 1 if name == "pledges" else 0
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
                raise ReportFormatError(manifest, None, f"field {name!r} is {value!r}", OPTION_HINTS[name])
        return ParseOptions(**values)


def relative_source(path: Path) -> str:
    """``path`` relative to the repository when inside it (as citations show it), else as given."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def decode_report(data: bytes, source: str, max_bytes: int = MAX_BYTES) -> list[str]:
    """Bytes → lines, rejecting empty, oversized, binary and non-UTF-8 input with the line named."""
    if len(data) > max_bytes:
        raise ReportFormatError(
            source,
            None,
            f"file is {len(data):,} bytes, over the limit of {max_bytes:,}",
            "the report's plain text (is this the right file?)",
        )
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ReportFormatError(source, line, "contains a NUL byte (binary data)", "a plain UTF-8 text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReportFormatError(
            source, line, f"byte 0x{data[exc.start]:02x} is not valid UTF-8", "UTF-8 text (re-save the file as UTF-8)"
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ReportFormatError(source, None, "file is empty", "the report text with pledges")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def slugify(title: str) -> str:
    """Stable ASCII id from a title: 'Wesprzemy mniejszości narodowe' → 'wesprzemy-mniejszosci-narodowe'."""
    folded = unicodedata.normalize("NFKD", title.replace("ł", "l").replace("Ł", "L"))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _passage(kind: str, paras: list[Paragraph], source: str) -> Passage:
    """Join paragraphs into one passage text, keeping which line each character came from."""
    parts: list[str] = []
    line_at: list[tuple[int, int]] = []  # (offset in text, source line)
    offset = 0
    for i, para in enumerate(paras):
        if i:
            parts.append("\n\n")
            offset += 2
        for j, (num, raw) in enumerate(zip(para.lines, para.texts, strict=True)):
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

    sentences = tuple(
        Sentence(text[s:e], s, e, Span(source, line_of(s), line_of(e - 1))) for s, e in split_sentences(text)
    )
    return Passage(kind, text, Span(source, paras[0].first, paras[-1].last), sentences)


def _titles(paras: list[Paragraph]) -> list[int]:
    """Where a title can be: heading-like paragraphs with some text after them (after the last status, each is a
    pledge that lost its marker line)."""
    return [i for i, para in enumerate(paras[:-1]) if para.looks_like_heading()]


def _split_segment(seg: list[Paragraph], marker_line: int, source: str) -> tuple[int, list[Paragraph]]:
    """Where the title is in the paragraphs before a marker, and the pledge text after it (module docstring)."""
    if not seg:
        raise ReportFormatError(
            source, marker_line, f"{_MARKER} has no pledge before it", "a heading and the pledge text above this line"
        )
    titles = _titles(seg)
    if len(titles) > 1:
        a, b = seg[titles[0]], seg[titles[1]]
        raise ReportFormatError(
            source,
            a.first,
            f"two heading-like lines before {_MARKER} at line {marker_line}: {a.text[:60]!r}, "
            f"then {b.text[:60]!r} at line {b.first}; cannot tell the pledge title from a sub-heading inside a "
            "status or pledge text, or a sentence cut by a page break before „, ( or a digit",
            "one heading between a status and its pledge text (a status that ends with a period; a sub-heading "
            "ending with ':' or right above the marker line)",
        )
    if not titles:
        what = "no pledge text" if seg[-1].looks_like_heading() else "no heading"
        raise ReportFormatError(
            source,
            marker_line,
            f"{_MARKER} has {what} above it",
            "a heading (1–3 lines, no final punctuation), a blank line, the pledge text, then this line",
        )
    return titles[0], seg[titles[0] + 1 :]


def _split_last(
    last: list[Paragraph], marker_line: int, closing_paragraphs: int | None, source: str
) -> tuple[list[Paragraph], list[Paragraph]]:
    """The last status and the section's closing, from the paragraphs after the last marker.

    Layout cannot tell the section's closing paragraphs from status paragraphs, so their count comes from the
    manifest (``closing_paragraphs``); without it, only one paragraph (all status) is accepted.
    """
    if not last:
        raise ReportFormatError(source, marker_line, "status text is empty", f"text after {_MARKER}")
    for i in _titles(last):
        raise ReportFormatError(
            source,
            last[i].first,
            f"heading-like line {last[i].text[:60]!r} is followed by text "
            f"(line {last[i + 1].first}) but not by {_MARKER}",
            "every pledge to have its status line (or, if this is status text, end it with a period)",
        )
    if closing_paragraphs is None:
        if len(last) > 1:
            raise ReportFormatError(
                source,
                last[1].first,
                f"{len(last)} paragraphs follow the last {_MARKER} (line {marker_line}): "
                "cannot tell the last status from the section's closing",
                "the number of closing paragraphs set "
                'as "closing_paragraphs" in the report\'s manifest (NAME.json beside the report; 0 when all of '
                "them are the status)",
            )
        closing_paragraphs = 0
    if not 0 <= closing_paragraphs < len(last):
        raise ReportFormatError(
            source,
            last[0].first,
            f"closing_paragraphs={closing_paragraphs} leaves no status text: only "
            f"{len(last)} paragraph(s) follow the last {_MARKER} (line {marker_line})",
            f"closing_paragraphs between 0 and {len(last) - 1}",
        )
    cut = len(last) - closing_paragraphs
    return last[:cut], last[cut:]


def _check_count(markers: list[int], heads: list[Paragraph], expected: int | None, source: str) -> None:
    """The manifest's ``pledges``: found more → the first extra title's line; fewer → the last marker's."""
    if expected is None or expected == len(markers):
        return
    line = heads[expected].first if len(markers) > expected else markers[-1]
    shown = ", ".join(map(str, markers[:12])) + (", …" if len(markers) > 12 else "")
    raise ReportFormatError(
        source,
        line,
        f'found {len(markers)} pledges ({_MARKER} at line(s) {shown}) but the manifest says "pledges": {expected}',
        f"{expected} pledges, each a heading, its text and a {_MARKER} line (is a "
        "marker line missing or misspelled, or is the manifest's count wrong?)",
    )


def _pledges(
    heads: list[tuple[Paragraph, list[Paragraph]]], statuses: list[list[Paragraph]], source: str
) -> tuple[Pledge, ...]:
    """Pledge records from (title, pledge text) and status paragraphs; headings must be unique."""
    pledges: list[Pledge] = []
    seen: dict[str, int] = {}
    for (head, text), status in zip(heads, statuses, strict=True):
        title = head.text
        pid = slugify(title)
        if pid in seen:
            raise ReportFormatError(
                source,
                head.first,
                f"heading {title!r} repeats the heading at line {seen[pid]}",
                "each pledge heading to be unique",
            )
        seen[pid] = head.first
        status_passage = _passage("status", status, source)
        pledges.append(
            Pledge(
                id=pid,
                title=title,
                title_passage=_passage("title", [head], source),
                pledge=_passage("pledge", text, source),
                status=status_passage,
                status_label=label_text(status_passage.text),
            )
        )
    return tuple(pledges)


def _segments(lines: list[str], source: str) -> tuple[list[int], list[list[Paragraph]]]:
    """Marker line numbers and the paragraphs before, between and after them (page breaks not yet joined)."""
    found = items(lines, source)
    markers = [item.line for item in found if isinstance(item, Marker)]
    if not markers:
        raise ReportFormatError(
            source,
            len(lines),
            f"no line reads {_MARKER}",
            "each pledge heading and text to be followed by that line and the status",
        )
    segments: list[list[Paragraph]] = [[]]
    for item in found:
        if isinstance(item, Marker):
            segments.append([])
        else:
            segments[-1].append(item)
    return markers, [joined(seg) for seg in segments]


def parse_report_text(
    lines: list[str],
    source: str,
    closing_paragraphs: int | None = None,
    pages: Sequence[tuple[int, int] | None] | None = None,
    pledges: int | None = None,
) -> Report:
    """Parse decoded lines of a report; ``source`` names the file in errors and citations.

    ``closing_paragraphs`` and ``pledges``: see ParseOptions. ``pages[i]`` is where line i+1 is in a PDF (page,
    line on that page; None, or no ``pages``, for a text file): every span gets the page where it starts, and
    the report keeps every line's place for citations.
    """
    if pages is not None and len(pages) != len(lines):
        raise ValueError(f"pages has {len(pages)} entries for {len(lines)} lines; expected one page per line")
    markers, segments = _segments(lines, source)
    intro: Passage | None = None
    heads: list[tuple[Paragraph, list[Paragraph]]] = []
    statuses: list[list[Paragraph]] = []
    for k, marker_line in enumerate(markers):
        head_at, text = _split_segment(segments[k], marker_line, source)
        before = segments[k][:head_at]
        if k == 0:
            intro = _passage("intro", before, source) if before else None
        elif not before:
            raise ReportFormatError(
                source, markers[k - 1], "status text is empty", f"text after {_MARKER} before the next heading"
            )
        else:
            statuses.append(before)
        heads.append((segments[k][head_at], text))
    last, closing = _split_last(segments[-1], markers[-1], closing_paragraphs, source)
    statuses.append(last)
    _check_count(markers, [h for h, _ in heads], pledges, source)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    report = Report(
        source,
        digest,
        tuple(lines),
        intro,
        _pledges(heads, statuses, source),
        _passage("closing", closing, source) if closing else None,
    )
    if pages is None:
        return report
    placed = map_spans(report, lambda span: replace(span, page=(pages[span.start_line - 1] or (None,))[0]))
    return replace(placed, positions=tuple(pages))


def _sibling_options(path: Path, source: str) -> ParseOptions:
    """The parsing fields of the manifest beside ``path`` (NAME.json), or none when there is no manifest."""
    manifest = path.with_suffix(".json")
    if not manifest.is_file():
        return ParseOptions()
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportFormatError(
            relative_source(manifest),
            None,
            f"is not valid UTF-8 JSON ({exc})",
            f"the manifest of {source} as a JSON object (see corpus/reports.py)",
        ) from None
    return ParseOptions.from_manifest(data if isinstance(data, dict) else {}, relative_source(manifest))


def parse_report(
    path: Path | str, *, max_bytes: int = MAX_BYTES, closing_paragraphs: int | None = None, pledges: int | None = None
) -> Report:
    """Read and parse a report file; errors name the file and line (see ReportFormatError).

    ``closing_paragraphs`` and ``pledges`` as in ParseOptions; when neither is given they come from the manifest
    beside the file (NAME.json), if there is one.
    """
    path = Path(path)
    source = relative_source(path)
    options = ParseOptions(closing_paragraphs, pledges)
    if options == ParseOptions():
        options = _sibling_options(path, source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReportFormatError(source, None, "file not found", "a path to the report text") from None
    except IsADirectoryError:
        raise ReportFormatError(source, None, "is a directory", "a path to the report text file") from None
    if path.suffix.lower() == ".pdf":
        lines, positions = pdf_lines(data, source)
        return parse_report_text(lines, source, options.closing_paragraphs, positions, options.pledges)
    if data.startswith(b"%PDF-"):
        raise ReportFormatError(
            source,
            None,
            "is a PDF file with a text-file name",
            f"a file ending in .pdf for a PDF (rename it to {path.stem}.pdf)",
        )
    return parse_report_text(
        decode_report(data, source, max_bytes), source, options.closing_paragraphs, pledges=options.pledges
    )
