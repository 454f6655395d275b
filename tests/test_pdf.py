"""PDF input: the real report laid out as a PDF at test time parses like the text file, with pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from pdf_maker import FONT, Layout, build_pdf

from corpus import DEFAULT_REPORT, ReportFormatError, parse_report
from corpus.model import Span
from corpus.parser import parse_report_text
from corpus.pdf import PdfLine, pdf_lines, strip_furniture

SOURCE_LINES = DEFAULT_REPORT.read_text(encoding="utf-8").split("\n")[:-1]  # the file ends with a newline
LAYOUTS = {
    # 30 lines a page: one break falls between two sentences of a status (line 120 | 121).
    "numbers": Layout(lines_per_page=30),
    # 18 lines a page: a break falls mid-sentence before an upper-case word (line 18 "…kierowniczej" | "UMK,").
    "strona-n-z-m": Layout(lines_per_page=18, header=None, footer="Strona {page} z {pages}"),
    # 28 lines a page: a three-line heading is cut by the page break (line 28 | 29).
    "dashes": Layout(lines_per_page=28, footer="— {page} —"),
}


def _norm(text: str) -> str:
    return " ".join(text.split())


def _walk_spans(node: object) -> list[Span]:
    """Every Span in a parsed record tree."""
    if isinstance(node, Span):
        return [node]
    if isinstance(node, tuple):
        return [s for item in node for s in _walk_spans(item)]
    if hasattr(node, "__dataclass_fields__"):
        return [s for name in node.__dataclass_fields__ for s in _walk_spans(getattr(node, name))]
    return []


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def laid_out(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(parsed PDF report, page of each source line) for one layout."""
    path = tmp_path_factory.mktemp("pdf") / f"report-{request.param}.pdf"
    pages = build_pdf(SOURCE_LINES, path, LAYOUTS[request.param])
    # As the report's manifest says: one closing paragraph. A page break between two sentences of the last
    # status can make it look like two paragraphs, and then only the manifest can tell.
    return parse_report(path, closing_paragraphs=1), pages


def test_layouts_cut_pages_inside_paragraphs() -> None:
    # Guards the test's premise: each layout breaks a page between two lines of one paragraph.
    for layout in LAYOUTS.values():
        n = layout.lines_per_page
        cuts = [k for k in range(n, len(SOURCE_LINES), n) if SOURCE_LINES[k - 1].strip() and SOURCE_LINES[k].strip()]
        assert cuts, layout


def test_same_pledges_as_the_text_file(laid_out, report) -> None:
    pdf_report, _ = laid_out
    assert [p.title for p in pdf_report.pledges] == [p.title for p in report.pledges]
    assert [p.id for p in pdf_report.pledges] == [p.id for p in report.pledges]
    for got, want in zip(pdf_report.pledges, report.pledges, strict=True):
        assert _norm(got.pledge.text) == _norm(want.pledge.text)
        assert _norm(got.status.text) == _norm(want.status.text)
        assert got.status_label.label == want.status_label.label
    assert _norm(pdf_report.intro.text) == _norm(report.intro.text)
    assert _norm(pdf_report.closing.text) == _norm(report.closing.text)


def test_pledge_titles_are_on_the_pages_where_they_were_placed(laid_out, report) -> None:
    pdf_report, pages = laid_out
    expected = [pages[p.title_passage.span.start_line - 1] for p in report.pledges]
    assert [p.title_passage.span.page for p in pdf_report.pledges] == expected
    assert len(set(expected)) > 1  # the report really spans several pages


def test_every_span_has_the_page_where_its_first_line_was_placed(laid_out) -> None:
    pdf_report, pages = laid_out
    # Non-blank PDF lines are the source's non-blank lines in order (see the next test): map one to the other.
    pdf_nums = [i for i, line in enumerate(pdf_report.lines, start=1) if line.strip()]
    src_nums = [i for i, line in enumerate(SOURCE_LINES, start=1) if line.strip()]
    placed = {p: pages[s - 1] for p, s in zip(pdf_nums, src_nums, strict=True)}
    spans = _walk_spans(pdf_report)
    assert len(spans) > 50
    assert [s.page for s in spans] == [placed[s.start_line] for s in spans]
    sentence_pages = {s.span.page for p in pdf_report.pledges for s in p.status.sentences}
    assert len(sentence_pages) > 1


def test_headers_footers_and_page_numbers_are_removed(laid_out) -> None:
    pdf_report, pages = laid_out
    texts = [_norm(line) for line in pdf_report.lines if line.strip()]
    assert texts == [_norm(line) for line in SOURCE_LINES if line.strip()]


def test_text_report_spans_have_no_page(report) -> None:
    assert all(s.page is None for s in _walk_spans(report))


def test_pages_must_match_lines() -> None:
    with pytest.raises(ValueError, match="pages has 1 entries for 2 lines"):
        parse_report_text(["a", "b"], "x.txt", pages=[1])


def test_a_lone_number_inside_a_page_is_text() -> None:
    # Only the edges of a page hold furniture: a number mid-page is body text.
    page = [PdfLine(t, 1, 700 - 12 * i) for i, t in enumerate(["Tytuł", "Tekst", "2025", "Dalej", "Koniec.", "1"])]
    assert [line.text for line in strip_furniture([page])[0]] == ["Tytuł", "Tekst", "2025", "Dalej", "Koniec."]


def _one_page_pdf(path: Path, *, user_password: str | None = None, text: bool = True) -> Path:
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", size=10)
    pdf.add_page()
    if text:
        pdf.text(20, 20, "Zażółć gęślą jaźń")
    else:
        pdf.rect(20, 20, 50, 50)  # a drawing only: what a scan without OCR looks like to a text extractor
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.output(str(path))
    return path


