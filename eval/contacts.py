"""Which refusals get the safety numbers: ``python -m eval.contacts [--split tune|test]``.

A refused question gets 112 and the domestic-violence line when a pledge ``corpus/contacts.json`` lists still
scores within ``contacts_safety_margin`` of the closest general city topic (``Assistant.near_safety``); the
city's general contact otherwise. Only refused questions matter here (an answer shows the numbers with the
pledge itself). Among the questions of the dev set and the conversations' standalone turns that are refused,
positives need the safety numbers: in-scope questions about a listed pledge (wrongly refused, they must not lose
the numbers too) and off-topic questions labelled ``safety`` in ``eval/safety_labels.jsonl`` (bullying, threats,
self-harm …; labelled by a helper who read the report and the questions); negatives are the other refused ones.
On ``tune`` (with the train-only questions of ``eval/train.jsonl``: the model was trained to refuse those, so
their margins are low and the choice errs towards showing the numbers) the margin is chosen as the largest that
gives every positive the numbers; on any split the command prints what the served margin does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def safety_labels(path: Path = HERE / "safety_labels.jsonl") -> dict[str, bool]:
    """Question id → needs the safety numbers (only off-topic questions are labelled)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["id"]] = bool(row["safety"])
    return out


def _questions(assistant: object, split: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, text, expected) of the dev set's questions of ``split`` and the conversations' standalone turns
    (first and new-topic turns) of ``split``."""
    from eval.conversations import load_conversations, select_conversations
    from eval.queries import load_queries, select_split

    titles = {p.title: p.id for p in assistant.library.pledges}  # type: ignore[attr-defined]
    out = [(q.id, q.query, q.expected) for q in select_split(load_queries(HERE / "dev.jsonl", titles), split)]
    if split == "tune":  # the train-only questions too: only a handful of refused ones need the safety numbers
        rows = [json.loads(line) for line in (HERE / "train.jsonl").read_text(encoding="utf-8").splitlines() if line]
        out += [(r["id"], r["query"], tuple(titles[" ".join(t.split())] for t in r["expected"])) for r in rows]
    for conv in select_conversations(load_conversations(HERE / "conversations.jsonl", titles), split):
        out += [(f"{conv.id}#{i}", t.q, t.expected) for i, t in enumerate(conv.turns)
                if t.kind in ("first", "new_topic", "offtopic_new")]
    return out


def cases(assistant: object, split: str, labels: dict[str, bool]) -> list[tuple[str, float, bool]]:
    """(id, the best listed pledge's margin, needs the numbers) for the refused questions of ``split`` that are
    about a listed pledge or labelled off-topic."""
    from assistant.language import detect_language

    listed = assistant.contacts.pledges  # type: ignore[attr-defined]
    out = []
    for qid, text, expected in _questions(assistant, split):
        if (expected and not set(expected) & listed) or (not expected and qid not in labels):
            continue
        lang = detect_language(text)
        retrieval = assistant.retrieve(text, lang)  # type: ignore[attr-defined]
        if not assistant.retriever.abstains(retrieval, lang):  # type: ignore[attr-defined]
            continue  # answered: the numbers go with the pledge, not with a refusal
        margin = max(r.dense - retrieval.background for r in retrieval.ranked if r.pledge_id in listed)
        out.append((qid, margin, bool(expected) or labels[qid]))
    return out


def main(argv: list[str] | None = None) -> int:
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.contacts", description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="tune", choices=("tune", "test", "all"))
    args = ap.parse_args(argv)

    from assistant.core import Assistant
    from settings import Settings

    assistant = Assistant.load(Settings.from_env(), log_fn=lambda m: print(m, file=sys.stderr))
    data = cases(assistant, args.split, safety_labels())
    pos = np.array([m for _, m, p in data if p])
    neg = np.array([m for _, m, p in data if not p])
    served = assistant.settings.contacts_safety_margin
    print(f"split {args.split}: {len(pos)} questions that need the safety numbers, {len(neg)} that do not")
    print(f"served margin {served}: positives with the numbers {int((pos >= served).sum())}/{len(pos)}, "
          f"negatives with them {int((neg >= served).sum())}/{len(neg)}")
    if args.split == "tune" and len(pos):
        chosen = float(np.floor(pos.min() * 1000) / 1000)
        print(f"chosen (every positive): KQA_CONTACTS_SAFETY_MARGIN={chosen}: positives "
              f"{int((pos >= chosen).sum())}/{len(pos)}, negatives {int((neg >= chosen).sum())}/{len(neg)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
