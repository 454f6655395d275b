"""Help contacts (corpus/contacts.json) beside answers about violence and "not in the report" answers.

Which pledges get them is data too (the file's ``pledges`` list), so an operator can add a pledge or a number
without a code change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CONTACTS_FILE = Path(__file__).resolve().parent.parent / "corpus" / "contacts.json"


@dataclass(frozen=True)
class Contacts:
    """The contacts file: entries (phone + text per language), the pledges they go with, and refusals."""

    entries: tuple[dict, ...]
    pledges: frozenset[str]
    on_refusal: bool

    @classmethod
    def load(cls, path: Path | str = CONTACTS_FILE) -> Contacts:
        """Read and check the file; a broken file stops the app with the reason (a helpline must not vanish)."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        for i, entry in enumerate(doc.get("contacts", [])):
            missing = [k for k in ("pl", "en", "uk") if not entry.get("text", {}).get(k)]
            if not entry.get("phone") or missing:
                raise ValueError(f"{path}: contact {i + 1} needs 'phone' and text in pl, en, uk (missing {missing})")
        return cls(tuple(doc.get("contacts", [])), frozenset(doc.get("pledges", [])),
                   bool(doc.get("show_when_not_in_report", False)))

    def applies(self, pledge_ids: list[str], abstained: bool) -> bool:
        """Whether an answer showing ``pledge_ids`` (or refusing) gets the contacts."""
        return (abstained and self.on_refusal) or any(p in self.pledges for p in pledge_ids)

    def lines(self, lang: str) -> list[tuple[str, str]]:
        """(phone, text) in ``lang`` (English for languages the file does not have)."""
        return [(e["phone"], e["text"].get(lang) or e["text"]["en"]) for e in self.entries]
