"""Help contacts (corpus/contacts.json) beside answers about violence and "not in the report" answers.

Which pledges get them is data too (the file's ``pledges`` list), so an operator can add a pledge or a number
without a code change. The assistant attaches them to the ``Answer`` itself (``help_contacts``), so the CLI,
the JSON API and any front end built on it carry them, not only the web app.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CONTACTS_FILE = Path(__file__).resolve().parent.parent / "corpus" / "contacts.json"


class ContactsError(ValueError):
    """The contacts file cannot be used; the message names the file, what is wrong and the fix."""


@dataclass(frozen=True)
class HelpContact:
    """One help number with its text in the reply's language."""

    phone: str
    text: str


@dataclass(frozen=True)
class Contacts:
    """The contacts file: entries (phone + text per language), the pledges they go with, and refusals."""

    entries: tuple[dict, ...]
    pledges: frozenset[str]
    on_refusal: bool

    @classmethod
    def load(cls, path: Path | str = CONTACTS_FILE) -> Contacts:
        """Read and check the file; a broken file stops the app with the reason (a helpline must not vanish)."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ContactsError(f"{path}: cannot read the help contacts ({exc}); restore the file from git "
                                "or fix its JSON") from None
        if not isinstance(doc, dict):
            raise ContactsError(f"{path}: expected a JSON object with 'contacts', 'pledges' and "
                                f"'show_when_not_in_report', not {type(doc).__name__}")
        for i, entry in enumerate(doc.get("contacts", [])):
            text = entry.get("text") if isinstance(entry, dict) else None
            missing = [k for k in ("pl", "en", "uk") if not (isinstance(text, dict) and text.get(k))]
            if not isinstance(entry, dict) or not entry.get("phone") or missing:
                raise ContactsError(f"{path}: contact {i + 1} needs 'phone' and text in pl, en, uk "
                                    f"(missing {missing or ['phone']})")
        return cls(tuple(doc.get("contacts", [])), frozenset(doc.get("pledges", [])),
                   bool(doc.get("show_when_not_in_report", False)))

    def applies(self, pledge_ids: list[str], abstained: bool) -> bool:
        """Whether an answer showing ``pledge_ids`` (or refusing) gets the contacts."""
        return (abstained and self.on_refusal) or any(p in self.pledges for p in pledge_ids)

    def lines(self, lang: str) -> list[HelpContact]:
        """The numbers with their text in ``lang`` (English for languages the file does not have)."""
        return [HelpContact(e["phone"], e["text"].get(lang) or e["text"]["en"]) for e in self.entries]

    def for_answer(self, pledge_ids: list[str], abstained: bool, lang: str) -> list[HelpContact]:
        """The contacts an answer showing ``pledge_ids`` (or refusing) carries: all of them, or none."""
        return self.lines(lang) if self.applies(pledge_ids, abstained) else []
