"""The build is the one thing served: a reports folder with editions and a PDF builds; answers cite the copies in
the build; a broken folder leaves the last good build serving with true citations; two builds at once; abstention
calibrated to the report set (fake encoder: deterministic, no model)."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from corpus import CORPUS_DIR, DEFAULT_REPORT, code_sha256
from index.build import calibrate
from index.fake import FakeEncoder
from index.store import load_index
from settings import Settings

MANIFEST = {
    "title": "Sprawozdanie ze stopnia realizacji zobowiązań programowych",
    "section": "Kraków — miasto równych szans",
    "publisher": "Urząd Miasta Krakowa",
    "url": "https://www.krakow.pl/raport",
    "closing_paragraphs": 1,
}


def _edition(folder: Path, name: str, edition: str, text: str | None = None, pdf: bool = False) -> None:
    text = DEFAULT_REPORT.read_text(encoding="utf-8") if text is None else text
    if pdf:
        from pdf_maker import build_pdf

        build_pdf(text.split("\n"), folder / f"{name}.pdf")
    else:
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    (folder / f"{name}.json").write_text(json.dumps({**MANIFEST, "edition": edition}), encoding="utf-8")


def _one_report(tmp_path: Path) -> tuple[Path, Settings]:
    """A reports folder with the bundled report as one edition, and settings that serve it."""
    folder = tmp_path / "reports"
    folder.mkdir()
    _edition(folder, "raport", "2025")
    return folder, _settings(tmp_path, folder)


def _settings(tmp_path: Path, folder: Path) -> Settings:
    return replace(Settings(), reports=folder, index_dir=tmp_path / "index", abstain_margin=-10, abstain_margins="")


def _load(settings: Settings, said: list[str] | None = None) -> Assistant:
    return Assistant.load(settings, encoder=FakeEncoder(), log_fn=(said.append if said is not None else lambda m: None))


def test_two_editions_and_a_pdf_build_and_cite_their_copies(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    old = DEFAULT_REPORT.read_text(encoding="utf-8").replace(
        "Postulat został zrealizowany. Od 1 maja", "Planowane jest powołanie pełnomocnika. Od 1 maja"
    )
    _edition(folder, "raport-2024", "2024", old)
    _edition(folder, "raport-2025", "2025", pdf=True)
    a = _load(_settings(tmp_path, folder))
    assert [ed.info.edition for ed in a.library] == ["2024", "2025"]
    ans = a.ask("pełnomocnik ds. przeciwdziałania przemocy w rodzinie", top_k=1)
    top = ans.answers[0]
    assert top.report["edition"] == "2025" and top.report["url"] == "https://www.krakow.pl/raport"
    assert top.status_change == {"since": "2024", "before": "planned", "after": "done"}
    build = Path(a.settings.index_dir / "current").resolve()
    for c in top.citations:
        assert c.source == "sources/raport-2025.pdf.txt" and c.page is not None and c.page >= 1
        copy = (build / c.source).read_text(encoding="utf-8").split("\n")
        assert c.text == "\n".join(copy[c.start_line - 1 : c.end_line])
    assert (build / "sources" / "original" / "raport-2025.pdf").read_bytes()[:5] == b"%PDF-"
    doc = ans.to_json()["answers"][0]
    assert {"key", "title", "section", "edition"} <= set(doc["report"]) and doc["citations"][0]["page"] >= 1
    # the older edition stays reachable: Browse shows it under the pledge
    from assistant.cards import library_card
    from corpus.translated import Translations

    card = library_card("en", a.library, a.library.by_id(top.pledge_id), Translations())
    assert "Earlier editions of this pledge" in card and "Planowane jest powołanie pełnomocnika" in card


def test_a_broken_folder_leaves_the_last_good_build_serving_with_true_citations(tmp_path: Path) -> None:
    folder, settings = _one_report(tmp_path)
    _load(settings)
    (folder / "raport.txt").write_text("Tytuł\n\nTreść.\n", encoding="utf-8")  # broken: no status line
    said: list[str] = []
    serving = _load(settings, said)
    assert any(m.startswith("ERROR: ") and "raport.txt, line 3" in m and "last good index" in m for m in said)
    build = Path(settings.index_dir / "current").resolve()
    for answer in serving.ask("opieka wytchnieniowa", top_k=2).answers:
        for c in answer.citations:  # the copy in the build, not the broken live file
            lines = (build / c.source).read_text(encoding="utf-8").split("\n")
            assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])


def test_a_build_of_other_parser_code_is_not_served_as_the_last_good_one(tmp_path: Path) -> None:
    folder, settings = _one_report(tmp_path)
    _load(settings)
    current = Path(settings.index_dir / "current").resolve()
    manifest = json.loads((current / "manifest.json").read_text())
    (current / "manifest.json").write_text(json.dumps({**manifest, "parser_sha256": "0" * 64}))
    (folder / "raport.txt").write_text("", encoding="utf-8")
    with pytest.raises(Exception, match="raport.txt: file is empty"):
        _load(settings)


def test_a_change_to_the_status_rules_or_parser_rebuilds_without_a_version_bump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The manifest records the hash of corpus/'s own code: editing any of it changes the hash.
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "reports", "translations"))
    before = code_sha256(copy)
    assert before == code_sha256(CORPUS_DIR)
    with open(copy / "status.py", "a", encoding="utf-8") as f:
        f.write("# a changed rule\n")
    assert code_sha256(copy) != before
    # …and a build recorded with other code is stale: the next load rebuilds it, saying why.
    _, settings = _one_report(tmp_path)
    _load(settings)
    built = json.loads((settings.index_dir / "current" / "manifest.json").read_text())
    assert built["parser_sha256"] == before and "parser_version" not in built
    monkeypatch.setattr("index.build.code_sha256", lambda: code_sha256(copy))
    said: list[str] = []
    _load(settings, said)
    assert any("stale (parser_sha256 was" in m for m in said) and any("index rebuilt" in m for m in said)


def test_a_report_file_without_a_manifest_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    _edition(folder, "raport", "2025")
    shutil.copy(DEFAULT_REPORT, folder / "inny.txt")
    with pytest.raises(Exception, match="no manifest inny.json beside it"):
        _load(_settings(tmp_path, folder))


def test_two_builds_at_once_both_finish_and_leave_a_loadable_index(tmp_path: Path) -> None:
    folder, settings = _one_report(tmp_path)
    from index.build import rebuild

    errors: list[BaseException] = []

    def build() -> None:
        try:
            rebuild(settings, FakeEncoder(), force=True, log=lambda m: None)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    builds = [p for p in (settings.index_dir / "builds").iterdir()]
    assert 1 <= len(builds) <= 2 and not [p for p in builds if p.name.startswith(".")]
    assert load_index(settings.index_dir).pledge_ids


def test_calibration_drops_background_that_would_refuse_the_reports_own_subject() -> None:
    rng = np.random.default_rng(0)
    units = rng.standard_normal((6, 8)).astype(np.float32)
    units /= np.linalg.norm(units, axis=1, keepdims=True)
    questions = units[:3] * 0.9 + 0.1 * rng.standard_normal((3, 8)).astype(np.float32)
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    # row 0 is closer to a pseudo-question than any unit of the report: it would refuse the report's own subject
    background = np.vstack([questions[0], -units[1], rng.standard_normal(8)]).astype(np.float32)
    background /= np.linalg.norm(background, axis=1, keepdims=True)
    keep, info = calibrate(questions, units, np.ones(6, dtype=bool), background, -0.01)
    assert keep.tolist() == [False, True, True] and info["dropped_background"] == [0]
    best = (questions @ units.T).max(axis=1)
    kept = background[keep]
    margins = best - np.sort(questions @ kept.T, axis=1)[:, -3:].mean(axis=1)
    assert (margins >= -0.01).all()


TRANSPORT = """Komunikacja miejska w Krakowie.

