"""A real nginx (Debian's) on loopback with the deployment docs' own configuration, in front of two replicas:
questions asked through it in every way a client might send them (JSON body, query string, path, Gradio's
queue, an oversized body, while a replica is down) are found in no log and no database file afterwards."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import replica_server
from conftest import FAKE_REPLICA_ENV, free_port

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "docs" / "operating.md", ROOT / "README.md"]


def docs_nginx_config() -> str:
    """The ```nginx block of the deployment docs that defines the private log format."""
    for path in DOCS:
        if path.exists():
            for block in re.findall(r"```nginx\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL):
                if "log_format kqa_private" in block:
                    return block
    raise AssertionError(f"no ```nginx block with 'log_format kqa_private' in {', '.join(map(str, DOCS))}")


def _nginx_conf(tmp: Path, port: int, replicas: list[int]) -> Path:
    """The docs' configuration with this test's ports and folders, inside a minimal main configuration."""
    site = docs_nginx_config().replace("/var/log/nginx/", f"{tmp}/").replace("listen 80;", f"listen 127.0.0.1:{port};")
    for documented, real in zip(("127.0.0.1:7860", "127.0.0.1:7861"), replicas, strict=True):
        site = site.replace(documented, f"127.0.0.1:{real}")
    temps = "\n".join(
        f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{'user root root;' if os.geteuid() == 0 else ''}\nworker_processes 1;\npid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/main-error.log;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n{temps}\n{site}\n}}\n"
    )
    return conf


def _send(url: str, body: bytes | None = None, method: str | None = None) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_no_question_in_any_log_or_database_behind_nginx(fake_index: Path, tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip(
            "LOUD SKIP: nginx is not installed (apt-get install nginx; .ci/run does); the reverse-proxy "
            "privacy test did not run"
        )
    code = f"kod{uuid.uuid4().hex[:8]}"
    marker = f"Mój mąż mnie bije {code}"
    quoted = urllib.parse.quote(marker)
    ports, port = [free_port(), free_port()], free_port()
    env = {
        **os.environ,
        **FAKE_REPLICA_ENV,
        "KQA_INDEX_DIR": str(fake_index),
        "KQA_TRUSTED_PROXIES": "127.0.0.1",
        "KQA_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
    }
    replicas = replica_server.start_all(ports, env, tmp_path)
    conf = _nginx_conf(tmp_path, port, ports)
    proxy = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "main-error.log"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if (tmp_path / "nginx.pid").exists() and _send(base + "/api/health") == 200:
                break
            time.sleep(0.1)
        asked = [_send(base + "/api/ask", json.dumps({"q": marker, "top_k": 2}).encode()) for _ in range(4)]
        assert asked == [200] * 4  # both replicas answered (round-robin)
        answer = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(
                    base + "/api/ask", json.dumps({"q": marker}).encode(), {"Content-Type": "application/json"}
                )
            ).read()
        )
        vote = {"answer_id": answer["answer_id"], "pledge_id": answer["answers"][0]["pledge_id"], "vote": "up"}
        assert _send(base + "/api/feedback", json.dumps(vote).encode()) == 200
        assert _send(f"{base}/api/ask?q={quoted}") == 400  # refused at the proxy
        assert _send(f"{base}/api/ask?q={quoted}", json.dumps({"q": marker}).encode()) == 400
        assert _send(f"{base}/api/ask/{quoted}") == 404
        assert _send(f"{base}/gradio_api/queue/data?session_hash={quoted}") == 404  # no UI in these replicas
        assert _send(base + "/gradio_api/queue/join", json.dumps({"data": [marker]}).encode()) == 404
        assert _send(base + "/api/ask", json.dumps({"q": marker + " " * 70_000}).encode()) == 413
        replica_server.stop(replicas[1])  # a replica down: nginx logs an error and retries the other
        assert [_send(base + "/api/ask", json.dumps({"q": marker}).encode()) for _ in range(2)] == [200, 200]
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)
        for r in replicas:
            replica_server.stop(r)
    access = (tmp_path / "kqa-access.log").read_text()
    assert access.count("POST /api/ask 200") == 7 and "GET /api/ask 400" in access, access
    assert "connect() failed" in (tmp_path / "kqa-error.log").read_text()  # the error log was written to
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"kqa-access.log", "kqa-error.log", "replica-0.log", "feedback.sqlite3"} <= {p.name for p in written}
    for path in written:
        data = path.read_bytes()
        for form in (code, "mąż", "bije"):
            assert form.encode() not in data, f"{form!r} found in {path.name}"
