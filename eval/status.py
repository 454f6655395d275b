"""``python -m eval.status [--split test|tune] [--json]``: how far the status labels can be trusted.

The labelled set is ``corpus/status_cases.jsonl``: status passages written in the style of Polish municipal
reports and of the bundled one, each with its label, a case type and a split assigned once (within each label,
cases ordered by the SHA-256 of their text and dealt alternately to tune and test). Label meanings:

- done: the task (or the body, service or place it promised) is complete or set up and working;
- partly_done: part of it is done and part is not (in words, in percent, or two statuses in one text);
- in_progress: work is going on, continued or repeated, or amounts done so far are reported;
- planned: not started, scheduled for later (postponed work too);
- not_done: not carried out, suspended, stopped, abandoned or refused;
- unclear: the text does not say how far the task has got (aims, context, a programme that ended in the past).

On ``test`` the labeller is ``corpus.status.label_text`` as served (its classifier learned from all tune cases).
On ``tune`` each case is labelled by a classifier learned from the other four of five folds (stratified by label),
so the figures there are cross-validated, as the thresholds were chosen.

Printed: the confusion matrix (rows: the true label, columns: the label shown; a doubtful label is counted in
its column) and the three figures the labeller must meet, each with a 95 % Wilson interval:
- done shown for a passage that is not done (must be 0);
- a wrong label shown without the doubt note (unclear is not a claim, so it is not counted) — at most 1 in 100;
- passages shown doubtful or unclear — at most 15 %.
Exit code 1 when a figure is over its limit, so a check can run it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections import Counter
from dataclasses import asdict

from corpus.model import StatusLabel
from corpus.status import LABELS, THRESHOLDS, RuleReading, Thresholds, combine, decide
from corpus.status_model import Case, StatusModel, default_model, load_cases, train
from corpus.status_rules import cues

FOLDS = 5
GRID = {
    "done_veto": (0.3, 0.4, 0.5, 0.6, 0.7, 1.01),
    "alone_min": (0.4, 0.5, 0.6, 0.7, 1.01),
    "disagree_min": (0.4, 0.5, 0.6, 0.7, 1.01),
}  # 1.01: never
LIMITS = {"done_when_not_done": 0.0, "wrong_without_doubt": 0.01, "doubtful_or_unclear": 0.15}


def fold_models(cases: list[Case], folds: int = FOLDS) -> list[StatusModel]:
    """One classifier per case, learned without that case's fold (folds dealt per label in file order)."""
    fold_of: list[int] = []
    seen: Counter[str] = Counter()
    for c in cases:
        fold_of.append(seen[c.label] % folds)
        seen[c.label] += 1
    models = [train([c for c, f in zip(cases, fold_of, strict=True) if f != k]) for k in range(folds)]
    return [models[f] for f in fold_of]


def readings(split: str) -> list[tuple[Case, RuleReading, dict[str, float]]]:
    """Each case of ``split`` with the rules' reading and the classifier's probabilities (cross-validated on tune:
    each case's classifier never saw it)."""
    cases = load_cases(split=split)
    models = fold_models(cases) if split == "tune" else [default_model()] * len(cases)
    return [(c, combine(cues(c.text), c.text), m.proba(c.text)) for c, m in zip(cases, models, strict=True)]


def label_cases(split: str, limits: Thresholds = THRESHOLDS) -> list[tuple[Case, StatusLabel]]:
    """Each case of ``split`` with the label the labeller shows for it (as ``label_text`` does)."""
    return [(c, decide(r, p, limits)) for c, r, p in readings(split)]


