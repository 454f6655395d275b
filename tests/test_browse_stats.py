"""Browse that can say "nothing" and Stats readable on a phone (issue 31, items 3 and 8), with the fake encoder."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.browse import listing, meaning_candidates, meaning_ids, rows_html, search
from assistant.feedback import FeedbackStore
from assistant.ui_text import stats_html
from eval.browse_threshold import Scores, choose, nonsense, rates

PID = "rozwiniemy-system-opieki-wyreczeniowej"


@pytest.fixture()
def answering(fake_assistant):
    """The fake assistant answering every question (no refusal), so that only Browse's threshold decides."""
    from assistant import Assistant

    return Assistant.load(
        replace(fake_assistant.settings, abstain_margin=-10), encoder=fake_assistant.encoder, log_fn=lambda m: None
    )


def test_meaning_is_listed_only_above_the_threshold(answering) -> None:
    candidates = meaning_candidates(answering, "opieka wytchnieniowa dla opiekunów")
    assert len(candidates) == 3 and candidates[0].score >= candidates[-1].score
    assert meaning_ids(answering, "opieka wytchnieniowa dla opiekunów", minimum=-1.0) == [
        r.pledge_id for r in candidates
    ]
    assert meaning_ids(answering, "opieka wytchnieniowa dla opiekunów", minimum=2.0) == []
    assert meaning_candidates(answering, "1234 !!") == []  # no words: nothing to search by meaning


def test_nonsense_says_no_pledge_matches_and_lists_all(answering) -> None:
    strict = replace(answering, settings=replace(answering.settings, browse_meaning_min=2.0))
    rows, fallback = listing(strict, "xqzzv", "all", False)
    assert rows == [] and len(fallback) == len(answering.library.pledges)
    html = rows_html("en", rows, len(answering.library.pledges), answering.library, fallback)
    assert "No pledge matches this search. All 9 pledges:" in html and html.count('class="kqa-row"') == 9
    assert "similar meaning" not in html
    assert "Żadne zobowiązanie nie pasuje" in rows_html("pl", rows, 9, answering.library, fallback)
    # literal matches are listed whatever the threshold
    assert [r.why for r in search(strict, "wytchnieniowej", "all", False)] == ["literal"]
    # a filter that keeps nothing still says "none", with no list
    assert 'role="status"' in rows_html("en", [], 9, answering.library, [])


def test_chooser_is_conformal_and_counts_refusals_as_hidden() -> None:
    scores = Scores(expected=[0.9, 0.8, 0.7, 0.55, math.inf, -math.inf], offtopic=[0.6, -math.inf], nonsense=[0.5])
    assert choose(scores.expected, alpha=0.0) == 0.55  # nothing finite hidden; the refused one is hidden anyway
    assert choose(scores.expected, alpha=0.3) == 0.7
    assert rates(scores, 0.7) == {"false_hide": (2, 6), "offtopic_shown": (0, 2), "nonsense_shown": (0, 1)}
    assert rates(scores, -math.inf)["offtopic_shown"] == (1, 2)  # a refused search lists nothing
    assert nonsense(5, 1) == nonsense(5, 1) != nonsense(5, 2) and all(w.isascii() for w in nonsense(5, 1))


def test_stats_name_pledges_reasons_and_refusals(fake_assistant, tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}")
    store.record_answer("a1", lang="pl", reply_language="pl", abstained=False, pledge_ids=[PID], report="r")
    store.record_answer("a2", lang="uk", reply_language="uk", abstained=True, pledge_ids=[PID], report="r")
    store.vote("a1", PID, "down", "wrong_pledge")
    store.vote("a2", PID, "up")
    titles = {p.id: p.title for p in fake_assistant.library.pledges}
    html = stats_html("en", store.stats(), titles)
    assert "Rozwiniemy system opieki" in html and PID not in html  # titles, not ids
    assert "Not helpful: wrong pledge" in html and "Helpful" in html and "down:" not in html
    assert "refused (not in the report)" in html and "This is not in the report" not in html
    assert "<th scope='row'>-</th>" not in html
    assert "nie to zobowiązanie" in stats_html("pl", store.stats(), titles)
