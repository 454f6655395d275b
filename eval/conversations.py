"""Conversation files and their evaluation: is each turn of a chat handled right, given the turns before it?

A file is JSONL, one conversation per line::

    {"id": "pl-c001", "lang": "pl", "split": "tune", "turns": [
      {"q": "Czy jest darmowa mammografia?", "kind": "first", "expected": ["<pledge title>"]},
      {"q": "a od jakiego wieku?", "kind": "detail", "expected": ["<pledge title>"], "rewrite": "…"},
      {"q": "po ukraińsku proszę", "kind": "language", "reply_lang": "uk", "expected": ["<pledge title>"]}]}

Turn kinds: ``first`` (the opening question), ``detail`` (about the pledge just shown), ``language`` (the same
answer in another language: ``reply_lang``), ``sibling`` (an elliptical switch to another pledge), ``new_topic``
(a standalone question about another pledge), ``offtopic_followup`` and ``offtopic_new`` (not in the report).
``rewrite`` (optional) is the turn written as a standalone question, for the gap to hand-written rewrites;
``answered`` (detail turns, optional) says whether the pledge's text or status answers the follow-up (labelled
by a helper from the report; ``python -m eval.followup`` measures whether retrieval scores can tell them apart).

Each conversation is asked turn by turn as a user would: the history sent with a turn is what the assistant
showed for the turns before it (``Answer.turn``), so an early mistake costs the later turns too. A turn is
handled right when an in-scope one is answered with a right pledge first (and, for a language request, in the
language asked for where the assistant has it, else English) and an off-topic one is refused. A *wrong
carry-over* is a new-topic or off-topic turn answered with a pledge the previous turn showed. Intervals are
bootstrapped over conversations (turns of one conversation are not independent).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer import Answer
from assistant.conversation import Turn
from eval.metrics import bootstrap_ratio
from eval.queries import SPLITS, QueryFileError

TURN_KINDS = ("first", "detail", "language", "sibling", "new_topic", "offtopic_followup", "offtopic_new")
LATER_KINDS = TURN_KINDS[1:]
CARRY_KINDS = ("new_topic", "offtopic_followup", "offtopic_new")  # a previous pledge shown here is wrong


@dataclass(frozen=True)
class ConvTurn:
    """One turn; ``expected`` holds pledge ids (mapped from titles)."""

    q: str
    kind: str
    expected: tuple[str, ...]
    reply_lang: str | None = None
    rewrite: str | None = None
    answered: bool | None = None  # detail turns: does the report answer it? (None: not labelled)


@dataclass(frozen=True)
class Conversation:
    id: str
    lang: str
    split: str
    turns: tuple[ConvTurn, ...]
    line: int


def load_conversations(path: Path | str, title_to_id: dict[str, str]) -> list[Conversation]:
    """Read and check a conversation file (titles matched with whitespace collapsed)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise QueryFileError(f"{path}: cannot read it ({exc}); pass --conversations with a UTF-8 JSONL file") from None
    titles = {" ".join(t.split()): pid for t, pid in title_to_id.items()}
    out: list[Conversation] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if line.strip():
            conv = _conversation(line, f"{path}, line {n}", titles, n)
            if conv.id in seen:
                raise QueryFileError(f"{path}, line {n}: id {conv.id!r} is used twice; give each its own id")
            seen.add(conv.id)
            out.append(conv)
    if not out:
        raise QueryFileError(f"{path}: no conversations found; add one JSON object per line")
    return out


def _conversation(line: str, where: str, titles: dict[str, str], n: int) -> Conversation:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QueryFileError(f"{where}: bad JSON ({exc.msg} at column {exc.colno}); fix the line") from None
    if not isinstance(row, dict) or not all(k in row for k in ("id", "lang", "split", "turns")):
        raise QueryFileError(f"{where}: expected an object with id, lang, split and turns")
    if row["split"] not in (*SPLITS, "train"):
        raise QueryFileError(f"{where}: split {row['split']!r} is unknown; use one of {', '.join(SPLITS)} or train")
    raw = row["turns"]
    if not isinstance(raw, list) or len(raw) < 2:
        raise QueryFileError(f"{where}: turns must be a list of at least 2 turns")
    turns = tuple(_turn(t, f"{where}, turn {i + 1}", titles, first=i == 0) for i, t in enumerate(raw))
    return Conversation(str(row["id"]), str(row["lang"]), row["split"], turns, n)


