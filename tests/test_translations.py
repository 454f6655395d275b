"""Unofficial translations: every one names the hash of the Polish text it translates; a stale one is hidden;
and (real model) each translation is closer to its own Polish passage than to any other passage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from corpus.reports import load_report_set
from corpus.translated import FIELDS, LANGUAGES, TRANSLATIONS_DIR, Translations, polish_fields, sha256


@pytest.fixture(scope="module")
def pledges():
    return load_report_set().pledges


def test_every_pledge_has_current_translations(pledges) -> None:
    tr = Translations()
    assert tr.stale(pledges) == []
    for p in pledges:
        for lang in LANGUAGES:
            shown = tr.for_pledge(p, lang)
            assert shown is not None and set(shown.fields) == set(FIELDS), (lang, p.id)
    assert tr.for_pledge(pledges[0], "pl") is None  # Polish readers read the report itself
    assert tr.for_pledge(pledges[0], "de").lang == "en"  # other languages get English


def test_a_stale_translation_is_hidden(pledges, tmp_path: Path) -> None:
    folder = tmp_path / "tr"
    shutil.copytree(TRANSLATIONS_DIR, folder)
    doc = json.loads((folder / "en.json").read_text(encoding="utf-8"))
    doc["pledges"][pledges[0].id]["pledge"]["source_sha256"] = sha256("an older wording of the pledge")
    (folder / "en.json").write_text(json.dumps(doc), encoding="utf-8")
    tr = Translations(folder)
    assert tr.stale(pledges) == [("en", pledges[0].id, "pledge")]
    assert set(tr.for_pledge(pledges[0], "en").fields) == {"title", "status"}  # only the current fields
    assert set(tr.for_pledge(pledges[0], "uk").fields) == set(FIELDS)


def test_stale_translation_is_not_rendered(pledges, tmp_path: Path) -> None:
    from assistant.cards import translation_html

    folder = tmp_path / "tr"
    shutil.copytree(TRANSLATIONS_DIR, folder)
    doc = json.loads((folder / "uk.json").read_text(encoding="utf-8"))
    for field in doc["pledges"][pledges[1].id].values():
        field["source_sha256"] = "0" * 64
    (folder / "uk.json").write_text(json.dumps(doc), encoding="utf-8")
    tr = Translations(folder)
    assert translation_html("uk", tr.for_pledge(pledges[1], "uk")) == ""
    assert "Неофіційний переклад" in translation_html("uk", tr.for_pledge(pledges[0], "uk"))


def _best_matches(enc, polish_texts: list[str], translated: list[str]) -> list[int]:
    """For each translation, the index of the Polish passage it is closest to (cross-lingual cosine)."""
    polish = np.asarray(enc.encode_passages(polish_texts))
    sims = np.asarray(enc.encode_queries(translated)) @ polish.T
    return [int(np.argmax(row)) for row in sims]


@pytest.mark.model
def test_each_translation_matches_its_own_passage_best(real_assistant) -> None:
    """Cross-lingual cosine with the project's model: a swapped or stale translation would match another
    passage better than the one it claims to translate. Pledge and status passages are checked one by one;
    titles inside the whole entry (title + pledge + status), because two short titles ("We will support
    national minorities" / "… promote the culture of national minorities") are too alike for the model alone."""
    pledges = real_assistant.library.pledges
    tr = Translations()
    enc = real_assistant.encoder
    for lang in LANGUAGES:
        for field in ("pledge", "status"):
            polish = [polish_fields(p)[field] for p in pledges]
            best = _best_matches(enc, polish, [tr.entries[lang][p.id][field]["text"] for p in pledges])
            assert best == list(range(len(pledges))), f"{lang} {field}: {best}"
        whole = [" ".join(polish_fields(p).values()) for p in pledges]
        translated = [" ".join(tr.entries[lang][p.id][f]["text"] for f in FIELDS) for p in pledges]
        assert _best_matches(enc, whole, translated) == list(range(len(pledges))), lang
