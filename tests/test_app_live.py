"""The launched app: its JSON API over HTTP, and a real headless Chromium (privacy: tests/test_privacy.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(real_assistant, tmp_path_factory: pytest.TempPathFactory):
    """`python app.py` on a free loopback port, sharing the session's index; stopped after the module.

    Its home, temp and data folders are inside a test folder.
    """
    port = _free_port()
    data = tmp_path_factory.mktemp("app-data")
    for sub in ("home", "tmp", "gradio"):
        (data / sub).mkdir()
    env = {**os.environ, "KQA_INDEX_DIR": str(real_assistant.settings.index_dir),
           "KQA_FEEDBACK_DB": str(data / "feedback.sqlite3"), "HOME": str(data / "home"),
           "TMPDIR": str(data / "tmp"), "GRADIO_TEMP_DIR": str(data / "gradio")}
    log = open(data / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app exited with {proc.returncode}: {(data / 'app.log').read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("app did not start within 240 s")
    yield {"url": url, "port": port, "data": data, "proc": proc,
           "index_dir": str(real_assistant.settings.index_dir)}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def ask(server: dict, question: str, **params: object) -> tuple[int, dict]:
    """GET /api/ask on the launched app."""
    query = urllib.parse.urlencode({"q": question, **params})
    try:
        with urllib.request.urlopen(f"{server['url']}api/ask?{query}", timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("question, lang, pledge_id", [
    ("Czy miasto daje darmowe szczepienia na HPV?", "pl", "zapewnimy-kobietom-w-kazdym-wieku-dostep-do-programow-"
     "profilaktycznych-oraz-wsparcie-w-zakresie-chorob-zwiazanych-z-podeszlym-wiekiem"),
    ("Is there help for women who want to start their own business?", "en",
     "wsparcie-w-rozwoju-przedsiebiorczosci-kobiet"),
    ("Де знайти гінеколога без клаузули совісті?", "uk",
     "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet"),
])
def test_api_answers_with_citations(server, question: str, lang: str, pledge_id: str) -> None:
    status, doc = ask(server, question, top_k=3)
    assert status == 200
    assert doc["language"] == lang and doc["abstained"] is False
    assert doc["answers"][0]["pledge_id"] == pledge_id
    cites = doc["answers"][0]["citations"]
    assert cites and all(c["source"] == "sources/krakow-miasto-rownych-szans.txt" and c["text"] for c in cites)
    assert {"question", "language", "abstained", "answers"} <= set(doc)


def test_api_off_topic_is_not_in_the_report(server) -> None:
    _, doc = ask(server, "How much does a monthly tram ticket cost?")
    assert doc["abstained"] is True and doc["answers"] == [] and doc["message"].startswith("This is not in the report")


def test_api_empty_question_is_a_clear_error(server) -> None:
    status, doc = ask(server, "   ")
    assert status == 400 and "the question is empty" in doc["error"]


def test_api_docs_render_offline(server) -> None:
    with urllib.request.urlopen(f"{server['url']}api/docs", timeout=30) as resp:
        page = resp.read().decode()
    assert "swagger-ui" in page and "cdn." not in page


def test_binds_loopback_only(server) -> None:
    out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout if shutil.which("ss") else ""
    lines = [ln for ln in out.splitlines() if f":{server['port']} " in ln]
    if not lines:
        pytest.skip("`ss` is not available to list listening sockets")
    assert all("127.0.0.1:" in ln for ln in lines), lines


@pytest.mark.browser
def test_browser_chat_browse_and_injection(server) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"LOUD SKIP: {CHROMIUM} is missing (apt-get install chromium); the browser test did not run")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 375, "height": 900})
        page.on("request", lambda r: None if r.url.startswith((server["url"], "data:", "blob:"))
                else outside.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server["url"], wait_until="load")
        box = page.locator("#question textarea")
        box.wait_for(timeout=60_000)

        box.fill("Czy jest bezpłatna mammografia?")
        page.locator("#send").click()
        chat = page.locator("#chat")
        chat.get_by_text("Zdrowy Kraków").first.wait_for(timeout=30_000)
        assert chat.get_by_text("Status:").count() >= 1
        assert chat.locator("code", has_text="w trakcie realizacji").count() >= 1  # the status badge
        chat.get_by_text("Źródło").first.click()  # open the collapsible sources
        chat.get_by_text("wiersze 27–29 (tytuł)").first.wait_for(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "chat-375px.png"), full_page=True)
        chat.locator("button[aria-label='Like']").last.click()  # feedback: helpful
        db = server["data"] / "feedback.sqlite3"
        votes: list = []
        deadline = time.time() + 10
        while not votes and time.time() < deadline:
            time.sleep(0.2)
            votes = sqlite3.connect(db).execute("select pledge_id, vote from kqa_votes").fetchall()
        assert [v for _, v in votes] == ["up"]
        assert b"mammografia" not in b"".join(p.read_bytes() for p in server["data"].glob("feedback.sqlite3*"))

        box.fill("<img src=x onerror=alert(1)>")
        page.locator("#send").click()
        chat.get_by_text("<img src=x onerror=alert(1)>").first.wait_for(timeout=30_000)
        assert chat.locator("img[src='x']").count() == 0 and dialogs == []

        page.get_by_role("tab").nth(1).click()
        page.locator("#status-filter input").click()
        page.get_by_role("option", name="done", exact=True).click()
        table = page.locator("#pledge-table")
        page.wait_for_function("!document.querySelector('#pledge-table').innerText.includes('Rozwiniemy')",
                               timeout=10_000)
        assert "Powołamy pełnomocnika ds. przeciwdziałania przemocy w rodzinie" in table.inner_text()
        assert "Rozwiniemy system opieki" not in table.inner_text()
        assert page.locator("#pledge-detail").get_by_text("lines 7 (title)").count() + \
            page.locator("#pledge-detail").get_by_text("wiersze 7 (tytuł)").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling on a phone
        page.screenshot(path=str(ARTIFACTS / "browse-375px.png"), full_page=True)
        browser.close()
    assert outside == [], f"the page fetched from outside this machine: {outside}"
