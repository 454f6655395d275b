"""Eval metrics on hand-computed rankings; query-file checks; the runner end to end with the fake encoder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.__main__ import main as eval_main
from eval.metrics import (
    RANKING_KEYS,
    abstention_metrics,
    bootstrap_ratio,
    paired_tests,
    randomization_test,
    ranking_metrics,
    threshold_sweep,
)
from eval.queries import BASE_KINDS, KINDS, SHAPE_KINDS, UNKNOWN_KIND, QueryFileError, load_queries, select_split
from eval.runner import METRIC_KEYS, group_metrics, primary_count_fn

TITLES = {"Tytuł A": "a", "Tytuł B": "b", "Tytuł C": "c"}


def test_ranking_metrics_by_hand() -> None:
    rankings = {"q1": ["a", "b", "c"], "q2": ["c", "b", "a"], "q3": ["b", "c", "a"], "oos": ["a", "b", "c"]}
    expected = {"q1": ["a"], "q2": ["a", "b"], "q3": ["a"], "oos": []}
    m = ranking_metrics(rankings, expected)
    # q1: hit@1 1, rr 1; q2 (two pledges at ranks 3 and 2): hit@1 0, hit@3 1, recall@3 1, rr 1/2;
    # q3: a at rank 3: hit@1 0, hit@3 1, recall@3 1, rr 1/3. The out-of-scope question is not counted.
    assert m["n"] == 3
    assert m["hit@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["hit@3"] == 1.0 and m["recall@3"] == 1.0
    assert m["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3, abs=1e-4)
    # ndcg: q1 1; q2 (1/log2(3) + 1/log2(4)) / (1 + 1/log2(3)); q3 1/log2(4) = 0.5
    import math

    q2 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["ndcg@10"] == pytest.approx((1 + q2 + 0.5) / 3, abs=1e-4)


def test_abstention_metrics_by_hand() -> None:
    in_scope = {"a": True, "b": True, "c": False, "d": False}
    m = abstention_metrics({"a": True, "b": False, "c": True, "d": False}, in_scope)
    assert (m["precision"], m["recall"], m["false_abstention_rate"]) == (0.5, 0.5, 0.5)
    assert abstention_metrics({k: False for k in in_scope}, in_scope)["precision"] is None


def test_threshold_sweep_spans_all_to_none() -> None:
    rows = threshold_sweep({"a": 0.1, "b": 0.05, "c": -0.05}, {"a": True, "b": True, "c": False}, steps=5)
    assert rows[0]["n_refused"] == 0 and rows[-1]["n_refused"] == 3
    assert any(r["precision"] == 1.0 and r["recall"] == 1.0 for r in rows)


def _file(tmp_path: Path, *lines: str) -> Path:
    p = tmp_path / "q.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


GOOD = '{"id": "x1", "query": "q", "lang": "pl", "expected": ["Tytuł  A"]}'


@pytest.mark.parametrize(
    "bad, message",
    [
        ('{"id": "x1", "query": "q", "lang": "pl"', r"line 2: bad JSON"),
        ('{"id": "x1", "query": "q", "lang": "pl", "expected": []}', r"line 2: id 'x1' already used on line 1"),
        ('{"id": "x2", "query": "q", "lang": "pl", "expected": ["Nie ma"]}', r"line 2: unknown pledge title 'Nie ma'"),
        ('{"id": "x2", "query": "q", "lang": "pl"}', r"line 2: missing expected"),
        ('{"id": "x2", "query": "  ", "lang": "pl", "expected": []}', r"line 2: query '  ' must be"),
        ('["not", "an", "object"]', r"line 2: expected a JSON object"),
    ],
)
def test_bad_query_files_name_the_line(tmp_path: Path, bad: str, message: str) -> None:
    with pytest.raises(QueryFileError, match=message):
        load_queries(_file(tmp_path, GOOD, bad), TITLES)


def test_titles_match_with_whitespace_collapsed(tmp_path: Path) -> None:
    (q,) = load_queries(_file(tmp_path, GOOD), TITLES)
    assert q.expected == ("a",) and q.in_scope


def test_runner_end_to_end_with_fake_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report) -> None:
    monkeypatch.setenv("KQA_INDEX_DIR", str(tmp_path / "index"))
    t = {p.id: p.title for p in report.pledges}
    rows = [
        {
            "id": "pl-1",
            "query": "opieka wytchnieniowa",
            "lang": "pl",
            "expected": [t["rozwiniemy-system-opieki-wyreczeniowej"]],
        },
        {
            "id": "pl-2",
            "query": "mniejszości narodowe kultura",
            "lang": "pl",
            "expected": [t["wesprzemy-mniejszosci-narodowe"], t["pomozemy-promowac-kulture-mniejszosci-narodowych"]],
        },
        {"id": "en-1", "query": "tram tickets", "lang": "en", "expected": []},
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out, rep = tmp_path / "out.json", tmp_path / "report"
    assert (
        eval_main(
            ["--queries", str(qfile), "--retriever", "all", "--json", str(out), "--report", str(rep), "--fake-encoder"]
        )
        == 0
    )
    results = json.loads(out.read_text())
    assert [r["retriever"] for r in results] == ["lexical", "dense-whole", "dense", "hybrid", "default"]
    lexical = results[0]
    for key in (
        "hit@1",
        "hit@3",
        "recall@3",
        "mrr@10",
        "ndcg@10",
        "abstention",
        "by_language",
        "n_in_scope",
        "n_out_of_scope",
        "failures",
    ):
        assert key in lexical
    assert lexical["n_in_scope"] == 2 and lexical["n_out_of_scope"] == 1
    assert lexical["hit@3"] == 1.0 and lexical["by_language"]["pl"]["n"] == 2
    for r in results:  # handled right = all questions minus those listed as failures (wrong top or abstention)
        assert r["n_handled"] == 3 - len(r["failures"])
        assert r["handled"] == pytest.approx(r["n_handled"] / 3, abs=1e-4)
        assert set(r["abstain_thresholds"]) >= {"*"}
    assert (rep / "report.md").read_text().count("| lexical | all |") == 1
    assert (rep / "hit_at_k.png").stat().st_size > 1000 and (rep / "abstention_sweep.png").is_file()


def test_bare_json_and_report_write_under_eval_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import eval.__main__ as cli

    monkeypatch.setattr(cli, "OUT_DIR", tmp_path / "out")
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps({"id": "en-1", "query": "tram tickets", "lang": "en", "expected": [], "split": "test"}),
        encoding="utf-8",
    )
    assert eval_main(["--queries", str(qfile), "--split", "test", "--json", "--report", "--fake-encoder"]) == 0
    assert json.loads((tmp_path / "out" / "test.json").read_text())["n_out_of_scope"] == 1
    assert (tmp_path / "out" / "test" / "report.md").is_file()
    assert f"report: {tmp_path / 'out' / 'test' / 'report.md'}" in capsys.readouterr().out


def test_runner_rejects_broken_file_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert eval_main(["--queries", str(_file(tmp_path, "{oops")), "--fake-encoder"]) == 2
    assert "line 1: bad JSON" in capsys.readouterr().err


# --- issue 13: kind and split, bootstrap intervals, per-kind rows, paired tests, set metrics ---------------


def _row(qid: str, **fields: object) -> str:
    return json.dumps({"id": qid, "query": "q", "lang": "pl", "expected": ["Tytuł A"], **fields}, ensure_ascii=False)


def test_kind_and_split_are_read(tmp_path: Path) -> None:
    a, b = load_queries(
        _file(tmp_path, _row("x1", kind="typo", split="tune"), _row("x2", kind="oos_far", split="test", expected=[])),
        TITLES,
    )
    assert (a.kind, a.split, b.kind, b.split) == ("typo", "tune", "oos_far", "test")
    assert [q.id for q in select_split([a, b], "test")] == ["x2"] and len(select_split([a, b], "all")) == 2


def test_files_without_kind_or_split_are_one_unknown_set(tmp_path: Path) -> None:
    (q,) = load_queries(_file(tmp_path, GOOD), TITLES)
    assert q.kind == UNKNOWN_KIND and q.split is None
    assert select_split([q], "all") == [q]
    with pytest.raises(QueryFileError, match="no split field.*--split all"):
        select_split([q], "test")


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            _row("x2", kind="typos", split="test"),
            r"line 2: kind 'typos' is unknown; use one of named, keyword, "
            r"situation, short, typo, two_pledges, oos_near, oos_far, long_post, "
            r"general, faq_heading",
        ),
        (_row("x2", kind=None, split="test"), r"line 2: kind None is unknown"),
        (_row("x2", kind="short", split="dev"), r"line 2: split 'dev' is unknown; use one of tune, test"),
        (_row("x2", kind="short"), r"line 2: no split field, but line 1 has one"),
    ],
)
def test_bad_kind_or_split_names_the_line_and_the_allowed_values(tmp_path: Path, bad: str, message: str) -> None:
    with pytest.raises(QueryFileError, match=message):
        load_queries(_file(tmp_path, _row("x1", kind="named", split="tune"), bad), TITLES)


def test_dev_set_is_fully_labelled(report) -> None:
    queries = load_queries(Path(__file__).parent.parent / "eval" / "dev.jsonl", {p.title: p.id for p in report.pledges})
    assert len(queries) == 740 and {q.kind for q in queries} == set(KINDS)
    assert len(select_split(queries, "test")) == 366
    for q in queries:  # the kinds that follow from `expected` agree with it (the shapes of issue 29 say no scope)
        if q.kind in SHAPE_KINDS:
            assert len(q.expected) <= 2, q.id
            continue
        assert (q.kind == "two_pledges") == (len(q.expected) == 2), q.id
        assert q.kind.startswith("oos_") == (not q.in_scope), q.id
    # the first 511 questions and their splits never move (the issue-29 questions were appended after them)
    assert all(q.kind in BASE_KINDS for q in queries[:511])
    assert {q.kind for q in queries[511:]} == set(SHAPE_KINDS)


def test_shape_kinds_are_stratified_near_half_tune_and_include_off_topic_questions(report) -> None:
    """Issue 29: each shape in PL/EN/UK, about a third off-topic, each (language, kind, scope) split in halves."""
    from collections import Counter

    queries = load_queries(Path(__file__).parent.parent / "eval" / "dev.jsonl", {p.title: p.id for p in report.pledges})
    shaped = [q for q in queries if q.kind in SHAPE_KINDS]
    for kind in SHAPE_KINDS:
        rows = [q for q in shaped if q.kind == kind]
        assert len(rows) >= 60 and {q.lang for q in rows} == {"pl", "en", "uk"}, kind
        assert 0.25 <= sum(not q.in_scope for q in rows) / len(rows) <= 0.4, kind
    strata = Counter((q.lang, q.kind, q.in_scope, q.split) for q in shaped)
    for lang, kind, scope, _ in strata:
        assert abs(strata[lang, kind, scope, "tune"] - strata[lang, kind, scope, "test"]) <= 1


def _char_4grams(text: str) -> set[str]:
    text = " ".join(text.lower().split())
    return {text[i : i + 4] for i in range(max(1, len(text) - 3))}


def _nearest_jaccard(text: str, pool: list[set[str]]) -> float:
    """The highest 4-gram Jaccard similarity of ``text`` to any question of ``pool`` (their 4-gram sets)."""
    grams = _char_4grams(text)
    return max(len(grams & t) / len(grams | t) for t in pool)


def _assert_no_near_copy(convs: list, pool: list[set[str]], what: str) -> None:
    """No turn of 5 words or more in ``convs`` within 4-gram Jaccard 0.5 of ``pool`` (short follow-ups such as "is
    it free?" are what everyone types). ``_nearest_jaccard`` through an inverted index: only the pool's questions
    that share a 4-gram with the turn are compared (thousands of turns against thousands)."""
    postings: dict[str, list[int]] = {}
    for j, grams in enumerate(pool):
        for gram in grams:
            postings.setdefault(gram, []).append(j)
    for c in convs:
        for t in c.turns:
            if len(t.q.split()) >= 5:
                grams = _char_4grams(t.q)
                shared = Counter(j for gram in grams for j in postings.get(gram, ()))
                closest = max((n / (len(grams) + len(pool[j]) - n) for j, n in shared.items()), default=0.0)
                assert closest < 0.5, f"{c.id}: {t.q!r} is a near copy of {what} ({closest:.2f})"


def test_the_near_copy_check_finds_a_near_copy_and_passes_short_turns() -> None:
    """The indexed check agrees with ``_nearest_jaccard``: a reworded copy fails, a short follow-up does not."""
    from types import SimpleNamespace

    pool = [_char_4grams(q) for q in ("czy w Krakowie jest darmowa mammografia dla kobiet?", "where is the shelter?")]

    def conv(q: str) -> SimpleNamespace:
        return SimpleNamespace(id="c1", turns=[SimpleNamespace(q=q)])

    copy = "czy w Krakowie jest darmowa mammografia dla kobiet po 50?"
    assert _nearest_jaccard(copy, pool) >= 0.5
    with pytest.raises(AssertionError, match="near copy of a test turn"):
        _assert_no_near_copy([conv(copy)], pool, "a test turn")
    _assert_no_near_copy(
        [conv("where is the shelter?"), conv("gdzie jest urząd stanu cywilnego w Nowej Hucie?")], pool, "x"
    )


def test_train_only_questions_are_labelled_and_no_near_copy_of_a_dev_question(report) -> None:
    """eval/train.jsonl trains every model, the cross-fitted ones too; a near copy there of a test question would
    flatter test, of a tune question the thresholds chosen out of fold on tune."""
    from index.finetune import read_rows

    root = Path(__file__).parent.parent / "eval"
    titles = {" ".join(p.title.split()) for p in report.pledges}
    train = read_rows(root / "train.jsonl", ("train",))
    assert {r["kind"] for r in train} == set(KINDS)
    for r in train:
        assert {" ".join(t.split()) for t in r["expected"]} <= titles, r["id"]
        if r["kind"] in SHAPE_KINDS:  # a shape says nothing about scope (as in dev.jsonl)
            assert len(r["expected"]) <= 2, r["id"]
            continue
        assert (r["kind"] == "two_pledges") == (len(r["expected"]) == 2), r["id"]
        assert r["kind"].startswith("oos_") == (not r["expected"]), r["id"]
    by_title = {p.title: p.id for p in report.pledges}
    dev = [_char_4grams(q.query) for q in load_queries(root / "dev.jsonl", by_title)]
    for r in train:
        closest = _nearest_jaccard(r["query"], dev)
        assert closest < 0.5, f"{r['id']} is a near copy of a dev question (4-gram Jaccard {closest:.2f})"


def test_training_conversations_are_labelled_and_no_near_copy_of_an_evaluated_turn(report) -> None:
    """eval/conversations_train.jsonl trains the served model and every cross-fitted one; a near copy there of a
    tune turn would flatter the follow-up margins chosen on tune, of a test turn the test. Short follow-ups ("is
    it free?") are what everyone types, so only turns of 5 words or more are compared."""
    from eval.conversations import TURN_KINDS, load_conversations

    root = Path(__file__).parent.parent / "eval"
    titles = {p.title: p.id for p in report.pledges}
    train = load_conversations(root / "conversations_train.jsonl", titles)  # labels checked as it loads
    assert len(train) >= 580 and {c.split for c in train} == {"train"}
    assert {t.kind for c in train for t in c.turns} == set(TURN_KINDS)
    for c in train:
        assert all(t.kind.startswith("offtopic") == (not t.expected) for t in c.turns[1:]), c.id
    evaluated = [_char_4grams(t.q) for c in load_conversations(root / "conversations.jsonl", titles) for t in c.turns]
    _assert_no_near_copy(train, evaluated, "an evaluated turn")


def test_the_heads_conversations_are_labelled_and_no_near_copy_of_an_evaluated_turn(report) -> None:
    """eval/conversations_head.jsonl trains the follow-up head only (index.followup_head); the same rules as for
    the training conversations, and no question of the single-question sets either."""
    from eval.conversations import load_conversations
    from index.finetune import read_rows

    root = Path(__file__).parent.parent / "eval"
    titles = {p.title: p.id for p in report.pledges}
    head = load_conversations(root / "conversations_head.jsonl", titles)
    assert len(head) >= 700 and {c.split for c in head} == {"train"}
    assert {c.lang for c in head} == {"pl", "en", "uk", "ru", "de", "fr", "es"}
    kinds = {t.kind for c in head for t in c.turns}
    assert kinds == {"first", "detail", "sibling", "new_topic", "offtopic_followup", "offtopic_new"}
    for c in head:
        assert all(t.kind.startswith("offtopic") == (not t.expected) for t in c.turns[1:]), c.id
    evaluated = [_char_4grams(t.q) for c in load_conversations(root / "conversations.jsonl", titles) for t in c.turns]
    for name in ("dev.jsonl", "fresh.jsonl", "fresh2.jsonl", "fresh3.jsonl"):
        evaluated += [_char_4grams(r["query"]) for r in read_rows(root / name, ("tune", "test"))]
    _assert_no_near_copy(head, evaluated, "an evaluated question")


def test_the_conversation_check_set_is_test_only_and_no_near_copy_of_a_training_turn(report) -> None:
    """eval/conversations_check.jsonl was written apart from every choice, to check them on other writers'
    conversations: all test, every kind but language requests, and nothing any model or head learns from."""
    from eval.conversations import load_conversations
    from index.finetune import read_rows

    root = Path(__file__).parent.parent / "eval"
    titles = {p.title: p.id for p in report.pledges}
    check = load_conversations(root / "conversations_check.jsonl", titles)
    assert len(check) >= 350 and {c.split for c in check} == {"test"}
    assert {t.kind for c in check for t in c.turns} == {
        "first",
        "detail",
        "sibling",
        "new_topic",
        "offtopic_followup",
        "offtopic_new",
    }
    learned = [
        _char_4grams(t.q)
        for name in ("conversations_train.jsonl", "conversations_head.jsonl")
        for c in load_conversations(root / name, titles)
        for t in c.turns
    ]
    learned += [_char_4grams(r["query"]) for r in read_rows(root / "train.jsonl", ("train",))]
    evaluated = [_char_4grams(t.q) for c in load_conversations(root / "conversations.jsonl", titles) for t in c.turns]
    _assert_no_near_copy(check, learned, "a training turn")
    _assert_no_near_copy(check, evaluated, "an evaluated turn")


@pytest.mark.parametrize(
    ("name", "size", "kinds"),
    [("fresh.jsonl", 130, BASE_KINDS), ("fresh2.jsonl", 195, BASE_KINDS), ("fresh3.jsonl", 165, SHAPE_KINDS)],
)
def test_fresh_check_set_is_labelled_test_only_and_no_near_copy_of_a_training_question(
    report, name, size, kinds
) -> None:
    """eval/fresh*.jsonl were written after the choices, to check them: all test, and nothing the model saw."""
    from index.finetune import read_rows

    root = Path(__file__).parent.parent / "eval"
    fresh = load_queries(root / name, {p.title: p.id for p in report.pledges})
    assert len(fresh) == size and select_split(fresh, "test") == fresh and {q.kind for q in fresh} == set(kinds)
    for q in fresh:
        if q.kind in SHAPE_KINDS:  # a shape says nothing about scope
            assert len(q.expected) <= 2, q.id
            continue
        assert (q.kind == "two_pledges") == (len(q.expected) == 2), q.id
        assert q.kind.startswith("oos_") == (not q.in_scope), q.id
    seen = [_char_4grams(r["query"]) for r in read_rows(root / "dev.jsonl", ("tune", "test")) if r["split"] == "tune"]
    seen += [_char_4grams(r["query"]) for r in read_rows(root / "train.jsonl", ("train",))]
    for q in fresh:
        closest = _nearest_jaccard(q.query, seen)
        assert closest < 0.5, f"{q.id} is a near copy of a training question (4-gram Jaccard {closest:.2f})"


def test_bootstrap_of_all_ones_is_one_one() -> None:
    assert bootstrap_ratio([1.0] * 50, [1.0] * 50) == (1.0, 1.0, 1.0)
    assert bootstrap_ratio([0.0, 0.0], [0.0, 0.0]) == (None, None, None)


def test_bootstrap_interval_holds_the_estimate_and_is_seeded() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    num = (rng.random(200) < 0.8).astype(float)
    den = (rng.random(200) < 0.7).astype(float)
    num *= den
    value, low, high = bootstrap_ratio(num, den)
    assert value == pytest.approx(num.sum() / den.sum(), abs=1e-4)
    assert low <= value <= high and 0.0 < high - low < 0.3
    assert bootstrap_ratio(num, den) == (value, low, high)  # same seed, same interval
    assert bootstrap_ratio(num, den, seed=1) != (value, low, high)


def test_group_metrics_and_set_hook() -> None:
    recs = [
        {
            "id": "a",
            "in_scope": True,
            "abstained": False,
            "set_size": 1,
            "set_hit": True,
            "handled": True,
            "ranking": {k: 1.0 for k in RANKING_KEYS},
        },
        {
            "id": "b",
            "in_scope": True,
            "abstained": True,
            "set_size": 2,
            "set_hit": False,
            "handled": False,
            "ranking": {k: 0.0 for k in RANKING_KEYS},
        },
        {
            "id": "c",
            "in_scope": False,
            "abstained": True,
            "set_size": 1,
            "set_hit": False,
            "handled": True,
            "ranking": None,
        },
        {
            "id": "d",
            "in_scope": False,
            "abstained": False,
            "set_size": 1,
            "set_hit": False,
            "handled": False,
            "ranking": None,
        },
    ]
    m = group_metrics(recs)
    assert (m["n"], m["n_out_of_scope"]) == (2, 2)
    assert (m["hit@1"], m["set_coverage"], m["mean_set_size"]) == (0.5, 0.5, 1.5)
    assert (m["abstention_recall"], m["abstention_precision"], m["false_abstention_rate"]) == (0.5, 0.5, 0.5)
    assert m["handled"] == 0.5  # over all four questions, in scope or not
    for k in METRIC_KEYS:
        assert m[k + "_ci"]["low"] <= m[k] <= m[k + "_ci"]["high"], k
    assert primary_count_fn(object())("anything") == 1

    class Calibrated:
        def primary_count(self, retrieval: object) -> int:
            return 3

    assert primary_count_fn(Calibrated())("anything") == 3


def test_identical_runs_are_not_significantly_different() -> None:
    rankings = {"q1": ["a", "b", "c"], "q2": ["b", "a", "c"], "q3": ["c", "a", "b"], "q4": ["a", "c", "b"]}
    expected = {"q1": ["a"], "q2": ["a"], "q3": ["a"], "q4": ["b"], "oos": []}
    better = {"q1": ["a", "b", "c"], "q2": ["a", "b", "c"], "q3": ["a", "c", "b"], "q4": ["b", "a", "c"]}
    tests = paired_tests({"base": rankings, "same": dict(rankings), "better": better}, expected, "base")
    assert tests["base"] is None
    for key in ("hit@1", "mrr@10"):
        assert tests["same"][key]["p_randomization"] == 1.0 and tests["same"][key]["delta"] == 0.0
        assert tests["same"][key]["p_student"] is None  # undefined for identical scores
        assert tests["better"][key]["delta"] > 0
    assert tests == paired_tests({"base": rankings, "same": dict(rankings), "better": better}, expected, "base")


def test_randomization_test_is_seeded_and_detects_a_clear_difference() -> None:
    a, b = [1.0] * 30 + [0.0] * 10, [0.0] * 30 + [0.0] * 10
    assert randomization_test(a, b) == randomization_test(a, b) < 0.001
    assert randomization_test(a, a) == 1.0


def _three_questions(tmp_path: Path, report) -> Path:
    t = {p.id: p.title for p in report.pledges}
    rows = [
        {
            "id": "pl-1",
            "query": "opieka wytchnieniowa",
            "lang": "pl",
            "kind": "named",
            "split": "test",
            "expected": [t["rozwiniemy-system-opieki-wyreczeniowej"]],
        },
        {
            "id": "pl-2",
            "query": "mniejszości narodowe kultura",
            "lang": "pl",
            "kind": "two_pledges",
            "split": "tune",
            "expected": [t["wesprzemy-mniejszosci-narodowe"], t["pomozemy-promowac-kulture-mniejszosci-narodowych"]],
        },
        {"id": "en-1", "query": "tram tickets", "lang": "en", "kind": "oos_far", "split": "test", "expected": []},
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return qfile


def test_split_kind_rows_intervals_and_paired_tests_end_to_end(
    tmp_path: Path, report, capsys: pytest.CaptureFixture
) -> None:
    out, rep = tmp_path / "out.json", tmp_path / "report"
    assert (
        eval_main(
            [
                "--queries",
                str(_three_questions(tmp_path, report)),
                "--split",
                "test",
                "--retriever",
                "all",
                "--json",
                str(out),
                "--report",
                str(rep),
                "--fake-encoder",
            ]
        )
        == 0
    )
    results = json.loads(out.read_text())
    default = results[-1]
    assert default["n_in_scope"] == 1 and default["n_out_of_scope"] == 1  # the tune question is left out
    assert set(default["by_kind"]) == {"named", "oos_far"} and set(default["by_language"]) == {"pl", "en"}
    assert default["by_kind"]["oos_far"]["hit@1"] is None and default["by_kind"]["named"]["n"] == 1
    assert default["set_coverage"] >= default["hit@1"] and default["mean_set_size"] >= 1.0
    assert set(default["hit@1_ci"]) == {"low", "high"} and "recall_ci" in default["abstention"]
    by_name = {r["retriever"]: r["paired_vs_baseline"] for r in results}
    assert by_name["dense-whole"]["tests"] is None
    assert set(by_name["hybrid"]["tests"]) == {"hit@1", "mrr@10"}
    assert "p_randomization" in by_name["hybrid"]["tests"]["hit@1"]
    table = capsys.readouterr().out
    assert "split: test (2 questions); profile: quick" in table and "oos_far" in table and "named" in table
    md = (rep / "report.md").read_text()
    assert "(split: test)" in md and "p (randomization)" in md and "|  | named |" in md


def test_fake_encoder_never_writes_the_configured_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report
) -> None:
    real = tmp_path / "real-index"  # stands for data/index or whatever KQA_INDEX_DIR names
    real.mkdir()
    (real / "keep.txt").write_text("real vectors")
    monkeypatch.setenv("KQA_INDEX_DIR", str(real))
    assert eval_main(["--queries", str(_three_questions(tmp_path, report)), "--fake-encoder"]) == 0
    assert [p.name for p in real.iterdir()] == ["keep.txt"]
    monkeypatch.delenv("KQA_INDEX_DIR")
    import settings as settings_module

    default_index = settings_module.Settings().index_dir
    before = sorted((p.name, p.stat().st_mtime_ns) for p in default_index.iterdir()) if default_index.exists() else None
    assert eval_main(["--queries", str(_three_questions(tmp_path, report)), "--fake-encoder"]) == 0
    after = sorted((p.name, p.stat().st_mtime_ns) for p in default_index.iterdir()) if default_index.exists() else None
    assert after == before  # data/index untouched (absent stays absent)


# --- eval/load.py: no leaked descriptors, no unreaped app ----------------------------------------------------


class _FakeApp:
    """Stands in for subprocess.Popen: never exits by itself, records what was done to it."""

    def __init__(self, *args: object, stdout: object = None, **kwargs: object) -> None:
        self.stdout_arg, self.returncode, self.calls = stdout, None, []
        self.pid = 0

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.calls.append("terminate")

    def kill(self) -> None:
        self.calls.append("kill")
        self.returncode = -9

    def wait(self, timeout: float | None = None) -> int:
        self.calls.append("wait")
        if self.returncode is None:
            import subprocess

            raise subprocess.TimeoutExpired("app", timeout)
        return self.returncode


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


def test_start_app_leaks_no_file_descriptor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from eval import load

    monkeypatch.setattr(load.tempfile, "tempdir", str(tmp_path))  # the app's log goes here
    apps = []
    monkeypatch.setattr(load.subprocess, "Popen", lambda *a, **k: apps.append(_FakeApp(*a, **k)) or apps[-1])
    monkeypatch.setattr(
        load.urllib.request, "urlopen", lambda *a, **k: contextlib.nullcontext(type("Reply", (), {"status": 200})())
    )
    before = _open_fds()
    _, _, log = load.start_app()
    assert _open_fds() == before  # neither mkstemp's descriptor nor the log handle stays open
    assert apps[0].stdout_arg.closed and log.parent == tmp_path


def test_start_app_timeout_kills_and_reaps_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eval import load

    monkeypatch.setattr(load.tempfile, "tempdir", str(tmp_path))
    apps = []
    monkeypatch.setattr(load.subprocess, "Popen", lambda *a, **k: apps.append(_FakeApp(*a, **k)) or apps[-1])

    def refuse(*a: object, **k: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(load.urllib.request, "urlopen", refuse)
    monkeypatch.setattr(load.time, "sleep", lambda s: None)
    with pytest.raises(RuntimeError, match="did not answer"):
        load.start_app(timeout=0.05)
    calls = apps[0].calls
    assert "kill" in calls and calls[-1] == "wait"  # killed, then reaped: no zombie


# --- the romanized view: Ukrainian/Russian questions typed in Latin letters --------------------------------


def test_romanized_view_types_cyrillic_questions_in_latin_letters() -> None:
    from eval.queries import Query
    from eval.romanize import SUFFIX, romanized_view

    qs = [
        Query("uk-1", "Де зробити безкоштовну мамографію?", "uk", ("a",), 1, "keyword", "tune"),
        Query("ru-1", "Где бесплатный гинеколог в Кракове?", "ru", ("b",), 2, "keyword", "tune"),
        Query("uk-2", "Як отримати orzeczenie для сина?", "uk", (), 3, "oos_near", "tune"),
        Query("uk-3", "cholovik byie", "uk", ("c",), 4, "typo", "tune"),  # already Latin: not in the view
        Query("pl-1", "darmowa mammografia", "pl", ("a",), 5, "keyword", "tune"),
    ]
    same = ("expected", "lang", "kind", "split")
    view = romanized_view(qs)
    assert [q.id for q in view] == ["uk-1" + SUFFIX, "ru-1" + SUFFIX, "uk-2" + SUFFIX]
    assert view == romanized_view(qs)  # the scheme is picked from the id: reproducible
    originals = {q.id: q for q in qs}
    for q in view:
        original = originals[q.id.removesuffix(SUFFIX)]
        assert q.query.isascii() or "ę" in q.query, q.query  # no Cyrillic left
        assert [getattr(q, f) for f in same] == [getattr(original, f) for f in same]
    assert "mamohraf" in view[0].query or "mamograf" in view[0].query
    assert "orzeczenie" in view[2].query  # Polish words stay as typed


def test_eval_romanized_runs_the_view_and_says_when_it_is_empty(
    tmp_path: Path, report, capsys: pytest.CaptureFixture
) -> None:
    t = {p.id: p.title for p in report.pledges}
    violence = t["powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie"]
    rows = [
        {
            "id": "uk-1",
            "query": "Де отримати допомогу від домашнього насильства?",
            "lang": "uk",
            "kind": "keyword",
            "split": "test",
            "expected": [violence],
        },
        {
            "id": "pl-1",
            "query": "opieka wytchnieniowa",
            "lang": "pl",
            "kind": "named",
            "split": "tune",
            "expected": [t["rozwiniemy-system-opieki-wyreczeniowej"]],
        },
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "r.json"
    assert (
        eval_main(["--queries", str(qfile), "--split", "test", "--romanized", "--json", str(out), "--fake-encoder"])
        == 0
    )
    result = json.loads(out.read_text())
    assert result["n_in_scope"] == 1 and set(result["by_language"]) == {"uk"}
    assert eval_main(["--queries", str(qfile), "--split", "tune", "--romanized", "--fake-encoder"]) == 2
    assert "no Ukrainian or Russian question in Cyrillic letters in split 'tune'" in capsys.readouterr().err


def test_safety_margin_sits_midway_between_the_pledge_questions_and_the_off_topic_ones() -> None:
    import numpy as np

    from eval.contacts import choose_margin

    def groups(listed: list[float], offtopic: list[float]) -> dict[str, np.ndarray]:
        return {"listed": np.array(listed), "offtopic": np.array(offtopic), "safety": np.array([])}

    # every pledge question keeps the numbers; the boundary lies midway in the gap: (-0.12 + -0.24) / 2
    assert choose_margin(groups([-0.12, 0.3], [-0.5, -0.24])) == -0.18
    assert choose_margin(groups([-0.125, 0.3], [])) == -0.13  # nothing below: the floor, rounded down
    # an off-topic question above the floor does not pull the margin up (pledge questions come first)
    assert choose_margin(groups([-0.12, 0.3], [0.1, -0.3])) == -0.21
