"""Run inside the test's network namespace (only loopback): ask through every route with a marker question,
good and bad arguments (and once in a URL, which the API refuses), try an upload and an oversized body, then
stop the app. Prints one JSON line.

    python tests/privacy_driver.py URL MARKER
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def call(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 60) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def gradio_event(base: str, fn_index: int, data: list, session: str) -> str:
    """Join Gradio's queue for one UI event and read its stream to the end."""
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None}).encode()
    status, _ = call(base + "gradio_api/queue/join", body, {"Content-Type": "application/json"})
    if status != 200:
        return f"join {status}"
    _, stream = call(base + f"gradio_api/queue/data?session_hash={session}", timeout=60)
    return stream[-300:]


def main() -> int:
    base, marker = sys.argv[1], sys.argv[2]
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "api/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)

    def ask(**fields: object) -> int:
        return call(
            base + "api/ask", json.dumps({"q": marker, **fields}).encode(), {"Content-Type": "application/json"}
        )[0]

    turn = {"q": marker, "pledge_ids": []}
    out = {
        "api_good": ask(top_k=2),
        # a conversation: the marker as an earlier turn, and a follow-up after it (the server keeps neither)
        "api_history": call(
            base + "api/ask",
            json.dumps({"q": "is it free?", "history": [turn]}).encode(),
            {"Content-Type": "application/json"},
        )[0],
        "api_follow_up": ask(history=[{"q": "opieka wytchnieniowa", "pledge_ids": []}, turn]),
        "api_language": call(
            base + "api/ask",
            json.dumps({"q": "po ukraińsku", "history": [turn]}).encode(),
            {"Content-Type": "application/json"},
        )[0],
        "api_bad_top_k": ask(top_k=3.7),
        "api_no_top_k": ask(),
        "api_in_url": call(base + f"api/ask?q={urllib.parse.quote(marker)}")[0],  # refused (405), and not logged
        "upload": call(
            base + "gradio_api/upload",
            b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n',
            {"Content-Type": "multipart/form-data; boundary=x"},
        )[0],
        "big_body": call(
            base + "gradio_api/queue/join", b"{" + b" " * 200_000 + b"}", {"Content-Type": "application/json"}
        )[0],
    }
    # Every UI event with the marker as its only input (Gradio's missing-input error), and with the ask event's
    # full inputs (the marker where each event expects its own kinds of values: Gradio's processing error).
    _, config = call(base + "config")
    n_events = len(json.loads(config).get("dependencies", []))
    out["ui_events"] = n_events
    for i in range(n_events):
        gradio_event(base, i, [marker], f"one-{i}")
        gradio_event(base, i, [marker, [], "auto", "pl", {}], f"full-{i}")
        gradio_event(base, i, [marker, [], "auto", "pl", [turn]], f"history-{i}")  # the ask event's conversation
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
