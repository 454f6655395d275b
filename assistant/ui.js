// The app's page behaviour (served inline in <head>: the CSP allows inline scripts, nothing from outside).
// Buttons in answers and in Browse carry data attributes; one delegated listener handles them all, so HTML that
// Gradio re-renders needs no re-binding.
(() => {
  const votes = {};  // "answer|pledge" -> {vote, reason}: the page's memory of what this reader chose
  let busy = false, busyTimer = null, lastTurn = null, lastDetail = null;
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

  async function copy(text, button) {
    try { await navigator.clipboard.writeText(text); } catch (err) {
      const area = document.createElement("textarea");  // older browsers and non-secure origins
      area.value = text; document.body.appendChild(area); area.select(); document.execCommand("copy"); area.remove();
    }
    button.dataset.copied = text;
    const label = button.textContent;
    button.textContent = button.dataset.done;
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  const pledgeLink = (id, lang) => {
    const url = new URL(window.location.href);
    url.search = new URLSearchParams({pledge: id, lang}).toString();
    url.hash = "";
    return url.toString();
  };

  function openPledge(id) {
    const box = document.querySelector("#open-id textarea, #open-id input");
    if (!box) return;
    openedByClick = true;
    box.value = id + "|" + Date.now();  // a nonce: opening the same pledge again is still a change
    box.dispatchEvent(new Event("input", {bubbles: true}));
    history.replaceState(null, "", pledgeLink(id, document.documentElement.lang || "pl"));
  }

  document.addEventListener("click", (ev) => {
    const el = ev.target.closest("[data-vote], [data-reason], [data-copy], [data-copy-link], [data-open]");
    if (!el) return;
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

  // A second question while one is being answered is refused visibly; what the reader typed stays in the box.
  const refuseIfBusy = (ev) => {
    const box = document.querySelector("#question textarea");
    if (!busy) {
      if (box && box.value.trim()) { busy = true; clearTimeout(busyTimer); busyTimer = setTimeout(() => { busy = false; }, 20000); }
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
      // Answer first: the new answer's top (question, title, badge) comes into view, not its end.
      requestAnimationFrame(() => turn.scrollIntoView({block: "start"}));
    }
  }
  function onDetail() {
    const card = document.querySelector("#pledge-detail .kqa-card");
    if (card && card !== lastDetail) {
      lastDetail = card;
      if (openedByClick) requestAnimationFrame(() => card.scrollIntoView({block: "start"}));
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
