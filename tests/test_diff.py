"""What changed between editions: second editions made from the real report by editing it (generated here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pdf_maker import build_pdf

from corpus import DEFAULT_REPORT, load_report, parse_report
from corpus.diff import MATCH_THRESHOLD, diff_reports, format_diff, title_similarity
from corpus.reports import load_report_set

ROOT = Path(__file__).resolve().parent.parent
TEXT = DEFAULT_REPORT.read_text(encoding="utf-8")
MANIFEST = json.loads(DEFAULT_REPORT.with_suffix(".json").read_text(encoding="utf-8"))
ADDED = "Uruchomimy miejską wypożyczalnię sprzętu rehabilitacyjnego"
DROPPED = "Powołamy pełnomocnika ds. przeciwdziałania przemocy w rodzinie"
GYN_BEFORE = (
    "Zadanie zostało uwzględnione do realizacji w programie „Zdrowy Kraków”. Trwają uzgodnienia z\n"
    "podmiotami leczniczymi w sprawie sposobu realizacji zadania."
)
GYN_AFTER = (
    "Zadanie zostało zrealizowane w programie „Zdrowy Kraków”. Gabinet przyjmuje pacjentki od 1\npaździernika 2025 r."
)


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def second_edition() -> str:
    """The report a year on: a pledge text reworded ("bezpłatne" → "płatne"), a status reworded (label unchanged),
    a status now done, a title reworded, one pledge dropped and one added."""
    text = _edit(TEXT, "Zapewnimy bezpłatne badania", "Zapewnimy płatne badania")
    text = _edit(text, "w wysokości 1 689 658 zł", "w wysokości 1 712 000 zł")
    text = _edit(text, GYN_BEFORE, GYN_AFTER)
    text = _edit(text, "\nWesprzemy mniejszości narodowe\n", "\nWesprzemy mniejszości narodowe i etniczne\n")
    start = text.index(DROPPED)
    end = text.index("Przemocy pełni swoja funkcję.\n") + len("Przemocy pełni swoja funkcję.\n")
    text = text[:start] + text[end:]
    return _edit(
        text,
        "Wsparcie w rozwoju przedsiębiorczości kobiet\n",
        f"{ADDED}\n\nMieszkańcy wypożyczą bezpłatnie wózki, balkoniki i łóżka rehabilitacyjne.\n\n"
        "Stopień realizacji zadania\n\nPlanowane jest otwarcie wypożyczalni w 2026 roku.\n\n"
        "Wsparcie w rozwoju przedsiębiorczości kobiet\n",
    )


def _put(folder: Path, name: str, text: str, **manifest: object) -> Path:
    """A report file with its manifest beside it (the parser reads its closing_paragraphs from there)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    (folder / f"{name}.json").write_text(json.dumps({**MANIFEST, **manifest}, ensure_ascii=False), encoding="utf-8")
    return folder / f"{name}.txt"


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("editions")
    return DEFAULT_REPORT, _put(folder, "new", second_edition(), edition="2026")


MAMMO = (
    "zapewnimy-kobietom-w-kazdym-wieku-dostep-do-programow-profilaktycznych-oraz-wsparcie-w-zakresie-chorob-"
    "zwiazanych-z-podeszlym-wiekiem"
)


