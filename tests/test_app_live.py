"""The launched app: gradio_client against its /ask endpoint, and a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
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


GUARD = """
import socket, ipaddress, os
_connect = socket.socket.connect
def _guarded(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and host != "localhost":
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if not local:
            with open(os.environ["KQA_TEST_OUTBOUND_LOG"], "a") as f:
                f.write(repr(address) + "\\n")
            raise OSError("outbound network blocked by the test")
    return _connect(self, address)
socket.socket.connect = _guarded
open(os.environ["KQA_TEST_OUTBOUND_LOG"] + ".armed", "w").close()
"""
QUESTIONS_ASKED: list[str] = []


@pytest.fixture(scope="module")
def server(real_assistant, tmp_path_factory: pytest.TempPathFactory):
    """`python app.py` on a free loopback port, sharing the session's index; stopped after the module.

    The app runs with outbound connections refused and recorded (a sitecustomize guard), and with its home,
    temp and data folders inside a test folder, so the privacy test can search everything it wrote.
    """
    port = _free_port()
    data = tmp_path_factory.mktemp("app-data")
    guard = data / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    for sub in ("home", "tmp", "gradio"):
        (data / sub).mkdir()
    env = {**os.environ, "KQA_INDEX_DIR": str(real_assistant.settings.index_dir),
           "KQA_FEEDBACK_FILE": str(data / "feedback.json"), "PYTHONPATH": str(guard),
           "KQA_TEST_OUTBOUND_LOG": str(data / "outbound.log"), "HOME": str(data / "home"),
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


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server["url"], verbose=False)


@pytest.mark.parametrize("question, lang, pledge_id", [
    ("Czy miasto daje darmowe szczepienia na HPV?", "pl", "zapewnimy-kobietom-w-kazdym-wieku-dostep-do-programow-"
     "profilaktycznych-oraz-wsparcie-w-zakresie-chorob-zwiazanych-z-podeszlym-wiekiem"),
    ("Is there help for women who want to start their own business?", "en",
     "wsparcie-w-rozwoju-przedsiebiorczosci-kobiet"),
    ("Де знайти гінеколога без клаузули совісті?", "uk",
     "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet"),
])
def test_api_answers_with_citations(client, question: str, lang: str, pledge_id: str) -> None:
    QUESTIONS_ASKED.append(question)
    doc = client.predict(question, 3, api_name="/ask")
    assert doc["language"] == lang and doc["abstained"] is False
    assert doc["answers"][0]["pledge_id"] == pledge_id
    cites = doc["answers"][0]["citations"]
    assert cites and all(c["source"] == "corpus/krakow-miasto-rownych-szans.txt" and c["text"] for c in cites)
    assert {"question", "language", "abstained", "answers"} <= set(doc)


def test_api_off_topic_is_not_in_the_report(client) -> None:
    doc = client.predict("How much does a monthly tram ticket cost?", 3, api_name="/ask")
    assert doc["abstained"] is True and doc["answers"] == [] and doc["message"].startswith("This is not in the report")


def test_api_empty_question_is_a_clear_error(client) -> None:
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("   ", 3, api_name="/ask")


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

        QUESTIONS_ASKED.append("Czy jest bezpłatna mammografia?")
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
        feedback = server["data"] / "feedback.json"
        deadline = time.time() + 10
        while not feedback.exists() and time.time() < deadline:
            time.sleep(0.2)
        stored = json.loads(feedback.read_text())
        assert list(stored["counts"].values()) == [{"helpful": 1}]
        assert stored["questions"] == [] and "mammografia" not in feedback.read_text()  # no opt-in, no text

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


def test_nothing_leaves_the_machine_and_no_question_is_written(server, client) -> None:
    """Run last in this module: every file the app wrote (home, temp, data, its log) lacks the questions."""
    secret = "Mój mąż mnie bije, gdzie szukać pomocy? kod-7f3a"
    client.predict(secret, 3, api_name="/ask")
    QUESTIONS_ASKED.append(secret)
    time.sleep(1)
    assert (server["data"] / "outbound.log.armed").exists()  # the guard was loaded in the app process
    assert not (server["data"] / "outbound.log").exists(), (server["data"] / "outbound.log").read_text()
    roots = [server["data"], Path(server["index_dir"])]
    scanned = 0
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                scanned += 1
                blob = path.read_bytes()
                for q in QUESTIONS_ASKED:
                    assert q.encode() not in blob, f"{q!r} written to {path}"
    assert scanned >= 3  # the log, the feedback file and the index at least
