"""A folder of reports with manifests: the refusals, editions, keys and qualified pledge ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pdf_maker import build_pdf

from corpus import DEFAULT_REPORT, ReportFormatError
from corpus.reports import ReportInfo, ReportSetError, edition_order, load_report_set

TEXT = DEFAULT_REPORT.read_text(encoding="utf-8")
TITLE = "Sprawozdanie ze stopnia realizacji zobowiązań programowych"
SECTION = "Kraków — miasto równych szans"


def _manifest(**changes: object) -> dict:
    base = {
        "title": TITLE,
        "section": SECTION,
        "edition": "2025",
        "publisher": "Urząd Miasta Krakowa",
        "url": None,
        "closing_paragraphs": 1,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v != "<drop>"}


def _put(folder: Path, name: str, text: str | None = TEXT, manifest: dict | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    if text is not None:
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    if manifest is not None:
        (folder / f"{name}.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder


def _refusal(folder: Path) -> str:
    with pytest.raises(ReportSetError) as err:
        load_report_set(folder)
    return str(err.value)


def test_report_without_manifest_names_the_missing_json(tmp_path: Path) -> None:
    msg = _refusal(_put(tmp_path / "r", "krakow-2025"))
    assert "no manifest krakow-2025.json" in msg and '"edition"' in msg and '"url"' in msg


def test_manifest_without_report(tmp_path: Path) -> None:
    msg = _refusal(_put(tmp_path / "r", "krakow-2025", text=None, manifest=_manifest()))
    assert "krakow-2025.json: no report file krakow-2025.txt or krakow-2025.pdf" in msg


@pytest.mark.parametrize("field", ["title", "section", "edition", "publisher", "url"])
def test_missing_field_is_named(tmp_path: Path, field: str) -> None:
    msg = _refusal(_put(tmp_path / "r", "a", manifest=_manifest(**{field: "<drop>"})))
    assert f"a.json: field {field!r} is missing; expected it with" in msg


@pytest.mark.parametrize(
    "field, value, hint",
    [
        ("title", 2025, "a non-empty string"),
        ("section", "  ", "a non-empty string"),
        ("publisher", None, "a non-empty string"),
        ("url", 3, "or null"),
        ("edition", "czerwiec 2025", '"YYYY", "YYYY-MM" or "YYYY-MM-DD"'),
        ("edition", "2025-13", "YYYY-MM"),
        ("edition", 20.25, "YYYY-MM"),
        ("closing_paragraphs", "1", "a whole number"),
        ("closing_paragraphs", True, "a whole number"),
        ("pledges", 0, "a whole number ≥ 1"),
        ("pledges", "9", "how many pledges"),
        ("examples", ["q"], "example questions per language"),
        ("examples", {"pl": [""]}, "example questions per language"),
    ],
)
def test_wrongly_typed_field_is_named(tmp_path: Path, field: str, value: object, hint: str) -> None:
    msg = _refusal(_put(tmp_path / "r", "a", manifest=_manifest(**{field: value})))
    assert f"a.json: field {field!r} is {value!r}; expected" in msg and hint in msg


def test_unknown_field_is_named(tmp_path: Path) -> None:
    msg = _refusal(_put(tmp_path / "r", "a", manifest={**_manifest(), "titel": "x"}))
    assert "unknown field 'titel'" in msg and "check the spelling" in msg


def test_broken_json(tmp_path: Path) -> None:
    folder = _put(tmp_path / "r", "a")
    (folder / "a.json").write_text("{title: 1", encoding="utf-8")
    assert "a.json: not valid UTF-8 JSON" in _refusal(folder)


def test_same_edition_twice(tmp_path: Path) -> None:
    folder = _put(tmp_path / "r", "a", manifest=_manifest(edition="2025-06"))
    _put(folder, "b", manifest=_manifest(edition="2025-06"))
    msg = _refusal(folder)
    assert "edition '2025-06'" in msg and "a.txt" in msg and "b.txt" in msg and "'edition' in one manifest" in msg


def test_empty_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("notes", encoding="utf-8")
    assert "no reports in the folder" in _refusal(tmp_path / "empty")
    assert "reports folder not found" in _refusal(tmp_path / "nowhere")


def test_txt_and_pdf_with_one_name(tmp_path: Path) -> None:
    folder = _put(tmp_path / "r", "a", manifest=_manifest())
    (folder / "a.pdf").write_bytes(b"%PDF-1.7\n")
    assert "same name" in _refusal(folder)


def test_broken_report_file_names_file_and_line(tmp_path: Path) -> None:
    folder = _put(tmp_path / "r", "a", text="Tytuł\n\nTreść.\n", manifest=_manifest())
    with pytest.raises(ReportFormatError, match=r"a\.txt, line 3: no line reads"):
        load_report_set(folder)


def test_the_manifests_parsing_fields_reach_the_parser(tmp_path: Path) -> None:
    folder = _put(tmp_path / "r", "a", manifest=_manifest(closing_paragraphs=0, pledges=9))
    last = load_report_set(folder).latest()[0].report
    assert last.closing is None and last.pledges[-1].status.text.endswith("rozwój naszego miasta.")
    _put(folder, "a", manifest=_manifest(pledges=8))
    with pytest.raises(ReportFormatError, match=r'a\.txt, line 154: found 9 pledges .*"pledges": 8; expected 8'):
        load_report_set(folder)
    _put(folder, "a", manifest=_manifest(closing_paragraphs="<drop>"))
    with pytest.raises(ReportFormatError, match=r"a\.txt, line 166: 2 paragraphs follow the last"):
        load_report_set(folder)


def test_edition_order() -> None:
    assert sorted(["2026", "2025-06-30", "2025", "2025-01"], key=edition_order) == [
        "2025",
        "2025-01",
        "2025-06-30",
        "2026",
    ]
    with pytest.raises(ValueError):
        edition_order("2025-02-30")


def _older_edition() -> str:
    # The 2024 edition: the same pledges, the first status still planned.
    start = TEXT.index("W odpowiedzi na rosnące zapotrzebowanie")
    last = "identyfikowania znamion mobbingu i dyskryminacji."
    end = TEXT.index(last, start) + len(last)
    return TEXT[:start] + "Planowane jest powołanie zespołu rzeczników pracowników." + TEXT[end:]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two text editions of the Kraków section and a PDF of another district's section."""
    folder = tmp_path_factory.mktemp("reports")
    _put(folder, "krakow-2025", manifest=_manifest(edition="2025-06-30", url="https://www.krakow.pl/"))
    _put(folder, "krakow-2024", text=_older_edition(), manifest=_manifest(edition=2024))
    build_pdf(TEXT.split("\n")[:-1], folder / "nowa-huta.pdf")
    _put(
        folder,
        "nowa-huta",
        text=None,
        manifest=_manifest(
            section="Nowa Huta — dzielnica równych szans", edition="2025-03", publisher="Rada Dzielnicy XVIII"
        ),
    )
    (folder / "README.md").write_text("Other files are left alone.", encoding="utf-8")
    return folder


