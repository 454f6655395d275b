"""A reduced load and soak run against the launched app (the full one: `python -m eval.load`)."""

from __future__ import annotations

import os

import pytest

from eval.load import run_load, run_soak, start_app, stop_app
from eval.load_ui import chat_turns_before_refused, find_ask_event, run_ui

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def app(real_assistant, tmp_path_factory: pytest.TempPathFactory):
    """`app.py` on a free loopback port with the session's index and its own feedback database."""
    data = tmp_path_factory.mktemp("load-data")
    env = {
        **os.environ,
        "KQA_INDEX_DIR": str(real_assistant.settings.index_dir),
        "KQA_FEEDBACK_DB": str(data / "feedback.sqlite3"),
    }
    proc, url, _ = start_app(env)
    yield proc, url
    stop_app(proc)


def test_concurrent_api_clients_get_answers_without_errors(app) -> None:
    _, url = app
    result = run_load(url, users=6, per_user=5, max_seconds=120)
    assert result["requests"] == 30 and result["errors"] == 0, result["error_samples"]
    assert result["p95_ms"] is not None


def test_soak_memory_stays_flat(app) -> None:
    proc, url = app
    result = run_soak(url, proc.pid, n=150, max_seconds=180, warmup=100)
    assert result["errors"] == 0 and result["warmup_errors"] == 0 and result["requests"] == 150, result
    assert result["rss_growth_pct"] < 10, result


def test_ui_ask_event_answers_through_the_queue(app) -> None:
    _, url = app
    event = find_ask_event(url)
    assert event is not None, "no event is triggered by submitting the #question box"
    result = run_ui(url, event, users=3, per_user=3, max_seconds=120)
    assert result["requests"] == 9 and result["errors"] == 0, result["error_samples"]
    # The answers live in the session's state on the server: a long chat never grows the request body (it used
    # to carry the whole history back and hit the 64 kB limit at about the 15th question).
    assert not event["history_at"], event
    assert chat_turns_before_refused(url, event, cap=3)["turns_answered"] is None
