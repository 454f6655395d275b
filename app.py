"""Gradio UI over the assistant: chat with cited answers, a browse tab, feedback. UI only — no retrieval here.

    python app.py [--host 127.0.0.1] [--port 7860]

API for helpline tools (gradio_client): ``Client("http://127.0.0.1:7860/").predict("pytanie", 3, api_name="/ask")``
returns the same object as ``python -m assistant ask --json``.
"""

from __future__ import annotations

import os

# Before gradio is imported: no usage analytics, no hub look-ups.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import html  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import unicodedata  # noqa: E402
from dataclasses import replace  # noqa: E402

import gradio as gr  # noqa: E402

from assistant import Answer, Assistant, QuestionError  # noqa: E402
from assistant.feedback import FeedbackStore  # noqa: E402
from assistant.language import detect_language  # noqa: E402
from assistant.messages import cite_line, reply_language, t  # noqa: E402
from corpus import report_manifest  # noqa: E402
from settings import Settings  # noqa: E402

STATUSES = ("done", "partly_done", "in_progress", "planned", "not_done", "unclear")
UI = {
    "en": {"chat": "Ask", "browse": "Browse pledges", "placeholder": "Ask about a pledge, e.g. free mammography",
           "send": "Ask", "language": "Language", "status_filter": "Status", "text_filter": "Search text",
           "all": "all", "open": "Open pledge", "examples": "Examples", "pledges": "Pledges",
           "intro": "Answers quote Kraków's report *Kraków — miasto równych szans* with line citations.",
           "col_title": "Pledge", "col_status": "Status"},
    "pl": {"chat": "Zapytaj", "browse": "Przeglądaj zobowiązania",
           "placeholder": "Zapytaj o zobowiązanie, np. bezpłatna mammografia", "send": "Zapytaj",
           "language": "Język", "status_filter": "Status", "text_filter": "Szukaj w tekście", "all": "wszystkie",
           "open": "Otwórz zobowiązanie", "examples": "Przykłady", "pledges": "Zobowiązania",
           "intro": "Odpowiedzi cytują raport *Kraków — miasto równych szans* z numerami wierszy.",
           "col_title": "Zobowiązanie", "col_status": "Status"},
    "uk": {"chat": "Запитати", "browse": "Перегляд зобов'язань",
           "placeholder": "Запитайте про зобов'язання, напр. безкоштовна мамографія", "send": "Запитати",
           "language": "Мова", "status_filter": "Статус", "text_filter": "Пошук у тексті", "all": "усі",
           "open": "Відкрити зобов'язання", "examples": "Приклади", "pledges": "Зобов'язання",
           "intro": "Відповіді цитують звіт *Kraków — miasto równych szans* із номерами рядків.",
           "col_title": "Зобов'язання", "col_status": "Статус"},
}
EXAMPLES = ["Czy jest bezpłatna mammografia?", "Gdzie szukać pomocy przy przemocy w rodzinie?",
            "Are there Polish courses for foreigners?", "What support is there for carers of disabled people?",
            "Чи є допомога жінкам, які хочуть відкрити бізнес?", "Де знайти гінеколога без клаузули совісті?"]
LANG_CHOICES = [("auto", "auto"), ("Polski", "pl"), ("English", "en"), ("Українська", "uk")]
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
CSS = """
.gradio-container {max-width: 980px !important; margin: auto;}
@media (max-width: 480px) { .gradio-container {padding: 4px !important;} }
#pledge-table, #pledge-table * {max-width: 100%;}
#pledge-table {overflow-x: auto;}
#pledge-table table {table-layout: fixed; width: 100% !important;}
#pledge-table td, #pledge-table th {white-space: normal !important; overflow-wrap: anywhere;}
"""


