"""Gradio UI over the assistant: chat with cited answers, a browse tab, feedback. Layout and event wiring only.

    python app.py [--host 127.0.0.1] [--port 7860]

The UI is mounted on the server of assistant/web.py, beside the JSON API (``/api/ask``, docs at ``/api/docs``).
Rendering, messages and feedback live in assistant/; nothing here retrieves or formats answers.
"""

from __future__ import annotations

from settings import apply_privacy_env

apply_privacy_env()  # before gradio and onnxruntime are imported: no analytics, no telemetry

import argparse  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402

from assistant import Assistant, QuestionError  # noqa: E402
from assistant.api import Service  # noqa: E402
from assistant.feedback import FeedbackStore, StoreUnavailable  # noqa: E402
from assistant.language import detect_language  # noqa: E402
from assistant.messages import reply_language, t  # noqa: E402
from assistant.render import as_text, markdown_messages, markdown_pledge  # noqa: E402
from index.lexical import fold  # noqa: E402
from settings import Settings  # noqa: E402

STATUSES = ("done", "partly_done", "in_progress", "planned", "not_done", "unclear")
EXAMPLES = ["Czy jest bezpłatna mammografia?", "Gdzie szukać pomocy przy przemocy w rodzinie?",
            "Are there Polish courses for foreigners?", "What support is there for carers of disabled people?",
            "Чи є допомога жінкам, які хочуть відкрити бізнес?", "Де знайти гінеколога без клаузули совісті?"]
LANG_CHOICES = [("auto", "auto"), ("Polski", "pl"), ("English", "en"), ("Українська", "uk")]
CSS = """
.gradio-container {max-width: 980px !important; margin: auto;}
@media (max-width: 480px) { .gradio-container {padding: 4px !important;} }
#pledge-table, #pledge-table * {max-width: 100%;}
#pledge-table {overflow-x: auto;}
#pledge-table table {table-layout: fixed; width: 100% !important;}
#pledge-table td, #pledge-table th {white-space: normal !important; overflow-wrap: anywhere;}
"""
NO_LATEX: list = []  # `$$…$$` in a question must show as typed, not be typeset


def _vote_of(liked: object) -> str | None:
    """Gradio's like value → the store's vote: a like, a dislike, or taking a vote back."""
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    return None


def _ui_lang(choice: str, last: str) -> str:
    return last if choice == "auto" else choice


