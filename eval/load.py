"""``python -m eval.load [--api] [--users 20] [--questions 50] [--soak 2000] [--json OUT]`` — load and soak the app.

Starts ``app.py`` on a free 127.0.0.1 port with its own temporary feedback database (or uses ``--url``, which
must be a loopback address), then measures, in one run, printing one JSON object:

- ``reference``: warm, sequential ``Assistant.ask`` in a separate process on this machine (same questions);
- ``api``: ``users`` concurrent clients × ``questions`` questions against ``POST /api/ask`` (http.client with
  keep-alive, one connection per client): errors, p50/p95 latency, throughput and its ratio to the reference
  (target ≥ 0.7); ``api_small``: the same with ``small_users`` clients (target p95 ≤ 100 ms);
- ``ui``: the chat's ask event through Gradio's queue (``/gradio_api/queue/join`` + ``queue/data``), found in
  ``/config`` as the event the question box's submit triggers, with ``small_users`` and ``users`` clients; how
  many turns one chat takes before its growing history is refused; the browser's Enter-to-answer time in
  headless Chromium at 375 px when chromium and playwright are there;
- ``soak``: ``soak`` sequential API requests; the server's RSS after a fixed warm-up and at the end (target
  growth < 10 %, 0 errors);
- ``database``: the feedback database's growth (file and WAL bytes, answer rows) over ``db_requests`` (10,000)
  more API requests: every answer writes a row, so this is what the retention period (``KQA_RETENTION_DAYS``)
  bounds.

The app runs with ``KQA_RATE_LIMIT=0``: the clients all come from one address, and the limit is what stops that.

Every loop is bounded in count and time (``--max-seconds`` per phase); nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from eval.bench import bench_questions
from eval.load_client import Client, pcts, run_clients
from eval.load_ui import measure_ui

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"api_throughput_ratio_min": 0.7, "api_small_p95_ms_max": 100, "soak_rss_growth_pct_max": 10, "errors_max": 0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_loopback(url: str) -> None:
    host = urllib.parse.urlparse(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"--url {url!r} is not a loopback address; load tests only target this machine")


def start_app(env: dict[str, str] | None = None, timeout: float = 240) -> tuple[subprocess.Popen, str, Path]:
    """Launch app.py on a free loopback port; return the process, its URL and its log file.

    Without ``KQA_FEEDBACK_DB`` in ``env`` the app gets a temporary database beside its log, so a load run never
    writes into ``data/``; without ``KQA_RATE_LIMIT`` the limit is off (every client here is one address)."""
    port = _free_port()
    fd, name = tempfile.mkstemp(prefix="kqa-app-", suffix=".log")
    log = Path(name)
    env = dict(os.environ if env is None else env)
    env.setdefault("KQA_FEEDBACK_DB", str(log.with_suffix(".sqlite3")))
    env.setdefault("KQA_RATE_LIMIT", "0")
    with os.fdopen(fd, "w") as out:  # the child keeps its own copy; ours closes here
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "api/health", timeout=5) as resp:
                if resp.status == 200:
                    return proc, url, log
        except OSError:
            time.sleep(0.5)
    stop_app(proc)
    raise RuntimeError(f"app did not answer on {url} within {timeout:.0f} s (log: {log})")


def stop_app(proc: subprocess.Popen, grace: float = 30) -> None:
    """Terminate the app and reap it; kill it when it does not stop within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _rss_mb(pid: int) -> float:
    """Resident memory of the process and its children, in MB."""
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 1e6


def api_ask(client: Client, question: str, top_k: int = 3) -> str | None:
    """One ``POST /api/ask``; None when it answered 200 with an answer object, else what went wrong."""
    body = json.dumps({"q": question, "top_k": top_k}).encode()
    with client.open("POST", "/api/ask", body) as resp:
        status, body = resp.status, resp.read()
    if status != 200:
        return f"HTTP {status}: {body[:120]!r}"
    try:
        doc = json.loads(body)
    except ValueError:
        return "bad JSON"
    return None if isinstance(doc, dict) and "answers" in doc else "reply without 'answers'"


