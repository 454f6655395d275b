"""The launched app as someone in danger, in a hurry or with a screen reader meets it (issue 31), in headless
Debian Chromium at a phone's and a desktop's width: help numbers in view before the quotes, quick exit, the focus
order and the live region, Copy with the translation, a refusal that leads on, a language switch that stays put.

Screenshots and the recorded focus orders go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from test_app_live import (
    ARTIFACTS,
    WIDTHS,
    _ask,
    _axe,
    _hold_load,
    _in_view,
    _open,
    _pump_until,
    _until,
    browser_page,
    server,
)

__all__ = ["browser_page", "server"]  # the fixtures, shared with tests/test_app_live.py (one app per module)
pytestmark = [pytest.mark.model, pytest.mark.browser]

VIOLENCE_UK = "Де шукати допомоги, якщо чоловік мене б'є?"
VIOLENCE_PL = "Gdzie szukać pomocy, gdy mąż mnie bije?"
TRAM = "How much does a monthly tram ticket cost?"
VIOLENCE_PLEDGE = "powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie"

# What the focused element is, as a screen reader would name it: "<tag or role>: <accessible name>".
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  const label = el.getAttribute("aria-label") || (el.labels && el.labels[0] && el.labels[0].innerText)
    || (el.getAttribute("aria-labelledby") && document.getElementById(el.getAttribute("aria-labelledby")).innerText)
    || el.innerText || el.value || "";
  return `${el.getAttribute("role") || el.tagName.toLowerCase()}: ${label.trim().replace(/\\s+/g, " ").slice(0, 90)}`;
}"""
# The names of every control a reader can reach now (not hidden, not folded away in a closed <details>).
NAMES = """() => {
  const folded = (el) => {
    for (let d = el.parentElement && el.parentElement.closest("details"); d;
         d = d.parentElement && d.parentElement.closest("details")) {
      if (!d.open && !(el.tagName === "SUMMARY" && el.parentElement === d)) return true;
    }
    return false;
  };
  return [...document.querySelectorAll("button, a[href], input, textarea, select, summary")]
  .filter((el) => el.getClientRects().length && !el.closest("[hidden], [aria-hidden=true], .kqa-hidden")
          && el.tabIndex >= 0 && !folded(el))
  .map((el) => (el.getAttribute("aria-label") || (el.labels && el.labels[0] && el.labels[0].innerText)
                || el.innerText || "").trim().replace(/\\s+/g, " "));
}"""


def _wait_answer(page, question: str) -> None:
    """Ask and wait until the newest answer is the one to ``question``, scrolled and focused (next frames)."""
    _ask(page, question)
    _until(
        lambda: (
            page.locator("#answers .kqa-turn").count() >= 1
            and question in page.locator("#answers .kqa-turn").first.inner_text()
        ),
        timeout=40,
    )
    page.wait_for_timeout(700)


def _tabs(page, n: int, *, back: bool = False) -> list[str]:
    """Press Tab (Shift+Tab) ``n`` times; what had focus after each press."""
    out = []
    for _ in range(n):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        out.append(page.evaluate(FOCUSED))
    return out


@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
@pytest.mark.parametrize(
    "question, lang, heading",
    [(VIOLENCE_UK, "uk", "Потрібна допомога зараз?"), (VIOLENCE_PL, "pl", "Potrzebujesz pomocy teraz?")],
)
def test_help_numbers_come_first_and_in_view(server, browser_page, question: str, lang: str, heading: str) -> None:
    """What a frightened person on a phone sees first: the help numbers, right after answering."""
    page, width = browser_page
    _open(page, server["url"])
    _wait_answer(page, question)
    turn = page.locator("#answers .kqa-turn").first
    help_box = turn.locator(".kqa-contacts.kqa-safety")
    assert heading in help_box.inner_text() and "112" in help_box.inner_text()
    assert "800 120 002" in help_box.inner_text()
    assert _in_view(page, "#answers .kqa-safety a[href='tel:112']")
    assert _in_view(page, "#answers .kqa-safety a[href='tel:800120002']")
    assert help_box.bounding_box()["y"] < turn.locator("blockquote").first.bounding_box()["y"]
    assert VIOLENCE_PLEDGE in [c.get_attribute("data-pledge") for c in turn.locator(".kqa-card").all()]
    live = page.locator("#kqa-live")
    _until(lambda: live.inner_text().startswith(heading) and "112" in live.inner_text())
    page.screenshot(path=str(ARTIFACTS / f"safety-{lang}-{width}px.png"))