def test_folder_groups_editions_and_orders_them(folder: Path) -> None:
    rs = load_report_set(folder)
    assert rs.keys() == ["krakow-miasto-rownych-szans", "nowa-huta-dzielnica-rownych-szans"]
    krakow = rs.editions["krakow-miasto-rownych-szans"]
    assert [e.info.edition for e in krakow] == ["2024", "2025-06-30"]
    assert [e.info.file for e in rs.latest()] == [str(folder / "krakow-2025.txt"), str(folder / "nowa-huta.pdf")]
    assert krakow[-1].info == ReportInfo(
        title=TITLE,
        section=SECTION,
        edition="2025-06-30",
        publisher="Urząd Miasta Krakowa",
        url="https://www.krakow.pl/",
        file=str(folder / "krakow-2025.txt"),
    )
    assert krakow[0].report.pledges[0].status_label.label == "planned"
    assert krakow[1].report.pledges[0].status_label.label == "done"
    pdf = rs.editions["nowa-huta-dzielnica-rownych-szans"][0]
    assert pdf.report.pledges[0].title_passage.span.page == 1 and len(pdf.report.pledges) == 9
    assert len(list(rs)) == 3


def test_shared_pledge_ids_are_qualified_in_every_edition(folder: Path, report) -> None:
    rs = load_report_set(folder)
    ids = [p.id for e in rs.latest() for p in e.report.pledges]
    assert len(ids) == len(set(ids)) == 18
    first = report.pledges[0].id
    assert [e.report.pledges[0].id for e in rs] == [f"krakow-miasto-rownych-szans.{first}"] * 2 + [
        f"nowa-huta-dzielnica-rownych-szans.{first}"
    ]
    assert rs.latest()[0].report.by_id(f"krakow-miasto-rownych-szans.{first}").title == report.pledges[0].title


def test_ids_stay_plain_without_a_clash_and_keys_use_the_title_when_sections_clash(tmp_path: Path, report) -> None:
    folder = _put(tmp_path / "one", "a", manifest=_manifest())
    assert [p.id for p in load_report_set(folder).latest()[0].report.pledges] == [p.id for p in report.pledges]
    _put(
        folder,
        "b",
        text=TEXT.replace("Wesprzemy mniejszości narodowe", "Wesprzemy mniejszości etniczne"),
        manifest=_manifest(title="Raport roczny"),
    )
    rs = load_report_set(folder)
    assert rs.keys() == [
        "raport-roczny-krakow-miasto-rownych-szans",
        "sprawozdanie-ze-stopnia-realizacji-zobowiazan-programowych-krakow-miasto-rownych-szans",
    ]
    ids = {p.id for e in rs.latest() for p in e.report.pledges}
    assert "wesprzemy-mniejszosci-etniczne" in ids and "wesprzemy-mniejszosci-narodowe" in ids  # unshared: plain
    assert f"raport-roczny-krakow-miasto-rownych-szans.{report.pledges[0].id}" in ids
