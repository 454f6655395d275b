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
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Literal, TypedDict  # noqa: E402

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from assistant import Assistant  # noqa: E402
from assistant.api import Service  # noqa: E402
from assistant.feedback import FeedbackStore  # noqa: E402
from assistant.language import detect_language  # noqa: E402
from assistant.messages import t  # noqa: E402
from assistant.ui_events import UiEvents  # noqa: E402
from assistant.ui_text import busy_html, css, examples_label, head, heading_html, status_choices, ui_lang  # noqa: E402
from corpus.translated import Translations  # noqa: E402
from settings import Settings  # noqa: E402

LANG_CHOICES = [("auto", "auto"), ("Polski", "pl"), ("English", "en"), ("Українська", "uk")]
NO_LATEX: list[dict[str, str | bool]] = []  # `$$…$$` in a question must show as typed, not be typeset


class EventOptions(TypedDict, total=False):
    """The options every event listener gets (typed, so the listeners' keyword arguments are checked)."""

    api_visibility: Literal["public", "private", "undocumented"]
    concurrency_limit: int | None | Literal["default"]
    concurrency_id: str | None


PRIVATE: EventOptions = {"api_visibility": "private"}  # the UI's events are not an API: /api/* is
# Answering is CPU-bound (~9 ms on onnxruntime over both cores): 2 workers match the 2 cores.
ASK: EventOptions = {"concurrency_limit": 2, "concurrency_id": "ask", **PRIVATE}
# Browse's listings one at a time, in the order asked: the tab's own listing (every pledge) must not land after
# a search typed right after opening the tab and overwrite its result.
BROWSE: EventOptions = {"concurrency_limit": 1, "concurrency_id": "browse", **PRIVATE}


def _html(value: str = "", **kwargs: Any) -> gr.Markdown:
    """A Markdown block that shows our own (already escaped) HTML as it is."""
    # Our HTML pieces come from assistant/cards.py, which escapes every text exactly once; the Markdown sanitizer
    # would strip the data- and aria- attributes the buttons need (and would be a second, different escaping).
    return gr.Markdown(value, latex_delimiters=NO_LATEX, sanitize_html=False, **kwargs)


@dataclass
class AskTab:
    """The Ask tab's components (see ``_ask_tab``)."""

    tab: gr.Tab
    box: gr.Textbox
    send: gr.Button
    busy: gr.Markdown
    context: gr.Markdown
    forget: gr.Button
    new: gr.Button
    examples_head: gr.Markdown
    example_buttons: list[gr.Button]
    answers: gr.Markdown


@dataclass
class BrowseTab:
    tab: gr.Tab
    text_filter: gr.Textbox
    status_filter: gr.Dropdown
    changed: gr.Checkbox
    pledge_list: gr.Markdown
    open_id: gr.Textbox
    detail: gr.Markdown


@dataclass
class StatsTab:
    tab: gr.Tab
    token: gr.Textbox
    show: gr.Button
    out: gr.Markdown


def _ask_tab(examples: list[str]) -> AskTab:
    """The question box, the conversation line ("continuing about …", ask about something else, new
    conversation), the answers, then the examples: after the answers, so Tab goes from the Ask button to the answer
    (on a first visit the answers are empty and the examples sit under the box)."""
    with gr.Tab(t("pl", "ui_chat"), id="ask") as tab:
        with gr.Row(equal_height=True):
            box = gr.Textbox(
                placeholder=t("pl", "ui_placeholder"),
                label=t("pl", "ui_question"),
                scale=5,
                elem_id="question",
                max_lines=6,
                lines=1,
                min_width=200,
            )
            send = gr.Button(t("pl", "ui_send"), variant="primary", scale=1, min_width=96, elem_id="send")
        busy = _html(busy_html("pl"))
        with gr.Row(elem_id="conversation"):
            context = _html("", elem_id="context")
            forget = gr.Button(
                t("pl", "ui_forget"), size="sm", variant="secondary", elem_id="forget", visible=False, min_width=120
            )
            new = gr.Button(
                t("pl", "ui_new_conversation"),
                size="sm",
                variant="secondary",
                elem_id="new-conversation",
                visible=False,
                min_width=120,
            )
        answers = _html("", elem_id="answers")
        examples_head = _html(examples_label("pl"))
        with gr.Row(elem_classes="kqa-examples"):
            example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in examples]
    return AskTab(tab, box, send, busy, context, forget, new, examples_head, example_buttons, answers)