Obniżymy ceny biletów tramwajowych

Bilet miesięczny na tramwaje i autobusy będzie tańszy dla mieszkańców. Wprowadzimy bilet dobowy dla turystów.

Stopień realizacji zadania

Ceny biletów miesięcznych obniżono od stycznia. Trwają prace nad biletem dobowym.

Zbudujemy nowe linie tramwajowe

Nowa linia tramwajowa połączy centrum z osiedlami na południu miasta.

Stopień realizacji zadania

Trwa budowa linii tramwajowej.
"""


def test_a_different_topic_report_is_not_refused_on_its_own_subject(tmp_path: Path) -> None:
    """background_pl.txt holds passages about tram tickets; with a transport report in the set they must go."""
    folder = tmp_path / "reports"
    folder.mkdir()
    _edition(folder, "raport", "2025")
    (folder / "transport.txt").write_text(TRANSPORT, encoding="utf-8")
    (folder / "transport.json").write_text(
        json.dumps({**MANIFEST, "section": "Komunikacja", "edition": "2025", "closing_paragraphs": 0})
    )
    settings = replace(_settings(tmp_path, folder), abstain_margin=Settings().abstain_margin)
    a = _load(settings)
    assert a.index.manifest["calibration"]["pseudo_questions"] > len(a.library.pledges)
    for p in a.library.pledges:
        ans = a.ask(p.title, top_k=1)
        assert not ans.abstained, p.title
    ans = a.ask("Obniżymy ceny biletów tramwajowych", top_k=1, report="komunikacja")
    assert ans.answers[0].report["section"] == "Komunikacja"
