"""Eval metrics on hand-computed rankings; query-file checks; the runner end to end with the fake encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.__main__ import main as eval_main
from eval.metrics import abstention_metrics, ranking_metrics, threshold_sweep
from eval.queries import QueryFileError, load_queries

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


@pytest.mark.parametrize("bad, message", [
    ('{"id": "x1", "query": "q", "lang": "pl"', r"line 2: bad JSON"),
    ('{"id": "x1", "query": "q", "lang": "pl", "expected": []}', r"line 2: id 'x1' already used on line 1"),
    ('{"id": "x2", "query": "q", "lang": "pl", "expected": ["Nie ma"]}', r"line 2: unknown pledge title 'Nie ma'"),
    ('{"id": "x2", "query": "q", "lang": "pl"}', r"line 2: missing expected"),
    ('{"id": "x2", "query": "  ", "lang": "pl", "expected": []}', r"line 2: query '  ' must be"),
    ('["not", "an", "object"]', r"line 2: expected a JSON object"),
])
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
        {"id": "pl-1", "query": "opieka wytchnieniowa", "lang": "pl", "expected": [t["rozwiniemy-system-opieki-wyreczeniowej"]]},
        {"id": "pl-2", "query": "mniejszości narodowe kultura", "lang": "pl",
         "expected": [t["wesprzemy-mniejszosci-narodowe"], t["pomozemy-promowac-kulture-mniejszosci-narodowych"]]},
        {"id": "en-1", "query": "tram tickets", "lang": "en", "expected": []},
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out, rep = tmp_path / "out.json", tmp_path / "report"
    assert eval_main(["--queries", str(qfile), "--retriever", "all", "--json", str(out), "--report", str(rep),
                      "--fake-encoder"]) == 0
    results = json.loads(out.read_text())
    assert [r["retriever"] for r in results] == ["lexical", "dense-whole", "dense", "hybrid", "default"]
    lexical = results[0]
    for key in ("hit@1", "hit@3", "recall@3", "mrr@10", "ndcg@10", "abstention", "by_language", "n_in_scope",
                "n_out_of_scope", "failures"):
        assert key in lexical
    assert lexical["n_in_scope"] == 2 and lexical["n_out_of_scope"] == 1
    assert lexical["hit@3"] == 1.0 and lexical["by_language"]["pl"]["n"] == 2
    assert (rep / "report.md").read_text().count("| lexical |") == 1
    assert (rep / "hit_at_k.png").stat().st_size > 1000 and (rep / "abstention_sweep.png").is_file()


def test_runner_rejects_broken_file_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert eval_main(["--queries", str(_file(tmp_path, "{oops")), "--fake-encoder"]) == 2
    assert "line 1: bad JSON" in capsys.readouterr().err