def _browse_tab() -> BrowseTab:
    with gr.Tab(t("pl", "ui_browse"), id="browse") as tab:
        text_filter = gr.Textbox(label=t("pl", "ui_text_filter"), elem_id="text-filter", max_lines=1)
        with gr.Row():
            status_filter = gr.Dropdown(
                status_choices("pl"),
                value="all",
                label=t("pl", "ui_status_filter"),
                elem_id="status-filter",
                min_width=160,
            )
            changed = gr.Checkbox(False, label=t("pl", "ui_changed"), elem_id="changed-filter", min_width=160)
        pledge_list = _html(elem_id="pledge-list")
        open_id = gr.Textbox(elem_id="open-id", elem_classes="kqa-hidden", show_label=False, container=False)
        detail = _html(elem_id="pledge-detail")
    return BrowseTab(tab, text_filter, status_filter, changed, pledge_list, open_id, detail)


def _stats_tab(admin_token: str | None) -> StatsTab:
    with gr.Tab(t("pl", "ui_stats"), id="stats", elem_id="stats-tab") as tab:
        token = gr.Textbox(label=t("pl", "ui_token"), type="password", elem_id="admin-token", visible=bool(admin_token))
        show = gr.Button(t("pl", "ui_show_stats"), elem_id="show-stats", visible=bool(admin_token))
        out = _html("" if admin_token else f"<p>{t('pl', 'ui_stats_closed')}</p>")
    return StatsTab(tab, token, show, out)


def _labels(lang: str, section: str) -> list:
    """New values for the ``labelled`` components (see ``build_app``) in ``lang``."""
    return [
        heading_html(lang, section),
        busy_html(lang),
        examples_label(lang),
        gr.update(label=t(lang, "ui_question"), placeholder=t(lang, "ui_placeholder")),
        gr.update(value=t(lang, "ui_send")),
        gr.update(label=t(lang, "ui_chat")),
        gr.update(label=t(lang, "ui_browse")),
        gr.update(label=t(lang, "ui_stats")),
        gr.update(label=t(lang, "ui_language")),
        gr.update(label=t(lang, "ui_status_filter"), choices=status_choices(lang)),
        gr.update(label=t(lang, "ui_text_filter")),
        gr.update(label=t(lang, "ui_changed")),
        gr.update(label=t(lang, "ui_token")),
        gr.update(value=t(lang, "ui_show_stats")),
    ]


def _conversation_buttons(lang: str, context: str, turns: list) -> list:
    """ "Ask about something else" while a context carries; "New conversation" once anything was answered."""
    return [
        gr.update(value=t(lang, "ui_forget"), visible=bool(context)),
        gr.update(value=t(lang, "ui_new_conversation"), visible=bool(turns)),
    ]


def build_app(events: UiEvents) -> gr.Blocks:
    """The Blocks app: layout, and events wired to ``events`` (assistant/ui_events.py), shared by all sessions.
    What a session keeps (its answers, its conversation, its language) is in ``gr.State``: server memory of that
    session only."""
    with gr.Blocks(analytics_enabled=False, title=events.section) as demo:
        last_lang, turns, history = gr.State("pl"), gr.State([]), gr.State([])
        heading = _html(heading_html("pl", events.section), elem_id="kqa-head")
        lang_choice = gr.Radio(LANG_CHOICES, value="auto", label=t("pl", "ui_language"), elem_id="language")
        with gr.Tabs(selected="ask") as tabs:
            ask = _ask_tab(events.examples)
            browse = _browse_tab()
            stats = _stats_tab(events.admin_token)
        labelled = [
            heading,
            ask.busy,
            ask.examples_head,
            ask.box,
            ask.send,
            ask.tab,
            browse.tab,
            stats.tab,
            lang_choice,
            browse.status_filter,
            browse.text_filter,
            browse.changed,
            stats.token,
            stats.show,
        ]
        _wire_ask(events, ask, labelled, turns, history, lang_choice, last_lang)
        _wire_browse(events, browse, stats, labelled, ask, turns, lang_choice, last_lang, tabs, demo)
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