@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_quick_exit_leaves_nothing_to_go_back_to(server, browser_page) -> None:
    page, width = browser_page
    _open(page, server["url"])
    _wait_answer(page, VIOLENCE_PL)
    exit_link = page.get_by_role("link", name="Szybkie wyjście: natychmiast opuść tę stronę")
    assert exit_link.is_visible() and _in_view(page, "#quick-exit")  # on screen wherever the page is scrolled
    page.screenshot(path=str(ARTIFACTS / f"quick-exit-{width}px.png"))
    depth = page.evaluate("history.length")
    exit_link.focus()  # the first Tab stop of the page (test_keyboard_order_live_region_and_names)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/start$"), timeout=15_000)
    assert page.title() == "Nowa karta" and page.locator("body").inner_text().strip() == ""
    assert page.evaluate("history.length") == depth  # replaced, not added
    page.screenshot(path=str(ARTIFACTS / f"quick-exit-after-{width}px.png"))
    page.go_back()  # the app is not behind it: the page before the app (here: none)
    page.wait_for_timeout(500)
    assert server["url"] not in page.url or page.url.endswith("/start")


@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_keyboard_order_live_region_and_names(server, browser_page) -> None:
    """Tab from the top while the page still loads: quick exit first, only controls, focus kept when loading ends;
    the tab, box and button named apart; after an answer focus is on its heading, the live region says its title
    and status, the box is empty, and from the Ask button Tab goes to the answer, not through the examples."""
    page, width = browser_page
    release = _hold_load(page, server["url"])  # the page's own load event, held while we tab
    page.locator("body").focus()
    start = _tabs(page, 12)
    release()
    page.wait_for_timeout(700)  # the load event's answer lands
    assert start[0].startswith("a: Szybkie wyjście"), start
    # Every stop is a control, and focus stays put when loading ends: Gradio's progress overlay once made the
    # covered block a focusable scroller ("div: 0.3s") that vanished with focus in it.
    assert not [f for f in start if f.startswith(("div", "body"))], start
    assert page.evaluate(FOCUSED) == start[-1], (page.evaluate(FOCUSED), start)
    names = {f.split(": ", 1)[1] for f in start}
    assert {"Twoje pytanie", "Zapytaj"} <= names, start  # the box and the button
    assert page.get_by_role("tab").first.inner_text().strip() == "Pytania"  # the tab: a third name

    page.locator("#question textarea").fill("Is there free mammography?")
    page.keyboard.press("Enter")
    _until(lambda: page.locator("#answers .kqa-turn").count() == 1, timeout=40)
    _until(lambda: page.evaluate(FOCUSED).startswith("h2: "), timeout=10, state=lambda: page.evaluate(FOCUSED))
    title = page.locator("#answers .kqa-card .kqa-title").first.inner_text()
    assert f"h2: {title}".startswith(page.evaluate(FOCUSED))
    live = page.locator("#kqa-live")
    assert live.get_attribute("aria-live") == "polite"
    _until(
        lambda: live.inner_text().startswith("Free") or "Status:" in live.inner_text(), state=lambda: live.inner_text()
    )
    assert re.search(r"\. Status: (done|partly done|in progress|planned|not done|unclear)\.$", live.inner_text())
    assert page.locator("#question textarea").input_value() == ""  # ready for the next question
    assert "Is there free mammography?" in page.locator("#answers .kqa-asked").first.inner_text()  # still shown
    after = _tabs(page, 4)
    short = title[:20]
    assert after[0].startswith("button: Copy — " + short) and after[1].startswith("button: Copy link — " + short)
    assert after[2].startswith("button: Helpful — " + short) and after[3].startswith("button: Not helpful — ")

    page.locator("#send").focus()
    hops = []  # from the Ask button: the conversation's two buttons, then the answer; never the examples
    while len(hops) < 4 and not page.evaluate("document.activeElement.closest('#answers') !== null"):
        page.keyboard.press("Tab")
        hops.append(page.evaluate(FOCUSED))
        assert not page.evaluate("document.activeElement.closest('.kqa-examples') !== null"), hops
    assert page.evaluate("document.activeElement.closest('#answers') !== null"), hops
    every = page.evaluate(NAMES)
    dupes = sorted({n for n in every if every.count(n) > 1})
    assert not dupes, dupes  # every reachable control has its own name
    (ARTIFACTS / f"focus-order-{width}px.txt").write_text(
        "\n".join(
            [
                "# Tab from the top of the page",
                *start,
                "# after asking (focus on the answer's heading), Tab:",
                *after,
                "# from the Ask button, Tab:",
                *hops,
            ]
        ),
        encoding="utf-8",
    )
    page.screenshot(path=str(ARTIFACTS / f"focused-answer-{width}px.png"))
    _axe(page, f"a11y-answer-{width}px")


