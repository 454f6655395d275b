"""App helpers without a server: user text never becomes HTML; answers carry badge and citation; feedback."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.feedback import FeedbackError, FeedbackStore

app = pytest.importorskip("app")


def test_user_text_is_escaped() -> None:
    shown = app.as_text("<img src=x onerror=alert(1)> **bold** [link](http://x)")
    assert "<" not in shown and ">" not in shown
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in shown
    assert "\\*\\*bold\\*\\*" in shown and "\\[link\\]\\(http://x\\)" in shown


def test_render_answer_has_badge_quotes_and_collapsible_sources(fake_assistant) -> None:
    from assistant import Assistant

    a = Assistant.load(replace(fake_assistant.settings, abstain_margin=-10), encoder=fake_assistant.encoder,
                       log_fn=lambda m: None)
    msgs = app.render_answer(a.ask("Rozwiniemy system opieki wyręczeniowej", top_k=1))
    main, sources = msgs
    assert len(app.render_answer(a.ask("Rozwiniemy system opieki wyręczeniowej", top_k=3))) == 3  # + "more"
    assert "Status: `w trakcie realizacji`" in main["content"]
    assert "„" in main["content"] and "**" in main["content"]
    assert sources["metadata"]["title"].startswith("Źródło")
    shown = sources["content"].replace("\\", "")  # as Markdown displays it, without the escapes
    assert "corpus/krakow-miasto-rownych-szans.txt, wiersze 60 (tytuł), 62–63 (zobowiązanie)" in shown


def test_render_abstention_lists_closest_pledges(fake_assistant) -> None:
    from assistant import Assistant

    a = Assistant.load(replace(fake_assistant.settings, abstain_margin=10), encoder=fake_assistant.encoder,
                       log_fn=lambda m: None)
    (msg,) = app.render_answer(a.ask("how much is a tram ticket?"))
    assert msg["content"].replace("\\", "").startswith("**This is not in the report.")
    assert msg["content"].count("\n- ") == 3


def test_feedback_counts_without_question_text(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.json")
    store.record("p1", "helpful", "mój mąż mnie bije")
    store.record("p1", "wrong_pledge", "mój mąż mnie bije")
    store.record(None, "helpful", "x")
    raw = (tmp_path / "fb.json").read_text()
    assert json.loads(raw)["counts"] == {"p1": {"helpful": 1, "wrong_pledge": 1}, "(not in the report)": {"helpful": 1}}
    assert "mąż" not in raw
    with pytest.raises(FeedbackError, match="outcome 'meh' is unknown"):
        store.record("p1", "meh")


def test_feedback_keeps_questions_only_when_operator_opts_in(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.json", store_questions=True)
    store.record("p1", "helpful", "czy jest mammografia?")
    assert json.loads((tmp_path / "fb.json").read_text())["questions"][0]["question"] == "czy jest mammografia?"
