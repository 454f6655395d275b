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
STALE_PLEDGE = "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet"
VIOLENCE_PLEDGE = "powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie"
ADMIN_TOKEN = "test-admin-token"


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
    stale = data / "translations"  # a copy in which one English translation no longer matches its Polish source
    shutil.copytree(ROOT / "corpus" / "translations", stale)
    doc = json.loads((stale / "en.json").read_text(encoding="utf-8"))
    for field in doc["pledges"][STALE_PLEDGE].values():
        field["source_sha256"] = "0" * 64
    (stale / "en.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    env = {
        **os.environ,
        "KQA_INDEX_DIR": str(real_assistant.settings.index_dir),
        "KQA_TRANSLATIONS_DIR": str(stale),
        "KQA_FEEDBACK_DB": str(data / "feedback.sqlite3"),
        "HOME": str(data / "home"),
        "TMPDIR": str(data / "tmp"),
        "GRADIO_TEMP_DIR": str(data / "gradio"),
        "KQA_ADMIN_TOKEN": ADMIN_TOKEN,  # opens the Stats tab
    }
    log = open(data / "app.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
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
    yield {"url": url, "port": port, "data": data, "proc": proc, "index_dir": str(real_assistant.settings.index_dir)}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def ask(server: dict, question: str, **params: object) -> tuple[int, dict]:
    """POST /api/ask on the launched app."""
    req = urllib.request.Request(
        f"{server['url']}api/ask", json.dumps({"q": question, **params}).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(
    "question, lang, pledge_id",
    [
        (
            "Czy miasto daje darmowe szczepienia na HPV?",
            "pl",
            "zapewnimy-kobietom-w-kazdym-wieku-dostep-do-programow-"
            "profilaktycznych-oraz-wsparcie-w-zakresie-chorob-zwiazanych-z-podeszlym-wiekiem",
        ),
        (
            "Is there help for women who want to start their own business?",
            "en",
            "wsparcie-w-rozwoju-przedsiebiorczosci-kobiet",
        ),
        (
            "Де знайти гінеколога без клаузули совісті?",
            "uk",
            "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet",
        ),
        # Ukrainian typed in Latin letters: detected as Ukrainian, searched in Cyrillic
        (
            "cholovik mene byie, kudy zvernutysia?",
            "uk",
            "powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie",
        ),
    ],
)
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


# --- the browser: headless Debian Chromium at a phone's and a desktop's width ---------------------------------

WIDTHS = [375, 1280]


def _votes(server: dict) -> list[tuple]:
    """(pledge_id, vote, reason) rows in the app's feedback database."""
    with sqlite3.connect(server["data"] / "feedback.sqlite3") as db:
        return db.execute("select pledge_id, vote, reason from kqa_votes order by pledge_id").fetchall()


def _wait_votes(server: dict, expected: list[tuple], timeout: float = 10) -> list[tuple]:
    deadline = time.time() + timeout
    rows = _votes(server)
    while rows != expected and time.time() < deadline:
        time.sleep(0.2)
        rows = _votes(server)
    return rows


def _axe(page, name: str) -> None:
    """axe-core over the page: every rule it runs by default (WCAG 2.1 A/AA and best practices), 0 violations."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    (ARTIFACTS / f"axe-{name}.txt").write_text(result.generate_report(), encoding="utf-8")
    assert result.violations_count == 0, result.generate_report()


@pytest.fixture()
def browser_page(server, request):
    """A fresh Chromium page of the given width; requests leaving the machine are collected and must be none."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"LOUD SKIP: {CHROMIUM} is missing (apt-get install chromium); the browser test did not run")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    width = request.param
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": width, "height": 812 if width < 500 else 800})
        page.on(
            "request", lambda r: None if r.url.startswith((server["url"], "data:", "blob:")) else outside.append(r.url)
        )
        yield page, width
        browser.close()
    assert outside == [], f"the page fetched from outside this machine: {outside}"


def _ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()


def _until(check, timeout: float = 15, state=None) -> None:
    """Poll ``check`` (the page's CSP forbids the string evaluation `wait_for_function` uses); on a timeout the
    message carries ``state()``, what the page looked like, so a rare failure can be told apart afterwards."""
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out; {state() if state else ''}"
        time.sleep(0.2)


def _open(page, url: str) -> None:
    """Load the app and wait until the question box is there."""
    page.goto(url, wait_until="load")
    page.locator("#question textarea").wait_for(timeout=60_000)


def _open_tab(page, index: int) -> None:
    """Select a tab, clicking again until it says so: under load (two test workers) a click that lands while the
    page is still wiring its handlers can be lost, and the tab's panel then never shows."""
    tab = page.get_by_role("tab").nth(index)

    def selected() -> bool:
        if tab.get_attribute("aria-selected") != "true":
            tab.click()
            page.wait_for_timeout(200)
        return tab.get_attribute("aria-selected") == "true"

    _until(selected)


def _pump_until(page, check, what: str, timeout: float = 30) -> None:
    """Wait for ``check`` to hold where it depends on a route handler: Playwright's sync API runs route handlers
    only inside its own calls, so this pumps with ``wait_for_timeout`` (``_until`` sleeps, and once timed out
    with the request waiting)."""
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


def _hold_load(page, url: str):
    """Open the app with the page's own load event held, as a slow server (CI under load) holds it. Returns a
    function that lets it through."""
    held: list = []
    page.route("**/queue/join*", lambda route: held.append(route) if not held else route.continue_())
    _open(page, url)
    _pump_until(page, lambda: bool(held), "the page's load event")

    def release() -> None:
        held[0].continue_()
        page.unroute("**/queue/join*")

    return release


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] and box["y"] + min(box["height"], 120) <= height


@pytest.mark.browser
@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_browser_ask_answer_first_translated_and_accessible(server, browser_page) -> None:
    page, width = browser_page
    _open(page, server["url"])
    assert page.locator("h1").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"start-{width}px.png"))

    _ask(page, "Is there free mammography?")
    page.locator("#answers .kqa-card").first.wait_for(timeout=30_000)
    page.wait_for_timeout(600)  # the scroll happens on the next frame
    assert _in_view(page, "#answers .kqa-title") and _in_view(page, "#answers .kqa-badge")  # answer first
    # set by ui.js's mutation callback from the heading's data-ui-lang. It timed out in CI with the heading still
    # "pl": the page's load event had answered after the question and relabelled the page in Polish (fixed in
    # app.py; test_browser_question_asked_while_the_page_still_loads holds the load to show it)
    _until(
        lambda: page.evaluate("document.documentElement.lang") == "en",
        state=lambda: page.evaluate(
            "({html: document.documentElement.lang, heading: (document.querySelector('#kqa-head [data-ui-lang]')"
            " || {dataset: {}}).dataset.uiLang, turn: (document.querySelector('#answers .kqa-turn')"
            " || {dataset: {}}).dataset.uiLang})"
        ),
    )
    card = page.locator("#answers .kqa-card").first
    assert "as of 2025" in card.locator(".kqa-badge").inner_text()
    assert "Unofficial translation" in card.locator(".kqa-tr").inner_text()  # above the Polish quotes
    assert "free mammography" in card.locator(".kqa-tr").inner_text()
    assert "bezpłatne badania mammograficzne" in card.locator("blockquote").first.inner_text()  # verbatim Polish
    assert page.locator("#question textarea").input_value() == ""  # emptied, ready for the next question
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"answer-{width}px.png"))
    _axe(page, f"ask-{width}px")

    card.locator("summary", has_text="Show the quoted lines").click()  # the exact quoted lines, in the app
    assert card.locator(".kqa-lines li").count() >= 3
    assert "Urząd Miasta Krakowa — Sprawozdanie" in card.locator(".kqa-cite").inner_text()

    _ask(page, "   ")  # an empty submit says what to do, in the interface's language
    page.locator("#answers .kqa-error").wait_for(timeout=30_000)
    assert "The question is empty" in page.locator("#answers .kqa-error").inner_text()

    _ask(page, "<img src=x onerror=alert(1)> " + "długie pytanie o mammografię " * 10)
    page.locator("#answers details.kqa-asked").first.wait_for(timeout=30_000)  # a long paste is folded
    assert page.locator("#answers img[src='x']").count() == 0


