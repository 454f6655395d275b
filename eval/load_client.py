"""The HTTP client side of ``python -m eval.load``, shared by its API phase (eval/load.py) and UI phase
(eval/load_ui.py): one keep-alive connection per simulated user, many users at once, latency percentiles."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable

from eval.bench import bench_questions


def pcts(ms: list[float]) -> tuple[float | None, float | None]:
    """Median and 95th percentile (nearest rank), rounded."""
    if not ms:
        return None, None
    ms = sorted(ms)
    return round(statistics.median(ms), 1), round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1)


class Client:
    """One keep-alive HTTP/1.1 connection to the app and one UI session (per client thread, like a browser tab)."""

    RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

    def __init__(self, url: str, timeout: float = 60) -> None:
        parts = urllib.parse.urlparse(url)
        self.host, self.port, self.timeout = parts.hostname or "127.0.0.1", parts.port or 80, timeout
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.reconnects, self.session = 0, uuid.uuid4().hex[:11]

    def open(self, method: str, path: str, body: bytes | None = None) -> http.client.HTTPResponse:
        """Send a request; reconnect once when the server had closed the idle connection before answering."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body, headers)
                return self.conn.getresponse()
            except self.RETRYABLE:
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def run_clients(
    users: int,
    per_user: int,
    max_seconds: float,
    connect: Callable[[], Client],
    call: Callable[[Client, str], str | None],
    offset: int = 0,
) -> dict:
    """``users`` threads, each with its own connection, each asking ``per_user`` questions in turn; all start
    together. Counts every failure (non-200, bad reply, exception, time budget) and measures each request."""
    questions = bench_questions()
    deadline = time.time() + max_seconds
    start = threading.Barrier(users + 1)
    results: list[tuple[list[float], list[str], int]] = [([], [], 0)] * users

    def user(k: int) -> None:
        client, times, errors = connect(), [], []
        start.wait()
        for i in range(per_user):
            if time.time() > deadline:
                errors.append("time budget exhausted")
                break
            t = time.perf_counter()
            try:
                err = call(client, questions[(offset + k * per_user + i) % len(questions)])
            except Exception as exc:  # any failure counts; the message says which
                err = f"{type(exc).__name__}: {exc}"[:200]
            times.append((time.perf_counter() - t) * 1000)
            if err:
                errors.append(err)
        client.close()
        results[k] = (times, errors, client.reconnects)

    threads = [threading.Thread(target=user, args=(k,), daemon=True) for k in range(users)]
    for th in threads:
        th.start()
    start.wait()
    t = time.perf_counter()
    for th in threads:
        th.join(max_seconds + 120)
    wall = time.perf_counter() - t
    times = [x for r in results for x in r[0]]
    errors = [e for r in results for e in r[1]]
    p50, p95 = pcts(times)
    return {
        "users": users,
        "questions_per_user": per_user,
        "requests": len(times),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "p50_ms": p50,
        "p95_ms": p95,
        "throughput_per_s": round(len(times) / wall, 1),
        "wall_s": round(wall, 2),
        "reconnects": sum(r[2] for r in results),
    }
