"""Which refusals get the safety numbers: ``python -m eval.contacts [--split tune|test]``.

A refused question gets 112 and the domestic-violence line when a pledge ``corpus/contacts.json`` lists (violence
at home, at work) still scores within ``contacts_safety_margin`` of the closest general city topic
(``Assistant.near_safety``), and the city's general contact otherwise; so a tram-ticket question gets the city,
and a question about violence that is wrongly refused keeps the safety numbers.

The margin is chosen on ``tune`` like the abstention threshold (``choose_margin``): the questions about a listed
pledge (the dev set's and the conversations' standalone turns) are the ones that must keep the numbers if
refused, so the margin is at most the lowest of their margins (split-conformal: a new such question falls below
it with probability about 1/(n+1)). Below that floor it goes halfway to the closest refused off-topic question
(the middle of the gap, as a maximum-margin boundary puts it): lower costs no off-topic question on tune and keeps
the numbers for more of the questions near violence that are refused wrongly or lie between the two groups. The
command also prints what a margin does to the refused off-topic questions:
how many get the safety numbers needlessly, and how many of those labelled ``safety`` in
``eval/safety_labels.jsonl`` (bullying, threats, self-harm …, labelled by a helper who read the report and the
questions) get them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from assistant.core import Assistant

HERE = Path(__file__).resolve().parent


def safety_labels(path: Path = HERE / "safety_labels.jsonl") -> dict[str, bool]:
    """Question id → needs the safety numbers (only off-topic questions are labelled)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: bool(row["safety"]) for row in rows}


def _questions(assistant: Assistant, split: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, text, expected) of the dev set's questions of ``split`` and the conversations' standalone turns."""
    from eval.conversations import load_conversations, select_conversations
    from eval.queries import load_queries, select_split

    titles = {p.title: p.id for p in assistant.library.pledges}
    out = [(q.id, q.query, q.expected) for q in select_split(load_queries(HERE / "dev.jsonl", titles), split)]
    for conv in select_conversations(load_conversations(HERE / "conversations.jsonl", titles), split):
        out += [
            (f"{conv.id}#{i}", t.q, t.expected)
            for i, t in enumerate(conv.turns)
            if t.kind in ("first", "new_topic", "offtopic_new")
        ]
    return out


def margins(assistant: Assistant, split: str) -> dict[str, np.ndarray]:
    """The best listed pledge's margin of: ``listed`` (questions about a listed pledge), ``offtopic`` (refused
    off-topic questions not labelled safety) and ``safety`` (refused off-topic questions labelled safety)."""
    from assistant.language import detect_language

    labels, listed = safety_labels(), assistant.contacts.pledges
    groups: dict[str, list[float]] = {"listed": [], "offtopic": [], "safety": []}
    for qid, text, expected in _questions(assistant, split):
        if expected and not set(expected) & listed:
            continue
        lang = detect_language(text)
        retrieval = assistant.retrieve(text, lang)
        margin = max(r.dense - retrieval.background for r in retrieval.ranked if r.pledge_id in listed)
        if expected:
            groups["listed"].append(margin)
        elif assistant.retriever.abstains(retrieval, lang):
            groups["safety" if labels.get(qid) else "offtopic"].append(margin)
    return {k: np.array(v) for k, v in groups.items()}


def choose_margin(groups: dict[str, np.ndarray]) -> float:
    """The safety margin from tune's groups: halfway between the lowest margin of a question about a listed
    pledge and the closest refused off-topic question below it (that floor itself when none lies below), rounded
    down to 0.01. Safety-labelled refusals are not used: two on tune are too few to choose by."""
    floor = float(groups["listed"].min())
    below = groups["offtopic"][groups["offtopic"] < floor]
    middle = (floor + float(below.max())) / 2 if len(below) else floor
    return math.floor(round(middle * 100, 6)) / 100


def describe(groups: dict[str, np.ndarray], margin: float) -> str:
    g = groups
    return (
        f"questions about a listed pledge that keep the numbers {int((g['listed'] >= margin).sum())}/"
        f"{len(g['listed'])}; refused off-topic ones that get them {int((g['offtopic'] >= margin).sum())}/"
        f"{len(g['offtopic'])}; refused ones labelled safety that get them {int((g['safety'] >= margin).sum())}/"
        f"{len(g['safety'])}"
    )


def main(argv: list[str] | None = None) -> int:
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.contacts", description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="tune", choices=("tune", "test", "all"))
    args = ap.parse_args(argv)

    from assistant.core import Assistant
    from settings import Settings

    assistant = Assistant.load(Settings.from_env(), log_fn=lambda m: print(m, file=sys.stderr))
    groups = margins(assistant, args.split)
    served = assistant.settings.contacts_safety_margin
    print(f"split {args.split}, served KQA_CONTACTS_SAFETY_MARGIN={served}: {describe(groups, served)}")
    if args.split == "tune" and len(groups["listed"]):
        chosen = choose_margin(groups)
        print(f"chosen KQA_CONTACTS_SAFETY_MARGIN={chosen}: {describe(groups, chosen)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