def _wire_ask(
    events: UiEvents,
    ask: AskTab,
    labelled: list,
    turns: gr.State,
    history: gr.State,
    lang_choice: gr.Radio,
    last_lang: gr.State,
) -> None:
    """Questions (typed, sent, or an example tapped), and the conversation's two buttons."""
    section = events.section

    def respond(question: str, shown: list, choice: str, last: str, said: list) -> tuple:
        page, shown, last, said, context = events.respond(question, shown, choice, last, said)
        lang = ui_lang(choice, last)
        return (page, shown, last, said, context, *_conversation_buttons(lang, context, shown), *_labels(lang, section))

    outputs = [ask.answers, turns, last_lang, history, ask.context, ask.forget, ask.new, *labelled]
    inputs = [ask.box, turns, lang_choice, last_lang, history]
    # The box is not an output: what a reader types while an answer loads is never wiped (ui.js empties it when
    # the answer to what it held arrives). An example asks at once and leaves the box as it was.
    for trigger in (ask.box.submit, ask.send.click):
        trigger(respond, inputs, outputs, **ASK)
    for button, question in zip(ask.example_buttons, events.examples, strict=True):
        button.click(lambda sh, c, la, sa, q=question: respond(q, sh, c, la, sa), inputs[1:], outputs, **ASK)
    ask.forget.click(
        lambda: (*events.forget_context(), gr.update(visible=False)),
        None,
        [history, ask.context, ask.forget],
        **PRIVATE,
    )
    ask.new.click(
        lambda: (*events.new_conversation(), gr.update(visible=False), gr.update(visible=False)),
        None,
        [ask.answers, turns, history, ask.context, ask.forget, ask.new],
        **PRIVATE,
    )


def _wire_browse(
    events: UiEvents,
    browse: BrowseTab,
    stats: StatsTab,
    labelled: list,
    ask: AskTab,
    turns: gr.State,
    lang_choice: gr.Radio,
    last_lang: gr.State,
    tabs: gr.Tabs,
    demo: gr.Blocks,
) -> None:
    """Browse filters and opening a pledge, the language switch, stats, and a shared link on load."""
    browse_inputs = [browse.text_filter, browse.status_filter, browse.changed, lang_choice, last_lang]

    def switch_language(
        choice: str, last: str, command: str, text: str, status: str, changed: bool, context: str, shown: list
    ) -> list:
        lang = ui_lang(choice, last)
        return [
            *_labels(lang, events.section),
            events.open_pledge(command, choice, last),
            events.browse(text, status, changed, choice, last),
            *_conversation_buttons(lang, context, shown),
        ]

    def on_load(request: gr.Request) -> list:
        """A shared link (``?pledge=<id>&lang=<xx>``) opens that pledge in Browse, in that language.

        Only what the link asks for is set, all else skipped: a reader may ask before this event's answer lands
        (a slow server), and it must not turn their answer's labels back to Polish or hide the conversation's
        buttons. A language from the link sets the radio, whose change then relabels with the session's state."""
        lang, pledge_id = events.deep_link(dict(request.query_params) if request is not None else {})
        skip = gr.skip()
        if lang == "auto" and not pledge_id:
            return [skip] * (3 + len(switched))
        tab = gr.Tabs(selected="browse") if pledge_id else skip
        labels = _labels(lang, events.section) if lang != "auto" else [skip] * len(labelled)
        detail = events.open_pledge(pledge_id, lang, "pl") if pledge_id else skip
        listing = events.browse("", "all", False, lang, "pl")
        return [tab, lang if lang != "auto" else skip, pledge_id or skip, *labels, detail, listing, skip, skip]

    for trigger in (browse.text_filter.change, browse.status_filter.change, browse.changed.change):
        trigger(events.browse, browse_inputs, browse.pledge_list, trigger_mode="always_last", **BROWSE)
    # No `js=` on events: Gradio evaluates it as a string, which the CSP forbids; ui.js scrolls instead.
    browse.tab.select(events.browse, browse_inputs, browse.pledge_list, **BROWSE)  # in the current language
    browse.open_id.change(events.open_pledge, [browse.open_id, lang_choice, last_lang], browse.detail, **PRIVATE)
    switched = [*labelled, browse.detail, browse.pledge_list, ask.forget, ask.new]
    lang_choice.change(
        switch_language,
        [lang_choice, last_lang, browse.open_id, *browse_inputs[:3], ask.context, turns],
        switched,
        show_progress="hidden",  # as on load (below): no overlay for a keyboard user to land on
        **PRIVATE,
    )
    stats.show.click(events.stats, [stats.token, lang_choice, last_lang], stats.out, **PRIVATE)
    stats.token.submit(events.stats, [stats.token, lang_choice, last_lang], stats.out, **PRIVATE)
    # No progress overlay on the page's own load: while it shows, Chromium makes the covered block a focusable
    # scroller ("0.3s"), and a keyboard user tabbing in that moment lands on it, then on nothing when it goes.
    demo.load(on_load, None, [tabs, lang_choice, browse.open_id, *switched], show_progress="hidden", **PRIVATE)


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
        print(
            f"gradio event failed: {type(exc).__name__} at {where} (message not logged: it may quote the question)",
            file=sys.stderr,
        )


