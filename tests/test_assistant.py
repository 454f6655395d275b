"""The assistant through its real interface with the fake encoder: answer shape, citations, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from assistant import Assistant, QuestionError, clean_question
from assistant.render import plain_answer as format_answer


def _with_margin(a: Assistant, margin: float) -> Assistant:
    """The same pipeline with abstention forced off (margin -10) or on (+10)."""
    return Assistant.load(replace(a.settings, abstain_margin=margin), encoder=a.encoder, log_fn=lambda m: None)


def test_answer_has_documented_json_shape(fake_assistant: Assistant) -> None:
    ans = _with_margin(fake_assistant, -10).ask("opieka wytchnieniowa dla osób z niepełnosprawnościami", top_k=2)
    doc = json.loads(json.dumps(ans.to_json(), ensure_ascii=False))
    assert {"question", "language", "abstained", "answers"} <= set(doc)
    assert doc["language"] == "pl" and not doc["abstained"] and len(doc["answers"]) == 2
    assert doc["answers"][0]["pledge_id"] == "rozwiniemy-system-opieki-wyreczeniowej"
    for a in doc["answers"]:
        assert {"pledge_id", "title", "status_label", "score", "passages", "citations"} <= set(a)
        assert [p["kind"] for p in a["passages"]] == ["pledge", "status"]
        for c in a["citations"]:
            assert {"source", "start_line", "end_line", "text"} <= set(c)
            assert c["source"] == "sources/krakow-miasto-rownych-szans.txt" and c["page"] is None


def test_citations_equal_source_lines_for_every_pledge(fake_assistant: Assistant, report) -> None:
    build = (fake_assistant.settings.index_dir / "current").resolve()
    lines = (build / "sources" / "krakow-miasto-rownych-szans.txt").read_text(encoding="utf-8").split("\n")
    assert lines[: len(report.lines)] == list(report.lines)
    seen = set()
    for p in report.pledges:
        ans = fake_assistant.ask(p.title, top_k=len(report.pledges))
        for a in ans.answers + []:
            for c in a.citations:
                assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
            for passage in a.passages:
                for h in passage.highlights:
                    assert passage.text[h.start : h.end] == h.text
            seen.add(a.pledge_id)
    assert seen == {p.id for p in report.pledges}


def test_quoted_passages_are_report_text(fake_assistant: Assistant, report) -> None:
    ans = fake_assistant.ask("Przedsiębiorcze Krakowianki", top_k=9)
    by_id = {a.pledge_id: a for a in ans.answers}
    for p in report.pledges:
        assert [q.text for q in by_id[p.id].passages] == [p.pledge.text, p.status.text]


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\n\t"])
def test_empty_question_is_refused_with_a_hint(fake_assistant: Assistant, question: str) -> None:
    with pytest.raises(QuestionError, match="the question is empty; type a question"):
        fake_assistant.ask(question)


@pytest.mark.parametrize("top_k", [12, 0, 3.7, "3", True, float("nan"), None.__class__])
def test_top_k_is_validated_strictly(fake_assistant: Assistant, top_k: object) -> None:
    with pytest.raises(QuestionError, match=r"top_k must be a whole number from 1 to 9") as err:
        fake_assistant.ask("pomoc", top_k=top_k)  # deliberately not an int
    assert err.value.code == "top_k"


def test_default_top_k_fits_a_small_report(fake_assistant: Assistant) -> None:
    small = replace(fake_assistant.settings, top_k=50, abstain_margin=-10)
    ans = Assistant.load(small, encoder=fake_assistant.encoder, log_fn=lambda m: None).ask("pomoc")
    assert len(ans.answers) == 9


def test_reply_language_can_be_fixed(fake_assistant: Assistant) -> None:
    ans = _with_margin(fake_assistant, 10).ask("ile kosztuje bilet?", lang="uk")
    assert ans.language == "pl" and ans.reply_language == "uk" and ans.message.startswith("Цього немає")
    with pytest.raises(QuestionError, match="lang 'xx' is not a reply language"):
        fake_assistant.ask("pomoc", lang="xx")


def test_long_question_is_cut_and_says_so(fake_assistant: Assistant) -> None:
    ans = fake_assistant.ask("przemoc " * 2000)
    assert ans.truncated and len(ans.question) <= fake_assistant.settings.max_question_chars
    assert "1000" in ans.notices[0]


def test_control_characters_are_dropped() -> None:
    assert clean_question("a\x00b\tc\n", 100) == ("a b c", False)


def test_huge_question_is_cut_before_it_is_processed() -> None:
    import time
    import tracemalloc

    huge = "przemoc w rodzinie " * 2_700_000  # ~50 MB
    tracemalloc.start()
    t = time.perf_counter()
    text, cut = clean_question(huge, 1000)
    elapsed, peak = time.perf_counter() - t, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert cut and len(text) <= 1000
    assert elapsed < 0.5 and peak < 1_000_000  # bounded by the cut, not by the paste


def test_no_words_message_does_not_quote_the_question() -> None:
    with pytest.raises(QuestionError) as err:
        clean_question("12345 !!! 67890", 100)
    assert err.value.code == "no_words" and "12345" not in str(err.value)


def test_text_rendering_marks_highlights_and_cites(fake_assistant: Assistant) -> None:
    text = format_answer(_with_margin(fake_assistant, -10).ask("Is there help for domestic violence?", top_k=1))
    assert "Source: Urząd Miasta Krakowa — " in text and ", 2025, lines " in text and "**" in text and "Status:" in text


def test_abstention_says_so_in_the_askers_language(fake_assistant: Assistant) -> None:
    refusing = _with_margin(fake_assistant, 10)
    pl, uk = refusing.ask("ile kosztuje bilet tramwajowy?"), refusing.ask("скільки коштує квиток на трамвай?")
    assert pl.abstained and pl.answers == [] and len(pl.suggestions) == 3
    assert pl.message.startswith("Tego nie ma w raporcie") and uk.message.startswith("Цього немає у звіті")
    assert "Tego nie ma w raporcie" in format_answer(pl)


def test_help_contacts_travel_with_the_answer(fake_assistant: Assistant) -> None:
    """Every interface (CLI text, --json, the API, the app) gets the help numbers from the Answer itself."""
    violence = "powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie"
    refusing = _with_margin(fake_assistant, 10)
    far = Assistant.load(
        replace(refusing.settings, contacts_safety_margin=10.0), encoder=fake_assistant.encoder, log_fn=lambda m: None
    ).ask("скільки коштує квиток на трамвай?")
    assert [c.phone for c in far.help_contacts] == ["12 616 1616"]  # a refusal far from violence: the city
    near = Assistant.load(
        replace(refusing.settings, contacts_safety_margin=-10.0), encoder=fake_assistant.encoder, log_fn=lambda m: None
    )
    refusal = near.ask("скільки коштує квиток на трамвай?")
    assert [c.phone for c in refusal.help_contacts] == ["112", "800 120 002", "12 616 1616"]
    in_context = Assistant.load(
        replace(
            refusing.settings,
            contacts_safety_margin=10.0,
            followup_offtopic_margin=10.0,
            followup_background_max=float("-inf"),
            followup_stay_gain=float("inf"),
        ),
        encoder=fake_assistant.encoder,
        log_fn=lambda m: None,
    )
    after = in_context.ask("скільки коштує квиток на трамвай?", history=[{"q": "przemoc", "pledge_ids": [violence]}])
    assert after.abstained and [c.phone for c in after.help_contacts][:1] == ["112"]  # the conversation was about it
    assert "домашнього насильства" in refusal.help_contacts[1].text  # in the reply's language
    assert refusal.to_json()["help_contacts"][0] == {"phone": "112", "text": refusal.help_contacts[0].text}
    text = format_answer(refusal)
    assert "Потрібна допомога зараз?" in text and "800 120 002 — Niebieska Linia" in text
    answering = _with_margin(fake_assistant, -10)
    about = answering.ask("pełnomocnik ds. przeciwdziałania przemocy w rodzinie", top_k=3)
    assert (violence in [a.pledge_id for a in about.answers]) == bool(about.help_contacts)
    assert about.help_contacts and "Potrzebujesz pomocy teraz?" in format_answer(about)
    other = answering.ask("opieka wytchnieniowa dla osób z niepełnosprawnościami", top_k=1)
    assert other.answers[0].pledge_id != violence and other.help_contacts == []
    assert "Need help now?" not in format_answer(other) and "Potrzebujesz" not in format_answer(other)


def test_strategies_share_the_loaded_index(fake_assistant: Assistant) -> None:
    from assistant.retriever import Retriever

    a = fake_assistant
    lexical = Retriever(a.index, a.encoder, a.settings, "lexical")
    assert lexical.retrieve("opieka wytchnieniowa").ranked[0].pledge_id == "rozwiniemy-system-opieki-wyreczeniowej"
    with pytest.raises(ValueError, match="retriever 'bm42' is unknown"):
        Retriever(a.index, a.encoder, a.settings, "bm42")


def test_highlights_never_mark_a_whole_passage_of_several_sentences(fake_assistant: Assistant) -> None:
    wide = Assistant.load(
        replace(fake_assistant.settings, abstain_margin=-10, highlight_window=10.0),
        encoder=fake_assistant.encoder,
        log_fn=lambda m: None,
    )
    for a in wide.ask("przemoc w rodzinie pełnomocnik pomoc", top_k=9).answers:
        for p in a.passages:
            sentences = len(
                wide.library.by_id(a.pledge_id).pledge.sentences
                if p.kind == "pledge"
                else wide.library.by_id(a.pledge_id).status.sentences
            )
            assert len(p.highlights) < sentences or sentences == 1


def test_contacts_naming_an_unknown_pledge_are_reported_at_load(fake_assistant: Assistant) -> None:
    """Next year's report may rename a pledge: the operator is told, and refusals keep their numbers."""
    from assistant.contacts import Contacts

    listed = Contacts.load(fake_assistant.settings.contacts_file)
    renamed = Contacts(listed.entries, frozenset({"old-pledge-id"}), True)
    said: list[str] = []
    a = Assistant.load(fake_assistant.settings, encoder=fake_assistant.encoder, contacts=renamed, log_fn=said.append)
    assert any("no loaded report has pledge(s) old-pledge-id" in m and "GET /api/pledges" in m for m in said)
    assert a.contacts is renamed
