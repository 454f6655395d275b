"""What changed between editions: a second edition made from the real report by editing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pdf_maker import build_pdf

from corpus import DEFAULT_REPORT, parse_report
from corpus.diff import MATCH_THRESHOLD, diff_reports, format_diff, title_similarity

ROOT = Path(__file__).resolve().parent.parent
TEXT = DEFAULT_REPORT.read_text(encoding="utf-8")
ADDED = "Uruchomimy miejską wypożyczalnię sprzętu rehabilitacyjnego"
DROPPED = "Powołamy pełnomocnika ds. przeciwdziałania przemocy w rodzinie"
GYN_BEFORE = ("Zadanie zostało uwzględnione do realizacji w programie „Zdrowy Kraków”. Trwają uzgodnienia z\n"
              "podmiotami leczniczymi w sprawie sposobu realizacji zadania.")
GYN_AFTER = ("Zadanie zostało zrealizowane w programie „Zdrowy Kraków”. Gabinet przyjmuje pacjentki od 1\n"
             "października 2025 r.")


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def second_edition() -> str:
    """The report a year on: one status reworded (label unchanged), one now done, a title reworded,
    one pledge dropped and one added."""
    text = _edit(TEXT, "w wysokości 1 689 658 zł", "w wysokości 1 712 000 zł")
    text = _edit(text, GYN_BEFORE, GYN_AFTER)
    text = _edit(text, "\nWesprzemy mniejszości narodowe\n", "\nWesprzemy mniejszości narodowe i etniczne\n")
    start = text.index(DROPPED)
    end = text.index("Przemocy pełni swoja funkcję.\n") + len("Przemocy pełni swoja funkcję.\n")
    text = text[:start] + text[end:]
    return _edit(text, "Wsparcie w rozwoju przedsiębiorczości kobiet\n",
                 f"{ADDED}\n\nMieszkańcy wypożyczą bezpłatnie wózki, balkoniki i łóżka rehabilitacyjne.\n\n"
                 "Stopień realizacji zadania\n\nPlanowane jest otwarcie wypożyczalni w 2026 roku.\n\n"
                 "Wsparcie w rozwoju przedsiębiorczości kobiet\n")


EXPECTED = {
    "changed": [
        {"pledge_id": "wesprzemy-asystentow-i-opiekunow-medycznych-osob-niesamodzielnych",
         "title": "Wesprzemy asystentów i opiekunów medycznych osób niesamodzielnych",
         "label_before": "in_progress", "label_after": "in_progress", "status_text_changed": True,
         "word_diff": "Na realizację Programu „Asystent osobisty osoby z niepełnosprawnością” w 2025 roku pozyskano "
                      "środki finansowe z Funduszu Solidarnościowego w wysokości 1 [-689 658-] {+712 000+} zł oraz "
                      "zaangażowała środki własne w wysokości 357 500 zł. Do 30 listopada 2025 r. zrealizowano 30 "
                      "525 godzin usług na rzecz 185 uczestników Programu."},
        {"pledge_id": "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet",
         "title": "Stworzymy ogólnodostępny gabinet opieki ginekologicznej dla kobiet",
         "label_before": "in_progress", "label_after": "done", "status_text_changed": True,
         "word_diff": "Zadanie zostało [-uwzględnione do realizacji-] {+zrealizowane+} w programie „Zdrowy Kraków”. "
                      "[-Trwają uzgodnienia z podmiotami leczniczymi w sprawie sposobu realizacji zadania.-] "
                      "{+Gabinet przyjmuje pacjentki od 1 października 2025 r.+}"},
    ],
    "added": [ADDED],
    "removed": [DROPPED],
}


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("editions")
    (folder / "new.txt").write_text(second_edition(), encoding="utf-8")
    return DEFAULT_REPORT, folder / "new.txt"


def test_diff_json_exactly(editions: tuple[Path, Path]) -> None:
    old, new = editions
    assert diff_reports(parse_report(old), parse_report(new)).to_json() == EXPECTED


def test_reworded_title_matches_and_keeps_its_status(editions: tuple[Path, Path]) -> None:
    diff = diff_reports(*(parse_report(p) for p in editions))
    renamed = [c for c in diff.matched if c.title != c.title_before]
    assert [(c.title_before, c.title, c.changed) for c in renamed] == \
        [("Wesprzemy mniejszości narodowe", "Wesprzemy mniejszości narodowe i etniczne", False)]
    assert len(diff.matched) == 8 and renamed[0].similarity >= MATCH_THRESHOLD


def test_unrelated_titles_do_not_match(report) -> None:
    titles = [p.title for p in report.pledges]
    assert all(title_similarity(a, b) < MATCH_THRESHOLD for a in titles for b in titles if a != b)
    assert title_similarity(DROPPED, ADDED) < MATCH_THRESHOLD


def test_same_report_has_no_changes_and_pdf_equals_text(editions: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = editions
    assert diff_reports(parse_report(old), parse_report(old)).to_json() == {"changed": [], "added": [],
                                                                            "removed": []}
    pdf = tmp_path / "new.pdf"
    build_pdf(new.read_text(encoding="utf-8").split("\n")[:-1], pdf)  # page breaks are not changes
    assert diff_reports(parse_report(old), parse_report(pdf)).to_json() == EXPECTED


def test_summary_shows_label_moves_and_trimmed_diff(editions: tuple[Path, Path]) -> None:
    text = format_diff(diff_reports(*(parse_report(p) for p in editions)))
    assert "* Stworzymy ogólnodostępny gabinet opieki ginekologicznej dla kobiet\n  in_progress → done\n" in text
    assert ("… środki finansowe z Funduszu Solidarnościowego w wysokości 1 [-689 658-] {+712 000+} zł oraz "
            "zaangażowała środki własne w wysokości 357 …") in text
    assert f"+ added: {ADDED}" in text and f"- removed: {DROPPED}" in text
    assert text.endswith("2 changed, 6 unchanged, 1 added, 1 removed")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", "diff", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_json_and_summary(editions: tuple[Path, Path]) -> None:
    old, new = (str(p) for p in editions)
    out = _cli(old, new, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == EXPECTED
    out = _cli(old, new)
    assert out.returncode == 0 and "in_progress → done" in out.stdout and "[-689 658-]" in out.stdout


def test_cli_broken_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_text("Tytuł\n\nTreść.\n", encoding="utf-8")
    out = _cli(str(DEFAULT_REPORT), str(bad))
    assert out.returncode == 2 and "bad.pdf: is not a PDF" in out.stderr and "Traceback" not in out.stderr
    out = _cli(str(tmp_path / "missing.txt"), str(DEFAULT_REPORT))
    assert out.returncode == 2 and "missing.txt: file not found" in out.stderr
