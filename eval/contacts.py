"""Which refusals get the safety numbers: ``python -m eval.contacts [--split tune|test]``.

A refused question gets 112 and the domestic-violence line when a pledge ``corpus/contacts.json`` lists still
scores within ``contacts_safety_margin`` of the closest general city topic (``Assistant.near_safety``); the
city's general contact otherwise. Positives are the questions that need the safety numbers: in-scope questions
about a listed pledge (when refused, they must not lose the numbers) and off-topic questions labelled
``safety`` in ``eval/safety_labels.jsonl`` (bullying, threats, self-harm …; labelled by a helper who read the
report and the questions); negatives are the other off-topic questions. On ``tune`` the margin is chosen as the
largest that keeps ≥ ``--recall`` of the positives; on any split the command prints what the served margin
does (positives that get the numbers, negatives that get them needlessly).
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


def cases(assistant: object, split: str, labels: dict[str, bool]) -> list[tuple[str, float, bool]]:
    """(id, the best listed pledge's margin, needs the numbers) for the dev set's questions of ``split`` that
    are about a listed pledge or labelled off-topic."""
    from assistant.language import detect_language
    from eval.queries import load_queries, select_split

    library = assistant.library  # type: ignore[attr-defined]
    listed = assistant.contacts.pledges  # type: ignore[attr-defined]
    queries = select_split(load_queries(HERE / "dev.jsonl", {p.title: p.id for p in library.pledges}), split)
    out = []
    for q in queries:
        if q.in_scope and not set(q.expected) & listed:
            continue
        if not q.in_scope and q.id not in labels:
            continue
        retrieval = assistant.retrieve(q.query, detect_language(q.query))  # type: ignore[attr-defined]
        margin = max(r.dense - retrieval.background for r in retrieval.ranked if r.pledge_id in listed)
        out.append((q.id, margin, q.in_scope or labels[q.id]))
    return out


def main(argv: list[str] | None = None) -> int:
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.contacts", description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="tune", choices=("tune", "test", "all"))
    ap.add_argument("--recall", type=float, default=0.95, help="share of positives that must get the numbers")
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
    if args.split == "tune":
        chosen = float(np.floor(np.quantile(pos, 1 - args.recall) * 1000) / 1000)
        print(f"chosen (≥ {args.recall:.0%} of positives): KQA_CONTACTS_SAFETY_MARGIN={chosen}: positives "
              f"{int((pos >= chosen).sum())}/{len(pos)}, negatives {int((neg >= chosen).sum())}/{len(neg)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
