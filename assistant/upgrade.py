"""Move a running server up to a better profile: build it in the background, then answer with it.

With ``KQA_PROFILE`` unset (``auto``), a fresh machine serves the quick profile within minutes (issue 27) while
the thorough one, whose follow-ups meet issue 25's targets, is trained here: ``python -m index.model`` and
``python -m assistant build`` under ``KQA_PROFILE=thorough``, as separate processes at a lower CPU priority
(``LAUNCH``), so that residents' questions keep the cores first. Their progress goes to the server's terminal
or log. When both succeed the new build is loaded and handed to ``swap``; every question from then on gets it.
A question asked during the swap finishes with the assistant it started with; a conversation carries only
questions and pledge ids, which both profiles share, so it goes on across the swap. A failed step is logged
and the server keeps answering as it was.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core import Assistant
from index.finetune_data import FinetuneError
from index.profiles import upgrade
from settings import ROOT, Settings

# what builds a profile, as `make thorough` does it: ("-m", module, *arguments) or ("-c", code), run by LAUNCH
STEPS: tuple[tuple[str, ...], ...] = (("-m", "index.model"), ("-m", "assistant", "build"))

# Each step runs under this in a fresh interpreter (python -c LAUNCH NICENESS SERVER_PID STEP…). It lowers its
# own priority before any thread starts (Linux priorities are per thread, inherited by the threads a thread
# creates), and it stops as on Ctrl-C when the server is gone, even killed: a lost build must not hold the cores
# for minutes. The signal goes to the main thread, so that it also ends a sleep or a wait there. SIGINT and
# SIGTERM raise KeyboardInterrupt whatever the step inherited (a server started in the background of a shell
# ignores SIGINT, and so would its children), once, so that the step's clean-up runs to its end either way.
LAUNCH = """
import os, runpy, signal, sys, threading, time
def interrupted(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # once: a second signal must not cut the clean-up short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt
signal.signal(signal.SIGINT, interrupted)
signal.signal(signal.SIGTERM, interrupted)
os.nice(int(sys.argv[1]))
parent = int(sys.argv[2])
def orphaned():
    while os.getppid() == parent:
        time.sleep(1)
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
threading.Thread(target=orphaned, daemon=True).start()
kind, what, *rest = sys.argv[3:]
sys.argv = [what, *rest]
try:
    if kind == "-m":
        runpy.run_module(what, run_name="__main__", alter_sys=True)
    else:
        exec(compile(what, "<step>", "exec"), {"__name__": "__main__"})
except KeyboardInterrupt:  # stopped: its clean-up has run on the way out, a traceback would say nothing more
    sys.exit(130)
"""


@dataclass
class Upgrade:
    """Build ``target`` (a profile's settings) in the background, then hand the loaded assistant to ``swap``."""

    target: Settings
    swap: Callable[[Assistant], None]
    log: Callable[[str], None]
    steps: Sequence[Sequence[str]] = STEPS
    load: Callable[[Settings], Assistant] | None = None  # default: Assistant.load(target), logging to ``log``
    niceness: int = 10  # added to the builders' CPU priority (os.nice): answering comes first on 2 cores
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _stopped: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> threading.Thread:
        """Run ``run`` in a daemon thread; the builders are stopped when this process exits."""
        atexit.register(self.stop)
        thread = threading.Thread(target=self.run, name=f"upgrade-{self.target.profile}", daemon=True)
        thread.start()
        return thread

    def run(self) -> bool:
        """Every step, then the load and the swap; False (logged) when a step fails or the build cannot load."""
        name = self.target.profile
        self.log(f"building the {name} profile in the background (about 20 minutes on 2 cores); answering meanwhile")
        env = {**os.environ, "KQA_PROFILE": name}
        for step in self.steps:
            code: int | str
            try:
                code = self._run_step(list(step), env)
            except OSError as exc:  # the interpreter cannot be started (gone, no memory)
                code = f"could not start: {exc}"
            if code != 0:
                if not self._stopped:
                    self.log(f"the {name} profile was not built (`{' '.join(step)}` exited with {code}); not switching")
                return False
        try:
            assistant = self.load(self.target) if self.load else Assistant.load(self.target, log_fn=self.log)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the server as it was, and says why
            self.log(f"the {name} profile's build could not be loaded ({type(exc).__name__}: {exc}); not switching")
            return False
        if self._stopped:  # the server is shutting down: nothing to switch
            return False
        self.swap(assistant)
        self.log(f"now answering with the {name} profile")
        return True

    def _run_step(self, args: list[str], env: dict[str, str]) -> int:
        with self._lock:  # a stop() from now on sees this process
            if self._stopped:
                return -1
            # stdin from nowhere: nothing a step runs may wait on the server's terminal
            # its own session: a Ctrl-C at the server's terminal reaches the server, which stops it (stop())
            proc = self._proc = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, str(self.niceness), str(os.getpid()), *args],
                env=env,
                cwd=Path(ROOT),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return proc.wait()

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop a running step as Ctrl-C would, so that it removes what it was writing (every folder is
        replaced atomically: nothing half-written stays); killed after ``grace_s``, or at a second Ctrl-C.
        SIGTERM, not SIGINT: a step stopped before LAUNCH took the signals over has written nothing, and
        SIGTERM's default action ends it, where an inherited "ignore SIGINT" would not."""
        with self._lock:
            self._stopped = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace_s)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                proc.kill()
                proc.wait()


def upgrade_later(settings: Settings, swap: Callable[[Assistant], None], log: Callable[[str], None]) -> Upgrade | None:
    """With ``KQA_PROFILE`` unset: when the best profile's build is missing or stale, start building it (an
    ``Upgrade``, returned) and ``swap`` its assistant in when it loads; else None."""
    try:
        target = upgrade(settings)
    except (FinetuneError, OSError, ValueError) as exc:  # e.g. a training file being edited: serve on regardless
        log(f"not building the better profile in the background: its training data cannot be read ({exc})")
        return None
    if target is None:
        return None
    job = Upgrade(target, swap, log)
    job.start()
    return job
