"""``python -m eval.load [--users 20] [--questions 25] [--soak 1000] [--json OUT]`` — load and soak the app.

Starts ``app.py`` on a free 127.0.0.1 port (or uses ``--url``, which must be a loopback address), then:
- load: ``users`` concurrent gradio_client users each ask ``questions`` questions through ``/ask``;
- soak: ``soak`` sequential questions, sampling the server's RSS before and after.
Every loop is bounded in count and time (``--max-seconds``); nothing leaves this machine. Prints JSON.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eval.bench import bench_questions

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_loopback(url: str) -> None:
    host = urllib.parse.urlparse(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"--url {url!r} is not a loopback address; load tests only target this machine")


def start_app(env: dict[str, str] | None = None, timeout: float = 240) -> tuple[subprocess.Popen, str, Path]:
    """Launch app.py on a free loopback port; return the process, its URL and its log file."""
    port = _free_port()
    fd, name = tempfile.mkstemp(prefix="kqa-app-", suffix=".log")
    log = Path(name)
    with os.fdopen(fd, "w") as out:  # the child keeps its own copy; ours closes here
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT,
                                env=env or os.environ.copy(), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
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
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


def run_load(url: str, users: int, per_user: int, max_seconds: float) -> dict:
    """``users`` concurrent clients × ``per_user`` questions; latency percentiles and error count."""
    from gradio_client import Client

    questions = bench_questions()
    deadline = time.time() + max_seconds

    def user(k: int) -> tuple[list[float], list[str]]:
        client = Client(url, verbose=False)
        times, errors = [], []
        for i in range(per_user):
            if time.time() > deadline:
                errors.append("time budget exhausted")
                break
            q = questions[(k * per_user + i) % len(questions)]
            t = time.perf_counter()
            try:
                doc = client.predict(q, 3, api_name="/ask")
                if "answers" not in doc:
                    errors.append(f"bad reply to {i}")
            except Exception as exc:  # any failure counts; the message says which
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            times.append((time.perf_counter() - t) * 1000)
        return times, errors

    t = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        results = list(pool.map(user, range(users)))
    wall = time.perf_counter() - t
    times = sorted(x for r in results for x in r[0])
    errors = [e for r in results for e in r[1]]
    return {"users": users, "questions_per_user": per_user, "requests": len(times), "errors": len(errors),
            "error_samples": errors[:5], "p50_ms": round(statistics.median(times), 1) if times else None,
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1) if times else None,
            "throughput_per_s": round(len(times) / wall, 1)}


def run_soak(url: str, pid: int | None, n: int, max_seconds: float, warmup: int = 100) -> dict:
    """``n`` sequential questions; server RSS after a warm-up and at the end."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    questions = bench_questions()
    # Warm-up: the server's RSS rises ~15 % over its first ~100 requests (imports, caches, allocator pools)
    # and is flat after that (measured over 800); growth is measured from there.
    for q in (questions * 2)[:warmup]:
        client.predict(q, 3, api_name="/ask")
    before = _rss_mb(pid) if pid else None
    deadline = time.time() + max_seconds
    done, errors = 0, 0
    for i in range(n):
        if time.time() > deadline:
            break
        try:
            client.predict(questions[i % len(questions)] + ("" if i < len(questions) else f" {i}"), 3,
                           api_name="/ask")
        except Exception:  # counted, not raised: the soak reports them
            errors += 1
        done += 1
    after = _rss_mb(pid) if pid else None
    growth = round((after - before) / before * 100, 2) if before else None
    return {"questions": done, "errors": errors, "rss_before_mb": before and round(before, 1),
            "rss_after_mb": after and round(after, 1), "rss_growth_pct": growth}


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 1 when any request failed."""
    ap = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running app on loopback (default: start one)")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--questions", type=int, default=25)
    ap.add_argument("--soak", type=int, default=1000)
    ap.add_argument("--max-seconds", type=float, default=900, help="time budget for each phase")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    proc, pid = None, None
    if args.url:
        _require_loopback(args.url)
        url = args.url
    else:
        proc, url, _ = start_app()
        pid = proc.pid
    try:
        result = {"load": run_load(url, args.users, args.questions, args.max_seconds),
                  "soak": run_soak(url, pid, args.soak, args.max_seconds)}
    finally:
        if proc:
            stop_app(proc)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 1 if result["load"]["errors"] or result["soak"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
