"""A replica of the served app for tests that need real server processes but not the model: the real server
(assistant/web.py: security middleware, rate limit, uvicorn) over the fake encoder, on a loopback port, with
its settings from ``KQA_*`` variables like the app's (the index in ``KQA_INDEX_DIR``, built by the test first).

    python tests/replica_server.py --port P [--ui | --no-engine]

``--ui`` runs app.py itself (Gradio UI and API) with the fake encoder; ``--no-engine`` serves without an
assistant (``/api/feedback`` and ``/api/stats`` work, asking answers 503), which starts in about a second.
"""

from __future__ import annotations

import argparse
import runpy
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from settings import apply_privacy_env

apply_privacy_env()

ROOT = Path(__file__).resolve().parent.parent


def launch(port: int, env: dict[str, str], log: Path, *flags: str) -> subprocess.Popen:
    """Start a replica on ``port`` (its output to ``log``); ``wait_ready`` waits for it."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--port", str(port), *flags],
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(proc: subprocess.Popen, port: int, log: Path, timeout: float = 120) -> subprocess.Popen:
    """Wait until the replica answers HTTP (any status: without an engine, health is 503)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).close()
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"replica did not answer within {timeout:.0f} s: {log.read_text()[-2000:]}")


def start_all(ports: list[int], env: dict[str, str], folder: Path, *flags: str) -> list[subprocess.Popen]:
    """Replicas on ``ports``, started at once (logs ``replica-<i>.log`` in ``folder``), once all answer."""
    logs = [folder / f"replica-{i}.log" for i in range(len(ports))]
    procs = [launch(port, env, log, *flags) for port, log in zip(ports, logs, strict=True)]
    try:
        return [wait_ready(proc, port, log) for proc, port, log in zip(procs, ports, logs, strict=True)]
    except RuntimeError:
        for proc in procs:
            stop(proc)
        raise


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _fake_load() -> None:
    """Make ``Assistant.load`` use the fake encoder and the tests' fake settings (for app.py, which calls it)."""
    from conftest import fake_settings_in

    from assistant import Assistant
    from index.fake import FakeEncoder

    real = Assistant.load.__func__  # a classmethod's function

    def load(cls: type, settings: Any = None, **kwargs: Any) -> Assistant:
        return real(cls, fake_settings_in(settings.index_dir, settings), encoder=FakeEncoder(), **kwargs)

    Assistant.load = classmethod(load)  # the point of this script


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ui", action="store_true")
    ap.add_argument("--no-engine", action="store_true")
    args = ap.parse_args()
    _fake_load()
    if args.ui:
        sys.argv = ["app.py", "--host", "127.0.0.1", "--port", str(args.port)]
        runpy.run_path(str(ROOT / "app.py"), run_name="__main__")  # exits with the app
        return 0
    from dataclasses import replace

    from assistant import Assistant
    from assistant.api import Service
    from assistant.feedback import FeedbackStore
    from assistant.web import create_server, serve
    from settings import Settings

    settings = replace(Settings.from_env(), host="127.0.0.1", port=args.port)
    assistant = None if args.no_engine else Assistant.load(settings, log_fn=lambda m: print(m, file=sys.stderr))
    serve(create_server(Service(settings, FeedbackStore.from_settings(settings), assistant)), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
