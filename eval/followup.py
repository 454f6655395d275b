"""Choose the follow-up margins on the tune conversations: ``python -m eval.followup [--split tune]``.

Every later turn is retrieved alone and with its context once (the earlier turns as the conversation's labels
say they were answered: the history a user would have had if every earlier turn was right), then
``assistant.conversation.read_turn`` is replayed over a grid of (alone, context, off-topic) margins, short-turn
word counts, background maxima and stay gains. Of the policies with at most ``--max-carry`` wrong carry-overs
(new-topic and off-topic turns answered with the previous pledge) that handle within one standard error of the
most later turns, the one that reads context least often is kept (``choose``); the choice is also scored out of
fold (``--folds``). Language requests do not depend on the margins and are left out. Prints the choice as
``KQA_*`` settings. That grid runs without the follow-up head and the answer margin; ``--head`` then chooses
those two with the six margins as the settings have them (``choose_head``), and ``--joint`` all nine together,
with the agreement margin (``choose_joint``, as served). ``--also FILE`` adds the later turns of one of the
head's training files, each with the logit of a head that did not learn from its conversation (``cross_fit``):
with ``eval/conversations_head.jsonl`` four times tune's turns in all, from other writers. The cases, the grid
and the choices are ``eval.followup_choice``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from eval.conversations import Conversation, load_conversations, select_conversations
from eval.followup_choice import (
    Case,
    Chooser,
    answered_auc,
    cases,
    choose,
    choose_head,
    choose_joint,
    cross_fit,
    out_of_fold,
    score,
)

if TYPE_CHECKING:
    from assistant.core import Assistant


def main(argv: list[str] | None = None) -> int:
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.followup", description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=Path, default=Path(__file__).resolve().parent / "conversations.jsonl")
    ap.add_argument("--split", default="tune", choices=("tune", "test", "all"))
    ap.add_argument(
        "--max-carry", type=float, default=0.03, help="largest share of wrong carry-overs allowed (issue 25: 3 %%)"
    )
    ap.add_argument(
        "--context-questions",
        type=int,
        nargs="+",
        default=[1, 2, 3],
        help="earlier questions put in front of the turn (each value is tried)",
    )
    ap.add_argument(
        "--folds", type=int, default=5, help="also score the choice out of fold over this many folds (0: skip)"
    )
    ap.add_argument("--json", type=Path, help="write the choice and its counts here")
    ap.add_argument(
        "--head",
        action="store_true",
        help="choose only the follow-up head's logit and the answer margin, the six margins as the settings have them",
    )
    ap.add_argument(
        "--joint",
        action="store_true",
        help="choose all nine knobs together (choose_joint), starting from the settings",
    )
    ap.add_argument(
        "--also",
        type=Path,
        action="append",
        default=[],
        help="with --joint: also choose on this training-only conversation file (one the follow-up head learns "
        "from, all its conversations), its head logits cross-fitted",
    )
    args = ap.parse_args(argv)
    if args.also and not args.joint:
        ap.error("--also needs --joint: only the joint choice holds tune's turns alone to the carry-over bound")

    from assistant.core import Assistant
    from settings import Settings

    assistant = Assistant.load(Settings.from_env(), log_fn=lambda m: print(m, file=sys.stderr))
    titles = {p.title: p.id for p in assistant.library.pledges}
    convs = select_conversations(load_conversations(args.conversations, titles), args.split)
    extra: list[Case] = []
    for path in args.also:
        also = cases(assistant, load_conversations(path, titles), assistant.settings.followup_context_questions)
        extra += [replace(c, bound=False) for c in cross_fit(assistant, also, path, max(args.folds, 5))]
    if args.head or args.joint:
        return _choose_head(assistant, convs, args, extra)
    results = []
    for k in args.context_questions:
        data = cases(assistant, convs, k)
        if k == args.context_questions[0]:
            auc, n = answered_auc(data)
            print(
                f"detail turns the report answers vs not, by their best sentence's margin: AUC {auc} ({n} "
                "labelled turns; 0.5 = no better than chance)"
            )
        policy, s = choose(data, args.max_carry)
        oof = out_of_fold(data, args.max_carry, args.folds) if args.folds else None
        results.append({"context_questions": k, "policy": policy.__dict__, **s, "out_of_fold": oof})
        print(
            f"context questions {k}: handled {s['handled']}/{s['n']}, wrong carry-overs {s['carry']}/"
            f"{s['carry_n']}, context read {s['context_reads']} times; {policy}"
        )
        if oof:
            print(
                f"  out of fold ({args.folds} folds by conversation): handled {oof['handled']}/{oof['n']}, "
                f"wrong carry-overs {oof['carry']}/{oof['carry_n']}"
            )
    best = max(results, key=lambda r: (r["handled"], -r["carry"], -r["context_questions"]))
    p = best["policy"]
    print(
        f"KQA_FOLLOWUP_ALONE_MARGIN={p['alone']} KQA_FOLLOWUP_CONTEXT_MARGIN={p['context']} "
        f"KQA_FOLLOWUP_OFFTOPIC_MARGIN={p['offtopic']} KQA_FOLLOWUP_SHORT_WORDS={p['short_words']} "
        f"KQA_FOLLOWUP_BACKGROUND_MAX={p['background']} KQA_FOLLOWUP_STAY_GAIN={p['stay_gain']} "
        f"KQA_FOLLOWUP_CONTEXT_QUESTIONS={best['context_questions']}"
    )
    if args.json:
        args.json.write_text(json.dumps({"split": args.split, "results": results, "chosen": best}, indent=2))
    return 0


def _choose_head(assistant: Assistant, convs: list[Conversation], args: argparse.Namespace, extra: list[Case]) -> int:
    """``--head``: the head's logit and the answer margin on top of the six margins the settings have (the
    agreement margin off);
    ``--joint``: all nine, starting from the settings."""
    if assistant.index.followup_head is None:
        print("the index has no follow-up head (no index.followup_head.TRAINING_FILES here): the logit is moot")
    data = cases(assistant, convs, assistant.settings.followup_context_questions) + extra
    base = replace(assistant.policy, needs=math.inf, answer=-math.inf, agree=math.inf)
    chooser: Chooser = (
        (lambda d, m: choose_joint(d, m, assistant.policy)) if args.joint else (lambda d, m: choose_head(d, m, base))
    )
    served, alone = score(assistant.policy, data), score(base, data)
    policy, s = chooser(data, args.max_carry)
    print(
        f"{len(data)} later turns ({len(extra)} from --also): as served handled {served['handled']}, wrong "
        f"carry-overs {served['carry']}/{served['carry_n']}; six margins alone handled {alone['handled']}"
    )
    print(f"chosen {policy}: handled {s['handled']}/{s['n']}, wrong carry-overs {s['carry']}/{s['carry_n']}")
    oof = None
    if args.folds:
        oof = out_of_fold(data, args.max_carry, args.folds, chooser)
        print(
            f"  out of fold ({args.folds} folds by conversation): handled {oof['handled']}/{oof['n']}, wrong "
            f"carry-overs {oof['carry']}/{oof['carry_n']}"
        )
    print(
        " ".join(
            f"KQA_FOLLOWUP_{name.upper()}={getattr(policy, field)}"
            for name, field in (
                ("alone_margin", "alone"),
                ("context_margin", "context"),
                ("offtopic_margin", "offtopic"),
                ("short_words", "short_words"),
                ("background_max", "background"),
                ("stay_gain", "stay_gain"),
                ("needs_logit", "needs"),
                ("answer_margin", "answer"),
                ("agree_margin", "agree"),
            )
            if args.joint or field in ("needs", "answer")
        )
    )
    if args.json:
        args.json.write_text(json.dumps({"split": args.split, "policy": policy.__dict__, **s, "out_of_fold": oof}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