def test_every_kind_of_change_is_reported(editions: tuple[Path, Path]) -> None:
    diff = diff_reports(*(parse_report(p) for p in editions)).to_json()
    kinds = {c["pledge_id"]: c["changes"] for c in diff["changed"]}
    assert kinds == {
        MAMMO: ["pledge_text"],
        "wesprzemy-asystentow-i-opiekunow-medycznych-osob-niesamodzielnych": ["status_text"],
        "wesprzemy-mniejszosci-narodowe-i-etniczne": ["title"],
        "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet": ["label", "status_text"],
    }
    by_id = {c["pledge_id"]: c for c in diff["changed"]}
    mammo = by_id[MAMMO]["pledge_text"]
    assert (
        mammo["summary"] == "1 word removed, 1 added"
        and "Zapewnimy [-bezpłatne-] {+płatne+} badania" in mammo["word_diff"]
    )
    renamed = by_id["wesprzemy-mniejszosci-narodowe-i-etniczne"]
    assert renamed["pledge_id_before"] == "wesprzemy-mniejszosci-narodowe"
    assert renamed["title"]["word_diff"] == "Wesprzemy mniejszości narodowe {+i etniczne+}"
    gyn = by_id["stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet"]
    assert (gyn["label_before"], gyn["label_after"]) == ("in_progress", "done")
    assert "[-uwzględnione do realizacji-] {+zrealizowane+}" in gyn["status_text"]["word_diff"]
    assert (diff["added"], diff["removed"]) == ([ADDED], [DROPPED])


def test_a_renamed_title_is_a_change_of_the_same_pledge(editions: tuple[Path, Path]) -> None:
    # Was: a reworded title paired up but counted as "not changed".
    diff = diff_reports(*(parse_report(p) for p in editions))
    renamed = [c for c in diff.matched if c.title != c.title_before]
    assert [(c.title_before, c.title, c.kinds) for c in renamed] == [
        ("Wesprzemy mniejszości narodowe", "Wesprzemy mniejszości narodowe i etniczne", ("title",))
    ]
    assert len(diff.matched) == 8 and renamed[0].similarity >= MATCH_THRESHOLD


def test_a_different_pledge_with_a_similar_title_is_added_not_matched(tmp_path: Path) -> None:
    # Was: titles alone paired "Wesprzemy mniejszości narodowe" with a new pledge 0.86 alike, inventing a change.
    old = load_report()
    start = TEXT.index("Wesprzemy mniejszości narodowe\n")
    end = TEXT.index("Pomożemy promować kulturę")
    new_title = "Wesprzemy mniejszości narodowe w szkołach"
    text = (
        TEXT[:start]
        + (
            f"{new_title}\n\nUczniowie z rodzin mniejszości otrzymają stypendia i zajęcia z "
            "języka ojczystego w każdej dzielnicy.\n\nStopień realizacji zadania\n\nPlanowane jest "
            "ogłoszenie naboru w 2026 roku.\n\n"
        )
        + TEXT[end:]
    )
    assert title_similarity("Wesprzemy mniejszości narodowe", new_title) > 0.85
    diff = diff_reports(old, parse_report(_put(tmp_path, "szkoly", text)))
    assert diff.added == (new_title,) and diff.removed == ("Wesprzemy mniejszości narodowe",)
    assert not diff.changed


def test_the_threshold_separates_generated_renamings_from_other_pledges() -> None:
    from eval.pairing import generate

    scores = generate(seed=7, per_pledge=6)
    renamings = [s for k in ("title reworded", "text edited", "both") for s in scores[k]]
    others = [s for k in ("other pledge", "impostor title") for s in scores[k]]
    assert min(renamings) >= MATCH_THRESHOLD > max(others)
    titles = [p.title for p in load_report().pledges]
    assert all(title_similarity(a, b) < 0.6 for a in titles for b in titles if a != b)