def build_app(assistant: Assistant, feedback: FeedbackStore) -> gr.Blocks:
    """The Blocks app; ``assistant`` is loaded once and shared by all sessions."""
    library = assistant.library

    def label_updates(lang: str) -> list:
        return [gr.update(placeholder=t(lang, "ui_placeholder"), label=t(lang, "ui_chat")),
                gr.update(value=t(lang, "ui_send")), gr.update(label=t(lang, "ui_chat")),
                gr.update(label=t(lang, "ui_browse")), gr.update(label=t(lang, "ui_language")),
                gr.update(label=t(lang, "ui_status_filter")), gr.update(label=t(lang, "ui_text_filter")),
                gr.update(label=t(lang, "ui_open")), gr.update(value=t(lang, "ui_intro"))]

    def respond(question: str, history: list, choice: str, last: str, meta: dict):
        history, meta = list(history or []), dict(meta or {})
        lang = _ui_lang(choice, last)
        try:
            ans = assistant.ask(question or "", lang=None if choice == "auto" else choice)
        except QuestionError as exc:
            history.append({"role": "assistant", "content": as_text(t(lang, f"err_{exc.code}"))})
            return (history, question, last, meta, *label_updates(lang))
        history.append({"role": "user", "content": as_text(ans.question)})
        last = reply_language(ans.language)
        shown = [a.pledge_id for a in ans.answers] or [s.pledge_id for s in ans.suggestions]
        try:
            feedback.record_answer(ans.answer_id, lang=ans.language, reply_language=ans.reply_language,
                                   abstained=ans.abstained, pledge_ids=shown, report="", question=ans.question)
        except StoreUnavailable:
            pass  # answering matters more than counting; the store logged why
        first = len(history)
        history.extend(markdown_messages(ans))
        top = ans.answers[0].pledge_id if ans.answers else "-"
        for i in range(first, len(history)):
            meta[str(i)] = {"answer_id": ans.answer_id, "pledge_id": top}
        return (history, "", last, meta, *label_updates(_ui_lang(choice, last)))

    def on_like(data: gr.LikeData, meta: dict) -> None:
        index = data.index if isinstance(data.index, int) else data.index[0]
        info = (meta or {}).get(str(index))
        if info is not None:
            try:
                feedback.vote(info["answer_id"], info["pledge_id"], _vote_of(data.liked))
            except StoreUnavailable:
                gr.Warning(t("en", "err_store"))

    def browse(status: str, text: str, choice: str, last: str) -> tuple:
        needle = fold(text or "").lower()
        rows = [p for p in library.pledges if status in ("", "all", None) or p.status_label.label == status]
        rows = [p for p in rows if needle in fold(f"{p.title} {p.pledge.text} {p.status.text}").lower()]
        lang = _ui_lang(choice, last)
        table = [[p.title, t(lang, p.status_label.label)] for p in rows]
        choices = [(p.title, p.id) for p in rows]
        first = choices[0][1] if choices else None
        # The detail is rendered here too: when the first row stays the same, the picker fires no change event.
        return table, gr.update(choices=choices, value=first), open_pledge(first, choice, last)

    def open_pledge(pledge_id: str | None, choice: str, last: str) -> str:
        if not pledge_id:
            return ""
        return markdown_pledge(library, library.by_id(pledge_id), _ui_lang(choice, last))

    def switch_language(choice: str, last: str, pledge_id: str | None) -> list:
        return [*label_updates(_ui_lang(choice, last)), open_pledge(pledge_id, choice, last)]

    statuses = [("all", "all")] + [(s, s) for s in STATUSES]
    with gr.Blocks(analytics_enabled=False, title="Kraków — miasto równych szans") as demo:
        last_lang = gr.State("pl")
        meta = gr.State({})
        intro = gr.Markdown(t("pl", "ui_intro"), latex_delimiters=NO_LATEX)
        lang_choice = gr.Radio(LANG_CHOICES, value="auto", label=t("pl", "ui_language"), elem_id="language")
        with gr.Tabs():
            with gr.Tab(t("pl", "ui_chat"), id="chat") as chat_tab:
                chatbot = gr.Chatbot(height=520, elem_id="chat", feedback_options=("Like", "Dislike"),
                                     sanitize_html=True, show_label=False, buttons=["copy"],
                                     latex_delimiters=NO_LATEX)
                with gr.Row():
                    box = gr.Textbox(placeholder=t("pl", "ui_placeholder"), label=t("pl", "ui_chat"), scale=5,
                                     elem_id="question", max_lines=4, lines=1)
                    send = gr.Button(t("pl", "ui_send"), variant="primary", scale=1, min_width=80, elem_id="send")
                gr.Examples(EXAMPLES, inputs=box, label="PL · EN · UK")
            with gr.Tab(t("pl", "ui_browse"), id="browse") as browse_tab:
                with gr.Row():
                    status_filter = gr.Dropdown(statuses, value="all", label=t("pl", "ui_status_filter"),
                                                elem_id="status-filter")
                    text_filter = gr.Textbox(label=t("pl", "ui_text_filter"), elem_id="text-filter")
                table = gr.Dataframe(headers=["Zobowiązanie / Pledge", "Status"], interactive=False,
                                     wrap=True, elem_id="pledge-table", column_widths=["70%", "30%"])
                picker = gr.Dropdown([], label=t("pl", "ui_open"), elem_id="pledge-picker")
                detail = gr.Markdown(elem_id="pledge-detail", latex_delimiters=NO_LATEX)
        labelled = [box, send, chat_tab, browse_tab, lang_choice, status_filter, text_filter, picker, intro]
        # Answering is CPU-bound (~9 ms on onnxruntime over both cores): 2 workers match the 2 cores.
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chatbot, lang_choice, last_lang, meta],
                    [chatbot, box, last_lang, meta, *labelled], api_visibility="private",
                    concurrency_limit=2, concurrency_id="ask")
        chatbot.like(on_like, [meta], None, api_visibility="private")
        lang_choice.change(switch_language, [lang_choice, last_lang, picker], [*labelled, detail],
                           api_visibility="private")
        browse_inputs = [status_filter, text_filter, lang_choice, last_lang]
        for trigger in (status_filter.change, text_filter.change):
            trigger(browse, browse_inputs, [table, picker, detail], api_visibility="private")
        picker.input(open_pledge, [picker, lang_choice, last_lang], detail, api_visibility="private")
        demo.load(browse, browse_inputs, [table, picker, detail], api_visibility="private")
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


