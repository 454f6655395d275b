"""Several serving processes: ``python app.py --workers N`` runs N replicas of the app on ports P..P+N-1.

Why processes on their own ports and not one port shared by uvicorn workers: Gradio keeps each session's event
queue in the process that served its page, so a browser's requests must keep reaching the same process. A
reverse proxy gives that with sticky sessions (nginx ``ip_hash`` or ``hash $remote_addr``) for the UI while the
JSON API (``/api/``) can go round-robin to any replica. The replicas share the read-only index build and the
feedback database (SQLite file or PostgreSQL); see README, "Deploying for a city".

The supervisor forwards SIGINT/SIGTERM to every replica and stops them all when one exits, so a service
manager (systemd, a container runtime) sees the failure and restarts the set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def replica_commands(workers: int, host: str, port: int, python: str = sys.executable) -> list[list[str]]:
    """The command line of each replica (one port each, no --workers)."""
    if workers < 1:
        raise ValueError(f"--workers {workers} must be at least 1")
    return [[python, str(APP), "--host", host, "--port", str(port + i)] for i in range(workers)]


def run_replicas(workers: int, host: str, port: int, profile: str | None = None) -> int:
    """Start the replicas and wait; return the exit code of the first that stops. ``profile``: the one they all
    serve (``KQA_PROFILE``), so that no replica trains another in the background (assistant/upgrade.py) and
    all of them answer alike."""
    env = {**os.environ, "KQA_PROFILE": profile} if profile else None
    procs = [subprocess.Popen(cmd, env=env) for cmd in replica_commands(workers, host, port)]
    print(f"{workers} replicas on http://{host}:{port}..{port + workers - 1}", file=sys.stderr)

    def stop(signum: int, _frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    finally:
        stop(signal.SIGTERM, None)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return next((p.returncode for p in procs if p.returncode), 0)