def test_same_report_has_no_changes_and_pdf_equals_text(editions: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = editions
    assert diff_reports(parse_report(old), parse_report(old)).to_json() == {"changed": [], "added": [], "removed": []}
    pdf = tmp_path / "new.pdf"
    build_pdf(new.read_text(encoding="utf-8").split("\n")[:-1], pdf)  # page breaks are not changes
    assert (
        diff_reports(parse_report(old), parse_report(pdf, closing_paragraphs=1)).to_json()
        == diff_reports(parse_report(old), parse_report(new)).to_json()
    )


def test_summary_shows_every_kind_and_trimmed_diffs(editions: tuple[Path, Path]) -> None:
    text = format_diff(diff_reports(*(parse_report(p) for p in editions)))
    assert (
        "* Stworzymy ogólnodostępny gabinet opieki ginekologicznej dla kobiet\n  status label: in_progress → done\n"
    ) in text
    assert "  pledge text (1 word removed, 1 added): Zapewnimy [-bezpłatne-] {+płatne+} badania mammograficzne" in text
    assert "* Wesprzemy mniejszości narodowe i etniczne  (was: Wesprzemy mniejszości narodowe)" in text
    assert (
        "… środki finansowe z Funduszu Solidarnościowego w wysokości 1 [-689 658-] {+712 000+} zł oraz "
        "zaangażowała środki własne w wysokości 357 …"
    ) in text
    assert f"+ added: {ADDED}" in text and f"- removed: {DROPPED}" in text
    assert text.endswith("4 changed (1 label, 2 status text, 1 pledge text, 1 title), 4 unchanged, 1 added, 1 removed")


def test_editions_in_a_folder_keep_a_renamed_pledges_history_and_list_every_change(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    _put(folder, "r2025", TEXT, edition="2025")
    _put(folder, "r2026", second_edition(), edition="2026")
    library = load_report_set(folder)
    earlier = library.earlier("wesprzemy-mniejszosci-narodowe-i-etniczne")
    assert [(ed.info.edition, p.title) for ed, p in earlier] == [("2025", "Wesprzemy mniejszości narodowe")]
    assert library.earlier(next(p.id for p in library.pledges if p.title == ADDED)) == []
    assert {pid: c.kinds for pid, c in library.changes.items()} == {
        MAMMO: ("pledge_text",),
        "wesprzemy-asystentow-i-opiekunow-medycznych-osob-niesamodzielnych": ("status_text",),
        "wesprzemy-mniejszosci-narodowe-i-etniczne": ("title",),
        "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet": ("label", "status_text"),
    }
    assert list(library.status_changes) == ["stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet"]


def test_browse_lists_every_kind_of_change(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from assistant.browse import rows_html, search

    folder = tmp_path / "reports"
    _put(folder, "r2025", TEXT, edition="2025")
    _put(folder, "r2026", second_edition(), edition="2026")
    library = load_report_set(folder)
    # With no search text Browse reads only the library: the filter "changed since the last edition" on its own.
    rows = search(SimpleNamespace(library=library), "", "", True)  # a stand-in assistant
    assert {r.pledge.id for r in rows} == set(library.changes) and len(rows) == 4
    html = rows_html("en", rows, 9, library)
    assert "changed since 2025: title" in html and "changed since 2025: status, status text" in html
    assert "zmiany od wydania 2025: treść zobowiązania" in rows_html("pl", rows, 9, library)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "diff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_reports_all_four_kinds(editions: tuple[Path, Path]) -> None:
    old, new = (str(p) for p in editions)
    out = _cli(old, new, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == diff_reports(*(parse_report(p) for p in editions)).to_json()
    out = _cli(old, new)
    assert out.returncode == 0, out.stderr
    for shown in (
        "status label: in_progress → done",
        "pledge text (1 word removed, 1 added)",
        "(was: Wesprzemy mniejszości narodowe)",
        f"+ added: {ADDED}",
        "[-689 658-]",
    ):
        assert shown in out.stdout, shown


def test_cli_broken_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_text("Tytuł\n\nTreść.\n", encoding="utf-8")
    out = _cli(str(DEFAULT_REPORT), str(bad))
    assert out.returncode == 2 and "bad.pdf: is not a PDF" in out.stderr and "Traceback" not in out.stderr
    out = _cli(str(tmp_path / "missing.txt"), str(DEFAULT_REPORT))
    assert out.returncode == 2 and "missing.txt: file not found" in out.stderr
    # Without its manifest, a second edition whose closing cannot be told is refused, with the fix named.
    (tmp_path / "bare.txt").write_text(second_edition(), encoding="utf-8")
    out = _cli(str(DEFAULT_REPORT), str(tmp_path / "bare.txt"))
    assert out.returncode == 2 and "bare.txt, line " in out.stderr and '"closing_paragraphs"' in out.stderr