def _turn(t: object, where: str, titles: dict[str, str], *, first: bool) -> ConvTurn:
    if not isinstance(t, dict) or not isinstance(t.get("q"), str) or not t["q"].strip():
        raise QueryFileError(f'{where}: expected {{"q": non-empty text, "kind", "expected"}}')
    kind = t.get("kind")
    if kind not in TURN_KINDS or (kind == "first") != first:
        allowed = "first" if first else ", ".join(LATER_KINDS)
        raise QueryFileError(f"{where}: kind {kind!r}; expected {allowed}")
    expected = t.get("expected")
    if not isinstance(expected, list) or not all(isinstance(x, str) for x in expected):
        raise QueryFileError(f"{where}: expected must be a list of pledge titles ([] if not covered)")
    unknown = [x for x in expected if " ".join(x.split()) not in titles]
    if unknown:
        raise QueryFileError(f"{where}: unknown pledge title {unknown[0]!r}; use a report heading exactly")
    if kind == "language" and not isinstance(t.get("reply_lang"), str):
        raise QueryFileError(f'{where}: a language turn needs reply_lang (the ISO code asked for, e.g. "uk")')
    answered = t.get("answered")
    if answered is not None and not isinstance(answered, bool):
        raise QueryFileError(f"{where}: answered must be true or false, not {answered!r}")
    return ConvTurn(
        t["q"],
        kind,
        tuple(titles[" ".join(x.split())] for x in expected),
        t.get("reply_lang"),
        t.get("rewrite"),
        answered,
    )


def select_conversations(convs: list[Conversation], split: str) -> list[Conversation]:
    """The conversations of ``split`` (tune, test or all)."""
    chosen = convs if split == "all" else [c for c in convs if c.split == split]
    if not chosen:
        raise QueryFileError(f"no conversations in split {split!r}; pass tune, test or all")
    return chosen


# --- running ------------------------------------------------------------------------------------------------

Ask = Callable[..., Answer]  # Assistant.ask: (question, *, history, lang=None) -> Answer


def turn_record(
    conv: Conversation,
    i: int,
    turn: ConvTurn,
    ans: Answer,
    previous: tuple[str, ...],
    reply_language: Callable[[str], str],
) -> dict:
    """What one asked turn scored: handled right, wrong carry-over, and what was shown."""
    answers = ans.answers
    abstained = ans.abstained
    top = answers[0].pledge_id if answers else None
    in_scope = bool(turn.expected)
    handled = abstained != in_scope and (not in_scope or top in turn.expected)
    if turn.kind == "language" and turn.reply_lang:
        handled = handled and ans.reply_language == reply_language(turn.reply_lang)
    follow_up = ans.follow_up
    rec = {
        "conversation": conv.id,
        "turn": i,
        "lang": conv.lang,
        "kind": turn.kind,
        "q": turn.q,
        "expected": list(turn.expected),
        "got": top,
        "abstained": abstained,
        "handled": handled,
        "reply_language": ans.reply_language,
        "read_as": follow_up.kind if follow_up is not None else None,
        "carry_over": turn.kind in CARRY_KINDS and top is not None and top in previous and top not in turn.expected,
    }
    return rec


def run_conversations(
    ask: Ask,
    convs: list[Conversation],
    reply_language: Callable[[str], str],
    *,
    rewrites: bool = False,
    with_history: bool = True,
) -> list[dict]:
    """Every turn of every conversation asked in order, with the history the assistant's own answers make.
    With ``rewrites``, each later turn that has one is also asked as its standalone rewrite (no history):
    the record gets ``rewrite_handled``. Without ``with_history`` every turn is asked as if it were the first
    (how the assistant answered before it read follow-ups: the "before" row)."""
    records = []
    for conv in convs:
        history: list[Turn] = []
        for i, turn in enumerate(conv.turns):
            previous = _last_shown(history)
            ans = ask(turn.q, history=list(history) if with_history else [])
            rec = turn_record(conv, i, turn, ans, previous, reply_language)
            if rewrites and turn.rewrite and i > 0:
                lang = reply_language(turn.reply_lang) if turn.kind == "language" and turn.reply_lang else None
                alone = ask(turn.rewrite, history=[], lang=lang)
                rec["rewrite_handled"] = turn_record(conv, i, turn, alone, previous, reply_language)["handled"]
            records.append(rec)
            history.append(ans.turn)
    return records


