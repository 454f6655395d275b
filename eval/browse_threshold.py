"""Choose Browse's "similar in meaning" threshold: ``python -m eval.browse_threshold [--split tune|test]``.

Browse lists a pledge as similar in meaning to a search when the question is not refused and the pledge, among
the first ``assistant.browse.MEANING_TOP``, scores at least ``Settings.browse_meaning_min``; literal matches are
listed whatever the score. The threshold is chosen on ``tune`` like the abstention threshold: every (in-scope
question, expected pledge) pair must be listed, so the threshold is the ``alpha`` quantile of those pairs' scores
(a pair not among the candidates counts as hidden at any threshold), rounded down to 0.01 (split-conformal: a
new question's pledge is hidden with probability about ``alpha``).

It prints, at the chosen threshold (or at ``--at``, e.g. on ``test``):

* false-hide: the share of expected pledges of in-scope questions that Browse does not list (neither literal
  nor by meaning);
* off-topic shown: the share of the split's off-topic questions (expected ``[]``) that list any pledge by
  meaning;
* nonsense shown: the same for ``--nonsense`` (100) strings of random letters ("xqzzv", "kjdw pqoe"), drawn
  with a seed of the split (tune and test draw different strings).

    python -m eval.browse_threshold --split tune
    python -m eval.browse_threshold --split test --at 0.66
"""

from __future__ import annotations

import argparse
import math
import random
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.core import Assistant

HERE = Path(__file__).resolve().parent
SEEDS = {"tune": 31, "test": 131, "all": 231}  # nonsense strings per split


@dataclass(frozen=True)
class Scores:
    """What a threshold needs, per split: the best score of each expected pledge (``-inf`` when not a meaning
    candidate; ``inf`` when it is listed literally anyway), and the best candidate score of each off-topic and
    nonsense search (``-inf`` when it is refused)."""

    expected: list[float]
    offtopic: list[float]
    nonsense: list[float]


def nonsense(n: int, seed: int) -> list[str]:
    """``n`` searches of one to three random lower-case "words" of 3 to 8 letters."""
    rng = random.Random(seed)
    return [
        " ".join(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
            for _ in range(rng.randint(1, 3))
        )
        for _ in range(n)
    ]


def best(assistant: Assistant, text: str) -> dict[str, float]:
    """Pledge id → score of Browse's meaning candidates for ``text`` (empty when refused)."""
    from assistant.browse import meaning_candidates

    return {r.pledge_id: r.score for r in meaning_candidates(assistant, text)}


def collect(assistant: Assistant, split: str, n_nonsense: int) -> Scores:
    """The scores of ``split``'s dev-set questions and of its nonsense searches."""
    from assistant.browse import literal_ids
    from eval.queries import load_queries, select_split

    titles = {p.title: p.id for p in assistant.library.pledges}
    expected: list[float] = []
    offtopic: list[float] = []
    for q in select_split(load_queries(HERE / "dev.jsonl", titles), split):
        scores = best(assistant, q.query)
        if not q.in_scope:
            offtopic.append(max(scores.values(), default=-math.inf))
            continue
        literal = set(literal_ids(assistant, q.query))
        expected += [math.inf if pid in literal else scores.get(pid, -math.inf) for pid in q.expected]
    junk = [max(best(assistant, s).values(), default=-math.inf) for s in nonsense(n_nonsense, SEEDS[split])]
    return Scores(expected, offtopic, junk)


def choose(expected: list[float], alpha: float) -> float:
    """The highest threshold (a multiple of 0.01) under which at most ``floor(alpha × (n + 1))`` of the ``n``
    expected scores fall. Pledges that are no candidate (``-inf``) are hidden at any threshold and listed literal
    ones (``inf``) at none, so the threshold is kept within the finite scores."""
    ordered = sorted(expected)
    finite = [s for s in ordered if math.isfinite(s)]
    if not finite:
        return 0.0
    value = ordered[min(math.floor(alpha * (len(ordered) + 1)), len(ordered) - 1)]
    value = min(max(value, finite[0]), finite[-1])
    return math.floor(value * 100) / 100


def rates(scores: Scores, threshold: float) -> dict[str, tuple[int, int]]:
    """(count, of) for false-hide, off-topic shown and nonsense shown at ``threshold``."""

    def shown(values: list[float]) -> tuple[int, int]:
        return sum(s >= threshold and s > -math.inf for s in values), len(values)  # -inf: refused

    hidden = sum(s < threshold or s == -math.inf for s in scores.expected)
    return {
        "false_hide": (hidden, len(scores.expected)),
        "offtopic_shown": shown(scores.offtopic),
        "nonsense_shown": shown(scores.nonsense),
    }


def _line(name: str, threshold: float, scores: Scores) -> str:
    parts = [
        f"{k.replace('_', '-')} {n}/{of} ({n / of:.1%})" if of else f"{k} -"
        for k, (n, of) in rates(scores, threshold).items()
    ]
    return f"{name} {threshold:.2f}: " + ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    from settings import apply_privacy_env

    apply_privacy_env()
    from assistant.core import Assistant

    ap = argparse.ArgumentParser(description="Choose (on tune) or check Browse's similar-in-meaning threshold")
    ap.add_argument("--split", choices=("tune", "test", "all"), default="tune")
    ap.add_argument("--alpha", type=float, default=0.03, help="share of expected pledges that may be hidden")
    ap.add_argument("--at", type=float, default=None, help="report this threshold instead of choosing one")
    ap.add_argument("--nonsense", type=int, default=100, help="random-letter searches to try")
    args = ap.parse_args(argv)
    assistant = Assistant.load()
    scores = collect(assistant, args.split, args.nonsense)
    print(_line("no threshold (before issue 31: refusal only)", -math.inf, scores).replace("-inf", "-∞"))
    print(_line("served", assistant.settings.browse_meaning_min, scores))
    if args.at is None:
        print(_line(f"chosen (alpha {args.alpha})", choose(scores.expected, args.alpha), scores))
    else:
        print(_line("at", args.at, scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
