"""``python -m eval.pairing [--seed N] [--per-pledge N]``: the threshold that pairs pledges across editions.

Generates, from the bundled report's pledges (seeded, so the run repeats exactly):
- renamings, which must pair: the title reworded (words added, dropped or replaced, or all of it rewritten), the
  pledge text edited (up to 30 % of its words replaced, inserted or dropped, or a sentence added or dropped), and
  both at once (a reworded title and up to 20 % of the text);
- other pledges, which must not: each renamed pledge against every other pledge of the report, and "impostors" —
  another pledge given a near copy of this pledge's title (the case a title-only match got wrong: 0.86 alike).
Prints the lowest renaming score, the highest other-pledge score, and the threshold half way between them (or,
when they overlap, the one with the fewest wrong pairs, a wrong match counting ten misses), and how
``corpus.diff.MATCH_THRESHOLD`` does.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import replace

from corpus import load_report
from corpus.diff import MATCH_THRESHOLD, content_similarity
from corpus.model import Pledge

FILLER = (
    "oraz dla mieszkańców miasta w ramach programu nowe wsparcie usługi kobiet seniorów dzieci bezpłatne "
    "szkolenia pomoc rodzin opieki zdrowia Krakowa gminy"
).split()


def _edit_words(rng: random.Random, text: str, share: float) -> str:
    """``text`` with about ``share`` of its words replaced, dropped or joined by a filler word."""
    words = text.split()
    out: list[str] = []
    for w in words:
        r = rng.random()
        if r < share / 3:
            out.append(rng.choice(FILLER))
        elif r < 2 * share / 3:
            continue
        elif r < share:
            out += [w, rng.choice(FILLER)]
        else:
            out.append(w)
    return " ".join(out) or rng.choice(FILLER)


def _retitle(rng: random.Random, title: str, rewrite: bool = True) -> str:
    """A reworded title: words added, one dropped, a few replaced, or (``rewrite``) all of it rewritten."""
    how = rng.choice(["add", "drop", "replace", "rewrite"] if rewrite else ["add", "drop", "replace"])
    words = title.split()
    if how == "add":
        return f"{title} {' '.join(rng.choices(FILLER, k=rng.randint(1, 3)))}"
    if how == "drop" and len(words) > 2:
        del words[rng.randrange(len(words))]
        return " ".join(words)
    if how == "rewrite":
        return " ".join(rng.choices(FILLER, k=len(words))).capitalize()
    return _edit_words(rng, title, 0.3)


def _retext(rng: random.Random, text: str, most: float = 0.3) -> str:
    """An edited pledge text: words edited (up to ``most``), or a sentence added or dropped."""
    how = rng.choice(["words", "add sentence", "drop sentence"])
    sentences = [s for s in text.replace("\n\n", " ").split(". ") if s]
    if how == "add sentence":
        return f"{text} {' '.join(rng.choices(FILLER, k=10)).capitalize()}."
    if how == "drop sentence" and len(sentences) > 1:
        del sentences[rng.randrange(len(sentences))]
        return ". ".join(sentences)
    return _edit_words(rng, text, rng.uniform(0.05, most))


def _with(p: Pledge, title: str | None = None, text: str | None = None) -> Pledge:
    return replace(p, title=title or p.title, pledge=replace(p.pledge, text=text or p.pledge.text))


def generate(seed: int = 0, per_pledge: int = 30) -> dict[str, list[float]]:
    """Scores of renamings (must pair) and of other pledges (must not), per kind of case."""
    rng = random.Random(seed)
    pledges = list(load_report().pledges)
    scores: dict[str, list[float]] = {
        "title reworded": [],
        "text edited": [],
        "both": [],
        "other pledge": [],
        "impostor title": [],
    }
    for i, p in enumerate(pledges):
        for _ in range(per_pledge):
            kind = rng.choice(["title reworded", "text edited", "both"])
            # Both at once: a reworded (not rewritten) title and up to 20 % of the text edited. A new title over a
            # much edited text is another pledge as far as anyone can tell: added and removed, not paired.
            title = _retitle(rng, p.title, rewrite=kind != "both") if kind != "text edited" else None
            text = (
                _retext(rng, p.pledge.text, 0.3 if kind == "text edited" else 0.2) if kind != "title reworded" else None
            )
            renamed = _with(p, title, text)
            scores[kind].append(content_similarity(p, renamed))
            for j, other in enumerate(pledges):
                if j != i:
                    scores["other pledge"].append(content_similarity(other, renamed))
            other = pledges[rng.choice([j for j in range(len(pledges)) if j != i])]
            scores["impostor title"].append(content_similarity(p, _with(other, _edit_words(rng, p.title, 0.15))))
    return scores


def choose(scores: dict[str, list[float]]) -> dict:
    """The threshold half way between the classes, or the least wrong one when they overlap."""
    pos = [s for k in ("title reworded", "text edited", "both") for s in scores[k]]
    neg = [s for k in ("other pledge", "impostor title") for s in scores[k]]
    lo, hi = max(neg), min(pos)
    if lo < hi:
        threshold = round((lo + hi) / 2, 3)
    else:
        grid = sorted(set(pos + neg))
        threshold = min(grid, key=lambda t: 10 * sum(s >= t for s in neg) + sum(s < t for s in pos))
    return {
        "lowest_renaming": round(hi, 3),
        "highest_other": round(lo, 3),
        "chosen": threshold,
        "in_use": MATCH_THRESHOLD,
        "renamings_missed_in_use": sum(s < MATCH_THRESHOLD for s in pos),
        "others_matched_in_use": sum(s >= MATCH_THRESHOLD for s in neg),
        "renamings": len(pos),
        "others": len(neg),
        "by_kind": {k: {"n": len(v), "min": round(min(v), 3), "max": round(max(v), 3)} for k, v in scores.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.pairing", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-pledge", type=int, default=30)
    args = ap.parse_args(argv)
    print(json.dumps(choose(generate(args.seed, args.per_pledge)), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
