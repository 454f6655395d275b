"""``python -m eval --queries PATH [--split tune|test|all] [--retriever NAME|all] [--json [OUT]] [--report [DIR]]
[--romanized]``, or ``python -m eval --conversations PATH [--split …] [--json [OUT]] [--report [DIR]]``

Prints a table of hit@1, hit@3, recall@3, mrr@10, ndcg@10, abstention and handled, each with a bootstrap 95 %
interval, per retriever, language and kind, and paired tests of each retriever against dense-whole.
Exit code 0 unless the query file or the settings are broken (then 2, with the line named).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from eval.queries import Query, QueryFileError, load_queries, select_split
from eval.report import paired_table, text_table, write_report
from eval.runner import BASELINE, RETRIEVERS, run_all

if TYPE_CHECKING:
    from assistant.core import Assistant
    from eval.conversations import Conversation
    from index.encoder import Encoder
    from settings import Settings

OUT_DIR = Path(__file__).resolve().parent / "out"  # git-ignored
# argparse's const for a bare --json/--report: not a str, so type=Path leaves it alone and `is` finds it
_BARE = Path("<bare>")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with a bare ``--json``/``--report`` turned into its path under eval/out."""
    ap = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n\n")[0])
    inputs = ap.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--queries", type=Path, help="JSONL query file (see docs/evaluation.md)")
    inputs.add_argument(
        "--conversations",
        type=Path,
        help="JSONL conversation file: each turn asked with the turns before it (eval.conversations)",
    )
    ap.add_argument(
        "--split",
        default="all",
        choices=("tune", "test", "all"),
        help="which questions to evaluate (default all; report numbers on test, tune on tune)",
    )
    ap.add_argument("--retriever", default="default", help=f"one of {', '.join(RETRIEVERS)}, or all")
    ap.add_argument(
        "--json",
        type=Path,
        nargs="?",
        const=_BARE,
        help="write the metrics (and failures) of the (last) retriever here; with --retriever all, "
        "a list of all (bare: eval/out/<split>.json)",
    )
    ap.add_argument(
        "--report",
        type=Path,
        nargs="?",
        const=_BARE,
        help="write report.md, results.json and plots into this folder (bare: eval/out/<split>/)",
    )
    ap.add_argument(
        "--romanized",
        action="store_true",
        help="ask the Ukrainian and Russian questions typed in Latin letters instead (eval.romanize)",
    )
    ap.add_argument(
        "--without-history",
        action="store_true",
        help="with --conversations: ask every turn as if it were the first (the before-issue-25 baseline)",
    )
    ap.add_argument(
        "--fake-encoder",
        action="store_true",
        help="use the deterministic fake encoder (tests); its index lives in a temporary folder",
    )
    args = ap.parse_args(argv)
    if args.romanized and args.conversations:
        ap.error("--romanized works with --queries only (conversations are asked as they are written)")
    view = f"{args.split}-romanized" if args.romanized else args.split
    if args.conversations:
        view = f"conversations-{args.split}" + ("-without-history" if args.without_history else "")
    if args.json is _BARE:
        args.json = OUT_DIR / f"{view}.json"
    if args.report is _BARE:
        args.report = OUT_DIR / view
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from settings import apply_privacy_env

    apply_privacy_env()
    args = _parse_args(argv)
    from corpus import ReportFormatError
    from corpus.reports import ReportSetError, load_report_set
    from settings import Settings, SettingsError

    names = list(RETRIEVERS) if args.retriever == "all" else [args.retriever]
    if any(n not in RETRIEVERS for n in names):
        print(
            f"error: retriever {args.retriever!r} is unknown; pass one of {', '.join(RETRIEVERS)} or all",
            file=sys.stderr,
        )
        return 2
    source = args.conversations or args.queries
    queries: list[Query] = []
    convs: list[Conversation] = []
    try:
        settings = Settings.from_env()
        reports = load_report_set(settings.reports)
        titles = {p.title: p.id for p in reports.pledges}
        if args.conversations:
            from eval.conversations import load_conversations, select_conversations

            convs = select_conversations(load_conversations(args.conversations, titles), args.split)
        else:
            queries = select_split(load_queries(args.queries, titles), args.split)
    except (QueryFileError, ReportFormatError, ReportSetError, SettingsError) as exc:
        prefix = "" if str(exc).startswith(str(source)) else f"{source}: "
        print(f"error: {prefix}{exc}", file=sys.stderr)
        return 2
    if args.romanized:
        from eval.romanize import romanized_view

        queries = romanized_view(queries)
        if not queries:
            print(
                f"error: {args.queries} has no Ukrainian or Russian question in Cyrillic letters in split "
                f"{args.split!r}; --romanized needs some (or leave it off)",
                file=sys.stderr,
            )
            return 2
    if not args.fake_encoder:
        return _evaluate(args, settings, queries, convs, names, None)
    from index.fake import FakeEncoder

    # Fake vectors never go into the configured index (data/index or KQA_INDEX_DIR): a temporary one.
    with tempfile.TemporaryDirectory(prefix="kqa-fake-index-") as tmp:
        return _evaluate(args, replace(settings, index_dir=Path(tmp)), queries, convs, names, FakeEncoder())


def _evaluate(
    args: argparse.Namespace,
    settings: Settings,
    queries: list[Query],
    convs: list[Conversation],
    names: list[str],
    encoder: Encoder | None,
) -> int:
    from assistant.core import Assistant

    assistant = Assistant.load(settings, encoder=encoder, log_fn=lambda m: print(m, file=sys.stderr))
    if args.conversations:
        return _evaluate_conversations(args, assistant, convs, _profile(settings, assistant, encoder is not None))
    results = run_all(assistant, queries, names)
    print(f"split: {args.split} ({len(queries)} questions); {_profile(settings, assistant, encoder is not None)}")
    print(text_table(results))
    print(f"\npaired tests against {BASELINE} (in-scope questions):")
    print(paired_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = results[0] if len(results) == 1 else results
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    if args.report:
        print(f"report: {write_report(results, args.report, str(args.queries), args.split)}")
    return 0


def _profile(settings: Settings, assistant: Assistant, fake: bool) -> str:
    """Which profile was measured, and, with KQA_PROFILE unset, that a better one answers once it is built."""
    from index.profiles import waiting_note

    note = None if fake else waiting_note(settings, assistant.settings)
    return f"profile: {assistant.settings.profile}" + (f"; {note}" if note else "")


def _evaluate_conversations(
    args: argparse.Namespace, assistant: Assistant, convs: list[Conversation], profile: str
) -> int:
    """Handled per turn kind and language, wrong carry-overs and the rewrites' gap (eval.conversations)."""
    from assistant.messages import reply_language
    from eval.conversations import run_conversations, summarize, text_table

    records = run_conversations(
        assistant.ask, convs, reply_language, rewrites=True, with_history=not args.without_history
    )
    summary = {**summarize(records), "profile": assistant.settings.profile}
    print(f"split: {args.split} ({summary['n_conversations']} conversations, {len(records)} turns); {profile}")
    print(text_table(summary))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.report:
        args.report.mkdir(parents=True, exist_ok=True)
        (args.report / "report.md").write_text(
            f"# Conversations, split {args.split}\n\n```\n{text_table(summary)}\n```\n", encoding="utf-8"
        )
        (args.report / "results.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        print(f"report: {args.report / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
