"""Calibrated answer sets and per-language abstention: the conformal choices and how the retriever applies them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.retriever import Ranked, Retrieval, Retriever
from eval.calibrate import choose, conformal_lower, conformal_upper
from settings import Settings, SettingsError


def _retrieval(scores: list[float], margin: float = 0.0) -> Retrieval:
    ranked = tuple(Ranked(f"p{i}", s, s, 0.0) for i, s in enumerate(scores))
    return Retrieval(ranked, np.zeros(1, dtype=np.float32), 0.0, margin)


def test_conformal_quantiles() -> None:
    scores = [float(i) for i in range(1, 20)]  # n = 19
    assert conformal_upper(scores, 0.05) == 19.0  # ⌈20·0.95⌉ = 19th smallest
    assert conformal_upper(scores, 0.5) == 10.0
    assert conformal_lower(scores, 0.05) == 1.0  # ⌊0.05·20⌋ = 1st smallest
    assert conformal_lower(scores[:10], 0.05) == -np.inf  # too few to refuse anything


def test_choose_gives_a_delta_covering_the_gaps_and_thresholds_per_language() -> None:
    records = [{"lang": "pl", "in_scope": True, "margin": 0.01 * i, "gap": 0.001 * i} for i in range(40)]
    records += [{"lang": "en", "in_scope": True, "margin": -0.02 + 0.001 * i, "gap": 0.0} for i in range(40)]
    records += [{"lang": "uk", "in_scope": True, "margin": 0.0, "gap": 0.0} for _ in range(5)]
    records += [{"lang": "pl", "in_scope": False, "margin": -0.1, "gap": None}]
    chosen = choose(records, abstain_alpha=0.05, per_language=True, min_per_language=30)
    gaps = sorted(r["gap"] for r in records if r["in_scope"])
    assert sum(g <= chosen["answer_set_delta"] for g in gaps) / len(gaps) >= 0.97
    margins = dict(part.split(":") for part in chosen["abstain_margins"].split(","))
    assert set(margins) == {"*", "pl", "en"}  # uk: too few questions of its own, so the pooled one
    assert float(margins["pl"]) == 0.01 and float(margins["en"]) == -0.019


def test_choose_pools_languages_by_default_at_three_percent() -> None:
    records = [{"lang": lang, "in_scope": True, "margin": 0.001 * i, "gap": 0.0}
               for lang in ("pl", "en", "uk") for i in range(50)]  # n = 150: ⌊0.03·151⌋ = 4th smallest
    chosen = choose(records)
    assert chosen["abstain_margins"] == "*:0.001" and chosen["abstain_alpha"] == 0.03


def test_choose_rounds_so_that_the_guarantee_holds() -> None:
    """Rounded to 4 decimals, the threshold goes down (it must not refuse the margin it was read from) and the
    answer-set width goes up (it must still hold the gap it was read from)."""
    records = [{"lang": "pl", "in_scope": True, "margin": -0.012034 + i, "gap": 0.00101 if i == 0 else 0.0}
               for i in range(40)]  # ⌊0.03·41⌋ = 1st smallest margin; ⌈41·0.97⌉ = 40th gap: the largest
    chosen = choose(records)
    threshold = float(chosen["abstain_margins"].split(":")[1])
    assert threshold == -0.0121 and not -0.012034 < threshold
    assert chosen["answer_set_delta"] == 0.0011 >= 0.00101


def test_threshold_rules_compare_on_the_same_splits() -> None:
    from eval.threshold_rules import RULES, compare, outcome

    rng = np.random.default_rng(0)
    records = [{"lang": lang, "in_scope": True, "margin": float(m), "gap": 0.0}
               for lang in ("pl", "en", "uk") for m in rng.normal(0.05, 0.03, 60)]
    records += [{"lang": lang, "in_scope": False, "margin": float(m), "gap": None}
                for lang in ("pl", "en", "uk") for m in rng.normal(-0.1, 0.05, 20)]
    assert outcome(records, {"*": -1.0})["all"] == (0, 180, 0, 60, 180)  # nothing refused: every in-scope right
    table = compare(records, splits=20)
    assert set(table["rules"]) == {label for label, _, _ in RULES}
    pooled, strict = table["rules"]["pooled α=0.05"], table["rules"]["pooled α=0.03"]
    assert strict["all"]["false_abstention"] <= pooled["all"]["false_abstention"]  # a lower α refuses less
    assert 0 <= strict["uk"]["target_met"] <= 1 and "*" in strict["thresholds_on_all_records"]
    assert compare(records, splits=20) == table  # seeded: the same splits every run


def test_threshold_rules_names_a_missing_records_file(tmp_path, capsys) -> None:
    from eval.threshold_rules import main

    with pytest.raises(SystemExit):
        main(["--records", str(tmp_path / "none.json")])
    assert "run python -m eval.crossfit first" in capsys.readouterr().err


def test_answer_sets_hold_every_near_tie(fake_assistant) -> None:
    r = Retriever(fake_assistant.index, fake_assistant.encoder, replace(fake_assistant.settings, answer_set_delta=0.02))
    assert r.primary_count(_retrieval([0.90, 0.89, 0.87, 0.5])) == 2
    assert Retriever(fake_assistant.index, fake_assistant.encoder,
                     replace(fake_assistant.settings, answer_set_delta=0.0)).primary_count(_retrieval([0.9, 0.9, 0.8])) == 2


def test_thresholds_follow_the_question_language(fake_assistant) -> None:
    settings = replace(fake_assistant.settings, abstain_margin=-0.01, abstain_margins="pl:0.02,*:-0.03")
    r = Retriever(fake_assistant.index, fake_assistant.encoder, settings)
    near = _retrieval([0.9], margin=0.0)
    assert r.abstains(near, "pl") and not r.abstains(near, "en") and not r.abstains(near, None)
    assert r.threshold("de") == -0.03


def test_bad_margins_setting_names_the_part() -> None:
    with pytest.raises(SettingsError, match="KQA_ABSTAIN_MARGINS part 'pl=0.1' is not LANG:NUMBER"):
        Settings(abstain_margins="pl=0.1").margins_by_language()


def test_answers_mark_the_primary_set(fake_assistant) -> None:
    from assistant import Assistant

    wide = replace(fake_assistant.settings, abstain_margin=-10, answer_set_delta=10.0)
    a = Assistant.load(wide, encoder=fake_assistant.encoder, log_fn=lambda m: None)
    ans = a.ask("opieka wytchnieniowa", top_k=3)
    assert [x.primary for x in ans.answers] == [True, True, True]
    narrow = Assistant.load(replace(wide, answer_set_delta=0.0), encoder=fake_assistant.encoder, log_fn=lambda m: None)
    assert [x.primary for x in narrow.ask("opieka wytchnieniowa", top_k=3).answers][0] is True
    assert ans.to_json()["answers"][0]["primary"] is True


def test_crossfit_pools_every_fold_and_each_fold_leaves_its_questions_out(tmp_path, monkeypatch, capsys) -> None:
    import json

    from eval import crossfit
    from index import finetune as ft

    seen = []

    def fake_fold(settings, hparams, fold, work, romanized=False):
        seen.append(list(fold))
        return [{"lang": "pl", "in_scope": True, "margin": 0.1 + i / 1000, "gap": 0.0} for i, _ in enumerate(fold)]

    monkeypatch.setattr(crossfit, "fold_records", fake_fold)
    assert crossfit.main(["--folds", "3", "--work", str(tmp_path)]) == 0
    assert seen == ft.tune_folds(ft.read_rows(), 3)
    records = json.loads((tmp_path / "records.json").read_text())
    assert len(records) == sum(map(len, seen))  # every tune question, once
    out = capsys.readouterr().out
    assert json.loads(out[:out.index("KQA_")])["folds"] == 3 and "KQA_ABSTAIN_MARGINS=" in out


def test_crossfit_refuses_a_model_not_trained_on_all_of_tune(tmp_path, capsys) -> None:
    from eval import crossfit

    with pytest.raises(SystemExit):
        crossfit.main(["--folds", "1", "--work", str(tmp_path)])
    with pytest.raises(SystemExit):
        crossfit.main(["--work", str(tmp_path), "--set", "train_on=split"])
    assert "python -m eval.calibrate" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        crossfit.main(["--work", str(tmp_path), "--set", "epocs=5"])
    assert "--set 'epocs=5': expected FIELD=VALUE with FIELD one of epochs" in capsys.readouterr().err
    assert not (tmp_path / "records.json").exists()


def test_crossfit_set_parses_values() -> None:
    from eval.crossfit import override
    from index.finetune import HParams

    hp = override(HParams(), ["train_questions=true", "epochs=5", "lr=5e-5", 'kinds=["whole", "pledge"]'])
    assert (hp.train_questions, hp.epochs, hp.lr, hp.kinds) == (True, 5, 5e-5, ("whole", "pledge"))


def test_crossfit_summary_at_thresholds() -> None:
    from eval.crossfit import summary
    from settings import Settings

    records = [{"lang": "uk", "in_scope": True, "margin": 0.02, "gap": 0.0},   # answered right
               {"lang": "uk", "in_scope": True, "margin": -0.01, "gap": 0.0},  # refused: a false abstention
               {"lang": "pl", "in_scope": True, "margin": 0.05, "gap": 0.1},   # answered, wrong pledge first
               {"lang": "pl", "in_scope": False, "margin": -0.05, "gap": None},  # refused right
               {"lang": "de", "in_scope": False, "margin": 0.0, "gap": None}]  # answered: "*" threshold is -0.1
    assert summary(records) == {"hit@1": round(2 / 3, 4), "n": 3}
    got = summary(records, Settings(abstain_margins="uk:0.0,pl:-0.02,*:-0.1"))
    assert got["false_abstentions"] == 1 and got["refused"] == 1 and got["n_out_of_scope"] == 2
    assert got["handled"] == 2 and got["n_all"] == 5


def test_crossfit_romanized_scores_the_latin_view_and_chooses_nothing(tmp_path, monkeypatch, capsys) -> None:
    import json

    from eval import crossfit

    flags = []

    def fake_fold(settings, hparams, fold, work, romanized=False):
        flags.append(romanized)
        return [{"lang": "uk", "in_scope": True, "margin": 0.1, "gap": 0.0}]

    monkeypatch.setattr(crossfit, "fold_records", fake_fold)
    assert crossfit.main(["--folds", "2", "--work", str(tmp_path), "--romanized"]) == 0
    assert flags == [True, True]
    out = json.loads(capsys.readouterr().out)
    assert out["romanized"]["handled"] == 2 and "abstain_margins" not in out
    assert not (tmp_path / "records.json").exists()  # the served thresholds' records stay untouched