def run_load(url: str, users: int, per_user: int, max_seconds: float) -> dict:
    """``users`` concurrent keep-alive clients × ``per_user`` questions against ``/api/ask``."""
    return run_clients(users, per_user, max_seconds, lambda: Client(url), api_ask)


_REFERENCE = """
import json, sys, time
from assistant import Assistant
questions = json.loads(sys.stdin.read())
a = Assistant.load(log_fn=lambda m: None)
for q in questions[:50]:
    a.ask(q)
ms = []
t0 = time.perf_counter()
for q in questions:
    t = time.perf_counter()
    a.ask(q)
    ms.append((time.perf_counter() - t) * 1000)
print(json.dumps({"seconds": time.perf_counter() - t0, "ms": ms, "backend": a.encoder.backend}))
"""


def run_reference(n: int, env: dict[str, str] | None = None, timeout: float = 900) -> dict:
    """Warm, sequential in-process ``Assistant.ask`` over the first ``n`` load questions (cycled), in a fresh
    process with the app's environment, so the driver never holds a second model while the app is measured."""
    questions = bench_questions()
    asked = [questions[i % len(questions)] for i in range(n)]
    out = subprocess.run(
        [sys.executable, "-c", _REFERENCE],
        input=json.dumps(asked),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    child = json.loads(out.stdout.strip().splitlines()[-1])
    p50, p95 = pcts(child["ms"])
    return {
        "requests": n,
        "p50_ms": p50,
        "p95_ms": p95,
        "encoder_backend": child["backend"],
        "throughput_per_s": round(n / child["seconds"], 1),
    }


def run_soak(url: str, pid: int | None, n: int, max_seconds: float, warmup: int = 200) -> dict:
    """``warmup`` requests, server RSS, then ``n`` sequential ``/api/ask`` requests (questions made unique after
    the first pass) and RSS again. Both RSS samples are taken after fixed request counts, not after a time."""
    client = Client(url)
    questions = bench_questions()
    warm_errors = sum(api_ask(client, questions[i % len(questions)]) is not None for i in range(warmup))
    before = _rss_mb(pid) if pid else None
    deadline = time.time() + max_seconds
    done, errors, samples = 0, 0, list[str]()
    for i in range(n):
        if time.time() > deadline:
            break
        q = questions[i % len(questions)] + ("" if i < len(questions) else f" {i}")
        try:
            err = api_ask(client, q)
        except Exception as exc:  # counted, not raised: the soak reports them
            err = f"{type(exc).__name__}: {exc}"[:200]
        errors += err is not None
        samples += [err] if err and len(samples) < 5 else []
        done += 1
    after = _rss_mb(pid) if pid else None
    client.close()
    growth = round((after - before) / before * 100, 2) if before and after else None
    return {
        "requests": done,
        "errors": errors,
        "error_samples": samples,
        "warmup": warmup,
        "warmup_errors": warm_errors,
        "rss_after_warmup_mb": before and round(before, 1),
        "rss_end_mb": after and round(after, 1),
        "rss_growth_pct": growth,
    }


def _db_size(db: Path) -> dict:
    """The SQLite file's and its WAL's bytes, and the answer rows (read-only: the app keeps writing)."""
    sizes = {s: Path(f"{db}{s}").stat().st_size if Path(f"{db}{s}").exists() else 0 for s in ("", "-wal")}
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute("select count(*) from kqa_answers").fetchone()[0]
    return {"file_bytes": sizes[""], "wal_bytes": sizes["-wal"], "answer_rows": rows}


def database_growth(url: str, db: Path, n: int, users: int, max_seconds: float) -> dict:
    """``n`` more API requests from ``users`` clients; how much the feedback database grew, per answer. The WAL
    is reported apart: SQLite copies it into the file at checkpoints and reuses it, so it stays a few MB."""
    before = _db_size(db)
    run = run_load(url, users, math.ceil(n / users), max_seconds)
    after = _db_size(db)
    rows = after["answer_rows"] - before["answer_rows"]
    grown = after["file_bytes"] - before["file_bytes"]
    return {
        "requests": run["requests"],
        "errors": run["errors"],
        "error_samples": run["error_samples"],
        "before": before,
        "after": after,
        "answer_rows_added": rows,
        "file_bytes_added": grown,
        "file_bytes_per_answer": round(grown / rows, 1) if rows else None,
    }


def measure(url: str, pid: int | None, args: argparse.Namespace, reference: dict, db: Path | None = None) -> dict:
    """Every phase against the running app at ``url`` (``pid``: its process, for RSS; ``db``: its SQLite file)."""
    result: dict = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "arch": platform.machine(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"),
            "KQA_API_THREADS": os.environ.get("KQA_API_THREADS", "default"),
            "KQA_THREADS": os.environ.get("KQA_THREADS", "default"),
            "loadavg_1m_start": os.getloadavg()[0],
        },  # other work on the machine skews all
        "targets": TARGETS,
        "reference": reference,
    }
    run_load(url, 2, 20, args.max_seconds)  # warm the server as the reference was warmed
    api = run_load(url, args.users, args.questions, args.max_seconds)
    api["throughput_ratio"] = round(api["throughput_per_s"] / reference["throughput_per_s"], 3)
    result["api"] = api
    result["api_small"] = run_load(url, args.small_users, args.questions, args.max_seconds)
    result["ui"] = measure_ui(url, args) if args.ui_questions else {"skipped": "--ui-questions 0"}
    result["soak"] = run_soak(url, pid, args.soak, args.max_seconds, args.warmup)
    result["database"] = (
        database_growth(url, db, args.db_requests, args.users, args.max_seconds)
        if db and args.db_requests
        else {"skipped": "--url (its database is not known here)" if not db else "--db-requests 0"}
    )
    result["machine"]["loadavg_1m_end"] = os.getloadavg()[0]
    result["met"] = {
        "api_throughput_ratio": api["throughput_ratio"] >= TARGETS["api_throughput_ratio_min"],
        "api_small_p95": (result["api_small"]["p95_ms"] or 1e9) <= TARGETS["api_small_p95_ms_max"],
        "soak_rss_growth": result["soak"]["rss_growth_pct"] is not None
        and result["soak"]["rss_growth_pct"] < TARGETS["soak_rss_growth_pct_max"],
        "no_errors": not (
            api["errors"]
            or result["api_small"]["errors"]
            or result["soak"]["errors"]
            or result["database"].get("errors")
        ),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 1 when any API or soak request failed."""
    ap = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--api", action="store_true", default=True, help="JSON API, UI beside it, soak (default)")
    ap.add_argument("--url", help="a running app on loopback (default: start one; RSS needs that)")
    ap.add_argument("--users", type=int, default=20, help="concurrent clients (API and UI)")
    ap.add_argument("--small-users", type=int, default=4, help="the low-concurrency run (latency target)")
    ap.add_argument("--questions", type=int, default=50, help="questions per API client")
    ap.add_argument("--ui-questions", type=int, default=25, help="questions per UI client (0: skip the UI)")
    ap.add_argument("--browser-questions", type=int, default=10, help="browser Enter-to-answer (0: skip)")
    ap.add_argument("--soak", type=int, default=2000, help="sequential API requests")
    ap.add_argument("--warmup", type=int, default=200, help="soak requests before the first RSS sample")
    ap.add_argument("--db-requests", type=int, default=10_000, help="API requests for the database's growth (0: skip)")
    ap.add_argument("--max-seconds", type=float, default=900, help="time budget for each phase")
    ap.add_argument("--json", type=Path, help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.url:
        _require_loopback(args.url)
    reference = run_reference(args.users * args.questions)  # before the app starts: nothing else runs
    proc, db = None, None
    with tempfile.TemporaryDirectory(prefix="kqa-load-") as tmp:
        try:
            if args.url:
                url, pid = args.url.rstrip("/") + "/", None
            else:
                db = Path(tmp) / "feedback.sqlite3"
                proc, url, _ = start_app({**os.environ, "KQA_FEEDBACK_DB": str(db), "KQA_RATE_LIMIT": "0"})
                pid = proc.pid
            result = measure(url, pid, args, reference, db)
        finally:
            if proc:
                stop_app(proc)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0 if result["met"]["no_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
