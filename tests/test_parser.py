"""The parser on the real report and on crafted broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus import ReportFormatError, parse_report
from corpus.parser import split_sentences

TITLES = [
    "Powołamy program przeciwdziałania przemocy i mobbingowi w miejscu pracy",
    "Zapewnimy kobietom w każdym wieku dostęp do programów profilaktycznych oraz wsparcie w zakresie chorób "
    "związanych z podeszłym wiekiem",
    "Wesprzemy asystentów i opiekunów medycznych osób niesamodzielnych",
    "Rozwiniemy system opieki wyręczeniowej",
    "Wesprzemy mniejszości narodowe",
    "Pomożemy promować kulturę mniejszości narodowych",
    "Stworzymy ogólnodostępny gabinet opieki ginekologicznej dla kobiet",
    "Powołamy pełnomocnika ds. przeciwdziałania przemocy w rodzinie",
    "Wsparcie w rozwoju przedsiębiorczości kobiet",
]
# (title lines, pledge lines, status lines, label) read off the report by hand
SPANS = [((7, 7), (9, 14), (18, 23), "done"), ((27, 29), (31, 35), (39, 40), "in_progress"),
         ((46, 46), (48, 49), (53, 56), "in_progress"), ((60, 60), (62, 63), (67, 76), "in_progress"),
         ((80, 80), (82, 84), (88, 104), "in_progress"), ((108, 108), (110, 112), (116, 123), "in_progress"),
         ((125, 125), (127, 130), (134, 135), "in_progress"), ((141, 141), (143, 145), (149, 150), "done"),
         ((154, 154), (156, 158), (162, 164), "in_progress")]


def _span(p) -> tuple[int, int]:
    return (p.span.start_line, p.span.end_line)


def test_real_report_has_nine_pledges_with_exact_titles(report) -> None:
    assert [p.title for p in report.pledges] == TITLES
    assert len({p.id for p in report.pledges}) == 9
    assert report.pledges[4].id == "wesprzemy-mniejszosci-narodowe"


@pytest.mark.parametrize("i", range(9))
def test_real_report_spans_and_labels(report, i: int) -> None:
    p = report.pledges[i]
    title, pledge, status, label = SPANS[i]
    assert (_span(p.title_passage), _span(p.pledge), _span(p.status)) == (title, pledge, status)
    assert p.status_label.label == label
    assert p.status_label.evidence in p.status.text


def test_page_break_mid_sentence_is_repaired(report) -> None:
    status = report.by_id("wesprzemy-mniejszosci-narodowe").status.text
    assert "realizowane na bieżąco przez działalność „Centrum Wielokulturowego\"" in status
    assert "\n" not in status  # one paragraph, not two


def test_separate_status_paragraphs_stay_separate(report) -> None:
    status = report.by_id("rozwiniemy-system-opieki-wyreczeniowej").status.text
    assert status.count("\n\n") == 1 and status.endswith("130 500 zł.")


def test_heading_right_after_status_without_page_break(report) -> None:
    culture, gyn = report.pledges[5], report.pledges[6]
    assert culture.status.text.endswith("wspiera także Wydział Kultury.")
    assert gyn.title_passage.span.start_line == culture.status.span.end_line + 2


def test_intro_and_closing_belong_to_the_section(report) -> None:
    assert _span(report.intro) == (1, 5) and report.intro.text.startswith("Kraków tworzymy wszyscy")
    assert _span(report.closing) == (166, 168)
    assert "Miasto Kraków wspiera" not in report.pledges[-1].status.text


def test_sentence_spans_quote_source_lines(report) -> None:
    for p in report.pledges:
        for passage in (p.pledge, p.status):
            for s in passage.sentences:
                assert passage.text[s.start:s.end] == s.text
                src = " ".join(" ".join(report.source_text(s.span).split()).split())
                assert " ".join(s.text.split()) in src


def test_sentence_split_keeps_abbreviations() -> None:
    text = "Od 1 maja 2025 roku Krakowski Rzecznik ds. Przeciwdziałania Przemocy pełni funkcję. Druga."
    assert [text[a:b] for a, b in split_sentences(text)] == [text[:-7], "Druga."]


def _write(tmp_path: Path, text: str | bytes, name: str = "r.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_crlf_and_extra_blank_lines_give_the_same_pledges(tmp_path: Path, report) -> None:
    raw = "\n".join(report.lines) + "\n"
    crlf = parse_report(_write(tmp_path, raw.replace("\n", "\r\n"), "crlf.txt"))
    spaced = parse_report(_write(tmp_path, raw.replace("\n\n", "\n\n \n\n"), "spaced.txt"))
    for other in (crlf, spaced):
        assert [(p.title, p.pledge.text, p.status.text, p.status_label.label) for p in other.pledges] == \
               [(p.title, p.pledge.text, p.status.text, p.status_label.label) for p in report.pledges]
    assert _span(crlf.pledges[3].status) == (67, 76)


GOOD = "Wstęp do sekcji.\n\nTytuł pierwszy\n\nTreść pierwsza.\n\nStopień realizacji zadania\n\nStatus pierwszy.\n"


@pytest.mark.parametrize("text, line, fragment", [
    ("", None, "file is empty"),
    ("   \n \n", None, "file is empty"),
    ("Tylko tekst bez nagłówków.\n\nI drugi akapit.\n", 3, "no line reads 'Stopień realizacji zadania'"),
    ("Stopień realizacji zadania\n\nStatus bez zobowiązania.\n", 1, "has no pledge before it"),
    (GOOD + "\nStopień realizacji zadania\n\nDrugi status.\n", 11, "has no heading above it"),
    ("Tytuł\n\nStopień realizacji zadania\n\nStatus.\n", 3, "has no pledge text above it"),
    (GOOD + "\nTytuł drugi\n\nTreść druga.\n", 11, "followed by text"),
    (GOOD + "\nTytuł drugi\n\nCel programu\n\nTreść druga.\n\nStopień realizacji zadania\n\nS.\n",
     11, "two heading-like lines in a row"),
    ("Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\nS1.\n\nS2.\n\nZamknięcie.\n", 7,
     'set as "closing_paragraphs" in the report\'s manifest'),
    (GOOD + "\nTytuł pierwszy\n\nInna treść.\n\nStopień realizacji zadania\n\nS.\n", 11, "repeats the heading at line 3"),
    ("Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\n", 5, "status text is empty"),
])
def test_broken_reports_name_file_and_line(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ReportFormatError) as err:
        parse_report(path)
    msg = str(err.value)
    assert fragment in msg and "expected" in msg and "r.txt" in msg
    if line is not None:
        assert f"line {line}:" in msg
    assert err.value.line == line


def test_heading_with_no_status_is_caught(tmp_path: Path) -> None:
    # After the last status line, a heading followed by text is a pledge that lost its status line.
    # (Mid-report the same layout is a sub-heading inside the pledge text: see test_sub_heading_...)
    text = GOOD + "\nTytuł bez statusu\n\nTreść bez statusu.\n"
    with pytest.raises(ReportFormatError, match=r"line 11: heading-like line 'Tytuł bez statusu'"):
        parse_report(_write(tmp_path, text))


SUB = (GOOD + "\nTytuł drugi\n\nTreść druga.\n\nCel programu\n\nOpis celu.\n\nStopień realizacji zadania\n\n"
       "Status drugi.\n")


def test_sub_heading_after_pledge_text_stays_in_the_pledge_text(tmp_path: Path) -> None:
    r = parse_report(_write(tmp_path, SUB))
    assert [p.title for p in r.pledges] == ["Tytuł pierwszy", "Tytuł drugi"]
    assert r.pledges[0].status.text == "Status pierwszy."
    assert r.pledges[1].pledge.text == "Treść druga.\n\nCel programu\n\nOpis celu."
    assert r.pledges[1].status.text == "Status drugi." and r.closing is None


def test_sub_heading_right_after_the_title_is_refused_not_taken_as_the_title(tmp_path: Path) -> None:
    # Was: "Cel programu" became the title and "Tytuł drugi" ended up in the first pledge's status.
    text = SUB.replace("Treść druga.\n\nCel programu", "Cel programu\n\nTreść druga.")
    with pytest.raises(ReportFormatError, match=r"r.txt, line 11: two heading-like lines in a row "
                                                r"\('Tytuł drugi', then 'Cel programu' at line 13\)"):
        parse_report(_write(tmp_path, text))


LAST = "Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\nS1.\n\nS2.\n"


def test_two_paragraphs_after_the_last_status_are_status_and_closing_unless_told(tmp_path: Path) -> None:
    inferred = parse_report(_write(tmp_path, LAST))
    assert inferred.pledges[0].status.text == "S1." and inferred.closing.text == "S2."
    told = parse_report(_write(tmp_path, LAST), closing_paragraphs=0)
    assert told.pledges[0].status.text == "S1.\n\nS2." and told.closing is None
    one = parse_report(_write(tmp_path, "Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\nS1.\n"))
    assert one.pledges[0].status.text == "S1." and one.closing is None


def test_a_two_paragraph_last_status_keeps_both_when_the_closing_is_given(tmp_path: Path) -> None:
    text = LAST + "\nZamknięcie sekcji.\n"
    with pytest.raises(ReportFormatError, match=r"line 7: 3 paragraphs follow the last 'Stopień realizacji "
                                                r"zadania' \(line 5\).*\"closing_paragraphs\" in the report"):
        parse_report(_write(tmp_path, text))
    r = parse_report(_write(tmp_path, text), closing_paragraphs=1)
    assert r.pledges[0].status.text == "S1.\n\nS2." and r.closing.text == "Zamknięcie sekcji."
    with pytest.raises(ReportFormatError, match=r"line 7: closing_paragraphs=3 leaves no status text"):
        parse_report(_write(tmp_path, text), closing_paragraphs=3)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.encode("utf-8") + "Zażółć\n".encode("cp1250"))
    with pytest.raises(ReportFormatError, match=r"line 10: byte 0x.. is not valid UTF-8; expected UTF-8"):
        parse_report(path)


def test_binary_and_huge_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportFormatError, match=r"line 3: contains a NUL byte"):
        parse_report(_write(tmp_path, b"a\nb\n\x00\x01\x02"))
    with pytest.raises(ReportFormatError, match=r"over the limit"):
        parse_report(_write(tmp_path, "x" * 3_000_000, "big.txt"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReportFormatError, match="file not found"):
        parse_report(tmp_path / "nope.txt")


def test_good_minimal_report(tmp_path: Path) -> None:
    r = parse_report(_write(tmp_path, GOOD))
    assert [p.title for p in r.pledges] == ["Tytuł pierwszy"] and r.closing is None
    assert r.pledges[0].status.text == "Status pierwszy."