@pytest.mark.browser
@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_browser_votes_count_right(server, browser_page) -> None:
    page, width = browser_page
    _open(page, server["url"])
    before = _votes(server)
    page.get_by_role("button", name="Gdzie szukać pomocy przy przemocy w rodzinie?").click()  # asks at once
    card = page.locator("#answers .kqa-card").first
    card.wait_for(timeout=30_000)
    assert "800 120 002" in page.locator("#answers .kqa-contacts").inner_text()  # help beside violence answers
    pid = card.get_attribute("data-pledge")
    vote = card.locator(".kqa-vote")
    up, down = vote.locator("[data-vote=up]"), vote.locator("[data-vote=down]")
    up.click()
    assert _wait_votes(server, sorted(before + [(pid, "up", None)])) == sorted(before + [(pid, "up", None)])
    # the row is written before the reply reaches the page: wait for the page's acknowledgement
    _until(lambda: "Dziękujemy" in vote.locator(".kqa-thanks").inner_text())
    up.click()  # the same button again takes the vote back: no complaint is stored
    assert _wait_votes(server, before) == before
    down.click()
    vote.locator("[data-reason=outdated]").click()  # changed, with the optional reason: one row, not two
    expected = sorted(before + [(pid, "down", "outdated")])
    assert _wait_votes(server, expected) == expected
    _until(lambda: up.get_attribute("aria-pressed") == "false" and down.get_attribute("aria-pressed") == "true")
    page.screenshot(path=str(ARTIFACTS / f"voted-{width}px.png"))


