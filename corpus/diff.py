"""What changed between two editions of a report: pledges matched by title, status label and text compared.

Titles are matched on normalised tokens — lower-cased, accents folded, each word cut to its first
``STEM`` letters so that Polish inflection ("narodowe"/"narodowych") does not count as a change — by
difflib's ratio over the token lists. Pairs scoring at least ``MATCH_THRESHOLD`` are assigned one to
one, best score first (exact titles score 1.0 and so always pair up first). On the real report a
reworded title ("Wesprzemy mniejszości narodowe" → "… narodowe i etniczne") scores 0.75, while the
closest unrelated pair of titles ("Wesprzemy mniejszości narodowe" / "Pomożemy promować kulturę
mniejszości narodowych") scores 0.5.

Status texts are compared with whitespace normalised (a PDF's line and page breaks are not changes);
the word diff renders removed words as ``[-…-]`` and added ones as ``{+…+}``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from corpus.model import Pledge, Report
from corpus.parser import slugify

MATCH_THRESHOLD = 0.6
STEM = 5


@dataclass(frozen=True)
class WordOp:
    """A run of words the two status texts share (``equal``) or that one of them lacks."""

    op: str  # "equal" | "delete" | "insert"
    words: tuple[str, ...]


@dataclass(frozen=True)
class PledgeChange:
    """One pledge found in both editions: titles, labels and the word diff of its status text."""

    pledge_id: str
    title: str
    title_before: str
    similarity: float
    label_before: str
    label_after: str
    status_text_changed: bool
    word_ops: tuple[WordOp, ...]

    @property
    def changed(self) -> bool:
        return self.status_text_changed or self.label_before != self.label_after

    def word_diff(self, context: int | None = None) -> str:
        """The new status text with ``[-removed-]`` and ``{+added+}`` words; ``context`` trims equal runs."""
        parts: list[str] = []
        for k, op in enumerate(self.word_ops):
            words = op.words
            if op.op == "equal" and context is not None and len(words) > 2 * context:
                head = words[:context] if k else ()
                tail = words[-context:] if k < len(self.word_ops) - 1 else ()
                words = (*head, "…", *tail)
            text = " ".join(words)
            parts.append({"equal": text, "delete": f"[-{text}-]", "insert": f"{{+{text}+}}"}[op.op])
        return " ".join(parts)

    def to_json(self) -> dict:
        return {"pledge_id": self.pledge_id, "title": self.title, "label_before": self.label_before,
                "label_after": self.label_after, "status_text_changed": self.status_text_changed,
                "word_diff": self.word_diff()}


@dataclass(frozen=True)
class ReportDiff:
    """Pledges in both editions (``matched``, in the new edition's order), added and removed titles."""

    matched: tuple[PledgeChange, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> tuple[PledgeChange, ...]:
        """Matched pledges whose label or status text differs."""
        return tuple(c for c in self.matched if c.changed)

    def to_json(self) -> dict:
        return {"changed": [c.to_json() for c in self.changed], "added": list(self.added),
                "removed": list(self.removed)}


def title_tokens(title: str) -> list[str]:
    """Accent-folded, lower-case word stems of a title."""
    return [word[:STEM] for word in slugify(title).split("-") if word]


def title_similarity(a: str, b: str) -> float:
    """difflib's ratio over the title tokens: 1.0 for the same words, 0.0 for none in common."""
    return difflib.SequenceMatcher(None, title_tokens(a), title_tokens(b), autojunk=False).ratio()


def match_pledges(old: Report, new: Report) -> list[tuple[int, int, float]]:
    """(old index, new index, similarity) for pairs at or over MATCH_THRESHOLD, one to one, best first."""
    scored = sorted(((title_similarity(o.title, n.title), i, j) for i, o in enumerate(old.pledges)
                     for j, n in enumerate(new.pledges)), key=lambda t: (-t[0], t[2], t[1]))
    used_old: set[int] = set()
    used_new: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for score, i, j in scored:
        if score < MATCH_THRESHOLD:
            break
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((i, j, score))
    return sorted(pairs, key=lambda p: p[1])


def word_ops(before: str, after: str) -> tuple[WordOp, ...]:
    """Word-level diff of two texts (whitespace ignored); a replacement is a delete then an insert."""
    a, b = before.split(), after.split()
    ops: list[WordOp] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(WordOp("equal", tuple(a[i1:i2])))
        if tag in ("delete", "replace"):
            ops.append(WordOp("delete", tuple(a[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(WordOp("insert", tuple(b[j1:j2])))
    return tuple(ops)


def _change(old: Pledge, new: Pledge, similarity: float) -> PledgeChange:
    return PledgeChange(pledge_id=new.id, title=new.title, title_before=old.title, similarity=round(similarity, 3),
                        label_before=old.status_label.label, label_after=new.status_label.label,
                        status_text_changed=old.status.text.split() != new.status.text.split(),
                        word_ops=word_ops(old.status.text, new.status.text))


def diff_reports(old: Report, new: Report) -> ReportDiff:
    """Compare two editions: every matched pledge, and the titles only one edition has."""
    pairs = match_pledges(old, new)
    matched = tuple(_change(old.pledges[i], new.pledges[j], s) for i, j, s in pairs)
    old_hit = {i for i, _, _ in pairs}
    new_hit = {j for _, j, _ in pairs}
    return ReportDiff(matched=matched,
                      added=tuple(p.title for j, p in enumerate(new.pledges) if j not in new_hit),
                      removed=tuple(p.title for i, p in enumerate(old.pledges) if i not in old_hit))


def format_diff(diff: ReportDiff, context: int = 8) -> str:
    """Readable summary: each changed pledge with its label move and word diff, then added and removed."""
    out: list[str] = []
    for c in diff.changed:
        out.append(f"* {c.title}" + (f"  (was: {c.title_before})" if c.title_before != c.title else ""))
        out.append(f"  {c.label_before} → {c.label_after}")
        if c.status_text_changed:
            out.append(f"  {c.word_diff(context)}")
    out += [f"+ added: {t}" for t in diff.added]
    out += [f"- removed: {t}" for t in diff.removed]
    unchanged = len(diff.matched) - len(diff.changed)
    out.append(f"{len(diff.changed)} changed, {unchanged} unchanged, {len(diff.added)} added, "
               f"{len(diff.removed)} removed")
    return "\n".join(out)
