"""Unofficial translations of the report's pledges (corpus/translations/{en,uk}.json), kept only while current.

Each translated field (title, pledge, status) names the SHA-256 of the Polish text it translates. When the
report changes, the Polish text's hash changes and that field is no longer shown: a reader then sees only the
Polish quote, never a translation of words the report no longer says. The Polish quote stays the evidence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.model import Pledge

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LANGUAGES = ("en", "uk")
FIELDS = ("title", "pledge", "status")


def sha256(text: str) -> str:
    """The hash a translation entry names for the Polish text it translates."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def polish_fields(pledge: Pledge) -> dict[str, str]:
    """The Polish texts a translation entry translates, by field."""
    return {"title": pledge.title, "pledge": pledge.pledge.text, "status": pledge.status.text}


@dataclass(frozen=True)
class Translated:
    """The current translated fields of one pledge in one language (a stale field is absent)."""

    lang: str
    fields: dict[str, str]


class Translations:
    """Translation files loaded once; ``for_pledge`` returns only fields whose source hash still matches."""

    def __init__(self, folder: Path | str = TRANSLATIONS_DIR) -> None:
        self.folder = Path(folder)
        self.entries: dict[str, dict[str, Any]] = {}
        for lang in LANGUAGES:
            path = self.folder / f"{lang}.json"
            # A missing file means no translation for that language (Polish only), not a broken app.
            self.entries[lang] = json.loads(path.read_text(encoding="utf-8"))["pledges"] if path.exists() else {}

    @staticmethod
    def language_for(ui_lang: str) -> str | None:
        """Which translation a reader gets: none for Polish, their own for EN/UK, English for the rest."""
        if ui_lang == "pl":
            return None
        return ui_lang if ui_lang in LANGUAGES else "en"

    def for_pledge(self, pledge: Pledge, ui_lang: str) -> Translated | None:
        """The pledge's current translated fields for a reader of ``ui_lang``, or None when there are none."""
        lang = self.language_for(ui_lang)
        entry = self.entries.get(lang or "", {}).get(pledge.id)
        if lang is None or not entry:
            return None
        source = polish_fields(pledge)
        fields = {
            f: entry[f]["text"]
            for f in FIELDS
            if f in entry and entry[f].get("source_sha256") == sha256(source[f]) and entry[f].get("text")
        }
        return Translated(lang, fields) if fields else None

    def stale(self, pledges: list[Pledge] | tuple[Pledge, ...]) -> list[tuple[str, str, str]]:
        """(language, pledge id, field) of every translated field whose Polish source has changed."""
        out = []
        for p in pledges:
            source = polish_fields(p)
            for lang in LANGUAGES:
                entry = self.entries[lang].get(p.id, {})
                out += [
                    (lang, p.id, f) for f in FIELDS if f in entry and entry[f].get("source_sha256") != sha256(source[f])
                ]
        return out
