"""Help contacts (corpus/contacts.json) beside answers about violence and "not in the report" answers.

Each contact is for ``safety`` (112, the domestic-violence line) or ``general`` (the city's contact centre).
The safety numbers go with the pledges the file lists (``pledges``: violence at home and at work) and with
refusals close to them: a question the report does not cover whose best listed pledge still scores within
``Settings.contacts_safety_margin`` of the closest general city topic (chosen on tune, python -m
eval.contacts), or a refusal in a conversation that was about one. Other refusals get the general contact; an
answer about another pledge gets none. Which pledges and numbers is data, so an operator can change them without
a code change. The assistant attaches them to the ``Answer`` itself (``help_contacts``), so the CLI, the JSON API
and any front end built on it carry them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings import Settings


class ContactsError(ValueError):
    """The contacts file cannot be used; the message names the file, what is wrong and the fix."""


@dataclass(frozen=True)
class HelpContact:
    """One help number with its text in the reply's language."""

    phone: str
    text: str


KINDS = ("safety", "general")


@dataclass(frozen=True)
class Contacts:
    """The contacts file: entries (phone, text per language, ``for`` safety or general), the pledges the safety
    numbers go with, and whether refusals get contacts at all."""

    entries: tuple[dict[str, Any], ...]
    pledges: frozenset[str]
    on_refusal: bool

    @classmethod
    def load(cls, path: Path | str | None = None) -> Contacts:
        """Read and check the file (default: ``Settings().contacts_file``); a broken file stops the app with the
        reason, since a helpline must not vanish quietly."""
        path = Path(path) if path is not None else Settings().contacts_file
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ContactsError(
                f"{path}: cannot read the help contacts ({exc}); restore the file from git or fix its JSON"
            ) from None
        problems = _problems(doc)
        if problems:
            raise ContactsError(f"{path}: " + "; ".join(problems) + " (see the file's 'note'; git has the original)")
        return cls(tuple(doc["contacts"]), frozenset(doc["pledges"]), doc["show_when_not_in_report"])

    def kinds_for(self, pledge_ids: list[str], abstained: bool, near_safety: bool = False) -> tuple[str, ...]:
        """Which contacts an answer gets: safety ones for a listed pledge or a refusal close to one (then the
        general one too), the general one for another refusal, none for an answer about another pledge."""
        if abstained:
            return () if not self.on_refusal else ("safety", "general") if near_safety else ("general",)
        return ("safety",) if any(p in self.pledges for p in pledge_ids) else ()

    def lines(self, lang: str, kinds: tuple[str, ...] = KINDS) -> list[HelpContact]:
        """The numbers of ``kinds`` with their text in ``lang`` (English for languages the file does not have)."""
        return [
            HelpContact(e["phone"], e["text"].get(lang) or e["text"]["en"])
            for kind in kinds
            for e in self.entries
            if e.get("for", "safety") == kind
        ]

    def safety_shown(self, shown: list[HelpContact], lang: str) -> bool:
        """Whether the contacts an answer carries (in ``lang``) include a safety number: the app then shows them
        before the quotes."""
        return bool(set(shown) & set(self.lines(lang, ("safety",))))

    def for_answer(
        self, pledge_ids: list[str], abstained: bool, lang: str, *, near_safety: bool = False
    ) -> list[HelpContact]:
        """The contacts an answer showing ``pledge_ids`` (or refusing, ``near_safety`` or not) carries."""
        return self.lines(lang, self.kinds_for(pledge_ids, abstained, near_safety))


def _problems(doc: object) -> list[str]:
    """What is wrong with a parsed contacts file, every problem at once (empty: nothing)."""
    if not isinstance(doc, dict):
        return [
            f"expected a JSON object with 'contacts', 'pledges' and 'show_when_not_in_report', not {type(doc).__name__}"
        ]
    problems = []
    entries = doc.get("contacts")
    if not isinstance(entries, list) or not entries:
        problems.append('\'contacts\' must be a non-empty list of {"phone": …, "text": {"pl", "en", "uk"}}')
        entries = []
    for i, entry in enumerate(entries, 1):
        entry = entry if isinstance(entry, dict) else {}
        text = entry.get("text")
        text = text if isinstance(text, dict) else {}
        missing = ([] if _filled(entry.get("phone")) else ["phone"]) + [
            f"text.{k}" for k in ("pl", "en", "uk") if not _filled(text.get(k))
        ]
        missing += [f"text.{k}" for k, v in text.items() if k not in ("pl", "en", "uk") and not _filled(v)]
        if missing:
            problems.append(
                f"contact {i} needs 'phone' and text in pl, en, uk as non-empty strings "
                f"(missing or not text: {', '.join(missing)})"
            )
        if entry.get("for", "safety") not in KINDS:
            problems.append(f'contact {i}: \'for\' is {entry.get("for")!r}; use "safety" or "general"')
    pledges = doc.get("pledges")
    if not isinstance(pledges, list) or not all(_filled(p) for p in pledges):
        problems.append("'pledges' must be a list of pledge ids (strings; GET /api/pledges lists them)")
    if not isinstance(doc.get("show_when_not_in_report"), bool):
        problems.append("'show_when_not_in_report' must be true or false (without quotes)")
    return problems


def _filled(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