@pytest.mark.browser
@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_browser_browse_deep_link_and_stale_translation(server, browser_page) -> None:
    page, width = browser_page
    _open(page, server["url"])
    _open_tab(page, 1)
    page.locator("#text-filter input, #text-filter textarea").first.fill("help for carers of disabled people")
    # a carers' pledge by meaning and not the minorities' one; which of the two carers' pledges (respite care or
    # medical carers) clears browse_meaning_min depends on the trained model, so the test opens the first row
    rows = page.locator("#pledge-list .kqa-row")
    _until(lambda: "opiek" in (t := page.locator("#pledge-list").inner_text()) and "mniejszości" not in t)
    first = rows.first.get_attribute("data-open")
    rows.first.click()  # a row opens the pledge
    page.locator("#pledge-detail .kqa-card").wait_for(timeout=15_000)
    assert f"pledge={first}" in page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"browse-{width}px.png"), full_page=True)
    _axe(page, f"browse-{width}px")

    page.goto(f"{server['url']}?pledge={VIOLENCE_PLEDGE}&lang=uk", wait_until="load")  # a shared link
    page.locator("#pledge-detail .kqa-card").wait_for(timeout=60_000)
    detail = page.locator("#pledge-detail")
    assert "Powołamy pełnomocnika" in detail.inner_text() and "Неофіційний переклад" in detail.inner_text()
    _until(lambda: page.evaluate("document.documentElement.lang") == "uk")
    _until(lambda: _in_view(page, "#pledge-detail .kqa-title"))  # the linked pledge is in view, not below the list
    page.screenshot(path=str(ARTIFACTS / f"deeplink-uk-{width}px.png"))

    page.goto(f"{server['url']}?pledge={STALE_PLEDGE}&lang=en", wait_until="load")  # its translation is stale
    page.locator("#pledge-detail .kqa-card").wait_for(timeout=60_000)
    assert page.locator("#pledge-detail .kqa-tr").count() == 0  # only Polish, never an outdated translation
    assert "Stworzymy ogólnodostępny gabinet" in page.locator("#pledge-detail").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"stale-{width}px.png"))


@pytest.mark.browser
@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_browser_three_turn_conversation(server, browser_page) -> None:
    """question → "is it free?" → "po ukraińsku": the same pledge each time, the "continuing about" line, and
    "New conversation" clears the page and the context."""
    page, width = browser_page
    _open(page, server["url"])
    women = "Zapewnimy kobietom w każdym wieku"
    for n, question in enumerate(["Czy jest darmowa mammografia?", "is it free?", "po ukraińsku"], start=1):
        _ask(page, question)
        _until(
            lambda q=question: (
                page.locator("#answers .kqa-turn").count() >= 1
                and q in page.locator("#answers .kqa-turn").first.inner_text()
            ),
            timeout=30,
        )
        turn = page.locator("#answers .kqa-turn").first
        assert women in turn.locator(".kqa-card .kqa-title").first.inner_text()
        _until(lambda: women in page.locator("#context").inner_text())  # what the next question continues
        assert page.locator("#forget").is_visible() and page.locator("#new-conversation").is_visible()
        if n > 1:
            assert women in turn.locator(".kqa-context").inner_text()  # the answer says what it continues
    assert "Продовження теми:" in page.locator("#answers .kqa-turn").first.inner_text()
    _until(lambda: page.evaluate("document.documentElement.lang") == "uk")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.wait_for_timeout(600)
    page.screenshot(path=str(ARTIFACTS / f"conversation-{width}px.png"))
    _axe(page, f"conversation-{width}px")

    page.locator("#new-conversation").click()
    _until(lambda: page.locator("#answers .kqa-turn").count() == 0 and not page.locator("#forget").is_visible())
    assert page.locator("#context").inner_text().strip() == ""


