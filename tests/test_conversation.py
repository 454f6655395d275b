"""Follow-up questions: history records, language requests, the turn reading and Assistant.ask(history=…)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, QuestionError
from assistant.conversation import (
    DETAIL,
    LANGUAGE,
    NEW_TOPIC,
    OFFTOPIC,
    SIBLING,
    FollowUp,
    FollowUpPolicy,
    HistoryError,
    Turn,
    agrees,
    check_history,
    context_text,
    last_answered,
    needs_context,
    read_turn,
    word_count,
)
from assistant.language_request import LanguageRequest, language_request
from assistant.retriever import Ranked, Retrieval
from settings import Settings

RESPITE = "rozwiniemy-system-opieki-wyreczeniowej"
RESPITE_TITLE = "Rozwiniemy system opieki wyręczeniowej"
GYN = "stworzymy-ogolnodostepny-gabinet-opieki-ginekologicznej-dla-kobiet"


@pytest.mark.parametrize(
    ("text", "lang", "pure"),
    [
        ("po ukraińsku proszę", "uk", True),
        ("po ukrainsku", "uk", True),
        ("Can you say that in English?", "en", True),
        ("English please", "en", True),
        ("Українською, будь ласка", "uk", True),
        ("польською", "pl", True),
        ("auf Deutsch bitte", "de", True),
        ("a mozesz po angielsku?", "en", True),
        ("can you translate it into Ukrainian", "uk", True),
        ("a teraz po polsku", "pl", True),
        ("polskoiu", "pl", True),
        ("tiếng Việt được không?", "vi", True),
        ("can you give that in French? my friend is from Lyon", "fr", True),  # the remark is not counted
        ("російською можна? мама не читає українською", "ru", True),  # the first language named
        ("Are there courses in English?", "en", False),
        ("czy jest darmowa mammografia? odpowiedz po angielsku", "en", False),
    ],
)
def test_language_requests_are_recognised(text: str, lang: str, pure: bool) -> None:
    assert language_request(text) == LanguageRequest(lang, pure)


@pytest.mark.parametrize(
    "text",
    [
        "Polish courses?",
        "czy są kursy polskiego?",
        "kursy języka polskiego dla obcokrajowców",
        "is it free?",
        "a co z ginekologiem?",
        "English lessons for Ukrainian kids",
        "is there a Vietnamese community centre?",
        "czy w Krakowie są darmowe kursy dla dzieci prowadzone w szkołach po angielsku",
    ],
)
def test_questions_about_languages_are_not_requests(text: str) -> None:
    request = language_request(text)
    assert request is None or not request.pure


def test_history_is_checked_and_bounded() -> None:
    known = {RESPITE, GYN}
    turns = check_history(
        [{"q": "  opieka  wytchnieniowa ", "pledge_ids": [RESPITE]}, Turn("a ginekolog?", (GYN,)), {"q": "x"}],
        known,
        max_turns=2,
    )
    assert turns == [Turn("a ginekolog?", (GYN,)), Turn("x", ())]
    assert check_history(None, known, 6) == [] and check_history([{"q": "a", "pledge_ids": []}], known, 0) == []
    with pytest.raises(HistoryError, match="unknown pledge id 'no-such-pledge'"):
        check_history([{"q": "a", "pledge_ids": ["no-such-pledge"]}], known, 6)
    for bad in ("text", {"q": "a"}, [{"pledge_ids": []}], [{"q": "a", "pledge_ids": "p"}], [3]):
        with pytest.raises(HistoryError):
            check_history(bad, known, 6)


def test_context_text_skips_language_requests() -> None:
    history = [Turn("opieka wytchnieniowa", (RESPITE,)), Turn("po angielsku", (RESPITE,))]
    assert context_text(history, "is it free?", 2) == "opieka wytchnieniowa is it free?"
    assert context_text([], "is it free?", 2) == "is it free?"


def _retrieval(top: str, margin: float, background: float = 0.8) -> Retrieval:
    other = GYN if top != GYN else RESPITE
    ranked = (Ranked(top, 0.9, 0.9, 0.0), Ranked(other, 0.8, 0.8, 0.0))
    return Retrieval(ranked, np.zeros(1, np.float32), background, margin)


@pytest.mark.parametrize(
    ("alone", "context", "source", "kind"),
    [
        (_retrieval(GYN, 0.05), None, "alone", NEW_TOPIC),  # stands alone, another pledge
        (_retrieval(RESPITE, 0.05), None, "alone", DETAIL),  # stands alone, the same pledge
        (_retrieval(GYN, -0.03), _retrieval(RESPITE, 0.01), "context", DETAIL),  # "is it free?"
        (_retrieval(GYN, -0.03), _retrieval(GYN, 0.01), "context", SIBLING),  # "a co z ginekologiem?"
        (_retrieval(GYN, -0.20), _retrieval(RESPITE, 0.05), "refuse", OFFTOPIC),  # clearly about something else
        (_retrieval(GYN, -0.03), _retrieval(RESPITE, -0.05), "refuse", OFFTOPIC),  # context does not help
        (_retrieval(GYN, 0.00), _retrieval(RESPITE, -0.05), "alone", NEW_TOPIC),  # answered as a first question
    ],
)
def test_read_turn_branches(alone: Retrieval, context: Retrieval | None, source: str, kind: str) -> None:
    policy = FollowUpPolicy(alone=0.03, context=0.0, offtopic=-0.1, short_words=2)
    reading = read_turn(alone, context, (RESPITE,), policy, abstain_threshold=-0.01, words=5)
    assert (reading.source, reading.follow_up.kind if reading.follow_up else None) == (source, kind)


def test_a_short_turn_carries_its_context_however_low_its_own_margin() -> None:
    """ "ile kosztuje?" matches nothing on its own; a longer turn that low is about something else."""
    policy = FollowUpPolicy(alone=0.03, context=0.0, offtopic=-0.1, short_words=2)
    alone, context = _retrieval(GYN, -0.25), _retrieval(RESPITE, 0.05)
    short = read_turn(alone, context, (RESPITE,), policy, abstain_threshold=-0.01, words=2)
    assert (short.source, short.follow_up) == ("context", FollowUp(DETAIL, (RESPITE,)))
    assert needs_context(alone, policy, -0.01, words=2) and not needs_context(alone, policy, -0.01, words=3)
    assert read_turn(alone, context, (RESPITE,), policy, abstain_threshold=-0.01, words=3).source == "refuse"
    assert word_count(" ile  kosztuje? ") == 2


def test_a_longer_turn_near_no_city_topic_carries_its_context() -> None:
    """ "do I need a referral from my doctor?" is near neither the report nor a city topic: its low margin says
    nothing, so it may carry its context; "and my landlord?" is near the city's housing topics and may not."""
    policy = FollowUpPolicy(alone=0.03, context=0.0, offtopic=-0.1, short_words=2, background=0.7)
    context = _retrieval(RESPITE, 0.05)
    generic, topical = _retrieval(GYN, -0.25, background=0.65), _retrieval(GYN, -0.25, background=0.9)
    assert read_turn(generic, context, (RESPITE,), policy, abstain_threshold=-0.01, words=8).source == "context"
    assert needs_context(generic, policy, -0.01, words=8) and not needs_context(topical, policy, -0.01, words=8)
    assert read_turn(topical, context, (RESPITE,), policy, abstain_threshold=-0.01, words=8).source == "refuse"


