"""Rendering and the feedback store without a server: user text never becomes HTML; answers carry badge and
citation; votes are one per answer and pledge, changeable, and stored without question text."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.feedback import FeedbackError, FeedbackStore


def _store(tmp_path: Path, **kw: object) -> FeedbackStore:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}", **kw)
    for aid in ("a1", "a2"):
        store.record_answer(
            aid,
            lang="pl",
            reply_language="pl",
            abstained=False,
            pledge_ids=["p1", "p2"],
            report="r",
            question="mój mąż mnie bije",
        )
    return store


def test_votes_are_one_per_answer_and_pledge_and_changeable(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.vote("a1", "p1", "up") == {"up": 1, "down": 0}
    assert store.vote("a1", "p1", "up") == {"up": 1, "down": 0}  # a repeated click is not a second vote
    assert store.vote("a1", "p1", "down", "outdated") == {"up": 0, "down": 1}  # changed, not added
    assert store.vote("a1", "p1", None) == {"up": 0, "down": 0}  # taken back, not a complaint
    store.vote("a1", "p2", "down", "wrong_pledge")  # a vote on the second match counts against it only
    assert store.counts("p1") == {"up": 0, "down": 0} and store.counts("p2") == {"up": 0, "down": 1}
    store.vote("a2", "p1", "up")
    assert store.stats()["feedback"] == {"p1": {"up": 1}, "p2": {"down:wrong_pledge": 1}}


def test_votes_are_checked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(FeedbackError, match="answer 'nope' is unknown") as err:
        store.vote("nope", "p1", "up")
    assert err.value.unknown
    with pytest.raises(FeedbackError, match="pledge 'p9' was not shown"):
        store.vote("a1", "p9", "up")
    with pytest.raises(FeedbackError, match="vote 'meh' is unknown"):
        store.vote("a1", "p1", "meh")
    with pytest.raises(FeedbackError, match="reason 'outdated' is only for a 'down' vote"):
        store.vote("a1", "p1", "up", "outdated")


def test_no_question_text_unless_the_operator_opts_in(tmp_path: Path) -> None:
    _store(tmp_path).vote("a1", "p1", "up")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert "mąż".encode() not in raw
    opted = FeedbackStore(f"sqlite:///{tmp_path / 'opt.sqlite3'}", store_questions=True)
    opted.record_answer(
        "a9",
        lang="pl",
        reply_language="pl",
        abstained=True,
        pledge_ids=[],
        report="r",
        question="czy jest mammografia?",
    )
    rows = sqlite3.connect(tmp_path / "opt.sqlite3").execute("select question from kqa_questions").fetchall()
    assert rows == [("czy jest mammografia?",)]


def test_stats_count_by_day_language_pledge_and_refusals(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.record_answer("a3", lang="uk", reply_language="uk", abstained=True, pledge_ids=["p1"], report="r")
    stats = store.stats()
    assert stats["answers"] == 3 and stats["not_in_report"] == 1
    assert stats["by_language"] == {"pl": 2, "uk": 1} and stats["by_pledge"] == {"-": 1, "p1": 2}
    assert sum(stats["by_day"].values()) == 3


@pytest.mark.parametrize(
    "content", [b"", b"[]", b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 500]
)
def test_a_damaged_database_file_is_moved_aside(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "fb.sqlite3"
    path.write_bytes(content)
    store = FeedbackStore(f"sqlite:///{path}")
    store.record_answer("a1", lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r")
    assert store.vote("a1", "p1", "up") == {"up": 1, "down": 0}
    if content:  # an empty file is a valid new database
        assert [p.name for p in tmp_path.iterdir() if ".damaged-" in p.name]
        assert "moved aside" in caplog.text


def test_a_read_only_database_gives_a_generic_error(tmp_path: Path) -> None:
    import os

    from assistant.feedback import StoreUnavailable

    store = _store(tmp_path)
    if os.geteuid() == 0:
        store.engine.dispose()
        ro = FeedbackStore(f"sqlite:///file:{tmp_path / 'fb.sqlite3'}?mode=ro&uri=true")
    else:
        (tmp_path / "fb.sqlite3").chmod(0o444)
        ro = store
    with pytest.raises(StoreUnavailable, match="^feedback could not be saved$"):
        ro.vote("a1", "p1", "up")
    assert not Path("file:").exists()  # a file: URI is not a folder made in the working directory


# --- the app's HTML cards, contacts, Stats token ---------------------------------------------------------------


def test_cards_escape_once_and_cite_for_people(fake_assistant) -> None:
    from assistant import Assistant
    from assistant.cards import answer_html
    from corpus.translated import Translations

    a = Assistant.load(
        replace(fake_assistant.settings, abstain_margin=-10, answer_set_delta=0.0),
        encoder=fake_assistant.encoder,
        log_fn=lambda m: None,
    )
    ans = a.ask("<b>zobowiązanie's</b> opieki wyręczeniowej", top_k=3, lang="uk")
    page = answer_html(ans, a.library, Translations())
    assert "&lt;b&gt;zobowiązanie&#x27;s&lt;/b&gt;" in page and "&amp;lt;" not in page  # escaped exactly once
    assert "Urząd Miasta Krakowa — Sprawozdanie ze stopnia realizacji zobowiązań programowych, 2025, рядки" in page
    assert page.count('class="kqa-vote"') == len(ans.answers)  # one vote group per pledge of the answer
    assert "Неофіційний переклад" in page and 'lang="uk"' in page
    assert "kqa-more" in page  # non-primary matches are folded


def test_contacts_are_data(tmp_path: Path) -> None:

    from assistant.contacts import Contacts, ContactsError

    c = Contacts.load()
    assert c.kinds_for(["powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie"], False) == ("safety",)
    assert c.kinds_for([], True) == ("general",) and c.kinds_for([], True, near_safety=True) == ("safety", "general")
    assert c.kinds_for(["wesprzemy-mniejszosci-narodowe"], False) == ()
    assert [x.phone for x in c.for_answer([], True, "en")] == ["12 616 1616"]  # a tram ticket: the city
    assert c.lines("en")[1].phone == "800 120 002" and "domestic violence" in c.lines("en")[1].text
    assert c.lines("de") == c.lines("en")  # languages the file lacks get English
    assert c.for_answer(["wesprzemy-mniejszosci-narodowe"], False, "pl") == []
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    with pytest.raises(ContactsError, match="c.json: cannot read the help contacts .*fix its JSON"):
        Contacts.load(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"contacts": [{"phone": "1", "text": {"pl": "x"}}]}, r"contact 1 needs .*text\.en, text\.uk"),
        ({"contacts": [{"phone": 112, "text": {"pl": "x", "en": "x", "uk": "x"}}]}, r"contact 1 .*: phone\)"),
        ({"contacts": [{"text": {"pl": ["x"], "en": "x", "uk": "x"}}]}, r"phone, text\.pl"),
        ({"contacts": []}, "'contacts' must be a non-empty list"),
        ({"contacts": 5}, "'contacts' must be a non-empty list"),
        ({"pledges": "powolamy-pelnomocnika"}, "'pledges' must be a list of pledge ids"),
        ({"pledges": [5]}, "'pledges' must be a list"),
        ({"show_when_not_in_report": "false"}, "must be true or false"),
        (
            {"contacts": [{"phone": "1", "for": "police", "text": {"pl": "x", "en": "x", "uk": "x"}}]},
            "contact 1: 'for' is 'police'; use \"safety\" or \"general\"",
        ),
    ],
)
def test_broken_contacts_are_refused_with_the_fix(tmp_path: Path, change: dict, message: str) -> None:
    """Every kind of mistake an operator could make in the file is named at load, never served half-broken."""
    import json

    from assistant.contacts import Contacts, ContactsError
    from settings import Settings

    doc = json.loads(Settings().contacts_file.read_text(encoding="utf-8")) | change
    path = tmp_path / "contacts.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ContactsError, match=message):
        Contacts.load(path)


def test_cards_show_the_help_numbers_the_answer_carries(fake_assistant) -> None:
    from assistant import Assistant
    from assistant.cards import answer_html
    from corpus.translated import Translations

    refusing = Assistant.load(
        replace(fake_assistant.settings, abstain_margin=10), encoder=fake_assistant.encoder, log_fn=lambda m: None
    )
    ans = refusing.ask("ile kosztuje bilet tramwajowy?")
    page = answer_html(ans, refusing.library, Translations())
    assert ans.help_contacts and "kqa-general" in page and '<a href="tel:126161616">12 616 1616</a>' in page
    assert "800 120 002" not in page  # a tram ticket is not a safety matter: the city's contact, not 112
    answering = Assistant.load(
        replace(fake_assistant.settings, abstain_margin=-10), encoder=fake_assistant.encoder, log_fn=lambda m: None
    )
    other = answering.ask("opieka wytchnieniowa dla osób z niepełnosprawnościami", top_k=1)
    assert other.help_contacts == [] and "kqa-contacts" not in answer_html(other, answering.library, Translations())


def test_stats_token_is_closed_without_configuration() -> None:
    from assistant.api import token_ok

    assert not token_ok(None, "anything") and not token_ok("s3cret", "") and not token_ok("s3cret", "s3cre")
    assert token_ok("s3cret", "s3cret")


@pytest.fixture()
def events(fake_assistant, tmp_path: Path):
    from assistant import Assistant
    from assistant.ui_events import UiEvents

    a = Assistant.load(
        replace(fake_assistant.settings, abstain_margin=-10), encoder=fake_assistant.encoder, log_fn=lambda m: None
    )
    return UiEvents(a, FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}"), admin_token="tok")


def test_respond_shows_the_newest_answer_first_and_keeps_no_text(events, tmp_path: Path) -> None:
    page, turns, last, history, context = events.respond("opieka wytchnieniowa", [], "auto", "pl", [])
    assert last == "pl" and len(turns) == 1 and "kqa-card" in page
    page, turns, last, history, context = events.respond("Is there help for carers?", turns, "auto", last, history)
    assert last == "en" and len(turns) == 2
    assert page.index("Is there help for carers?") < page.index("opieka wytchnieniowa")
    assert [h["q"] for h in history] == ["opieka wytchnieniowa", "Is there help for carers?"]
    assert events.feedback.stats()["answers"] == 2
    assert b"wytchnieniowa" not in b"".join(p.read_bytes() for p in tmp_path.glob("fb.sqlite3*"))


def test_conversation_lives_in_the_session_and_can_be_dropped(events) -> None:
    page, turns, last, history, context = events.respond("Rozwiniemy system opieki wyręczeniowej", [], "auto", "pl", [])
    assert "Kontynuacja tematu:" in context and "Rozwiniemy system opieki" in context
    page, turns, last, history, context = events.respond("po angielsku", turns, "auto", last, history)
    assert "Continuing about:" in page and last == "en" and len(history) == 2  # the reply is English, the UI follows
    assert len(history[-1]["pledge_ids"]) == 1
    assert events.forget_context() == ([], "")
    assert events.new_conversation() == ("", [], [], "")
    many = [{"q": f"q{i}", "pledge_ids": []} for i in range(10)]
    _, _, _, history, context = events.respond("opieka", [], "pl", "pl", many)
    assert len(history) == events.assistant.settings.max_history_turns


@pytest.mark.parametrize(
    "choice, fragment", [("pl", "Pytanie jest puste"), ("uk", "Запитання порожнє"), ("en", "The question is empty")]
)
def test_respond_says_what_to_do_in_the_interface_language(events, choice: str, fragment: str) -> None:
    page, turns, _, history, _ = events.respond("   ", ["<earlier>"], choice, "pl", [])
    assert fragment in page and "<earlier>" in page and turns == ["<earlier>"] and history == []  # answers stay


def test_browse_by_words_and_status_and_open(events) -> None:
    assert "Zapewnimy kobietom" in events.browse("mammografia", "all", False, "pl", "pl")  # 'mammograficzne'
    done = events.browse("", "done", False, "en", "pl")
    assert "Powołamy pełnomocnika" in done and "Rozwiniemy system" not in done
    pid = "rozwiniemy-system-opieki-wyreczeniowej"
    assert "Rozwiniemy system opieki" in events.open_pledge(pid, "pl", "pl")
    assert events.open_pledge("no-such-pledge", "pl", "pl") == ""


def test_deep_links_and_stats_token(events) -> None:
    pid = "wesprzemy-mniejszosci-narodowe"
    assert events.deep_link({"pledge": pid, "lang": "uk"}) == ("uk", pid)
    assert events.deep_link({"pledge": "<script>", "lang": "xx"}) == ("auto", "")
    assert "kqa-error" in events.stats("wrong", "pl", "pl") and "kqa-error" not in events.stats("tok", "pl", "pl")
    assert events.section == "Kraków — miasto równych szans" and len(events.examples) == 6
