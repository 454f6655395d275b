"""Command line: ``kqa ask "QUESTION" [--json] [--top-k N] [--lang L] [--report R]``, ``kqa chat`` (a prompt that
keeps the conversation: a follow-up such as "is it free?" is read with the questions before it), ``kqa build``,
``kqa diff OLD NEW [--json]`` and ``kqa serve``. ``kqa eval`` is wired at the entry point (``kqa.py``).

A thin layer: it calls the library and turns its exceptions into messages and exit codes
(0 ok, 2 bad input or settings, 3 report, model, index or help-contacts file problem).
"""

from __future__ import annotations

import argparse
import json
import sys

from assistant.render import plain_answer
from settings import Settings


def parser() -> argparse.ArgumentParser:
    """The subcommands and their options."""
    ap = argparse.ArgumentParser(prog="kqa", description="Ask Kraków's equal-opportunity report.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--top-k", type=int, default=None, help="number of pledges to show (default 3)")
    ask.add_argument("--report", default=None, help="only this report (its key or section)")
    ask.add_argument(
        "--lang", default=None, choices=("pl", "en", "uk"), help="reply language (default: the question's)"
    )
    sub.add_parser("build", help="(re)build the model folder and the index, with a progress bar")
    about_chat = (
        "a conversation at a prompt (follow-ups such as 'is it free?' keep their context) until an empty "
        "line or Ctrl-D; '/new' starts a new conversation"
    )
    chat = sub.add_parser("chat", help=about_chat, description=about_chat)
    chat.add_argument("--top-k", type=int, default=None)
    diff = sub.add_parser("diff", help="what changed between two editions of the report (.txt or .pdf files)")
    diff.add_argument("old", help="the earlier edition's file")
    diff.add_argument("new", help="the later edition's file")
    diff.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("serve", help="the web app and JSON API (arguments as for `python app.py`)")
    sub.add_parser("eval", help="the retrieval evaluation (arguments as for `python -m eval`; `kqa eval`)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from settings import apply_privacy_env

    apply_privacy_env()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        return _serve(argv[1:])
    if argv[:1] == ["eval"]:
        print("error: the evaluation is `kqa eval …` or `python -m eval …`", file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
    if args.cmd == "diff":
        return _diff(args.old, args.new, as_json=args.json)
    if args.cmd == "ask" and not args.question.strip():
        print(
            'error: the question is empty; pass a question, e.g. kqa ask "is there free mammography?"', file=sys.stderr
        )
        return 2
    return _with_assistant(args)


def _with_assistant(args: argparse.Namespace) -> int:
    """``ask``, ``chat`` and ``build``: load what they need, and turn the library's errors into exit codes."""
    from assistant.contacts import ContactsError
    from assistant.core import Assistant, QuestionError
    from corpus import ReportFormatError
    from corpus.reports import ReportSetError
    from index.encoder import EncoderError
    from index.materialize import MaterializeError
    from index.profiles import served, waiting_note
    from index.store import IndexLoadError
    from settings import SettingsError

    try:
        settings = Settings.from_env()
        if args.cmd == "build":
            return _build(served(settings))
        assistant = Assistant.load(settings, log_fn=lambda m: print(m, file=sys.stderr))
        note = waiting_note(settings, assistant.settings)
        if args.cmd == "chat" and note:
            print(f"({note})", file=sys.stderr)
        if args.cmd == "ask":
            ans = assistant.ask(args.question, top_k=args.top_k, lang=args.lang, report=args.report)
            print(json.dumps(ans.to_json(), ensure_ascii=False, indent=2) if args.json else plain_answer(ans))
            return 0
        return _chat(assistant, args.top_k)
    except (QuestionError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ReportFormatError, ReportSetError, EncoderError, MaterializeError, IndexLoadError, ContactsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


def _serve(rest: list[str]) -> int:
    """Run app.py as its own program (nothing imports app.py: it is the UI's top, not a library)."""
    import runpy
    from pathlib import Path

    app = Path(__file__).resolve().parent.parent / "app.py"
    sys.argv = [str(app), *rest]
    runpy.run_path(str(app), run_name="__main__")
    return 0


def _diff(old_path: str, new_path: str, *, as_json: bool) -> int:
    """Parse two report files and print their differences; a broken file is bad input (exit 2)."""
    from corpus import ReportFormatError, parse_report
    from corpus.diff import diff_reports, format_diff

    try:
        old, new = parse_report(old_path), parse_report(new_path)
    except ReportFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    diff = diff_reports(old, new)
    print(json.dumps(diff.to_json(), ensure_ascii=False, indent=2) if as_json else format_diff(diff))
    return 0


def _build(settings: Settings) -> int:
    """Parse the reports folder and save a new index build, with progress; errors as in ``main``."""
    from index.build import rebuild
    from index.encoder import load_encoder

    encoder = load_encoder(settings)
    print(f"reports: {settings.reports}; model: {encoder.name} (dim {encoder.dim})", file=sys.stderr)
    rebuild(settings, encoder, progress=True, force=True, log=lambda m: print(m, file=sys.stderr))
    return 0


def _chat(assistant: object, top_k: int | None) -> int:
    """Questions at a prompt; the conversation (the questions and the pledges shown) lives in this process only,
    so a follow-up is read with the turns before it. '/new' forgets it."""
    from assistant.core import Assistant, QuestionError

    assert isinstance(assistant, Assistant)
    print("Ask about the report (empty line to quit; /new starts a new conversation).", file=sys.stderr)
    history: list[object] = []
    while True:
        try:
            question = input("> ")
        except EOFError:
            return 0
        if not question.strip():
            return 0
        if question.strip() == "/new":
            history = []
            continue
        try:
            ans = assistant.ask(question, top_k=top_k, history=history)
        except QuestionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        print(plain_answer(ans, assistant.library))
        history = [*history, ans.turn][-assistant.settings.max_history_turns :]