def test_a_turn_that_stands_alone_carries_its_context_when_that_reads_it_far_better() -> None:
    """ "who can apply?" lands on some pledge alone, but with its context far more clearly on the one shown."""
    policy = FollowUpPolicy(alone=0.03, context=0.0, offtopic=-0.1, short_words=2, stay_gain=0.1)
    alone = _retrieval(GYN, 0.05)
    better, similar = _retrieval(RESPITE, 0.2), _retrieval(RESPITE, 0.1)
    reading = read_turn(alone, better, (RESPITE,), policy, abstain_threshold=-0.01, words=3)
    assert (reading.source, reading.follow_up) == ("context", FollowUp(DETAIL, (RESPITE,)))
    assert read_turn(alone, similar, (RESPITE,), policy, abstain_threshold=-0.01, words=3).source == "alone"
    assert needs_context(alone, policy, -0.01, words=3)  # a standing turn is read with its context as well
    assert not needs_context(alone, FollowUpPolicy(alone=0.03, context=0.0, offtopic=-0.1), -0.01, words=3)
    # the head's odds on a question of its own keep it alone ("mój mąż mnie bije…" after bullying at work)
    head = replace(policy, needs=2.0)
    assert read_turn(alone, better, (RESPITE,), head, -0.01, words=3, needs=-0.6).source == "alone"
    assert read_turn(alone, better, (RESPITE,), head, -0.01, words=3, needs=0.0).source == "context"
    # the head not in use (an infinite bar): its logit holds nothing back
    assert read_turn(alone, better, (RESPITE,), policy, -0.01, words=3, needs=-0.6).source == "context"


