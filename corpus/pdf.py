"""PDF report → text lines plus the page of each line, for the same parser as the text export.

The library is pypdf (pure Python, no dependencies, BSD licence). Measured on the real report laid out
by tests/pdf_maker.py (fpdf2, DejaVu Sans, 6 A4 pages, running header, page-number footer, pages cut
inside paragraphs) and on a justified, reflowed version of it (fpdf2 multi_cell, 3 pages):

    library (version)     body lines exact  reading order  ąćęłńóśźż „”  justified words  time (6 pages)
    pypdf 7.1.1           109/109           kept           all kept      identical        ~14 ms
    pdfplumber 0.11.10    109/109           kept           all kept      identical        ~280 ms
    PyMuPDF 2.0           109/109           kept           all kept      identical        ~5 ms

All three extract the text perfectly, so the choice rests on the rest: pdfplumber is 20× slower and pulls
in pdfminer.six, cryptography and a pdfium binary; PyMuPDF is AGPL-licensed and its 2.0 release pulls in
onnxruntime, networkx and its LLM add-ons. pypdf gives each text piece's position through its
``visitor_text`` hook, which is all the layout this needs (line heights for paragraph gaps).

What a PDF adds and the text export does not have is removed here, in a general way:
- running headers and footers: a line at the top or bottom edge of a page whose text (digits ignored)
  recurs at the same height on most pages;
- page numbers: an edge line that is only a page number ("7", "- 7 -", "Strona 7 z 9", "7/9").
Paragraph gaps (more than 1.5 line heights) become blank lines, as the parser expects. A page break
becomes a blank line too — the parser joins a paragraph whose continuation starts in lower case — except
after a full-width line that does not end a sentence (``corpus.sentences``: a colon or semicolon does not end one),
which can only continue on the next page.

Each line keeps where a reader finds it: its page and its line number on that page, counting the page's lines of
text from the top (the running header, the footer and the page number are not counted, blank gaps neither).
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corpus.errors import ReportFormatError
from corpus.sentences import ends_sentence

if TYPE_CHECKING:
    from pypdf import PageObject

MAX_PDF_BYTES = 50_000_000  # report PDFs with images run to a few MB; far bigger is the wrong file
GAP_FACTOR = 1.5  # a vertical step this many line heights or more is a paragraph gap
FULL_LINE = 0.85  # a line this long (in characters, of the long lines' length) fills the text width
RUNNING_SHARE = 0.6  # a header/footer recurs on at least this share of the pages (and on 2 or more)
EDGE_LINES = 2  # header/footer candidates: this many lines at each edge of a page
_PAGE_NUMBER = re.compile(
    r"^[\s\-–—.]*(?:(?:strona|str\.?|s\.|page|p\.)\s*)?\d{1,4}"
    r"(?:\s*(?:/|z|ze|of)\s*\d{1,4})?[\s\-–—.]*$",
    re.I,
)


@dataclass(frozen=True)
class PdfLine:
    """One line of text on a page; ``y`` is its baseline in PDF points from the page bottom."""

    text: str
    page: int
    y: float | None


def pdf_lines(data: bytes, source: str) -> tuple[list[str], list[tuple[int, int]]]:
    """PDF bytes → (lines, (page, line on that page) of each line): paragraphs separated by blank lines, page
    furniture removed. A blank line gets the position of the text line after it (it is not on the page)."""
    pages = read_pdf(data, source)
    body = strip_furniture(pages)
    lines, line_pages = _with_blank_lines(body)
    if not any(line.strip() for line in lines):
        raise ReportFormatError(
            source, None, "has only page headers, footers or numbers as text", "a PDF whose pages carry the report text"
        )
    return lines, line_pages


def read_pdf(data: bytes, source: str) -> list[list[PdfLine]]:
    """The text lines of each page, with their heights; errors name the file and the fix."""
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    if len(data) > MAX_PDF_BYTES:
        raise ReportFormatError(
            source,
            None,
            f"file is {len(data):,} bytes, over the limit of {MAX_PDF_BYTES:,}",
            "the report PDF (is this the right file?)",
        )
    if b"%PDF-" not in data[:1024]:
        raise ReportFormatError(
            source,
            None,
            "is not a PDF (no %PDF- header)",
            "a PDF file, or the plain-text report saved with a .txt name",
        )
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair warnings would flood the CLI
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("needs a password")
        pages = [_page_lines(page, n) for n, page in enumerate(reader.pages, start=1)]
    except (FileNotDecryptedError, DependencyError) as exc:
        raise ReportFormatError(
            source,
            None,
            f"is encrypted and cannot be opened ({exc})",
            "an unencrypted PDF (save a copy without a password)",
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReportFormatError(
            source,
            None,
            f"cannot be read as a PDF ({type(exc).__name__}: {exc})",
            "an intact PDF (re-export it from the original document)",
        ) from None
    if not pages:
        raise ReportFormatError(source, None, "PDF has no pages", "a PDF with the report's pages")
    if not any(pages):
        raise ReportFormatError(
            source,
            None,
            f"PDF has no text layer on any of its {len(pages)} page(s) (a scan?)",
            "a PDF with selectable text (run OCR on it, or use the text export)",
        )
    return pages


def _page_lines(page: PageObject, number: int) -> list[PdfLine]:
    """pypdf's text for one page, split into lines, each with the height of its first text piece."""
    texts: list[str] = []
    heights: list[float | None] = [None]

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        # The pieces concatenate to pypdf's extract_text() output; a line's height is its first piece's.
        for k, part in enumerate(text.split("\n")):
            if k:
                heights.append(None)
            if part.strip() and heights[-1] is None:
                heights[-1] = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
        texts.append(text)

    page.extract_text(visitor_text=visit)
    lines = "".join(texts).split("\n")
    return [PdfLine(" ".join(t.split()), number, y) for t, y in zip(lines, heights, strict=False) if t.strip()]