def as_text(text: str) -> str:
    """User text shown literally: HTML escaped and Markdown neutralised, so `<img onerror=…>` stays text."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def _quote(text: str, highlights: list) -> str:
    """A report passage as Markdown with its highlighted sentences in bold (offsets from the assistant)."""
    parts, pos = [], 0
    for h in sorted(highlights, key=lambda h: h.start):
        parts += [as_text(text[pos:h.start]), "**" + as_text(text[h.start:h.end]) + "**"]
        pos = h.end
    parts.append(as_text(text[pos:]))
    return "„" + "".join(parts).replace("\n\n", "<br><br>") + "”"


def badge(lang: str, label: str) -> str:
    """Status badge as Markdown, e.g. 'Status: `zrealizowane`' (a code span renders as a tag; no emoji
    font is needed, which a kiosk or an offline machine may not have)."""
    return f"{t(lang, 'status')}: `{t(lang, label)}`"


def render_answer(ans: Answer) -> list[dict]:
    """Chat messages for one answer: the quoted pledges, then a collapsible sources message."""
    lang = ans.reply_language
    notes = "".join(f"*{as_text(n)}*\n\n" for n in ans.notices)
    if ans.abstained:
        items = "\n".join(f"- {as_text(s.title)} — {badge(lang, s.status_label)}" for s in ans.suggestions)
        return [{"role": "assistant", "content": f"{notes}**{as_text(ans.message)}**\n\n{items}"}]
    blocks, sources = [], []
    manifest = report_manifest()
    for i, a in enumerate(ans.answers, 1):
        pledge, status = a.passages
        blocks.append(f"### {i}. {as_text(a.title)}\n**{badge(lang, a.status_label)}**\n\n"
                      f"*{t(lang, 'pledge')}:* {_quote(pledge.text, pledge.highlights)}\n\n"
                      f"*{t(lang, 'progress')}:* {_quote(status.text, status.highlights)}")
        spans = [(c.kind, c.start_line, c.end_line) for c in a.citations]
        sources.append(f"{i}. {as_text(manifest['section'])} — {as_text(a.title)}: "
                       f"{as_text(cite_line(lang, a.citations[0].source, spans))}")
    messages = [{"role": "assistant", "content": notes + blocks[0]}]
    if len(blocks) > 1:  # further matches folded away, so a phone screen shows the best one first
        messages.append({"role": "assistant", "content": "\n\n---\n\n".join(blocks[1:]),
                         "metadata": {"title": f"{t(lang, 'more')} ({len(blocks) - 1})", "status": "done"}})
    messages.append({"role": "assistant", "content": "\n".join(sources),
                     "metadata": {"title": f"{t(lang, 'source')} ({t(lang, 'report')}: {manifest['section']})",
                                  "status": "done"}})
    return messages


def fold(text: str) -> str:
    """Lower-case, diacritics removed: 'Pomożemy' and 'pomozemy' match in the browse filter."""
    text = text.lower().replace("ł", "l")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def build_app(assistant: Assistant, feedback: FeedbackStore) -> gr.Blocks:
    """The Blocks app; ``assistant`` is loaded once and shared by all sessions."""
    report = assistant.report
    pledges = report.pledges

    def ask_api(question: str, top_k: int = 3) -> dict:
        """Answer a question; returns the same object as `python -m assistant ask --json`."""
        try:
            return assistant.ask(question, top_k=int(top_k)).to_json()
        except QuestionError as exc:
            raise gr.Error(str(exc)) from None

    def ui_lang(choice: str, last: str) -> str:
        return last if choice == "auto" else choice

    def label_updates(lang: str) -> list:
        u = UI[lang]
        return [gr.update(placeholder=u["placeholder"], label=u["chat"]), gr.update(value=u["send"]),
                gr.update(label=u["chat"]), gr.update(label=u["browse"]), gr.update(label=u["language"]),
                gr.update(label=u["status_filter"]), gr.update(label=u["text_filter"]),
                gr.update(label=u["open"]), gr.update(value=u["intro"])]

    def respond(question: str, history: list, choice: str, last: str, meta: dict):
        history = list(history or [])
        meta = dict(meta or {})
        if not (question or "").strip():
            lang = ui_lang(choice, last)
            return (history, "", last, meta, *label_updates(lang))
        history.append({"role": "user", "content": as_text(question)})
        try:
            ans = assistant.ask(question)
        except QuestionError as exc:
            history.append({"role": "assistant", "content": as_text(str(exc))})
            return (history, "", last, meta, *label_updates(ui_lang(choice, last)))
        last = reply_language(ans.language)
        first = len(history)
        history.extend(render_answer(ans))
        top = ans.answers[0].pledge_id if ans.answers else None
        for i in range(first, len(history)):
            meta[str(i)] = {"pledge_id": top, "question": ans.question}
        return (history, "", last, meta, *label_updates(ui_lang(choice, last)))

    def on_like(data: gr.LikeData, meta: dict) -> None:
        info = (meta or {}).get(str(data.index if isinstance(data.index, int) else data.index[0]))
        if info is None:
            return
        outcome = "helpful" if data.liked is True or data.liked == "Like" else "wrong_pledge"
        feedback.record(info["pledge_id"], outcome, info["question"])

    def browse(status: str, text: str, choice: str, last: str) -> tuple:
        needle = fold(text or "")
        rows = [p for p in pledges if (status in ("", "all", None) or p.status_label.label == status)
                and needle in fold(f"{p.title} {p.pledge.text} {p.status.text}")]
        table = [[p.title_passage.span.start_line, p.title, p.status_label.label] for p in rows]
        choices = [(p.title, p.id) for p in rows]
        first = choices[0][1] if choices else None
        # The detail is rendered here too: when the first row stays the same, the picker fires no change event.
        return table, gr.update(choices=choices, value=first), open_pledge(first, choice, last)

    def open_pledge(pledge_id: str | None, choice: str, last: str) -> str:
        if not pledge_id:
            return ""
        lang = ui_lang(choice, last)
        p = report.by_id(pledge_id)
        spans = [("title", p.title_passage.span.start_line, p.title_passage.span.end_line),
                 ("pledge", p.pledge.span.start_line, p.pledge.span.end_line),
                 ("status", p.status.span.start_line, p.status.span.end_line)]
        return (f"### {as_text(p.title)}\n**{badge(lang, p.status_label.label)}**\n\n"
                f"*{t(lang, 'pledge')}:* {_quote(p.pledge.text, [])}\n\n"
                f"*{t(lang, 'progress')}:* {_quote(p.status.text, [])}\n\n"
                f"**{t(lang, 'source')}:** {as_text(cite_line(lang, p.pledge.span.source, spans))}")

    def switch_language(choice: str, last: str, pledge_id: str | None) -> list:
        return [*label_updates(ui_lang(choice, last)), open_pledge(pledge_id, choice, last)]

    statuses = [("all", "all")] + [(s, s) for s in STATUSES]
    with gr.Blocks(analytics_enabled=False, title="Kraków — miasto równych szans") as demo:
        last_lang = gr.State("pl")
        meta = gr.State({})
        intro = gr.Markdown(UI["pl"]["intro"])
        lang_choice = gr.Radio(LANG_CHOICES, value="auto", label=UI["pl"]["language"], elem_id="language")
        with gr.Tabs():
            with gr.Tab(UI["pl"]["chat"], id="chat") as chat_tab:
                chatbot = gr.Chatbot(height=520, elem_id="chat", feedback_options=("Like", "Dislike"),
                                     sanitize_html=True, show_label=False, buttons=["copy"])
                with gr.Row():
                    box = gr.Textbox(placeholder=UI["pl"]["placeholder"], label=UI["pl"]["chat"], scale=5,
                                     elem_id="question", max_lines=4, lines=1)
                    send = gr.Button(UI["pl"]["send"], variant="primary", scale=1, min_width=80, elem_id="send")
                gr.Examples(EXAMPLES, inputs=box, label="PL · EN · UK")
            with gr.Tab(UI["pl"]["browse"], id="browse") as browse_tab:
                with gr.Row():
                    status_filter = gr.Dropdown(statuses, value="all", label=UI["pl"]["status_filter"],
                                                elem_id="status-filter")
                    text_filter = gr.Textbox(label=UI["pl"]["text_filter"], elem_id="text-filter")
                table = gr.Dataframe(headers=["line", "Zobowiązanie / Pledge", "Status"], interactive=False,
                                     wrap=True, elem_id="pledge-table", column_widths=["14%", "62%", "24%"])
                picker = gr.Dropdown([], label=UI["pl"]["open"], elem_id="pledge-picker")
                detail = gr.Markdown(elem_id="pledge-detail")
        labelled = [box, send, chat_tab, browse_tab, lang_choice, status_filter, text_filter, picker, intro]
        # Ask is CPU-bound (~25 ms, torch on 2 threads): 2 workers match the 2 cores; more would only contend.
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
        gr.api(ask_api, api_name="ask", concurrency_limit=2, concurrency_id="ask")
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


# System fonts only: the default theme would fetch Google Fonts, and the app must work offline and privately.
THEME = gr.themes.Default(font=[gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")],
                          font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")])


def main(argv: list[str] | None = None) -> int:
    """Load the assistant once, then serve the app on --host/--port (127.0.0.1:7860 by default)."""
    settings = Settings.from_env()
    ap = argparse.ArgumentParser(description="Kraków equal-opportunity report assistant (web UI)")
    ap.add_argument("--host", default=settings.host, help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=settings.port)
    args = ap.parse_args(argv)
    assistant = Assistant.load(replace(settings, host=args.host, port=args.port),
                               log_fn=lambda m: print(m, file=sys.stderr))
    feedback = FeedbackStore(settings.feedback_file, settings.feedback_questions)
    demo = build_app(assistant, feedback)
    detect_language("rozgrzewka")  # load langdetect's profiles now, not on the first resident's question
    print(f"serving on http://{args.host}:{args.port}", file=sys.stderr)
    demo.launch(server_name=args.host, server_port=args.port, share=False, theme=THEME, css=CSS,
                footer_links=["api"], ssr_mode=False, pwa=False, mcp_server=False, show_error=True, quiet=True,
                # No run history: it would keep residents' questions in the browser (a shared helpline PC).
                run_history=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