class _RedactedTraceback:
    """Stands in for the ``traceback`` module inside Gradio's request handling. Gradio prints the traceback of
    every failed event, and many of its messages hold the values the event received — a resident's question
    ("Value: '…' is not in the list of choices", "Received inputs: […]"). The log gets where it failed, and
    the exception type, never the message."""

    def __getattr__(self, name: str) -> object:
        return getattr(traceback, name)

    @staticmethod
    def print_exc(*_args: object, **_kwargs: object) -> None:
        exc = sys.exc_info()[1]
        frames = traceback.extract_tb(exc.__traceback__) if exc is not None else []
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        print(f"gradio event failed: {type(exc).__name__} at {where} (message not logged: it may quote the "
              "question)", file=sys.stderr)


def _quiet_gradio_errors() -> None:
    """Route Gradio's error printing through ``_RedactedTraceback`` (see there)."""
    import gradio.queueing
    import gradio.route_utils
    import gradio.routes

    for module in (gradio.queueing, gradio.route_utils, gradio.routes):
        module.traceback = _RedactedTraceback()  # type: ignore[attr-defined]


# System fonts only: the default theme would fetch Google Fonts, and the app must work offline and privately.
THEME = gr.themes.Default(font=[gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")],
                          font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")])


def main(argv: list[str] | None = None) -> int:
    """Load the assistant once, then serve the UI and the JSON API on --host/--port (127.0.0.1:7860)."""
    from assistant.web import create_server, serve

    settings = Settings.from_env()
    ap = argparse.ArgumentParser(description="Kraków equal-opportunity report assistant (web UI and JSON API)")
    ap.add_argument("--host", default=settings.host, help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=settings.port)
    ap.add_argument("--workers", type=int, default=1,
                    help="serve with N processes on ports PORT..PORT+N-1 (put a proxy in front: README)")
    args = ap.parse_args(argv)
    if args.workers != 1:
        from assistant.replicas import run_replicas

        return run_replicas(args.workers, args.host, args.port)
    settings = replace(settings, host=args.host, port=args.port)
    assistant = Assistant.load(settings, log_fn=lambda m: print(m, file=sys.stderr))
    service = Service(settings, FeedbackStore(settings.db_url, settings.feedback_questions), assistant)
    server = create_server(service)
    _quiet_gradio_errors()
    demo = build_app(assistant, service.feedback)
    detect_language("rozgrzewka")  # load langdetect's profiles now, not on the first resident's question
    gr.mount_gradio_app(server, demo, path="/", server_name=args.host, server_port=args.port, theme=THEME,
                        css=CSS, footer_links=[], ssr_mode=False, pwa=False, mcp_server=False, show_error=True,
                        max_file_size=1,
                        # No run history: it would keep residents' questions in the browser (a shared helpline PC).
                        run_history=False)
    print(f"serving on http://{args.host}:{args.port} (API docs: /api/docs)", file=sys.stderr)
    serve(server, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
