"""Calibrated answer sets and abstention thresholds: the conformal choices, the comparison of rules, and how the
retriever applies them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.retriever import Ranked, Retrieval, Retriever
from eval.calibrate import CalibrationError, choose, conformal_lower, conformal_upper
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
    margins = {
        "pl": [0.01 * i for i in range(50)],
        "en": [-0.03 + 0.01 * i for i in range(50)],
        "uk": [0.005 + 0.01 * i for i in range(50)],
    }
    records = [{"lang": lang, "in_scope": True, "margin": m, "gap": 0.0} for lang, ms in margins.items() for m in ms]
    # n = 150: ⌊0.03·151⌋ = 4th smallest of -0.03, -0.02, -0.01, 0.0, 0.005, …
    chosen = choose(records)
    assert chosen["abstain_margins"] == "*:0.0" and chosen["abstain_alpha"] == 0.03
    # per language, 50 each: ⌊0.03·51⌋ = 1st smallest of its own
    assert choose(records, per_language=True)["abstain_margins"] == "*:0.0,pl:0.0,en:-0.03,uk:0.005"


def test_choose_rounds_so_that_the_guarantee_holds() -> None:
    """Rounded to 4 decimals, the threshold goes down (it must not refuse the margin it was read from) and the
    answer-set width goes up (it must still hold the gap it was read from) — also a hair off a 4-decimal value."""
    for margin, gap, threshold, delta in (
        (-0.012034, 0.00101, -0.0121, 0.0011),
        (float(np.nextafter(-0.0145, -1)), float(np.nextafter(0.0011, 1)), -0.0146, 0.0012),
        (-0.0145, 0.0011, -0.0145, 0.0011),
    ):
        records = [
            {"lang": "pl", "in_scope": True, "margin": margin + i, "gap": gap if i == 0 else 0.0} for i in range(40)
        ]  # ⌊0.03·41⌋ = 1st smallest margin; ⌈41·0.97⌉ = 40th gap: the largest
        chosen = choose(records)
        got = float(chosen["abstain_margins"].split(":")[1])
        assert got == threshold and not margin < got, margin
        assert chosen["answer_set_delta"] == delta and gap <= chosen["answer_set_delta"], gap


def test_choose_refuses_what_cannot_give_a_threshold() -> None:
    records = [{"lang": "pl", "in_scope": True, "margin": 0.01 * i, "gap": 0.0} for i in range(20)]
    with pytest.raises(CalibrationError, match="20 in-scope calibration questions .* at least 33"):
        choose(records)  # α = 0.03 needs ⌈1/0.03⌉ − 1 = 33
    with pytest.raises(CalibrationError, match="abstain_alpha 1.5: must lie between 0 and 1"):
        choose(records, abstain_alpha=1.5)
    with pytest.raises(CalibrationError, match="0 in-scope calibration questions"):
        choose([{"lang": "pl", "in_scope": False, "margin": -0.1, "gap": None}])  # off-topic only


def test_calibrate_cli_checks_alpha_before_any_work(capsys) -> None:
    from eval.crossfit import main as crossfit_main

    with pytest.raises(SystemExit):
        crossfit_main(["--abstain-alpha", "0"])
    assert "'0': must be a number between 0 and 1" in capsys.readouterr().err


def _rule_records(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = [
        {"lang": lang, "in_scope": True, "margin": float(m), "gap": 0.0}
        for lang in ("pl", "en", "uk")
        for m in rng.normal(0.05, 0.03, 60)
    ]
    return records + [
        {"lang": lang, "in_scope": False, "margin": float(m), "gap": None}
        for lang in ("pl", "en", "uk")
        for m in rng.normal(-0.1, 0.05, 20)
    ]


def test_threshold_rules_outcome_uses_each_language_threshold_else_the_pooled_one() -> None:
    from eval.threshold_rules import outcome

    records = _rule_records()
    assert outcome(records, {"*": -1.0})["all"] == (0, 180, 0, 60, 180)  # nothing refused: every in-scope right
    got = outcome(records, {"pl": 1.0, "*": -1.0})  # Polish: everything refused; the others: nothing
    assert got["pl"] == (60, 60, 20, 20, 20) and got["en"] == (0, 60, 0, 20, 60)
    assert got["all"] == (60, 180, 20, 60, 140)


def test_threshold_rules_split_keeps_each_language_and_scope_in_proportion() -> None:
    import random

    from eval.threshold_rules import split

    calib, rest = split(_rule_records(), 2 / 3, random.Random(0))
    for part, share in ((calib, 2 / 3), (rest, 1 / 3)):
        for lang in ("pl", "en", "uk"):
            assert sum(r["lang"] == lang and r["in_scope"] for r in part) == round(60 * share)
            assert sum(r["lang"] == lang and not r["in_scope"] for r in part) == round(20 * share)


def test_threshold_rules_compare_every_rule_on_the_same_seeded_splits(monkeypatch) -> None:
    from eval import threshold_rules

    records = _rule_records()
    seen: dict[str, list[int]] = {}
    real = threshold_rules.thresholds

    def spy(recs, alpha, per_language):
        seen.setdefault(f"{alpha}{per_language}", []).append(hash(tuple(sorted(r["margin"] for r in recs))))
        return real(recs, alpha, per_language)

    monkeypatch.setattr(threshold_rules, "thresholds", spy)
    table = threshold_rules.compare(records, splits=20)
    assert set(table["rules"]) == {label for label, _, _ in threshold_rules.RULES}
    assert len({tuple(v) for v in seen.values()}) == 1  # every rule calibrated on the very same splits
    pooled, strict = table["rules"]["pooled α=0.05"], table["rules"]["pooled α=0.03"]
    assert strict["all"]["false_abstention"] <= pooled["all"]["false_abstention"]  # a lower α refuses less
    assert threshold_rules.compare(records, splits=20) == table  # seeded: the same splits every run


def test_threshold_rules_checks_its_arguments(tmp_path, capsys) -> None:
    from eval.threshold_rules import main

    with pytest.raises(SystemExit):
        main(["--records", str(tmp_path / "none.json")])
    assert "run python -m eval.crossfit first" in capsys.readouterr().err
    (tmp_path / "r.json").write_text("[]")
    with pytest.raises(SystemExit):
        main(["--records", str(tmp_path / "r.json"), "--splits", "0"])
    assert "--splits 0: must be at least 1" in capsys.readouterr().err


def test_answer_sets_hold_every_near_tie(fake_assistant) -> None:
    r = Retriever(fake_assistant.index, fake_assistant.encoder, replace(fake_assistant.settings, answer_set_delta=0.02))
    assert r.primary_count(_retrieval([0.90, 0.89, 0.87, 0.5])) == 2
    exact_settings = replace(fake_assistant.settings, answer_set_delta=0.0)
    exact = Retriever(fake_assistant.index, fake_assistant.encoder, exact_settings)
    assert exact.primary_count(_retrieval([0.9, 0.9, 0.8])) == 2


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

    seen, works = [], []

    def fake_fold(settings, hparams, fold, work, romanized=False, precisions=("int8",)):
        seen.append(list(fold))
        works.append(work)
        (work / "model-x").mkdir(exist_ok=True)  # what a fold leaves behind
        records = [{"lang": "pl", "in_scope": True, "margin": 0.1 + i / 1000, "gap": 0.0} for i, _ in enumerate(fold)]
        return {p: records for p in precisions}

    monkeypatch.setattr(crossfit, "fold_records", fake_fold)
    monkeypatch.setattr(crossfit.tempfile, "tempdir", str(tmp_path))
    records_file = tmp_path / "out" / "records.json"
    assert crossfit.main(["--folds", "3", "--records", str(records_file)]) == 0
    assert seen == ft.tune_folds(ft.read_rows(), 3)
    assert works[0].name.startswith(crossfit.WORK_PREFIX) and not works[0].exists()  # the fold models are gone
    records = json.loads(records_file.read_text())
    assert len(records) == sum(map(len, seen))  # every tune question, once
    out = capsys.readouterr().out
    assert json.loads(out[: out.index("KQA_")])["folds"] == 3 and "KQA_ABSTAIN_MARGINS=" in out
    keep = tmp_path / "kept"
    assert (
        crossfit.main(
            [
                "--folds",
                "2",
                "--keep",
                str(keep),
                "--records",
                str(records_file),
                "--precision",
                "float32",
                "--precision",
                "int8",
            ]
        )
        == 0
    )
    assert works[-1] == keep and (keep / "model-x").is_dir()  # asked to keep: kept
    both = json.loads(capsys.readouterr().out.split("KQA_")[0])
    assert set(both) == {"float32", "int8"} and records_file.with_name("records-int8.json").is_file()


def test_crossfit_refuses_a_model_not_trained_on_all_of_tune(tmp_path, capsys) -> None:
    from eval import crossfit

    records = ["--records", str(tmp_path / "records.json")]
    with pytest.raises(SystemExit):
        crossfit.main(["--folds", "1", *records])
    with pytest.raises(SystemExit):
        crossfit.main(["--set", "train_on=split", *records])
    assert "python -m eval.calibrate" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        crossfit.main(["--set", "epocs=5", *records])
    fields = "batch_size, conversation_forms, conversations, epochs"
    expected = f"--set 'epocs=5': expected FIELD=VALUE with FIELD one of {fields}"
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "records.json").exists()


def test_crossfit_set_parses_values() -> None:
    from eval.crossfit import override
    from index.finetune import HParams

    hp = override(HParams(), ["train_questions=true", "epochs=5", "lr=5e-5", 'kinds=["whole", "pledge"]'])
    assert (hp.train_questions, hp.epochs, hp.lr, hp.kinds) == (True, 5, 5e-5, ("whole", "pledge"))


def test_crossfit_summary_at_thresholds() -> None:
    from eval.crossfit import summary
    from settings import Settings

    records = [
        {"lang": "uk", "in_scope": True, "margin": 0.02, "gap": 0.0},  # answered right
        {"lang": "uk", "in_scope": True, "margin": -0.01, "gap": 0.0},  # refused: a false abstention
        {"lang": "pl", "in_scope": True, "margin": 0.05, "gap": 0.1},  # answered, wrong pledge first
        {"lang": "pl", "in_scope": False, "margin": -0.05, "gap": None},  # refused right
        {"lang": "de", "in_scope": False, "margin": 0.0, "gap": None},
    ]  # answered: "*" threshold is -0.1
    assert summary(records) == {"hit@1": round(2 / 3, 4), "n": 3}
    got = summary(records, Settings(abstain_margins="uk:0.0,pl:-0.02,*:-0.1"))
    assert got["false_abstentions"] == 1 and got["refused"] == 1 and got["n_out_of_scope"] == 2
    assert got["handled"] == 2 and got["n_all"] == 5


def test_crossfit_romanized_scores_the_latin_view_and_chooses_nothing(tmp_path, monkeypatch, capsys) -> None:
    import json

    from eval import crossfit

    flags = []

    def fake_fold(settings, hparams, fold, work, romanized=False, precisions=("int8",)):
        flags.append(romanized)
        return {p: [{"lang": "uk", "in_scope": True, "margin": 0.1, "gap": 0.0}] for p in precisions}

    monkeypatch.setattr(crossfit, "fold_records", fake_fold)
    records = tmp_path / "records.json"
    assert crossfit.main(["--folds", "2", "--records", str(records), "--romanized"]) == 0
    assert flags == [True, True]
    out = json.loads(capsys.readouterr().out)
    assert out["romanized"]["handled"] == 2 and "abstain_margins" not in out
    assert not records.exists()  # the served thresholds' records stay untouched
