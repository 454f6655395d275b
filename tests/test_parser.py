"""The parser on the real report and on crafted broken ones."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from corpus import DEFAULT_REPORT, ReportFormatError, parse_report
from corpus.parser import decode_report, parse_report_text, split_sentences
from corpus.sentences import ends_sentence

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
SPANS = [
    ((7, 7), (9, 14), (18, 23), "done"),
    ((27, 29), (31, 35), (39, 40), "in_progress"),
    ((46, 46), (48, 49), (53, 56), "in_progress"),
    ((60, 60), (62, 63), (67, 76), "in_progress"),
    ((80, 80), (82, 84), (88, 104), "in_progress"),
    ((108, 108), (110, 112), (116, 123), "in_progress"),
    ((125, 125), (127, 130), (134, 135), "in_progress"),
    ((141, 141), (143, 145), (149, 150), "done"),
    ((154, 154), (156, 158), (162, 164), "in_progress"),
]


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
    assert 'realizowane na bieżąco przez działalność „Centrum Wielokulturowego"' in status
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
                assert passage.text[s.start : s.end] == s.text
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
    crlf = parse_report(_write(tmp_path, raw.replace("\n", "\r\n"), "crlf.txt"), closing_paragraphs=1)
    spaced = parse_report(_write(tmp_path, raw.replace("\n\n", "\n\n \n\n"), "spaced.txt"), closing_paragraphs=1)
    for other in (crlf, spaced):
        assert [(p.title, p.pledge.text, p.status.text, p.status_label.label) for p in other.pledges] == [
            (p.title, p.pledge.text, p.status.text, p.status_label.label) for p in report.pledges
        ]
    assert _span(crlf.pledges[3].status) == (67, 76)


def test_the_manifest_beside_the_file_gives_the_closing_and_the_count(tmp_path: Path, report) -> None:
    # The bundled report's manifest says one closing paragraph: without it the same text is refused.
    path = _write(tmp_path, DEFAULT_REPORT.read_text(encoding="utf-8"), "raport.txt")
    with pytest.raises(ReportFormatError, match=r"raport.txt, line 166: 2 paragraphs follow the last"):
        parse_report(path)
    (tmp_path / "raport.json").write_text('{"closing_paragraphs": 1, "pledges": 9}', encoding="utf-8")
    assert parse_report(path).closing.text == report.closing.text
    (tmp_path / "raport.json").write_text('{"closing_paragraphs": 1, "pledges": 10}', encoding="utf-8")
    with pytest.raises(
        ReportFormatError,
        match=r"raport.txt, line 160: found 9 pledges .* but the manifest says "
        r'"pledges": 10; expected 10 pledges',
    ):
        parse_report(path)
    (tmp_path / "raport.json").write_text('{"closing_paragraphs": "1"}', encoding="utf-8")
    with pytest.raises(ReportFormatError, match=r"raport.json: field 'closing_paragraphs' is '1'; expected"):
        parse_report(path)


GOOD = "Wstęp do sekcji.\n\nTytuł pierwszy\n\nTreść pierwsza.\n\nStopień realizacji zadania\n\nStatus pierwszy.\n"


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("", None, "file is empty"),
        ("   \n \n", None, "file is empty"),
        ("Tylko tekst bez nagłówków.\n\nI drugi akapit.\n", 3, "no line reads 'Stopień realizacji zadania'"),
        ("Stopień realizacji zadania\n\nStatus bez zobowiązania.\n", 1, "has no pledge before it"),
        (GOOD + "\nStopień realizacji zadania\n\nDrugi status.\n", 11, "has no heading above it"),
        ("Tytuł\n\nStopień realizacji zadania\n\nStatus.\n", 3, "has no pledge text above it"),
        (GOOD + "\nTytuł drugi\n\nTreść druga.\n", 11, "followed by text"),
        (
            GOOD + "\nTytuł drugi\n\nCel programu\n\nTreść druga.\n\nStopień realizacji zadania\n\nS.\n",
            11,
            "two heading-like lines before 'Stopień realizacji zadania' at line 17",
        ),
        (
            "Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\nS1.\n\nS2.\n\nZamknięcie.\n",
            9,
            'set as "closing_paragraphs" in the report\'s manifest',
        ),
        (
            GOOD + "\nTytuł pierwszy\n\nInna treść.\n\nStopień realizacji zadania\n\nS.\n",
            11,
            "repeats the heading at line 3",
        ),
        ("Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\n", 5, "status text is empty"),
        (
            "Tytuł\n\nTreść.\n\nStopień realizacji zadania jest oceniany co rok.\n",
            5,
            "text after 'Stopień realizacji zadania' goes on in lower case",
        ),
    ],
)
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
    text = GOOD + "\nTytuł bez statusu\n\nTreść bez statusu.\n"
    with pytest.raises(ReportFormatError, match=r"line 11: heading-like line 'Tytuł bez statusu'"):
        parse_report(_write(tmp_path, text))


SECOND = "\nTytuł drugi\n\nTreść druga.\n\nStopień realizacji zadania\n\nStatus drugi.\n"


def test_a_status_on_the_marker_line_is_the_status(tmp_path: Path) -> None:
    # Was: the marker was not seen, the first pledge swallowed the second and showed its status.
    text = (
        GOOD.replace(
            "Stopień realizacji zadania\n\nStatus pierwszy.",
            "Stopień realizacji zadania: Postulat został zrealizowany.\nGabinet działa od maja.",
        )
        + SECOND
    )
    r = parse_report(_write(tmp_path, text))
    assert [p.title for p in r.pledges] == ["Tytuł pierwszy", "Tytuł drugi"]
    first = r.pledges[0]
    assert first.status.text == "Postulat został zrealizowany. Gabinet działa od maja."
    assert _span(first.status) == (7, 8) and first.status_label.label == "done"
    assert r.pledges[1].status.text == "Status drugi."
    for sep in (" – ", " - ", " "):
        one = parse_report(_write(tmp_path, GOOD.replace("zadania\n\nStatus", f"zadania{sep}Status")))
        assert one.pledges[0].status.text == "Status pierwszy."


def test_a_sub_heading_right_above_the_marker_stays_in_the_pledge_text(tmp_path: Path) -> None:
    text = GOOD + SECOND.replace("Treść druga.\n", "Treść druga.\n\nCel programu\n")
    r = parse_report(_write(tmp_path, text))
    assert r.pledges[1].pledge.text == "Treść druga.\n\nCel programu"


@pytest.mark.parametrize(
    "where, line",
    [
        # inside a status: was taken as the next pledge's title, the real title becoming a sub-heading
        ("Status pierwszy.\n\nDziałania podjęte w 2025 roku\n\nZorganizowano szkolenia.\n", 11),
        # inside a pledge text: which of the two headings is the title cannot be told
        ("Status pierwszy.\n", 11),
    ],
)
def test_a_sub_heading_with_text_after_it_is_refused(tmp_path: Path, where: str, line: int) -> None:
    second = (
        SECOND
        if "Działania" in where
        else SECOND.replace("Treść druga.\n", "Treść druga.\n\nCel programu\n\nOpis celu.\n")
    )
    text = GOOD.replace("Status pierwszy.\n", where) + second
    with pytest.raises(ReportFormatError, match=rf"r.txt, line {line}: two heading-like lines before"):
        parse_report(_write(tmp_path, text))


@pytest.mark.parametrize(
    "start", ["„Zdrowy Kraków” obejmie badania.", "(w tym dla seniorek) badania.", "2 nowe gabinety zostaną otwarte."]
)
def test_a_pledge_text_may_start_with_a_quote_bracket_or_digit(tmp_path: Path, start: str) -> None:
    # Was: joined to the title as if cut by a page break, then refused with "no heading above it".
    r = parse_report(_write(tmp_path, GOOD.replace("Treść pierwsza.", start)))
    assert r.pledges[0].title == "Tytuł pierwszy" and r.pledges[0].pledge.text == start


def test_a_page_break_before_a_quote_or_number_after_a_short_line_is_refused(tmp_path: Path) -> None:
    # "Do końca roku zrealizowano" could be a heading with its text below, or a sentence cut by a page break:
    # the parser does not guess; it names both lines.
    text = GOOD.replace("Status pierwszy.", "Do końca roku zrealizowano\n\n 30 525 godzin usług.") + SECOND
    with pytest.raises(
        ReportFormatError,
        match=r"line 9: two heading-like lines .* 'Do końca roku zrealizowano', "
        r"then 'Tytuł drugi' at line 13.*cut by a page break",
    ):
        parse_report(_write(tmp_path, text))
    joined = GOOD.replace("Status pierwszy.", "Do końca roku zrealizowano\n\n w sumie 525 godzin usług.")
    assert (
        parse_report(_write(tmp_path, joined + SECOND)).pledges[0].status.text
        == "Do końca roku zrealizowano w sumie 525 godzin usług."
    )


LAST = "Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\nS1.\n\nS2.\n"


def test_paragraphs_after_the_last_status_need_the_manifests_count(tmp_path: Path) -> None:
    # Was: the second paragraph silently became the section's closing.
    with pytest.raises(
        ReportFormatError,
        match=r"line 9: 2 paragraphs follow the last 'Stopień realizacji zadania' "
        r"\(line 5\).*\"closing_paragraphs\" in the report",
    ):
        parse_report(_write(tmp_path, LAST))
    told = parse_report(_write(tmp_path, LAST), closing_paragraphs=0)
    assert told.pledges[0].status.text == "S1.\n\nS2." and told.closing is None
    closing = parse_report(_write(tmp_path, LAST), closing_paragraphs=1)
    assert closing.pledges[0].status.text == "S1." and closing.closing.text == "S2."
    one = parse_report(_write(tmp_path, "Tytuł\n\nTreść.\n\nStopień realizacji zadania\n\nS1.\n"))
    assert one.pledges[0].status.text == "S1." and one.closing is None
    with pytest.raises(ReportFormatError, match=r"line 7: closing_paragraphs=2 leaves no status text"):
        parse_report(_write(tmp_path, LAST), closing_paragraphs=2)


def test_ends_a_sentence() -> None:
    # One definition for the parser and the PDF reader: a colon or semicolon does not end a sentence.
    assert all(
        map(
            ends_sentence,
            ["Zrealizowano.", "Czy tak?", "programu „Zdrowy Kraków”.", "(zob. niżej).", "Koniec…", "kropka. "],
        )
    )
    assert not any(map(ends_sentence, ["Działania obejmują:", "szkolenia dla urzędników;", "w tym", "koszty,"]))


def test_a_line_ending_with_a_colon_is_not_a_heading(tmp_path: Path) -> None:
    text = GOOD.replace("Status pierwszy.", "Zrealizowano następujące działania:\n\n- szkolenia;\n- porady.") + SECOND
    r = parse_report(_write(tmp_path, text))
    assert r.pledges[0].status.text == "Zrealizowano następujące działania: - szkolenia; - porady."


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


# --- generated layouts: each is parsed right or refused, never misparsed ---------------------------------------
# Hypothesis draws a seed and the layout is built from it with random.Random: drawing every word through Hypothesis
# took ~100 ms an example, this ~1 ms (a failure prints the seed and the whole layout).

WORDS = (
    "miasto program zadanie wsparcie kobiet osób szkolenia urzędu rada środki usług realizacji dla w ramach "
    "oraz na rzecz projektu mieszkańców gminy opieki zdrowia roku pomocy"
).split()
STARTS = "Miasto Program Zadanie Wsparcie Szkolenia Rada Urząd Gabinet Pomoc Projekt W Do Od Na Przy".split()
FIRSTS = ["„Zdrowy Kraków” obejmie", "(w tym seniorki) otrzymają", "2 nowe gabinety", "Zapewnimy"]
BLANKS = ["", " ", "\t"]


def _paragraph(rng: random.Random, first: str | None = None) -> str:
    sentences = [f"{first or rng.choice(STARTS)} {' '.join(rng.choices(WORDS, k=rng.randint(3, 12)))}."]
    sentences += [
        f"{rng.choice(STARTS)} {' '.join(rng.choices(WORDS, k=rng.randint(3, 12)))}." for _ in range(rng.randint(0, 2))
    ]
    return " ".join(sentences)


def _wrap(rng: random.Random, text: str, max_lines: int = 99) -> list[str]:
    """A paragraph as lines with trailing spaces; a page break (blank or space-only lines) may fall before a line
    in lower case."""
    words, lines = text.split(), []
    while words:
        k = len(words) if len(lines) == max_lines - 1 else rng.randint(1, 9)
        lines.append(" ".join(words[:k]) + rng.choice(["", "", " ", "  "]))
        words = words[k:]
    out = [lines[0]]
    for line in lines[1:]:
        if line[:1].islower() and not ends_sentence(out[-1]) and rng.random() < 0.2:
            out += rng.choices(BLANKS, k=rng.randint(1, 3))
        out.append(line)
    return out


def _pledge_blocks(rng: random.Random, p: dict, missing: bool, faults: set[str]) -> list[list[str]]:
    """Title, pledge text, marker and status of one pledge as blocks of lines; ``p`` gains what it should parse to."""
    blocks = [_wrap(rng, p["title"], max_lines=3), *(_wrap(rng, t) for t in p["pledge"])]
    sub = rng.choice(["", "", "", "above marker", "in pledge", "in status"])
    if sub == "above marker":  # stays in the pledge text: no title can be there
        blocks.append(["Cel programu"])
        p["pledge"] = [*p["pledge"], "Cel programu"]
    elif sub == "in pledge":
        blocks.insert(1, ["Cel programu"])
        faults.add("sub-heading in a pledge text")
    status = [_wrap(rng, text) for text in p["status"]]
    if sub == "in status" and len(status) > 1:  # with text after it (last in a status it is only status text)
        status.insert(1, ["Działania podjęte w 2025 roku"])
        faults.add("sub-heading in a status")
    marker = rng.choice(
        ["Stopień realizacji zadania", "Stopień realizacji zadania:", "STOPIEŃ REALIZACJI ZADANIA", "on the line"]
    )
    if missing:
        faults.add("missing marker")
    elif marker == "on the line":
        status[0][0] = f"Stopień realizacji zadania{rng.choice([': ', ' – ', ' '])}{status[0][0]}"
    else:
        blocks.append([marker])
    return blocks + status


def _layout(seed: int) -> tuple[dict, list[str], dict, set[str]]:
    """(the report as parts, its lines, the manifest's parsing fields, what makes it ambiguous or broken)."""
    rng = random.Random(seed)
    n = rng.randint(1, 4)
    r = {
        "intro": [_paragraph(rng) for _ in range(rng.randint(0, 2))],
        "pledges": [
            {
                "title": f"{rng.choice(STARTS)} {' '.join(rng.choices(WORDS, k=rng.randint(1, 8)))} numer {k}",
                "pledge": [_paragraph(rng, rng.choice([None, *FIRSTS]))] + [_paragraph(rng)] * rng.randint(0, 1),
                "status": [_paragraph(rng) for _ in range(rng.randint(1, 2))],
            }
            for k in range(n)
        ],
        "closing": [_paragraph(rng) for _ in range(rng.randint(0, 2))],
    }
    faults: set[str] = set()
    missing = rng.randint(0, n - 1) if rng.random() < 0.25 else -1  # the pledge that loses its marker line
    blocks = [_wrap(rng, p) for p in r["intro"]]
    for k, p in enumerate(r["pledges"]):
        blocks += _pledge_blocks(rng, p, k == missing, faults)
    blocks += [_wrap(rng, text) for text in r["closing"]]
    given = rng.random() < 0.5
    if not given and len(r["pledges"][-1]["status"]) + len(r["closing"]) > 1:
        faults.add("closing paragraphs not given")
    lines = [line for block in blocks for line in [*block, *rng.choices(BLANKS, k=rng.randint(1, 3))]]
    options = {
        "closing_paragraphs": len(r["closing"]) if given else None,
        "pledges": rng.choice([None, len(r["pledges"])]),
    }
    return r, lines, options, faults


def _norm_paras(paras: list[str]) -> str:
    return "\n\n".join(" ".join(p.split()) for p in paras)


@hsettings(max_examples=400, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(seed=st.integers(0, 2**32), newline=st.sampled_from(["\n", "\r\n"]))
def test_generated_layouts_parse_right_or_are_refused(seed: int, newline: str) -> None:
    r, lines, options, faults = _layout(seed)
    shown = f"seed {seed}, {faults or 'well-formed'}, {options}:\n" + "\n".join(lines)
    try:
        parsed = parse_report_text(decode_report(newline.join(lines).encode("utf-8"), "gen.txt"), "gen.txt", **options)
    except ReportFormatError as exc:
        assert str(exc).startswith("gen.txt, line ") and "; expected " in str(exc), exc
        assert faults, f"refused: {exc}\n{shown}"
        return
    assert not faults, f"not refused: {shown}"
    assert [(p.title, p.pledge.text, p.status.text) for p in parsed.pledges] == [
        (p["title"], _norm_paras(p["pledge"]), _norm_paras(p["status"])) for p in r["pledges"]
    ], shown
    assert (parsed.intro.text if parsed.intro else "") == _norm_paras(r["intro"])
    assert (parsed.closing.text if parsed.closing else "") == _norm_paras(r["closing"])