def choose_thresholds(split: str = "tune") -> list[dict]:
    """Every threshold triple of the grid with its figures, best first: within the limits, then the most correct
    labels, then the fewest doubtful ones, then the strictest veto of "done", then the most doubt on disagreement."""
    read = readings(split)
    rows = []
    for done_veto, alone_min, disagree_min in itertools.product(
        GRID["done_veto"], GRID["alone_min"], GRID["disagree_min"]
    ):
        limits = Thresholds(done_veto, alone_min, disagree_min)
        result = figures([(c, decide(r, p, limits)) for c, r, p in read])
        f = result["figures"]
        rows.append(
            {
                "thresholds": asdict(limits),
                "ok": all(x["ok"] for x in f.values()),
                "accuracy": result["accuracy"],
                **{k: x["count"] for k, x in f.items()},
            }
        )
    return sorted(
        rows,
        key=lambda r: (
            not r["ok"],
            -r["accuracy"],
            r["doubtful_or_unclear"],
            r["thresholds"]["done_veto"],
            r["thresholds"]["disagree_min"],
        ),
    )


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of the proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def figures(labelled: list[tuple[Case, StatusLabel]]) -> dict:
    """Confusion matrix, accuracy and the three figures (counts, rates, intervals), with the failing cases."""
    confusion = {gold: {shown: 0 for shown in LABELS} for gold in LABELS}
    counts = Counter[str]()
    failures = []
    for case, got in labelled:
        confusion[case.label][got.label] += 1
        wrong = got.label != case.label
        flags = {
            "done_when_not_done": got.label == "done" and case.label != "done",
            "wrong_without_doubt": wrong and not got.doubtful and got.label != "unclear",
            "doubtful_or_unclear": got.doubtful or got.label == "unclear",
            "correct": not wrong,
        }
        counts.update(k for k, v in flags.items() if v)
        if wrong or got.doubtful:
            failures.append({"text": case.text, "case": case.case, "gold": case.label, **asdict(got)})
    n = len(labelled)
    out: dict = {"n": n, "accuracy": counts["correct"] / n if n else 0.0, "confusion": confusion, "figures": {}}
    for name, limit in LIMITS.items():
        k = counts[name]
        out["figures"][name] = {
            "count": k,
            "rate": k / n if n else 0.0,
            "interval": wilson(k, n),
            "limit": limit,
            "ok": k / n <= limit if n else True,
        }
    out["by_case"] = dict(sorted(Counter(f["case"] for f in failures if f["gold"] != f["label"]).items()))
    out["failures"] = failures
    return out


def text_report(split: str, result: dict) -> str:
    """The confusion matrix and the figures as a table."""
    width = max(map(len, LABELS)) + 2
    lines = [
        f"status labels on {split}: {result['n']} passages, accuracy {result['accuracy']:.3f}",
        "",
        "true \\ shown".ljust(width) + "".join(label.rjust(width) for label in LABELS),
    ]
    for gold in LABELS:
        lines.append(gold.ljust(width) + "".join(str(result["confusion"][gold][s]).rjust(width) for s in LABELS))
    lines.append("")
    for name, f in result["figures"].items():
        lo, hi = f["interval"]
        lines.append(
            f"{name:<22} {f['count']:>3} / {result['n']} = {f['rate']:.3f}  (95 % CI {lo:.3f}–{hi:.3f}; "
            f"limit {f['limit']:.2f}) {'ok' if f['ok'] else 'OVER THE LIMIT'}"
        )
    if result["by_case"]:
        lines += ["", "wrong labels by case type: " + ", ".join(f"{k} {v}" for k, v in result["by_case"].items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 when every figure is within its limit, else 1."""
    ap = argparse.ArgumentParser(prog="python -m eval.status", description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("test", "tune", "fresh", "fresh2"), default="test")
    ap.add_argument("--json", action="store_true", help="print one JSON object (with every doubtful or wrong case)")
    ap.add_argument("--failures", action="store_true", help="also list the doubtful and wrongly labelled cases")
    ap.add_argument(
        "--choose",
        action="store_true",
        help="show the best thresholds of the grid on tune (how corpus.status.THRESHOLDS was chosen) and exit",
    )
    args = ap.parse_args(argv)
    if args.choose:
        for row in choose_thresholds()[:10]:
            print(json.dumps(row))
        return 0
    result = figures(label_cases(args.split))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(text_report(args.split, result))
        if args.failures:
            for f in result["failures"]:
                mark = "WRONG" if f["gold"] != f["label"] else "doubt"
                print(
                    f"{mark:5} {f['gold']:>11} → {f['label']:<11} {f['doubt'] or '-':<13} {f['rule']:<32} "
                    f"{f['text'][:110]}"
                )
    return 0 if all(f["ok"] for f in result["figures"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