@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_copy_in_english_carries_the_translation(server, browser_page) -> None:
    page, width = browser_page
    _open(page, server["url"])
    page.get_by_role("radio", name="English").check()
    _wait_answer(page, "Is there free mammography?")
    card = page.locator("#answers .kqa-card").first
    copy = card.locator("[data-copy]")
    assert _in_view(page, "#answers .kqa-card [data-copy]")  # no scrolling past the quotes
    assert copy.bounding_box()["y"] < card.locator("blockquote").first.bounding_box()["y"]
    copy.click()
    _until(lambda: copy.get_attribute("data-copied") is not None)
    text = copy.get_attribute("data-copied")
    assert text.startswith("[Unofficial translation — the Polish quote below is the evidence]\n")
    assert text.index("free mammography") < text.index("Original (Polish)") < text.index("Pledge: „")
    assert text.rstrip().split("\n")[-1].startswith("Source: Urząd Miasta Krakowa")
    _until(lambda: page.locator("#kqa-live").inner_text() == "Copied")
    page.screenshot(path=str(ARTIFACTS / f"copy-en-{width}px.png"))
    (ARTIFACTS / f"copy-en-{width}px.txt").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_refusal_gets_the_city_and_leads_on(server, browser_page) -> None:
    page, width = browser_page
    _open(page, server["url"])
    _wait_answer(page, TRAM)
    turn = page.locator("#answers .kqa-turn").first
    help_box = turn.locator(".kqa-contacts")
    assert "12 616 1616" in help_box.inner_text() and "112" not in help_box.inner_text()
    _until(lambda: page.locator("#kqa-live").inner_text() == "Not in the report.")
    links = turn.locator(".kqa-suggestions a")
    assert links.count() >= 1
    first_lang = links.first.get_attribute("lang")
    assert first_lang in ("en", "pl")
    page.screenshot(path=str(ARTIFACTS / f"refusal-{width}px.png"))
    _axe(page, f"refusal-{width}px")
    pid = links.first.get_attribute("data-open")
    links.first.click()  # opens the pledge in Browse, in place (the conversation stays)
    # 60 s as for a shared link: 20 s ran out once with both cores held by busy loops beside the two test workers
    page.locator(f"#pledge-detail .kqa-card[data-pledge='{pid}']").wait_for(timeout=60_000)
    _until(lambda: _in_view(page, "#pledge-detail .kqa-title"))
    assert f"pledge={pid}" in page.url
    assert page.get_by_role("tab", selected=True).inner_text().strip() == "Browse"
    page.screenshot(path=str(ARTIFACTS / f"refusal-opened-{width}px.png"))


@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_opened_pledge_stays_in_view_when_the_listing_lands_after_it(server, browser_page) -> None:
    """A suggestion's click selects Browse, whose listing (every pledge, above the opened one) and the opened
    pledge are two requests. CI once had the pledge land first and the listing push it out of view (the
    browser's scroll anchoring did not hold it; this test failed so at both widths before ui.js kept the place).
    Here the listing is held until the pledge has landed and been scrolled to."""
    page, width = browser_page
    _open(page, server["url"])
    _wait_answer(page, TRAM)
    link = page.locator("#answers .kqa-turn").first.locator(".kqa-suggestions a").first
    pid = link.get_attribute("data-open")
    held: list = []
    page.route("**/queue/join*", lambda route: held.append(route))
    link.click()
    _pump_until(page, lambda: len(held) >= 2 and any(pid in (r.request.post_data or "") for r in held), "both requests")
    for route in [r for r in held if pid in (r.request.post_data or "")]:
        route.continue_()
    page.locator(f"#pledge-detail .kqa-card[data-pledge='{pid}']").wait_for(timeout=60_000)
    page.wait_for_timeout(600)  # ui.js scrolls on the next frame
    assert page.locator("#pledge-list .kqa-count").count() == 0, "the listing was not held"
    for route in [r for r in held if pid not in (r.request.post_data or "")]:
        route.continue_()
    page.unroute("**/queue/join*")  # after: unroute lets through what is still held
    page.locator("#pledge-list .kqa-count").wait_for(timeout=60_000)
    page.wait_for_timeout(600)
    _until(lambda: _in_view(page, "#pledge-detail .kqa-title"))
    page.screenshot(path=str(ARTIFACTS / f"opened-after-listing-{width}px.png"))


@pytest.mark.parametrize("browser_page", WIDTHS, indirect=True)
def test_language_switch_stays_in_place(server, browser_page) -> None:
    page, width = browser_page
    page.goto(f"{server['url']}?pledge={VIOLENCE_PLEDGE}&lang=en", wait_until="load")
    page.locator("#pledge-detail .kqa-card").wait_for(timeout=60_000)
    _until(lambda: _in_view(page, "#pledge-detail .kqa-title"))
    page.wait_for_timeout(800)
    before = page.evaluate("window.scrollY")
    assert before > 0
    page.get_by_role("radio", name="Українська").check()
    _until(lambda: "Неофіційний переклад" in page.locator("#pledge-detail").inner_text())
    page.wait_for_timeout(1200)
    assert _in_view(page, "#pledge-detail .kqa-title"), page.evaluate("window.scrollY")
    assert "lang=uk" in page.url and f"pledge={VIOLENCE_PLEDGE}" in page.url
    page.screenshot(path=str(ARTIFACTS / f"switched-uk-{width}px.png"))

    page.get_by_role("tab").first.click()  # an answer on Ask stays in view too
    _wait_answer(page, "Czy jest darmowa mammografia?")
    page.get_by_role("radio", name="Polski").check()
    page.wait_for_timeout(1500)
    assert _in_view(page, "#answers .kqa-title") and "lang=pl" in page.url