def _furniture_key(line: PdfLine) -> tuple[str, float | None]:
    """Text with numbers masked and the rounded height: equal on every page for a running header."""
    y = round(line.y / 2) * 2 if line.y is not None else None  # within ~2 pt: same place on the page
    return re.sub(r"\d+", "#", line.text.lower()), y


def _edges(lines: list[PdfLine]) -> list[PdfLine]:
    return lines[:EDGE_LINES] + lines[max(EDGE_LINES, len(lines) - EDGE_LINES) :]


def strip_furniture(pages: list[list[PdfLine]]) -> list[list[PdfLine]]:
    """Drop running headers/footers and page numbers at the top and bottom of each page."""
    counts = Counter(key for page in pages for key in {_furniture_key(line) for line in _edges(page)})
    needed = max(2, RUNNING_SHARE * len(pages))
    running = {key for key, n in counts.items() if n >= needed}
    out: list[list[PdfLine]] = []
    for page in pages:
        drop = {id(line) for line in _edges(page) if _furniture_key(line) in running or _PAGE_NUMBER.match(line.text)}
        out.append([line for line in page if id(line) not in drop])
    return out


def _line_step(pages: list[list[PdfLine]]) -> float | None:
    """The usual baseline-to-baseline distance of consecutive lines (the median of the steps down)."""
    steps = [
        a.y - b.y
        for page in pages
        for a, b in itertools.pairwise(page)
        if a.y is not None and b.y is not None and a.y > b.y
    ]
    return statistics.median(steps) if steps else None


def _with_blank_lines(pages: list[list[PdfLine]]) -> tuple[list[str], list[tuple[int, int]]]:
    """Join the pages' lines, with a blank line at each paragraph gap and at page breaks between paragraphs."""
    step = _line_step(pages)
    lengths = sorted(len(line.text) for page in pages for line in page)
    full = FULL_LINE * lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0.0
    lines: list[str] = []
    positions: list[tuple[int, int]] = []
    prev: PdfLine | None = None
    for page in pages:
        for on_page, line in enumerate(page, start=1):
            if prev is not None and _gap_between(prev, line, step, full):
                lines.append("")
                positions.append((line.page, on_page))
            lines.append(line.text)
            positions.append((line.page, on_page))
            prev = line
    return lines, positions


def _gap_between(prev: PdfLine, line: PdfLine, step: float | None, full: float) -> bool:
    """Whether a paragraph may end between ``prev`` and ``line`` (the parser decides page breaks)."""
    if prev.page != line.page:
        # A full line that does not end a sentence was wrapped: its paragraph goes on over the page.
        return not (len(prev.text) >= full and not ends_sentence(prev.text))
    if step is None or prev.y is None or line.y is None:
        return False
    return prev.y - line.y > GAP_FACTOR * step or line.y > prev.y  # a jump up starts a new block
