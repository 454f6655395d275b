"""The UI phase of ``python -m eval.load``: the chat's ask event through Gradio's queue, found in ``/config`` as the
event the question box's submit triggers; concurrent queue clients; how many turns one chat takes before its
growing history is refused; the browser's Enter-to-answer time in headless Chromium at 375 px."""

from __future__ import annotations

import argparse
import json
import shutil
import time
import urllib.request
from pathlib import Path

from eval.bench import bench_questions
from eval.load_client import Client, pcts, run_clients

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def find_ask_event(url: str) -> dict | None:
    """From ``/config``: the event the question box (``elem_id == "question"``) triggers on submit, with the
    values to send for its inputs (each other input's current value: chat history, language choice, states).
    None when the UI has no such box or event."""
    with urllib.request.urlopen(url + "config", timeout=30) as resp:
        config = json.loads(resp.read())
    comps = {c["id"]: c for c in config.get("components", [])}
    box = next((i for i, c in comps.items() if c.get("props", {}).get("elem_id") == "question"), None)
    for k, dep in enumerate(config.get("dependencies", [])):
        if box is not None and [box, "submit"] in dep.get("targets", []) and box in dep.get("inputs", []):
            inputs = [None if i == box else comps.get(i, {}).get("props", {}).get("value") for i in dep["inputs"]]
            chats = [i for i in dep["inputs"] if comps.get(i, {}).get("type") == "chatbot" and i in dep["outputs"]]
            return {
                "fn_index": dep.get("id", k),
                "trigger_id": box,
                "inputs": inputs,
                "question_at": dep["inputs"].index(box),
                "api_prefix": config.get("api_prefix", "/gradio_api"),
                "history_at": (dep["inputs"].index(chats[0]), dep["outputs"].index(chats[0])) if chats else None,
                "input_types": [comps.get(i, {}).get("type") for i in dep["inputs"]],
            }
    return None


def ui_ask(
    client: Client, event: dict, question: str, session: str, history: list | None = None
) -> tuple[str | None, list]:
    """The UI's ask event through Gradio's queue: join, then read the session's event stream to its end.
    Returns (None or what went wrong, the outputs)."""
    data = list(event["inputs"])
    data[event["question_at"]] = question
    if history is not None and event["history_at"]:
        data[event["history_at"][0]] = history
    body = json.dumps(
        {
            "data": data,
            "fn_index": event["fn_index"],
            "trigger_id": event["trigger_id"],
            "session_hash": session,
            "event_data": None,
        }
    ).encode()
    with client.open("POST", event["api_prefix"] + "/queue/join", body) as resp:
        if resp.status != 200:
            return f"join: HTTP {resp.status}", []
        resp.read()
    outcome: tuple[str | None, list] = ("stream ended without process_completed", [])
    with client.open("GET", f"{event['api_prefix']}/queue/data?session_hash={session}") as resp:
        if resp.status != 200:
            return f"data: HTTP {resp.status}", []
        for line in iter(resp.readline, b""):  # read to the end, so the connection can be reused
            if not line.startswith(b"data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("msg") == "process_completed":
                out = (msg.get("output") or {}).get("data")
                chat = out[event["history_at"][1]] if out and event["history_at"] else [{"role": "assistant"}]
                ok = msg.get("success") and any(m.get("role") == "assistant" for m in chat)
                outcome = (None, out or []) if ok else (f"no answer: {str(msg.get('output'))[:120]}", [])
    return outcome


def run_ui(url: str, event: dict, users: int, per_user: int, max_seconds: float) -> dict:
    """``users`` concurrent UI sessions (one session hash and connection each) × ``per_user`` questions through
    the queue; each question starts from an empty chat, so request bodies stay the same size."""
    return run_clients(
        users,
        per_user,
        max_seconds,
        lambda: Client(url),
        lambda client, q: ui_ask(client, event, q, client.session)[0],
        offset=7,
    )


def chat_turns_before_refused(url: str, event: dict, cap: int = 40) -> dict:
    """One UI session sending its whole chat history back each turn, as the browser does: how many turns it
    takes before a request is refused (None: all ``cap`` turns answered) and how large the last body was."""
    if not event["history_at"]:
        return {"turns_answered": None, "note": "the ask event has no chat history input"}
    client, history = Client(url), list[dict]()
    questions = bench_questions()
    for turn in range(cap):
        err, out = ui_ask(client, event, questions[turn], client.session, history)
        if err:
            client.close()
            return {"turns_answered": turn, "refused_with": err, "history_bytes": len(json.dumps(history))}
        history = out[event["history_at"][1]]
    client.close()
    return {"turns_answered": None, "cap": cap, "history_bytes": len(json.dumps(history))}


def browser_enter_to_answer(url: str, n: int = 10, timeout_s: float = 30) -> dict:
    """Headless Chromium at 375 px: type a question into ``#question textarea``, press Enter, and time until
    a new answer is shown first; median over ``n`` questions in one session. Skipped, with a note, when
    chromium or playwright is missing or the page's DOM differs."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    if not Path(CHROMIUM).exists():
        return {"skipped": f"{CHROMIUM} is missing (apt-get install chromium)"}
    # The newest answer comes first (#answers .kqa-turn, with its answer id); a new id means a new answer.
    count = "() => (document.querySelector('#answers .kqa-turn') || {dataset: {}}).dataset.answer || ''"
    grown = "n => ((document.querySelector('#answers .kqa-turn') || {dataset: {}}).dataset.answer || '') !== n"
    ms, errors = list[float](), list[str]()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 375, "height": 900})
            page.goto(url, wait_until="load")
            box = page.locator("#question textarea")
            box.wait_for(timeout=60_000)
            for q in bench_questions()[3 : 3 + n]:
                before = page.evaluate(count)
                box.fill(q)
                t = time.perf_counter()
                box.press("Enter")
                try:
                    page.wait_for_function(grown, arg=before, timeout=timeout_s * 1000, polling="raf")
                    ms.append((time.perf_counter() - t) * 1000)
                except Exception as exc:  # no answer: recorded, and the rest still measured
                    errors.append(f"question {len(ms) + len(errors) + 1}: {type(exc).__name__}")
        except Exception as exc:  # a different DOM: report it rather than fail the whole run
            return {"skipped": f"the page's DOM differs: {type(exc).__name__}: {str(exc)[:160]}"}
        finally:
            browser.close()
    return {
        "questions": n,
        "answered": len(ms),
        "errors": errors,
        "p50_ms": pcts(ms)[0],
        "max_ms": round(max(ms), 1) if ms else None,
    }


def measure_ui(url: str, args: argparse.Namespace) -> dict:
    """The UI path beside the API: queue clients at two concurrencies, chat length, browser time."""
    event = find_ask_event(url)
    if event is None:
        return {"skipped": "no event triggered by submitting the #question box in /config; the UI changed"}
    return {
        "fn_index": event["fn_index"],
        "input_types": event["input_types"],
        "small": run_ui(url, event, args.small_users, args.ui_questions, args.max_seconds),
        "full": run_ui(url, event, args.users, args.ui_questions, args.max_seconds),
        "chat_turns": chat_turns_before_refused(url, event),
        "browser": browser_enter_to_answer(url, args.browser_questions)
        if args.browser_questions
        else {"skipped": "--browser-questions 0"},
    }