def test_the_follow_up_head_lets_the_context_carry_whatever_the_margins_say() -> None:
    """ "czy jest dostępny w weekendy?" scores low alone and near a city topic; the head reads it as a follow-up."""
    policy = FollowUpPolicy(alone=0.03, context=0.0, offtopic=-0.1, short_words=2, needs=2.0)
    alone, context = _retrieval(GYN, -0.25), _retrieval(RESPITE, 0.05)
    assert read_turn(alone, context, (RESPITE,), policy, -0.01, words=5, needs=1.9).source == "refuse"
    reading = read_turn(alone, context, (RESPITE,), policy, -0.01, words=5, needs=2.0)
    assert (reading.source, reading.follow_up) == ("context", FollowUp(DETAIL, (RESPITE,)))
    # the context must still be in the report
    assert read_turn(alone, _retrieval(RESPITE, -0.05), (RESPITE,), policy, -0.01, 5, needs=9.0).source == "refuse"
    assert needs_context(alone, policy, -0.01, words=5)  # the head needs the context's vector
    # a turn that stands on its own is not overruled ("мене б'є чоловік…" after bullying at work)
    standing = _retrieval(GYN, 0.2)
    assert read_turn(standing, context, (RESPITE,), policy, -0.01, words=5, needs=9.0).source == "alone"
    assert not needs_context(standing, policy, -0.01, words=5)
    assert read_turn(alone, context, (RESPITE,), replace(policy, needs=math.inf), -0.01, 5, needs=9.0).source == (
        "refuse"
    )