def _last_shown(history: list[Turn]) -> tuple[str, ...]:
    for turn in reversed(history):
        ids = tuple(turn.pledge_ids)
        if ids:
            return ids
    return ()


# --- metrics ------------------------------------------------------------------------------------------------


def _rate(records: list[dict], select: Callable[[dict], bool], value: str) -> dict:
    """Share of the selected turns with ``value`` true, bootstrapped over conversations."""
    per_conv: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in records:
        cell = per_conv[r["conversation"]]
        if select(r):
            cell[0] += float(bool(r.get(value)))
            cell[1] += 1.0
    cells = list(per_conv.values())
    n = int(sum(c[1] for c in cells))
    rate, low, high = bootstrap_ratio([c[0] for c in cells], [c[1] for c in cells]) if n else (None, None, None)
    return {"n": n, "rate": rate, "ci": None if rate is None else {"low": low, "high": high}}


def _where(field: str, value: str, *, rewritten: bool = False) -> Callable[[dict], bool]:
    """Selects the records whose ``field`` is ``value`` (and, with ``rewritten``, that have a rewrite's score)."""
    return lambda r: r[field] == value and (not rewritten or "rewrite_handled" in r)


def summarize(records: list[dict]) -> dict:
    """Handled per kind, per language (later turns), first and later turns; wrong carry-overs; rewrites."""
    later = [r for r in records if r["kind"] != "first"]
    out: dict[str, Any] = {
        "n_conversations": len({r["conversation"] for r in records}),
        "first": _rate(records, lambda r: r["kind"] == "first", "handled"),
        "later": _rate(records, lambda r: r["kind"] != "first", "handled"),
        "by_kind": {k: _rate(records, _where("kind", k), "handled") for k in TURN_KINDS},
        "by_language": {
            lang: _rate(later, _where("lang", lang), "handled") for lang in sorted({r["lang"] for r in records})
        },
        "wrong_carry_over": _rate(records, lambda r: r["kind"] in CARRY_KINDS, "carry_over"),
    }
    if any("rewrite_handled" in r for r in records):
        out["rewrites"] = {k: _rate(records, _where("kind", k, rewritten=True), "rewrite_handled") for k in LATER_KINDS}
        out["rewrites"]["later"] = _rate(records, lambda r: "rewrite_handled" in r, "rewrite_handled")
    out["failures"] = [
        {
            k: r[k]
            for k in ("conversation", "turn", "kind", "q", "expected", "got", "abstained", "read_as", "reply_language")
        }
        for r in records
        if not r["handled"]
    ]
    return out


def _cell(m: dict) -> str:
    if m["rate"] is None:
        return "–"
    return f"{m['rate']:.3f} [{m['ci']['low']:.2f}, {m['ci']['high']:.2f}]"


def text_table(summary: dict) -> str:
    """The summary as a plain table: group, n, handled (and the standalone rewrite's, when measured)."""
    rewrites = summary.get("rewrites", {})
    rows = [("first turns", summary["first"], None), ("later turns", summary["later"], rewrites.get("later"))]
    rows += [(f"  {k}", summary["by_kind"][k], rewrites.get(k)) for k in LATER_KINDS]
    rows += [(f"  later, {lang}", m, None) for lang, m in summary["by_language"].items()]
    rows.append(("wrong carry-overs", summary["wrong_carry_over"], None))
    head = f"{'group':<26} {'n':>4}  {'rate':<22}" + ("  rewritten standalone" if rewrites else "")
    lines = [head]
    for name, m, rw in rows:
        lines.append(f"{name:<26} {m['n']:>4}  {_cell(m):<22}" + (f"  {_cell(rw)}" if rw else ""))
    return "\n".join(lines)
