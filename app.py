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

from assistant import Assistant  # noqa: E402
from assistant.api import Service  # noqa: E402
from assistant.feedback import FeedbackStore  # noqa: E402
from assistant.language import detect_language  # noqa: E402
from assistant.messages import t  # noqa: E402
from corpus.translated import Translations  # noqa: E402
from assistant.ui_events import UiEvents  # noqa: E402
from assistant.ui_text import (busy_html, css, examples_label, head, heading_html, status_choices,  # noqa: E402
                               ui_lang)
from settings import Settings  # noqa: E402

LANG_CHOICES = [("auto", "auto"), ("Polski", "pl"), ("English", "en"), ("Українська", "uk")]
NO_LATEX: list = []  # `$$…$$` in a question must show as typed, not be typeset
# Our HTML pieces come from assistant/cards.py, which escapes every text exactly once; the Markdown sanitizer would
# strip the data- and aria- attributes the buttons need (and would be a second, different escaping).
PRIVATE = {"api_visibility": "private"}  # the UI's events are not an API: /api/* is


def build_app(events: UiEvents) -> gr.Blocks:
    """The Blocks app: layout, and events wired to ``events`` (assistant/ui_events.py), shared by all sessions."""
    section, examples = events.section, events.examples

    def labels(lang: str) -> list:
        return [heading_html(lang, section), busy_html(lang), examples_label(lang),
                gr.update(label=t(lang, "ui_chat"), placeholder=t(lang, "ui_placeholder")),
                gr.update(value=t(lang, "ui_send")), gr.update(label=t(lang, "ui_chat")),
                gr.update(label=t(lang, "ui_browse")), gr.update(label=t(lang, "ui_stats")),
                gr.update(label=t(lang, "ui_language")),
                gr.update(label=t(lang, "ui_status_filter"), choices=status_choices(lang)),
                gr.update(label=t(lang, "ui_text_filter")), gr.update(label=t(lang, "ui_changed")),
                gr.update(label=t(lang, "ui_token")), gr.update(value=t(lang, "ui_show_stats"))]

    def respond(question: str, turns: list, choice: str, last: str) -> tuple:
        page, turns, last = events.respond(question, turns, choice, last)
        return (page, turns, last, *labels(ui_lang(choice, last)))

    def switch_language(choice: str, last: str, command: str, text: str, status: str, changed: bool) -> list:
        return [*labels(ui_lang(choice, last)), events.open_pledge(command, choice, last),
                events.browse(text, status, changed, choice, last)]

    def on_load(request: gr.Request) -> list:
        """A shared link (``?pledge=<id>&lang=<xx>``) opens that pledge in Browse, in that language."""
        lang, pledge_id = events.deep_link(dict(request.query_params) if request is not None else {})
        tab = gr.Tabs(selected="browse" if pledge_id else "ask")
        return [tab, lang, pledge_id, *switch_language(lang, "pl", pledge_id, "", "all", False)]

    admin_token = events.admin_token
    with gr.Blocks(analytics_enabled=False, title=section) as demo:
        last_lang = gr.State("pl")
        turns = gr.State([])
        heading = gr.Markdown(heading_html("pl", section), elem_id="kqa-head", latex_delimiters=NO_LATEX, sanitize_html=False)
        lang_choice = gr.Radio(LANG_CHOICES, value="auto", label=t("pl", "ui_language"), elem_id="language")
        with gr.Tabs(selected="ask") as tabs:
            with gr.Tab(t("pl", "ui_chat"), id="ask") as ask_tab:
                with gr.Row(equal_height=True):
                    box = gr.Textbox(placeholder=t("pl", "ui_placeholder"), label=t("pl", "ui_chat"), scale=5,
                                     elem_id="question", max_lines=6, lines=1, min_width=200)
                    send = gr.Button(t("pl", "ui_send"), variant="primary", scale=1, min_width=96, elem_id="send")
                busy = gr.Markdown(busy_html("pl"), latex_delimiters=NO_LATEX, sanitize_html=False)
                examples_head = gr.Markdown(examples_label("pl"), latex_delimiters=NO_LATEX, sanitize_html=False)
                with gr.Row(elem_classes="kqa-examples"):
                    example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in examples]
                answers = gr.Markdown("", elem_id="answers", latex_delimiters=NO_LATEX, sanitize_html=False)
            with gr.Tab(t("pl", "ui_browse"), id="browse") as browse_tab:
                text_filter = gr.Textbox(label=t("pl", "ui_text_filter"), elem_id="text-filter", max_lines=1)
                with gr.Row():
                    status_filter = gr.Dropdown(status_choices("pl"), value="all", label=t("pl", "ui_status_filter"),
                                                elem_id="status-filter", min_width=160)
                    changed = gr.Checkbox(False, label=t("pl", "ui_changed"), elem_id="changed-filter", min_width=160)
                pledge_list = gr.Markdown(elem_id="pledge-list", latex_delimiters=NO_LATEX, sanitize_html=False)
                open_id = gr.Textbox(elem_id="open-id", elem_classes="kqa-hidden", show_label=False, container=False)
                detail = gr.Markdown(elem_id="pledge-detail", latex_delimiters=NO_LATEX, sanitize_html=False)
            with gr.Tab(t("pl", "ui_stats"), id="stats", elem_id="stats-tab") as stats_tab:
                token = gr.Textbox(label=t("pl", "ui_token"), type="password", elem_id="admin-token",
                                   visible=bool(admin_token))
                show = gr.Button(t("pl", "ui_show_stats"), elem_id="show-stats", visible=bool(admin_token))
                stats_out = gr.Markdown("" if admin_token else f"<p>{t('pl', 'ui_stats_closed')}</p>", latex_delimiters=NO_LATEX, sanitize_html=False)
        labelled = [heading, busy, examples_head, box, send, ask_tab, browse_tab, stats_tab, lang_choice,
                    status_filter, text_filter, changed, token, show]
        ask_outputs = [answers, turns, last_lang, *labelled]
        # Answering is CPU-bound (~9 ms on onnxruntime over both cores): 2 workers match the 2 cores. The box is
        # not an output: what a reader types while an answer loads is never wiped.
        for trigger in (box.submit, send.click):
            trigger(respond, [box, turns, lang_choice, last_lang], ask_outputs, concurrency_limit=2,
                    concurrency_id="ask", **PRIVATE)
        for button, question in zip(example_buttons, examples):
            button.click(lambda tu, c, la, q=question: (q, *respond(q, tu, c, la)), [turns, lang_choice, last_lang],
                         [box, *ask_outputs], concurrency_limit=2, concurrency_id="ask", **PRIVATE)
        browse_inputs = [text_filter, status_filter, changed, lang_choice, last_lang]
        for trigger in (text_filter.change, status_filter.change, changed.change):
            trigger(events.browse, browse_inputs, pledge_list, trigger_mode="always_last", **PRIVATE)
        # No `js=` on events: Gradio evaluates it as a string, which the CSP forbids; ui.js scrolls instead.
        browse_tab.select(events.browse, browse_inputs, pledge_list, **PRIVATE)  # the list in the current language
        open_id.change(events.open_pledge, [open_id, lang_choice, last_lang], detail, **PRIVATE)
        lang_choice.change(switch_language, [lang_choice, last_lang, open_id, *browse_inputs[:3]],
                           [*labelled, detail, pledge_list], **PRIVATE)
        show.click(events.stats, [token, lang_choice, last_lang], stats_out, **PRIVATE)
        token.submit(events.stats, [token, lang_choice, last_lang], stats_out, **PRIVATE)
        demo.load(on_load, None, [tabs, lang_choice, open_id, *labelled, detail, pledge_list], **PRIVATE)
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
# The primary colour is a dark blue: white text on it has 6.7:1 contrast (the default orange had 2.8:1).
THEME = gr.themes.Default(primary_hue="blue", font=[gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")],
                          font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")]).set(
    button_primary_background_fill="#1d4ed8", button_primary_background_fill_hover="#1e40af",
    button_primary_text_color="#ffffff", button_primary_border_color="#1d4ed8")


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
    service = Service(settings, FeedbackStore.from_settings(settings), assistant)
    server = create_server(service)
    _quiet_gradio_errors()
    translations = Translations(settings.translations_dir)
    demo = build_app(UiEvents(assistant, service.feedback, translations, admin_token=settings.admin_token))
    # A word no list knows goes through every stage (word lists, romanized Ukrainian/Russian keys, langdetect's
    # profiles): all are loaded now, not on the first resident's question (~1.5 s here).
    detect_language("mammografia")
    gr.mount_gradio_app(server, demo, path="/", server_name=args.host, server_port=args.port, theme=THEME,
                        css=css(), head=head(), footer_links=[], ssr_mode=False, pwa=False, mcp_server=False, show_error=True,
                        max_file_size=1,
                        # No run history: it would keep residents' questions in the browser (a shared helpline PC).
                        run_history=False)
    print(f"serving on http://{args.host}:{args.port} (API docs: /api/docs)", file=sys.stderr)
    serve(server, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