@pytest.fixture(scope="module")
def convo(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The fake-encoder pipeline, built once for this module; abstention off unless a test turns it on."""
    from index.fake import FakeEncoder

    settings = replace(
        Settings(),
        index_dir=tmp_path_factory.mktemp("conv-index"),
        abstain_margins="",
        abstain_margin=-10.0,
        unit_kinds="whole,pledge,status",
        background_top=3,
    )
    return Assistant.load(settings, encoder=FakeEncoder(), log_fn=lambda m: None)


def _variant(a: Assistant, **changes: object) -> Assistant:
    return Assistant(
        replace(a.settings, **changes),
        a.library,
        a.index,
        a.encoder,
        a.retriever.__class__(a.index, a.encoder, replace(a.settings, **changes), a.retriever.strategy),
        a.contacts,
    )


def test_the_assistant_reads_follow_ups_with_the_builds_head(convo: Assistant) -> None:
    assert convo.index.followup_head is not None and math.isfinite(convo.policy.needs)
    alone, context = convo.retrieve("is it free?"), convo.retrieve(f"{RESPITE_TITLE} is it free?")
    assert alone.vector is not None and np.isfinite(convo.head_logit(alone, context))
    assert convo.head_logit(alone, None) == -math.inf
    headless = Assistant(
        convo.settings, convo.library, replace(convo.index, followup_head=None), convo.encoder, convo.retriever
    )
    assert headless.policy.needs == math.inf and headless.head_logit(alone, context) == -math.inf
    assert headless.ask("is it free?", history=[{"q": RESPITE_TITLE, "pledge_ids": [RESPITE]}]).follow_up is not None


def test_first_question_is_unchanged_by_an_empty_history(convo: Assistant) -> None:
    a, b = convo.ask(RESPITE_TITLE), convo.ask(RESPITE_TITLE, history=[])
    assert a.follow_up is None and b.follow_up is None
    assert [x.pledge_id for x in a.answers] == [x.pledge_id for x in b.answers]
    doc = json.loads(json.dumps(a.to_json()))
    assert doc["follow_up"] is None and doc["turn"] == {"q": RESPITE_TITLE, "pledge_ids": [RESPITE]}


def test_language_request_reshows_the_last_answer(convo: Assistant) -> None:
    first = convo.ask("Rozwiniemy system opieki wyręczeniowej")
    again = convo.ask("po ukraińsku proszę", history=[first.turn])
    assert again.reply_language == "uk" and again.question == "po ukraińsku proszę"
    assert [x.pledge_id for x in again.answers] == [x.pledge_id for x in first.answers]
    assert again.follow_up is not None and again.follow_up.kind == LANGUAGE and again.follow_up.about == (RESPITE,)
    assert again.answer_id != first.answer_id
    assert json.loads(json.dumps(again.to_json()))["follow_up"] == {"kind": "language", "about": [RESPITE]}


def test_language_request_after_a_refusal_reshows_the_pledge_before_it(convo: Assistant) -> None:
    """ "is it free?" refused, then "po ukraińsku": the pledge the conversation is about, not the refusal."""
    history = [Turn("Rozwiniemy system opieki wyręczeniowej", (RESPITE,)), Turn("czy to jest bezpłatne?", ())]
    assert last_answered(history) == 0 and last_answered([Turn("x", ())]) == 0
    again = convo.ask("po ukraińsku", history=history)
    assert [x.pledge_id for x in again.answers][:1] == [RESPITE] and again.reply_language == "uk"
    assert again.follow_up == FollowUp(LANGUAGE, (RESPITE,))


def test_unknown_pledge_in_history_is_refused_by_name(convo: Assistant) -> None:
    with pytest.raises(QuestionError, match="unknown pledge id 'nope'") as err:
        convo.ask("is it free?", history=[{"q": "opieka", "pledge_ids": ["nope"]}])
    assert err.value.code == "history"


def test_detail_follow_up_keeps_the_pledge_and_says_the_quote_is_all_there_is(convo: Assistant) -> None:
    carrying = _variant(
        convo, followup_alone_margin=10.0, followup_offtopic_margin=-10.0, followup_context_margin=-10.0
    )
    history = [Turn("Rozwiniemy system opieki wyręczeniowej", (RESPITE,))]
    ans = carrying.ask("czy to jest bezpłatne?", history=history)
    assert ans.answers[0].pledge_id == RESPITE and ans.follow_up is not None and ans.follow_up.kind == DETAIL
    assert any(p.highlights for p in ans.answers[0].passages)  # the sentences closest to the new question
    assert any("To wszystko, co raport mówi o tym zobowiązaniu" in n for n in ans.notices)


def test_off_topic_follow_up_is_refused(convo: Assistant) -> None:
    refusing = _variant(  # every way for the context to carry closed: the off-topic margin decides
        convo,
        abstain_margin=10.0,
        followup_alone_margin=10.0,
        followup_offtopic_margin=10.0,
        followup_short_words=0,
        followup_background_max=float("-inf"),
    )
    ans = refusing.ask("a bilety tramwajowe?", history=[Turn("opieka wytchnieniowa", (RESPITE,))])
    assert ans.abstained and ans.follow_up is not None and ans.follow_up.kind == OFFTOPIC


def test_conversation_eval_runs_end_to_end(convo: Assistant, tmp_path: Path) -> None:
    from assistant.messages import reply_language
    from eval.conversations import load_conversations, run_conversations, summarize, text_table

    titles = {p.title: p.id for p in convo.library.pledges}
    respite = next(p.title for p in convo.library.pledges if p.id == RESPITE)
    path = tmp_path / "c.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "c1",
                "lang": "pl",
                "split": "test",
                "turns": [
                    {"q": RESPITE_TITLE, "kind": "first", "expected": [respite]},
                    {
                        "q": "po angielsku",
                        "kind": "language",
                        "reply_lang": "en",
                        "expected": [respite],
                        "rewrite": "respite care",
                    },
                ],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    records = run_conversations(convo.ask, load_conversations(path, titles), reply_language, rewrites=True)
    summary = summarize(records)
    assert summary["by_kind"]["language"]["rate"] == 1.0 and summary["first"]["rate"] == 1.0
    assert "language" in text_table(summary) and summary["rewrites"]["language"]["n"] == 1
    # the "before" row: every turn asked as if it were the first, so "po angielsku" alone is not re-shown
    before = summarize(
        run_conversations(convo.ask, load_conversations(path, titles), reply_language, with_history=False)
    )
    assert before["first"]["rate"] == 1.0 and before["by_kind"]["language"]["rate"] == 0.0


def test_fine_tuning_trains_on_the_form_the_assistant_embeds(tmp_path: Path) -> None:
    """Training-only conversations give the context form served for later turns (the same k), the standalone
    turns and the rewrites; language requests are not trained on."""
    from index.finetune_data import BACKGROUND, HParams, conversation_examples

    assert HParams().conversations == Settings().followup_context_questions  # trained as served
    title = "Rozwiniemy system opieki wyręczeniowej"
    path = tmp_path / "c.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "t1",
                "lang": "en",
                "split": "train",
                "turns": [
                    {"q": "respite care?", "kind": "first", "expected": [title]},
                    {"q": "is it free?", "kind": "detail", "expected": [title], "rewrite": "Is respite care free?"},
                    {"q": "po polsku", "kind": "language", "reply_lang": "pl", "expected": [title]},
                    {"q": "and a dentist?", "kind": "offtopic_followup", "expected": []},
                ],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    got = {e.id: (e.query, e.targets) for e in conversation_examples(path, {title: RESPITE}, 1, romanized=False)}
    assert got == {
        "conv:t1#0:alone": ("respite care?", (RESPITE,)),
        "conv:t1#1:ctx": ("respite care? is it free?", (RESPITE,)),
        "conv:t1#1:rw": ("Is respite care free?", (RESPITE,)),
        "conv:t1#3:ctx": ("is it free? and a dentist?", (BACKGROUND,)),
    }


def _random_cases(n: int, rng: np.random.Generator) -> list:
    """Later turns of ``n`` two-turn conversations with random retrievals (ids as eval.followup_choice.cases makes)."""
    from eval.followup_choice import Case

    kinds = ("detail", "sibling", "new_topic", "offtopic_followup", "offtopic_new")
    data = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        alone = _retrieval(
            GYN if rng.random() < 0.5 else RESPITE, float(rng.uniform(-0.3, 0.2)), float(rng.uniform(0.6, 0.9))
        )
        context = _retrieval(RESPITE if rng.random() < 0.7 else GYN, float(rng.uniform(-0.2, 0.3)))
        expected = {"detail": (RESPITE,), "sibling": (GYN,)}.get(kind, ())
        data.append(Case(f"c{i}#1", kind, expected, (RESPITE,), alone, context, 0.0, int(rng.integers(1, 8))))
    return data


def test_followup_grid_agrees_with_read_turn() -> None:
    """eval.followup_choice scores the whole grid at once; every policy's counts equal replaying read_turn."""
    from eval.conversations import CARRY_KINDS
    from eval.followup_choice import _grid, _grid_counts, choose, score

    rng = np.random.default_rng(0)
    data = _random_cases(40, rng)
    grid = _grid()
    handled, carry, used = _grid_counts(data, grid)
    for row in rng.choice(len(grid), 400, replace=False):
        a, c, o, short, b, g = grid[row]
        s = score(FollowUpPolicy(float(a), float(c), float(o), int(short), float(b), float(g)), data)
        assert (s["handled"], s["carry"], s["context_reads"]) == (handled[row], carry[row], used[row])
    limit = int(carry.min()) + 1  # a bound some policies meet and some do not
    _, chosen = choose(data, max_carry=limit / sum(c.kind in CARRY_KINDS for c in data))
    top, n = handled[carry <= limit].max(), len(data)
    assert chosen["carry"] <= limit and (carry > limit).any()
    # one standard error: within it of the best, the policy reading context least often
    near = (carry <= limit) & (handled >= top - np.sqrt(top * (n - top) / n))
    assert top - np.sqrt(top * (n - top) / n) <= chosen["handled"] <= top
    assert chosen["context_reads"] == used[near].min()


def test_followup_head_logit_and_answer_margin_are_chosen_under_the_carry_bound() -> None:
    """``--head``: the logit and answer margin that handle most turns within the bound, the six margins kept."""
    from eval.conversations import CARRY_KINDS
    from eval.followup_choice import GRID_ANSWER, GRID_NEEDS, choose_head, score

    rng = np.random.default_rng(2)
    data = [replace(c, needs=float(rng.normal(1.0 if c.expected else -1.0, 1.5))) for c in _random_cases(60, rng)]
    base = FollowUpPolicy(0.05, 0.0, 0.0)
    counts = {
        (float(n), float(a)): score(replace(base, needs=float(n), answer=float(a)), data)
        for n in GRID_NEEDS
        for a in GRID_ANSWER
    }
    bound = min(s["carry"] for s in counts.values()) + 1
    policy, chosen = choose_head(data, bound / sum(c.kind in CARRY_KINDS for c in data), base)
    assert replace(policy, needs=math.inf, answer=-math.inf) == base
    assert chosen == counts[policy.needs, policy.answer]
    assert chosen["handled"] == max(s["handled"] for s in counts.values() if s["carry"] <= bound)
    with pytest.raises(SystemExit, match="raise --max-carry"):
        choose_head(data, -1.0, base)


def test_followup_grid_with_the_head_agrees_with_read_turn() -> None:
    """The vectorised grid with a head logit, an answer margin and an agreement margin counts what replaying
    read_turn counts."""
    from eval.followup_choice import _grid, _grid_counts, score

    rng = np.random.default_rng(3)
    data = [replace(c, needs=float(rng.normal(1.0 if c.expected else -1.0, 1.5))) for c in _random_cases(40, rng)]
    grid = _grid()
    # the head's own logit at its edges too: no head (-inf), even odds (0), and off by an infinite bar
    edges = [replace(c, needs=x) for c, x in zip(data, itertools.cycle((-math.inf, math.inf, 0.0)), strict=False)]
    data = data + edges
    for needs, answer, agree in ((1.0, 0.05, math.inf), (-0.5, -math.inf, 0.1), (math.inf, 0.1, -0.2)):
        handled, carry, used = _grid_counts(data, grid, needs, answer, agree)
        for row in rng.choice(len(grid), 150, replace=False):
            a, c, o, short, b, g = grid[row]
            policy = FollowUpPolicy(float(a), float(c), float(o), int(short), float(b), float(g), needs, answer, agree)
            s = score(policy, data)
            assert (s["handled"], s["carry"], s["context_reads"]) == (handled[row], carry[row], used[row])


def test_followup_joint_choice_is_a_fixed_point_under_the_carry_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--joint``: no grid row (with the chosen logit, answer and agreement margins) and no (logit, answer margin,
    agreement margin) triple (with the chosen six margins) handles more turns less carry-overs with the bound
    turns' carry-overs within the bound; turns not held to it (``--also``) count towards the value only."""
    import eval.followup_choice as followup
    from eval.conversations import CARRY_KINDS

    monkeypatch.setattr(followup, "GRID_ALONE", followup.GRID_ALONE[::2])  # coarser: the descent is the point
    monkeypatch.setattr(followup, "GRID_BACKGROUND", followup.GRID_BACKGROUND[::3])
    rng = np.random.default_rng(4)
    data = [replace(c, needs=float(rng.normal(1.0 if c.expected else -1.0, 1.5))) for c in _random_cases(90, rng)]
    data = [replace(c, bound=i % 3 != 0) for i, c in enumerate(data)]  # a third as if from --also
    held = [c for c in data if c.bound]
    start = FollowUpPolicy(0.05, 0.0, 0.0, 0, -math.inf, math.inf, 2.0, 0.0)
    bound = max(followup.score(start, held)["carry"], 1)
    max_carry = bound / sum(c.kind in CARRY_KINDS for c in held)
    policy, chosen = followup.choose_joint(data, max_carry, start)
    assert chosen == followup.score(policy, data) and followup.score(policy, held)["carry"] <= bound
    value = chosen["handled"] - chosen["carry"]
    start_all = followup.score(start, data)
    assert value >= start_all["handled"] - start_all["carry"]
    grid = followup._grid()
    handled, carry, _ = followup._grid_counts(data, grid, policy.needs, policy.answer, policy.agree)
    _, carry_held, _ = followup._grid_counts(held, grid, policy.needs, policy.answer, policy.agree)
    assert value == (handled - carry)[carry_held <= bound].max()
    assert (carry_held > bound).any() and (carry[carry_held <= bound] > bound).any()  # the others are not bounded
    for n, a, g in itertools.product(followup.GRID_NEEDS, followup.GRID_ANSWER, followup.GRID_AGREE):
        p = replace(policy, needs=float(n), answer=float(a), agree=float(g))
        if followup.score(p, held)["carry"] <= bound:
            s = followup.score(p, data)
            assert s["handled"] - s["carry"] <= value
    with pytest.raises(SystemExit, match="raise --max-carry"):
        followup.choose_joint(data, -1.0, start)


def test_a_later_turn_answered_on_its_own_needs_the_answer_margin() -> None:
    """ "does the police have an English line?" after the domestic-violence pledge: near the topic, off it."""
    policy = FollowUpPolicy(alone=0.12, context=0.0, offtopic=0.1, answer=0.06)
    alone, context = _retrieval(GYN, 0.05), _retrieval(RESPITE, -0.1)
    assert read_turn(alone, context, (RESPITE,), policy, abstain_threshold=0.03, words=8).source == "refuse"
    assert read_turn(_retrieval(GYN, 0.07), context, (RESPITE,), policy, 0.03, words=8).source == "alone"
    first_like = replace(policy, answer=-math.inf)  # the abstention threshold alone
    assert read_turn(alone, context, (RESPITE,), first_like, abstain_threshold=0.03, words=8).source == "alone"


def test_two_retrievals_that_agree_on_another_pledge_answer_a_turn_otherwise_refused() -> None:
    """ "a na ich święta jakieś imprezy miasto wspiera?" after the minorities' pledge: a little under the threshold
    alone, and on the same other pledge with its context; agreeing on the pledge just shown is no evidence."""
    policy = FollowUpPolicy(alone=0.12, context=0.2, offtopic=0.1, answer=0.06, agree=0.03)
    alone, context = _retrieval(GYN, 0.05), _retrieval(GYN, 0.1)  # -0.01 and 0.04 over the threshold of 0.06
    reading = read_turn(alone, context, (RESPITE,), policy, abstain_threshold=0.06, words=8)
    assert (reading.source, reading.follow_up) == ("alone", FollowUp(NEW_TOPIC))
    # with the head in use, its odds say whether the switch continues the conversation
    head = replace(policy, needs=2.0)
    sibling = read_turn(alone, context, (RESPITE,), head, 0.06, words=8, needs=0.5)
    assert (sibling.source, sibling.follow_up) == ("alone", FollowUp(SIBLING, (RESPITE,)))
    assert read_turn(alone, context, (RESPITE,), head, 0.06, 8, needs=-0.5).follow_up == FollowUp(NEW_TOPIC)
    assert read_turn(alone, context, (RESPITE,), head, 0.06, 8, needs=-math.inf).follow_up == FollowUp(NEW_TOPIC)
    assert agrees(alone, context, (RESPITE,), 0.03, 0.06) and not agrees(alone, context, (RESPITE,), 0.04, 0.06)
    assert not agrees(alone, context, (RESPITE,), 0.03, 0.1)  # a stricter threshold raises the bar with it
    assert agrees(alone, context, (RESPITE,), -math.inf, 0.1)  # -inf: any agreement on another pledge
    assert read_turn(alone, _retrieval(GYN, 0.09), (RESPITE,), policy, 0.06, words=8).source == "refuse"  # 0.02
    assert read_turn(alone, _retrieval(RESPITE, 0.3), (RESPITE,), policy, 0.06, words=8).source == "refuse"
    shown = _retrieval(RESPITE, 0.05)  # both on the pledge just shown: an off-topic follow-up next to it
    assert read_turn(shown, _retrieval(RESPITE, 0.1), (RESPITE,), policy, 0.06, words=8).source == "refuse"
    assert read_turn(alone, context, (RESPITE,), replace(policy, agree=math.inf), 0.06, words=8).source == "refuse"
    assert read_turn(alone, None, (RESPITE,), policy, 0.06, words=8).source == "refuse"
    # the second retrieval is made when the agreement could answer the turn, and only then
    off = replace(policy, agree=math.inf)
    assert needs_context(alone, policy, 0.06, words=8) and not needs_context(alone, off, 0.06, words=8)
    standing = _retrieval(GYN, 0.04)  # stands alone (over the alone margin) but under the answer margin
    low_bar = replace(policy, alone=0.03, answer=0.06)
    assert needs_context(standing, low_bar, 0.0, words=8) and not needs_context(_retrieval(GYN, 0.07), low_bar, 0.0, 8)


def test_followup_out_of_fold_scores_every_turn_once_with_a_choice_made_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The out-of-fold estimate covers each turn once, chooses each fold's policy without that fold's
    conversations, and is seeded."""
    import eval.followup_choice as followup

    data = _random_cases(60, np.random.default_rng(1))
    monkeypatch.setattr(followup, "GRID_ALONE", followup.GRID_ALONE[::3])  # a coarser grid: the folds are the point
    monkeypatch.setattr(followup, "GRID_CONTEXT", followup.GRID_CONTEXT[::3])
    chosen_on: list[set[str]] = []
    scored: list[set[str]] = []
    real_choose, real_score = followup.choose, followup.score
    monkeypatch.setattr(followup, "choose", lambda d, m: chosen_on.append({c.id for c in d}) or real_choose(d, m))
    monkeypatch.setattr(followup, "score", lambda p, d: scored.append({c.id for c in d}) or real_score(p, d))
    oof = followup.out_of_fold(data, max_carry=1.0, folds=5)
    scored = [ids for ids in scored if ids not in chosen_on]  # choose scores its own data too; keep the folds
    assert oof["n"] == len(data) and oof["carry_n"] == sum(c.kind != "detail" and c.kind != "sibling" for c in data)
    assert len(chosen_on) == 5 and all(not (seen & held) for seen, held in zip(chosen_on, scored, strict=True))
    assert set().union(*scored) == {c.id for c in data} and sum(map(len, scored)) == len(data)
    assert followup.out_of_fold(data, max_carry=1.0, folds=5) == oof
    with pytest.raises(SystemExit, match="at least 2 folds"):
        followup.out_of_fold(data, max_carry=1.0, folds=1)


def test_followup_also_needs_joint_and_a_head_training_file(tmp_path: Path) -> None:
    """``--also`` adds turns only to the joint choice, and only from a file the head learns from (its logits are
    cross-fitted against that file); either mistake is named before anything is loaded."""
    import eval.followup as cli
    import eval.followup_choice as followup

    with pytest.raises(SystemExit) as exc:
        cli.main(["--also", "eval/conversations_head.jsonl"])
    assert exc.value.code == 2
    stray = tmp_path / "mine.jsonl"
    stray.write_text("", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"--also .*mine\.jsonl: not one of the follow-up head's training files"):
        followup.cross_fit(None, [], stray)  # type: ignore[arg-type]
