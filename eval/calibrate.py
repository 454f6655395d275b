"""``python -m eval.calibrate --queries eval/dev.jsonl --split tune`` — choose the abstention threshold and the
answer-set width on calibration questions, with a stated guarantee; prints the settings.

Both are split-conformal choices (exchangeable calibration and future questions assumed):

- answer sets: for each in-scope question, how far the best right pledge's score lies below the top score
  (0 when the top one is right). ``answer_set_delta`` is the ⌈(n+1)(1−α)⌉-th smallest of these, so a set of
  every pledge within delta of the best contains a right pledge for at least 1−α of new questions (α = 0.03);
- abstention: the threshold is the ⌊α(n+1)⌋-th smallest margin of the in-scope questions (α = 0.03): at most
  3 % of new in-scope questions are refused; everything below is refused. One threshold for every language
  ("*"), because a threshold per language rests on the 2nd or 3rd smallest of ~50 margins, which moves more
  between samples than the languages differ: on repeated splits of tune's cross-fitted records, pooled at
  α = 0.03 handled more questions than per language at α = 0.05, and met the per-language target more often
  for PL and UK, less often for EN (``python -m eval.threshold_rules``). ``--per-language`` gives each
  language with at least ``--min-per-language`` in-scope questions its own threshold, as before (it needs
  ⌈1/α⌉ − 1 of them for a finite one; with fewer it shares "*").

Choose on ``tune`` only, on questions the model was not trained on: the calibration part (``--ids``) for a
model trained with ``train_on="split"``; for the served model, trained on all of tune, ``python -m
eval.crossfit`` gathers such records by cross-fitting and applies ``choose``. Report on ``test`` with
``python -m eval``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from assistant.retriever import Retriever
    from eval.queries import Query
    from settings import Settings


class Serving(Protocol):
    """What calibration reads of an assistant: its settings and its retriever (an ``Assistant`` has both)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def retriever(self) -> Retriever: ...


LANGS = ("pl", "en", "uk")


class CalibrationError(ValueError):
    """Calibration records or an α that cannot give the settings (the message names the value and the fix)."""


def four_decimals(value: float, up: bool) -> float:
    """The 4-decimal float nearest to ``value`` on its side: at least ``value`` when ``up``, else at most. The
    comparison is between floats, as the retriever makes it with the threshold parsed from the settings."""
    near = round(value, 4)
    if (near < value) if up else (near > value):
        near = round(near + (1e-4 if up else -1e-4), 4)
    return near


def conformal_upper(scores: list[float], alpha: float) -> float:
    """The ⌈(n+1)(1−α)⌉-th smallest score (the largest when that exceeds n): split-conformal quantile."""
    ordered = sorted(scores)
    k = math.ceil((len(ordered) + 1) * (1 - alpha))
    return ordered[min(k, len(ordered)) - 1]


def conformal_lower(scores: list[float], alpha: float) -> float:
    """The ⌊α(n+1)⌋-th smallest score (−inf when that is 0): at most α of new scores fall below it."""
    ordered = sorted(scores)
    k = math.floor(alpha * (len(ordered) + 1))
    return ordered[k - 1] if k >= 1 else -math.inf


def calibration_records(assistant: Serving, queries: list[Query]) -> list[dict]:
    """Per question: detected language, in scope, margin, and the gap from the top score to a right pledge."""
    from assistant.core import clean_question
    from assistant.language import detect_language

    out = []
    for q in queries:
        text, _ = clean_question(q.query, assistant.settings.max_question_chars)
        lang = detect_language(text)
        result = assistant.retriever.retrieve(text, lang)
        top = result.ranked[0].score
        right = [r.score for r in result.ranked if r.pledge_id in q.expected]
        out.append(
            {"lang": lang, "in_scope": q.in_scope, "margin": result.margin, "gap": top - max(right) if right else None}
        )
    return out


