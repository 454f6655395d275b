"""A reduced load and soak run against the launched app (the full one: `python -m eval.load`)."""

from __future__ import annotations

import os

import pytest

from eval.load import run_load, run_soak, start_app

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def app(real_assistant, tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("load-data")
    env = {**os.environ, "KQA_INDEX_DIR": str(real_assistant.settings.index_dir),
           "KQA_FEEDBACK_FILE": str(data / "feedback.json")}
    proc, url, _ = start_app(env)
    yield proc, url
    proc.terminate()
    proc.wait(timeout=30)


def test_concurrent_users_get_answers_without_errors(app) -> None:
    _, url = app
    result = run_load(url, users=6, per_user=5, max_seconds=120)
    assert result["requests"] == 30 and result["errors"] == 0, result["error_samples"]
    assert result["p95_ms"] is not None


def test_soak_memory_stays_flat(app) -> None:
    proc, url = app
    result = run_soak(url, proc.pid, n=150, max_seconds=180)
    assert result["errors"] == 0 and result["questions"] == 150
    assert result["rss_growth_pct"] < 10, result
