"""What changed between two editions of a report: pledges paired by content, every kind of change reported.

Pledges are paired by their content — title and pledge text together — so a reworded title keeps its pledge and a
new pledge that merely shares words with an old title is not taken for it. Texts are compared as word stems
(lower case, accents folded, each word cut to its first ``STEM`` letters, so Polish inflection is no change) with
difflib's ratio; ``content_similarity`` weighs the pledge text ``TEXT_WEIGHT`` and the title the rest. Pairs
scoring at least ``MATCH_THRESHOLD`` are assigned one to one, best first; a pledge left without a partner is
reported as added or removed, never matched to something less alike. Only words of 4 letters or more count (w,
i, na, dla are in every pledge). The weight and the threshold were chosen on generated renamings of the bundled
report's pledges (``python -m eval.pairing``: reworded titles, edited texts, both at once, against every other
pledge and against other pledges given a near copy of the title): with the text weighted 0.7, the lowest
renaming scores 0.534 and the highest other pledge 0.435 (seed 0; the threshold is half way); seeds 1–3 then
pair every renaming and no other pledge (lowest renaming 0.60, highest other 0.435). Weighted 0.5 or 0.6 the
two overlap (an impostor title over another text reaches 0.52–0.60).

For each pair the diff reports four kinds of change: the status label moving, the status text, the pledge text
and the title — texts with whitespace normalised (a PDF's line and page breaks are not changes), each with its
word-level diff (removed words as ``[-…-]``, added ones as ``{+…+}``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from corpus.model import Pledge, Report
from corpus.parser import slugify

MATCH_THRESHOLD = 0.485
TEXT_WEIGHT = 0.7
STEM = 5
KINDS = ("label", "status_text", "pledge_text", "title")


@dataclass(frozen=True)
class WordOp:
    """A run of words the two texts share (``equal``) or that one of them lacks."""

    op: str  # "equal" | "delete" | "insert"
    words: tuple[str, ...]


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


def render_ops(ops: tuple[WordOp, ...], context: int | None = None) -> str:
    """The new text with ``[-removed-]`` and ``{+added+}`` words; ``context`` trims long equal runs to that many
    words on each side of a change."""
    parts: list[str] = []
    for k, op in enumerate(ops):
        words = op.words
        if op.op == "equal" and context is not None and len(words) > 2 * context:
            head = words[:context] if k else ()
            tail = words[-context:] if k < len(ops) - 1 else ()
            words = (*head, "…", *tail)
        text = " ".join(words)
        parts.append({"equal": text, "delete": f"[-{text}-]", "insert": f"{{+{text}+}}"}[op.op])
    return " ".join(parts)


def word_summary(ops: tuple[WordOp, ...]) -> str:
    """How many words were removed and added: '1 word removed, 1 added'."""
    removed = sum(len(op.words) for op in ops if op.op == "delete")
    added = sum(len(op.words) for op in ops if op.op == "insert")
    return f"{removed} word{'s' if removed != 1 else ''} removed, {added} added"


@dataclass(frozen=True)
class PledgeChange:
    """One pledge found in both editions: its ids, titles, labels and the word diffs of its texts."""

    pledge_id: str
    pledge_id_before: str
    title: str
    title_before: str
    similarity: float
    label_before: str
    label_after: str
    title_ops: tuple[WordOp, ...]
    pledge_ops: tuple[WordOp, ...]
    status_ops: tuple[WordOp, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        """What changed, of KINDS (empty when nothing did)."""
        changed = {
            "label": self.label_before != self.label_after,
            "title": _changed(self.title_ops),
            "pledge_text": _changed(self.pledge_ops),
            "status_text": _changed(self.status_ops),
        }
        return tuple(k for k in KINDS if changed[k])

    @property
    def changed(self) -> bool:
        return bool(self.kinds)

    def word_diff(self, context: int | None = None) -> str:
        """The status text's word diff (kept for callers that knew only that one)."""
        return render_ops(self.status_ops, context)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pledge_id": self.pledge_id,
            "title": self.title,
            "changes": list(self.kinds),
            "label_before": self.label_before,
            "label_after": self.label_after,
        }
        if self.pledge_id_before != self.pledge_id:
            out["pledge_id_before"] = self.pledge_id_before
        texts = (("title", self.title_ops), ("pledge_text", self.pledge_ops), ("status_text", self.status_ops))
        for kind, ops in texts:
            if kind in self.kinds:
                out[kind] = {"word_diff": render_ops(ops), "summary": word_summary(ops)}
        return out