def choose(
    records: list[dict],
    set_alpha: float = 0.03,
    abstain_alpha: float = 0.03,
    per_language: bool = False,
    min_per_language: int = 30,
) -> dict:
    """``answer_set_delta`` and ``abstain_margins`` from calibration records (see the module docstring)."""
    for name, alpha in (("set_alpha", set_alpha), ("abstain_alpha", abstain_alpha)):
        if not 0 < alpha < 1:
            raise CalibrationError(f"{name} {alpha}: must lie between 0 and 1, e.g. 0.03")
    gaps = [r["gap"] for r in records if r["in_scope"] and r["gap"] is not None]
    inside = [r for r in records if r["in_scope"]]
    margins = {"*": conformal_lower([r["margin"] for r in inside], abstain_alpha)}
    if not np.isfinite(margins["*"]) or not gaps:
        raise CalibrationError(
            f"{len(inside)} in-scope calibration questions cannot place a threshold at "
            f"abstain_alpha {abstain_alpha}: it needs at least {math.ceil(1 / abstain_alpha) - 1};"
            " add questions or raise the alpha"
        )
    delta = conformal_upper(gaps, set_alpha)
    for lang in LANGS if per_language else ():
        own = [r["margin"] for r in inside if r["lang"] == lang]
        if len(own) >= min_per_language:
            margins[lang] = conformal_lower(own, abstain_alpha)
    # 4 decimals, rounded so that the guarantee survives: a threshold rounded up would also refuse the
    # calibration question it was read from (a margin of -0.01203 under a threshold of -0.012), a delta rounded
    # down would leave out the gap it was read from
    margins = {k: four_decimals(v, up=False) for k, v in margins.items() if np.isfinite(v)}
    return {
        "answer_set_delta": four_decimals(delta, up=True),
        "abstain_margins": ",".join(f"{k}:{v}" for k, v in margins.items()),
        "n_in_scope": len(inside),
        "n_out_of_scope": len(records) - len(inside),
        "set_alpha": set_alpha,
        "abstain_alpha": abstain_alpha,
    }


def _alpha(text: str) -> float:
    """An argparse type: a share strictly between 0 and 1, checked before any fold is trained."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number between 0 and 1, e.g. 0.03")
    return value


def add_rule_arguments(ap: argparse.ArgumentParser) -> None:
    """The abstention-rule options shared by ``eval.calibrate`` and ``eval.crossfit``."""
    ap.add_argument("--abstain-alpha", type=_alpha, default=0.03, help="share of in-scope questions refused at most")
    ap.add_argument(
        "--per-language",
        action="store_true",
        help="a threshold per language (PL, EN, UK) with enough questions, instead of one for all",
    )
    ap.add_argument(
        "--min-per-language",
        type=int,
        default=30,
        help="with --per-language: fewer in-scope questions than this share the one threshold",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: print the chosen settings as JSON (and KQA_* lines to paste)."""
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=Path, default=Path("eval/dev.jsonl"))
    ap.add_argument("--split", default="tune", choices=("tune", "test", "all"))
    ap.add_argument("--ids", type=Path, help="a JSON list of question ids to use (e.g. the calibration part)")
    add_rule_arguments(ap)
    args = ap.parse_args(argv)
    if args.split == "test":
        print("warning: choosing on the test split makes its numbers meaningless; use tune", file=sys.stderr)
    from assistant.core import Assistant
    from eval.queries import load_queries, select_split

    assistant = Assistant.load(log_fn=lambda m: print(m, file=sys.stderr))
    queries = select_split(load_queries(args.queries, {p.title: p.id for p in assistant.library.pledges}), args.split)
    if args.ids:
        wanted = set(json.loads(args.ids.read_text(encoding="utf-8")))
        queries = [q for q in queries if q.id in wanted]
    try:
        chosen = choose(
            calibration_records(assistant, queries),
            abstain_alpha=args.abstain_alpha,
            per_language=args.per_language,
            min_per_language=args.min_per_language,
        )
    except CalibrationError as exc:
        ap.error(str(exc))
    print(json.dumps(chosen, indent=2))
    print(f"KQA_ANSWER_SET_DELTA={chosen['answer_set_delta']}\nKQA_ABSTAIN_MARGINS={chosen['abstain_margins']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