@pytest.mark.browser
@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_browser_question_asked_while_the_page_still_loads(server, browser_page) -> None:
    """A reader quicker than a slow server: the page's own load event answers after their first question. The
    answer's language and the conversation's buttons stay (CI once saw the heading turn back to Polish)."""
    page, _width = browser_page
    release = _hold_load(page, server["url"])  # until the answer is shown
    _ask(page, "Is there free mammography?")
    page.locator("#answers .kqa-card").first.wait_for(timeout=30_000)
    release()
    page.wait_for_timeout(1500)  # the load event's answer lands (and any event it sets off)
    heading = "(document.querySelector('#kqa-head [data-ui-lang]') || {dataset: {}}).dataset.uiLang"
    assert page.evaluate(heading) == "en" and page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#answers .kqa-card").count() >= 1
    assert page.locator("#new-conversation").is_visible() and page.locator("#forget").is_visible()
    assert page.get_by_role("button", name="Ask", exact=True).count() == 1  # the labels are English too


@pytest.mark.browser
@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_browser_browse_nonsense_and_stats_on_a_phone(server, browser_page) -> None:
    """Issue 31: "xqzzv" in Browse lists nothing as similar, says so and lists every pledge; Stats name pledges
    by title, refusals as "refused", votes in words, and no count wraps; axe 0 violations on both."""
    page, width = browser_page
    status, doc = ask(server, "opieka wytchnieniowa")
    req = urllib.request.Request(
        f"{server['url']}api/feedback",
        json.dumps(
            {
                "answer_id": doc["answer_id"],
                "pledge_id": doc["answers"][0]["pledge_id"],
                "vote": "down",
                "reason": "wrong_pledge",
            }
        ).encode(),
        {"Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=30).close()
    ask(server, "How much does a monthly tram ticket cost?")  # a refusal
    _open(page, server["url"])
    # A click on Browse while the page still wires its handlers can be lost (as in _open_tab), so click again
    box = page.locator("#text-filter input").first

    def browse_open() -> bool:
        if not box.is_visible():
            page.get_by_role("tab", name="Przeglądaj").click()
            page.wait_for_timeout(500)
        return box.is_visible()

    _until(browse_open, timeout=30)
    page.locator("#pledge-list .kqa-row").first.wait_for(timeout=30_000)  # the tab's own listing is back
    box.fill("xqzzv")
    note = page.locator("#pledge-list .kqa-nomatch")
    note.wait_for(timeout=30_000, state="attached")
    assert "Żadne zobowiązanie nie pasuje" in note.inner_text()
    assert page.locator("#pledge-list .kqa-row").count() == 9
    assert "podobne znaczenie" not in page.locator("#pledge-list").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"browse-xqzzv-{width}px.png"))
    _axe(page, f"browse-xqzzv-{width}px")

    page.get_by_role("tab", name="Statystyki").click()
    page.locator("#admin-token input").fill(ADMIN_TOKEN)
    page.locator("#show-stats").click()
    page.locator(".kqa-stats-all").wait_for(timeout=30_000)
    text = page.locator(".kqa-stats-all").inner_text()
    assert "Rozwiniemy system opieki" in text and "Niepomocne: nie to zobowiązanie" in text
    assert "odmowa (nie ma w raporcie)" in text and "Tego nie ma w raporcie" not in text and "down:" not in text
    # every count is one line box (a wrapped "16" would be two), and nothing scrolls sideways
    lines = page.eval_on_selector_all(
        ".kqa-stats td",
        "els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);"
        " return r.getClientRects().length; })",
    )
    assert lines and max(lines) == 1, lines
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#stats-tab").screenshot(path=str(ARTIFACTS / f"stats-{width}px.png"))
    _axe(page, f"stats-{width}px")