def _quiet_gradio_errors() -> None:
    """Route Gradio's error printing through ``_RedactedTraceback`` (see there)."""
    import gradio.queueing
    import gradio.route_utils
    import gradio.routes

    for module in (gradio.queueing, gradio.route_utils, gradio.routes):
        vars(module)["traceback"] = _RedactedTraceback()  # each module's own name for the traceback module


# System fonts only: the default theme would fetch Google Fonts, and the app must work offline and privately.
# The primary colour is a dark blue: white text on it has 6.7:1 contrast (the default orange had 2.8:1).
THEME = gr.themes.Default(
    primary_hue="blue",
    font=[gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")],
    font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")],
).set(
    button_primary_background_fill="#1d4ed8",
    button_primary_background_fill_hover="#1e40af",
    button_primary_text_color="#ffffff",
    button_primary_border_color="#1d4ed8",
)


def _swapper(service: Service, events: UiEvents) -> Callable[[Assistant], None]:
    """Where a better profile's assistant goes when the background build lands: the API's and the app's."""

    def swap(better: Assistant) -> None:
        service.assistant = events.assistant = better

    return swap


def _parser(settings: Settings) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Kraków equal-opportunity report assistant (web UI and JSON API)")
    ap.add_argument("--host", default=settings.host, help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=settings.port)
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="serve with N processes on ports PORT..PORT+N-1 (put a proxy in front: README)",
    )
    return ap


def _mount(server: FastAPI, demo: gr.Blocks, settings: Settings) -> None:
    """The UI at ``/`` of ``server``: offline, no analytics, no run history."""
    gr.mount_gradio_app(
        server,
        demo,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        theme=THEME,
        css=css(),
        head=head(),
        footer_links=[],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        show_error=True,
        max_file_size=1,
        # No run history: it would keep residents' questions in the browser (a shared helpline PC).
        run_history=False,
    )


def main(argv: list[str] | None = None) -> int:
    """Load the assistant once, then serve the UI and the JSON API on --host/--port (127.0.0.1:7860)."""
    from assistant.upgrade import upgrade_later
    from assistant.web import create_server, serve

    settings = Settings.from_env()
    args = _parser(settings).parse_args(argv)
    if args.workers != 1:
        from assistant.replicas import run_replicas
        from index.profiles import served

        return run_replicas(args.workers, args.host, args.port, served(settings).profile)
    settings = replace(settings, host=args.host, port=args.port)
    assistant = Assistant.load(settings, log_fn=lambda m: print(m, file=sys.stderr))
    service = Service(settings, FeedbackStore.from_settings(settings), assistant)
    server = create_server(service)
    _quiet_gradio_errors()
    translations = Translations(settings.translations_dir)
    events = UiEvents(assistant, service.feedback, translations, admin_token=settings.admin_token)
    demo = build_app(events)
    del assistant  # the service and the events hold it: a better profile replaces it there, and it can go
    upgrade_later(settings, _swapper(service, events), log=lambda m: print(m, file=sys.stderr))
    # A word no list knows goes through every stage (word lists, romanized Ukrainian/Russian keys, langdetect's
    # profiles): all are loaded now, not on the first resident's question (~1.5 s here).
    detect_language("mammografia")
    _mount(server, demo, settings)
    print(f"serving on http://{args.host}:{args.port} (API docs: /api/docs)", file=sys.stderr)
    serve(server, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
