"""Two app processes on two loopback ports share one feedback database — a throwaway PostgreSQL cluster, and
one SQLite file — and votes cast through both give consistent counts; stats agree from either replica."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "replica-test-token"


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 240
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"replica exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("replica did not start within 240 s")


def _call(port: int, path: str, body: dict | None = None, token: str | None = None) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _two_replicas_vote(real_assistant, tmp_path: Path, db_env: dict[str, str]) -> None:
    env = {**os.environ, "KQA_INDEX_DIR": str(real_assistant.settings.index_dir), "KQA_ADMIN_TOKEN": TOKEN, **db_env}
    ports = [free_port(), free_port()]
    procs = [_start(env, port, tmp_path / f"replica-{i}.log") for i, port in enumerate(ports)]
    try:
        a, b = ports
        q = "Czy jest bezpłatna mammografia?"
        ans = _call(a, "/api/ask", {"q": q, "top_k": 2})
        aid, first, second = ans["answer_id"], ans["answers"][0]["pledge_id"], ans["answers"][1]["pledge_id"]
        assert _call(b, "/api/feedback", {"answer_id": aid, "pledge_id": first, "vote": "up"})["counts"] == {
            "up": 1,
            "down": 0,
        }  # an answer from replica A, a vote through replica B
        assert _call(a, "/api/feedback", {"answer_id": aid, "pledge_id": first, "vote": "down", "reason": "outdated"})[
            "counts"
        ] == {"up": 0, "down": 1}
        assert _call(b, "/api/feedback", {"answer_id": aid, "pledge_id": second, "vote": "up"})["counts"] == {
            "up": 1,
            "down": 0,
        }
        other = _call(b, "/api/ask", {"q": q, "top_k": 1})
        assert _call(a, "/api/feedback", {"answer_id": other["answer_id"], "pledge_id": first, "vote": "up"})[
            "counts"
        ] == {"up": 1, "down": 1}
        stats = [_call(p, "/api/stats", token=TOKEN) for p in ports]
        assert stats[0] == stats[1]
        assert stats[0]["answers"] == 2 and stats[0]["feedback"][first] == {"up": 1, "down:outdated": 1}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def test_two_replicas_share_postgresql(real_assistant, tmp_path: Path, postgres) -> None:
    _two_replicas_vote(real_assistant, tmp_path, {"KQA_DATABASE_URL": postgres()})


def test_two_replicas_share_one_sqlite_file(real_assistant, tmp_path: Path) -> None:
    _two_replicas_vote(real_assistant, tmp_path, {"KQA_FEEDBACK_DB": str(tmp_path / "shared.sqlite3")})


def test_workers_flag_starts_one_replica_per_port() -> None:
    from assistant.replicas import replica_commands

    cmds = replica_commands(3, "127.0.0.1", 7860, python="py")
    assert [c[-1] for c in cmds] == ["7860", "7861", "7862"] and all("--workers" not in c for c in cmds)
    with pytest.raises(ValueError, match="--workers 0 must be at least 1"):
        replica_commands(0, "127.0.0.1", 7860)