def test_broken_pdfs_are_refused_naming_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    build_pdf(SOURCE_LINES, good)
    cases = {
        _one_page_pdf(tmp_path / "locked.pdf", user_password="tajne"): "is encrypted",
        _one_page_pdf(tmp_path / "scan.pdf", text=False): "no text layer",
        tmp_path / "notes.pdf": "is not a PDF",
        tmp_path / "cut.pdf": "cannot be read as a PDF",
        tmp_path / "pdf-named.txt": "is a PDF file with a text-file name",
    }
    (tmp_path / "notes.pdf").write_text("Tytuł\n\nTreść.\n", encoding="utf-8")
    (tmp_path / "cut.pdf").write_bytes(good.read_bytes()[:4000])
    (tmp_path / "pdf-named.txt").write_bytes(good.read_bytes())
    for path, fragment in cases.items():
        with pytest.raises(ReportFormatError) as err:
            parse_report(path)
        assert fragment in str(err.value) and path.name in str(err.value) and "expected" in str(err.value)


def test_owner_only_encryption_still_opens(tmp_path: Path) -> None:
    # Many published PDFs are "encrypted" with an empty user password only to restrict editing.
    lines, pages = pdf_lines(_one_page_pdf(tmp_path / "ro.pdf", user_password="").read_bytes(), "ro.pdf")
    assert lines == ["Zażółć gęślą jaźń"] and pages == [(1, 1)]


# --- citations a person can follow: page, and line numbers on that page --------------------------------------------


def _printed_body(path: Path) -> list[list[str]]:
    """Each page's printed lines as a reader counts them, read back with pypdf on its own: running header and
    page-number footer left out (the layout's header is the first line, the footer the last)."""
    import pypdf

    out = []
    for page in pypdf.PdfReader(str(path)).pages:
        lines = [" ".join(line.split()) for line in page.extract_text().split("\n") if line.strip()]
        out.append([line for line in lines if line != _norm(Layout().header or "") and not line.isdigit()])
    return out


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory):
    """(the PDF's report set, the PDF's path) for the 30-lines-a-page layout, with its manifest beside it."""
    import json

    from corpus.reports import load_report_set

    folder = tmp_path_factory.mktemp("printed")
    build_pdf(SOURCE_LINES, folder / "raport.pdf", LAYOUTS["numbers"])
    manifest = json.loads(DEFAULT_REPORT.with_suffix(".json").read_text(encoding="utf-8"))
    (folder / "raport.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return load_report_set(folder), folder / "raport.pdf"


def test_quoted_lines_are_the_lines_on_that_page(printed) -> None:
    library, path = printed
    pages = _printed_body(path)
    report = library.latest()[0].report
    checked = 0
    for p in report.pledges:
        for passage in (p.title_passage, p.pledge, p.status):
            quoted = report.source_text(passage.span).split("\n")
            for text, at in zip(quoted, library.printed_at(passage.span) or (), strict=True):
                if at is None:
                    assert not text.strip()  # a paragraph gap, not a printed line
                    continue
                page, line = at
                assert pages[page - 1][line - 1] == _norm(text), (page, line, text)
                checked += 1
    assert checked > 80  # every printed line of every title, pledge and status


def test_a_citation_names_the_page_and_its_lines_and_a_range_across_pages(printed) -> None:
    from assistant.answer import pledge_citations, report_of
    from assistant.cards import source_html
    from assistant.render import cite_line

    library, _ = printed
    crossing = [p for p in library.pledges if len({a[0] for a in library.printed_at(p.status.span) or () if a}) > 1]
    one_page = [p for p in library.pledges if p not in crossing]
    assert crossing and one_page
    status = pledge_citations(library, crossing[0])[2]
    (first_page, first), (last_page, last) = status.printed_at[0], status.printed_at[-1]
    assert cite_line("en", report_of(library, crossing[0].id), [status]).endswith(
        f", pp. {first_page}–{last_page}, p. {first_page}, line {first} – p. {last_page}, line {last}"
    )
    assert f"s. {first_page}–{last_page}, s. {first_page}, wiersz {first}" in cite_line(
        "pl", report_of(library, crossing[0].id), [status]
    )
    title = pledge_citations(library, one_page[0])[0]
    page, line = title.printed_at[0]
    assert cite_line("en", report_of(library, one_page[0].id), [title]).endswith(f", p. {page}, line {line}")
    html = source_html("en", report_of(library, crossing[0].id), [status])
    assert f'<p class="kqa-k">p. {first_page}</p><ol class="kqa-lines" start="{first}">' in html
    assert f'<p class="kqa-k">p. {last_page}</p><ol class="kqa-lines" start="1">' in html


def test_a_full_line_ending_with_a_colon_goes_on_over_the_page() -> None:
    # One "ends a sentence" for the parser and the PDF reader (corpus/sentences.py): a colon does not end one, so
    # a full line ending with it is continued on the next page, with no paragraph gap between.
    from corpus.pdf import _gap_between

    full = "W ramach zadania przeprowadzono w 2025 roku następujące działania informacyjne i szkoleniowe:"
    nxt = PdfLine("szkolenia dla urzędników, kampanię w mediach i dyżury konsultacyjne.", 2, 700.0)
    assert not _gap_between(PdfLine(full, 1, 60.0), nxt, 12.0, len(full) * 0.9)
    assert _gap_between(PdfLine(full.replace(":", "."), 1, 60.0), nxt, 12.0, len(full) * 0.9)