def _changed(ops: tuple[WordOp, ...]) -> bool:
    return any(op.op != "equal" for op in ops)


@dataclass(frozen=True)
class ReportDiff:
    """Pledges in both editions (``matched``, in the new edition's order), added and removed titles."""

    matched: tuple[PledgeChange, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> tuple[PledgeChange, ...]:
        """Matched pledges with any kind of change."""
        return tuple(c for c in self.matched if c.changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "changed": [c.to_json() for c in self.changed],
            "added": list(self.added),
            "removed": list(self.removed),
        }


def stems(text: str) -> list[str]:
    """Accent-folded, lower-case stems of a text's words of 4 letters or more (short words — w, i, na, dla — are
    in every pledge and would make any two alike)."""
    return [word[:STEM] for word in slugify(text).split("-") if len(word) >= 4]


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, stems(a), stems(b), autojunk=False).ratio()


def title_similarity(a: str, b: str) -> float:
    """difflib's ratio over the title stems: 1.0 for the same words, 0.0 for none in common."""
    return _ratio(a, b)


def content_similarity(old: Pledge, new: Pledge) -> float:
    """How alike two pledges are: the pledge texts' stem ratio weighted TEXT_WEIGHT, the titles' the rest."""
    return TEXT_WEIGHT * _ratio(old.pledge.text, new.pledge.text) + (1 - TEXT_WEIGHT) * _ratio(old.title, new.title)


def match_pledges(old: Report, new: Report, threshold: float = MATCH_THRESHOLD) -> list[tuple[int, int, float]]:
    """(old index, new index, similarity) for pairs at or over ``threshold``, one to one, best first."""
    scored = sorted(
        ((content_similarity(o, n), i, j) for i, o in enumerate(old.pledges) for j, n in enumerate(new.pledges)),
        key=lambda t: (-t[0], t[2], t[1]),
    )
    used_old: set[int] = set()
    used_new: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for score, i, j in scored:
        if score < threshold:
            break
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((i, j, score))
    return sorted(pairs, key=lambda p: p[1])


def _change(old: Pledge, new: Pledge, similarity: float) -> PledgeChange:
    return PledgeChange(
        pledge_id=new.id,
        pledge_id_before=old.id,
        title=new.title,
        title_before=old.title,
        similarity=round(similarity, 3),
        label_before=old.status_label.label,
        label_after=new.status_label.label,
        title_ops=word_ops(old.title, new.title),
        pledge_ops=word_ops(old.pledge.text, new.pledge.text),
        status_ops=word_ops(old.status.text, new.status.text),
    )


def diff_reports(old: Report, new: Report) -> ReportDiff:
    """Compare two editions: every paired pledge, and the titles only one edition has."""
    pairs = match_pledges(old, new)
    matched = tuple(_change(old.pledges[i], new.pledges[j], s) for i, j, s in pairs)
    old_hit = {i for i, _, _ in pairs}
    new_hit = {j for _, j, _ in pairs}
    return ReportDiff(
        matched=matched,
        added=tuple(p.title for j, p in enumerate(new.pledges) if j not in new_hit),
        removed=tuple(p.title for i, p in enumerate(old.pledges) if i not in old_hit),
    )


def format_diff(diff: ReportDiff, context: int = 8) -> str:
    """Readable summary: each changed pledge with every kind of change, then added and removed, then counts."""
    out: list[str] = []
    for c in diff.changed:
        out.append(f"* {c.title}" + (f"  (was: {c.title_before})" if "title" in c.kinds else ""))
        if "label" in c.kinds:
            out.append(f"  status label: {c.label_before} → {c.label_after}")
        for kind, name, ops in (
            ("title", "title", c.title_ops),
            ("pledge_text", "pledge text", c.pledge_ops),
            ("status_text", "status text", c.status_ops),
        ):
            if kind in c.kinds:
                out.append(f"  {name} ({word_summary(ops)}): {render_ops(ops, context)}")
    out += [f"+ added: {t}" for t in diff.added]
    out += [f"- removed: {t}" for t in diff.removed]
    counts = {k: sum(k in c.kinds for c in diff.changed) for k in KINDS}
    unchanged = len(diff.matched) - len(diff.changed)
    out.append(
        f"{len(diff.changed)} changed ({counts['label']} label, {counts['status_text']} status text, "
        f"{counts['pledge_text']} pledge text, {counts['title']} title), {unchanged} unchanged, "
        f"{len(diff.added)} added, {len(diff.removed)} removed"
    )
    return "\n".join(out)
