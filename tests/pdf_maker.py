"""Test helper: lay out report text as a multi-page PDF (fpdf2, DejaVu Sans for Polish letters).

Each text line becomes one PDF line at a known place, so the tests know the page of every line.
Blank and space-only lines become a blank line's height of space (a paragraph gap), as a word
processor's export would show them. Nothing here is committed output: tests call it into tmp_path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
from fpdf import FPDF

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
LEFT, TOP = 15.0, 25.0
LINE_H = 5.5  # mm


@dataclass(frozen=True)
class Layout:
    """How to cut the text into pages and what the running header and footer say."""

    lines_per_page: int = 30
    font_size: float = 8.5
    header: str | None = "Sprawozdanie z realizacji zobowiązań — Kraków miasto równych szans"
    footer: str = "{page}"  # "{page}" and "{pages}" are filled in


def page_of_lines(n_lines: int, layout: Layout) -> list[int]:
    """1-based page of each 1-based text line (index i → line i+1)."""
    return [i // layout.lines_per_page + 1 for i in range(n_lines)]


def build_pdf(lines: list[str], path: Path, layout: Layout = Layout()) -> list[int]:
    """Write ``lines`` to ``path`` as a PDF; returns the page of each line (see page_of_lines)."""
    pages = page_of_lines(len(lines), layout)
    total = pages[-1] if pages else 1
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)  # pages are cut where the layout says, inside paragraphs too
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", size=layout.font_size)
    widest = max((pdf.get_string_width(line.strip()) for line in lines), default=0.0)
    if widest > PAGE_W - 2 * LEFT:
        raise ValueError(
            f"a line is {widest:.0f} mm wide, over the {PAGE_W - 2 * LEFT:.0f} mm text width; "
            f"lower Layout.font_size (now {layout.font_size})"
        )
    for i, line in enumerate(lines):
        slot = i % layout.lines_per_page
        if slot == 0:
            pdf.add_page()
            _furniture(pdf, layout, pages[i], total)
        if line.strip():
            pdf.text(LEFT, TOP + slot * LINE_H, line.strip())
    pdf.output(str(path))
    return pages


def _furniture(pdf: FPDF, layout: Layout, page: int, total: int) -> None:
    """Running header and the footer with the page number, in the page margins."""
    size = layout.font_size
    pdf.set_font("DejaVu", size=size - 1)
    if layout.header:
        pdf.text(LEFT, 12.0, layout.header)
    footer = layout.footer.format(page=page, pages=total)
    pdf.text((PAGE_W - pdf.get_string_width(footer)) / 2, PAGE_H - 12.0, footer)
    pdf.set_font("DejaVu", size=size)
