// The app's page behaviour (served inline in <head>: the CSP allows inline scripts, nothing from outside).
// Buttons in answers and in Browse carry data attributes; one delegated listener handles them all, so HTML that
// Gradio re-renders needs no re-binding.
(() => {
  const votes = {};  // "answer|pledge" -> {vote, reason}: the page's memory of what this reader chose
  let busy = false, busyTimer = null, lastTurn = null, lastDetail = null, asked = null, place = null;
  // A pledge opened by a click or by a shared link (?pledge=…) is scrolled into view.
  let openedByClick = new URLSearchParams(location.search).has("pledge");

  const apiUrl = (path) => new URL(path, document.baseURI).toString();
  const setPressed = (group, state) => {
    group.querySelectorAll("[data-vote]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.vote === state.vote)));
    group.querySelectorAll("[data-reason]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.reason === state.reason)));
    const reasons = group.querySelector(".kqa-reasons");
    if (reasons) reasons.hidden = state.vote !== "down";
  };

  async function sendVote(group, vote, reason) {
    const key = group.dataset.aid + "|" + group.dataset.pid;
    const thanks = group.querySelector(".kqa-thanks");
    const previous = votes[key];
    votes[key] = {vote, reason};  // at once, so a quick second click toggles from this choice, not the old one
    try {
      const resp = await fetch(apiUrl("api/feedback"), {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({answer_id: group.dataset.aid, pledge_id: group.dataset.pid, vote, reason})});
      if (!resp.ok) throw new Error(String(resp.status));
      setPressed(group, votes[key]);
      thanks.textContent = vote ? group.dataset.thanks : group.dataset.unvoted;
    } catch (err) {
      votes[key] = previous;
      thanks.textContent = group.dataset.error;
    }
  }

  // One polite live region for the whole page, made once (Gradio re-renders its own blocks): a new answer's title
  // and status, or "not in the report", and "Copied" — a screen reader is told without losing its place.
  function say(text) {
    let live = document.querySelector("#kqa-live");
    if (!live) {
      live = document.createElement("div");
      live.id = "kqa-live"; live.className = "kqa-sr";
      live.setAttribute("role", "status"); live.setAttribute("aria-live", "polite"); live.setAttribute("aria-atomic", "true");
      (document.querySelector(".gradio-container") || document.body).appendChild(live);
    }
    live.textContent = "";
    setTimeout(() => { live.textContent = text; }, 60);  // a repeated text is still read
  }

  async function copy(text, button) {
    try { await navigator.clipboard.writeText(text); } catch (err) {
      const area = document.createElement("textarea");  // older browsers and non-secure origins
      area.value = text; document.body.appendChild(area); area.select(); document.execCommand("copy"); area.remove();
    }
    button.dataset.copied = text;
    const label = button.textContent;
    button.textContent = button.dataset.done;
    say(button.dataset.done);
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  const pledgeLink = (id, lang) => {
    const url = new URL(window.location.href);
    url.search = new URLSearchParams({pledge: id, lang}).toString();
    url.hash = "";
    return url.toString();
  };

  // Opens a pledge in Browse: from a Browse row, or from a suggestion under a refusal (then the Browse tab is
  // selected first, and Gradio mounts its blocks on the next frames).
  function openPledge(id, tries = 0) {
    const tab = document.querySelector('button[role=tab][data-tab-id="browse"]');
    if (tab && tab.getAttribute("aria-selected") !== "true" && tries === 0) tab.click();
    const box = document.querySelector("#open-id textarea, #open-id input");
    if (!box) {
      if (tries < 50) setTimeout(() => openPledge(id, tries + 1), 100);
      else location.href = pledgeLink(id, document.documentElement.lang || "pl");  // the plain link, as a last way
      return;
    }
    openedByClick = true;
    box.value = id + "|" + Date.now();  // a nonce: opening the same pledge again is still a change
    box.dispatchEvent(new Event("input", {bubbles: true}));
    history.replaceState(null, "", pledgeLink(id, document.documentElement.lang || "pl"));
  }

  document.addEventListener("click", (ev) => {
    const el = ev.target.closest("[data-vote], [data-reason], [data-copy], [data-copy-link], [data-open], [data-exit]");
    if (!el) return;
    if (el.dataset.exit !== undefined) { ev.preventDefault(); quickExit(el.href); return; }
    if (el.dataset.open && el.tagName === "A") {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;  // a new tab: the plain link
      ev.preventDefault();
    }
    const group = el.closest(".kqa-vote");
    if (el.dataset.vote && group) {
      const current = votes[group.dataset.aid + "|" + group.dataset.pid] || {};
      sendVote(group, current.vote === el.dataset.vote ? null : el.dataset.vote, null);  // same button again: take back
    } else if (el.dataset.reason && group) {
      sendVote(group, "down", el.dataset.reason);
    } else if (el.dataset.copy !== undefined) {
      copy(el.dataset.copy, el);
    } else if (el.dataset.copyLink) {
      copy(pledgeLink(el.dataset.copyLink, el.dataset.lang), el);
    } else if (el.dataset.open) {
      openPledge(el.dataset.open);
    }
  });

  // Quick exit: nothing of the page stays on screen, and the neutral page takes this page's place in the history,
  // so "back" does not return here.
  function quickExit(href) {
    try { document.body.replaceChildren(); document.title = ""; } catch (err) { /* leave anyway */ }
    location.replace(href);
  }

  // A language switch keeps the open pledge or answer in view, and puts lang= in the address bar. The language
  // control is at the top of the page: the reader usually scrolled up to it, so the place kept is the pledge or
  // answer last read (the one across the middle of the screen when they last scrolled over it), else the first
  // one in view.
  const ANCHORS = "#pledge-detail .kqa-card[data-pledge], #answers .kqa-turn[data-answer]";
  let lastRead = null;
  const anchorOf = (el) => ({
    sel: el.closest("#pledge-detail") ? `#pledge-detail .kqa-card[data-pledge="${CSS.escape(el.dataset.pledge)}"]`
      : `#answers .kqa-turn[data-answer="${CSS.escape(el.dataset.answer)}"]`,
    top: Math.max(8, el.getBoundingClientRect().top)});
  function noteReading() {
    const mid = window.innerHeight / 2;
    const el = [...document.querySelectorAll(ANCHORS)].find((a) => {
      const r = a.getBoundingClientRect();
      return a.getClientRects().length && r.top <= mid && r.bottom >= mid;
    });
    if (el) lastRead = anchorOf(el);
  }
  let noting = false;
  window.addEventListener("scroll", () => {
    if (!noting) { noting = true; requestAnimationFrame(() => { noting = false; noteReading(); }); }
  }, {passive: true});
  function visibleAnchor() {
    const shown = [...document.querySelectorAll(ANCHORS)].filter((el) => {
      const r = el.getBoundingClientRect();
      return el.getClientRects().length && r.bottom > 60 && r.top < window.innerHeight - 60;
    });
    const last = lastRead && document.querySelector(lastRead.sel);
    const place = last && last.getClientRects().length ? lastRead : shown.length ? anchorOf(shown[0]) : null;
    return place && {...place, until: Date.now() + 2500};
  }
  function keepPlace() {
    if (!place) return;
    if (Date.now() > place.until) { place = null; return; }
    const el = document.querySelector(place.sel);
    if (el) { const drift = el.getBoundingClientRect().top - place.top; if (Math.abs(drift) > 1) window.scrollBy(0, drift); }
    // an opened pledge: held a moment longer once the listing (which always starts with its count) is there, as
    // Gradio may still be laying it out
    if (place.listing && document.querySelector("#pledge-list .kqa-count")) place = {...place, listing: false, until: Math.min(place.until, Date.now() + 1000)};
  }
  document.addEventListener("change", (ev) => {
    const radio = ev.target.closest && ev.target.closest("#language input[type=radio]");
    if (!radio) return;
    place = visibleAnchor();
    keepPlace();
    const url = new URL(location.href);
    if (["pl", "en", "uk"].includes(radio.value)) url.searchParams.set("lang", radio.value);
    else url.searchParams.delete("lang");
    history.replaceState(null, "", url.toString());
  }, true);
  // The reader scrolling (not the page restoring the place) ends the keeping at once.
  ["wheel", "touchmove", "keydown"].forEach((type) => window.addEventListener(type, () => { place = null; }, {passive: true}));

  // A second question while one is being answered is refused visibly; what the reader typed stays in the box.
  const refuseIfBusy = (ev) => {
    const box = document.querySelector("#question textarea");
    if (!busy) {
      if (box && box.value.trim()) { asked = box.value; busy = true; clearTimeout(busyTimer); busyTimer = setTimeout(() => { busy = false; }, 20000); }
      return;
    }
    ev.preventDefault(); ev.stopImmediatePropagation();
    const note = document.querySelector("#busy-note");
    if (note) note.textContent = note.dataset.busy || "";
  };
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && ev.target.closest && ev.target.closest("#question")) refuseIfBusy(ev);
  }, true);
  document.addEventListener("click", (ev) => { if (ev.target.closest && ev.target.closest("#send")) refuseIfBusy(ev); }, true);

  function syncLang() {
    const head = document.querySelector("#kqa-head [data-ui-lang]");
    if (head && document.documentElement.lang !== head.dataset.uiLang) document.documentElement.lang = head.dataset.uiLang;
  }
  function onChange() {
    document.querySelectorAll(".kqa-vote").forEach((g) => {
      const state = votes[g.dataset.aid + "|" + g.dataset.pid];
      if (state) setPressed(g, state);
    });
    const turn = document.querySelector("#answers .kqa-turn");
    if (turn && turn !== lastTurn) {
      lastTurn = turn; busy = false;
      const bn = document.querySelector("#busy-note"); if (bn) bn.textContent = "";
      // The box is emptied for the next question, unless the reader has typed something else meanwhile.
      const box = document.querySelector("#question textarea");
      if (box && asked !== null && box.value === asked) { box.value = ""; box.dispatchEvent(new Event("input", {bubbles: true})); }
      asked = null;
      if (turn.dataset.announce) say(turn.dataset.announce);
      // Answer first: the new answer's top (question, help numbers, title, badge) comes into view, not its end;
      // focus goes to its heading, so a keyboard or screen-reader user continues from the answer.
      requestAnimationFrame(() => {
        turn.scrollIntoView({block: "start"});
        const heading = turn.querySelector(".kqa-title");
        if (heading) heading.focus({preventScroll: true});
      });
    }
    keepPlace();
  }
  function onDetail() {
    const card = document.querySelector("#pledge-detail .kqa-card");
    if (card && card !== lastDetail) {
      lastDetail = card;
      if (openedByClick) requestAnimationFrame(() => {
        card.scrollIntoView({block: "start"});
        // Browse's listing (every pledge, above this one) is a request of its own and may land after the pledge
        // (CI did): it pushed the pledge out of view at both widths, as the browser's scroll anchoring did not
        // hold it. So the pledge is kept in place until the listing is there, or the reader scrolls.
        place = {sel: `#pledge-detail .kqa-card[data-pledge="${CSS.escape(card.dataset.pledge)}"]`,
          top: card.getBoundingClientRect().top, until: Date.now() + 30000, listing: true};
      });
      openedByClick = false;
    }
  }
  let scheduled = false;
  new MutationObserver(() => {
    // The language at once, not on the next frame: a throttled or busy page may delay frames, and screen
    // readers read the new answer with the page's lang (the observer watches children only, so no loop).
    syncLang();
    if (!scheduled) { scheduled = true; requestAnimationFrame(() => { scheduled = false; onChange(); onDetail(); }); }
  }).observe(document.documentElement, {childList: true, subtree: true});
  syncLang();
})();
