"""Fine-tuning on our own questions: the data hash, the tune split, retraining when stale, the served name."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from corpus.parser import parse_report_text
from index import finetune as ft
from index.encoder import EncoderError, served_name
from settings import DEFAULT_MODEL, Settings


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return ft.read_rows()


def test_split_is_deterministic_disjoint_and_tune_only(rows) -> None:
    train, cal = ft.split_tune(rows)
    assert (train, cal) == ft.split_tune([dict(r) for r in reversed(rows)])  # input order does not matter
    assert not set(train) & set(cal)
    tune = {r["id"] for r in rows if r["split"] == "tune"}
    test = {r["id"] for r in rows if r["split"] == "test"}
    assert set(train) | set(cal) == tune and not (set(train) | set(cal)) & test
    assert 0.25 < len(cal) / len(tune) < 0.35
    assert ft.calibration_ids() == cal
    for lang in ("pl", "en", "uk"):  # stratified: every large language is in both parts
        ids = {r["id"] for r in rows if r["lang"] == lang}
        assert ids & set(cal) and ids & set(train)


def test_split_of_a_language_ignores_other_languages(rows) -> None:
    _, cal = ft.split_tune(rows)
    extra = {"id": "zz-new", "query": "nowe", "lang": "de", "expected": [], "split": "tune"}
    _, cal2 = ft.split_tune([*rows, extra])
    pl = {r["id"] for r in rows if r["lang"] == "pl"}
    assert set(cal) & pl == set(cal2) & pl


def test_hash_changes_with_a_question_or_a_passage(report, rows) -> None:
    plan = ft.make_plan(report, rows)
    assert ft.make_plan(report, rows).data_sha256 == plan.data_sha256
    qid = plan.examples[0].id
    edited = [dict(r, query=r["query"] + "?") if r["id"] == qid else r for r in rows]
    assert ft.make_plan(report, edited).data_sha256 != plan.data_sha256
    # a test question is not training data: editing it leaves the hash alone
    tid = next(r["id"] for r in rows if r["split"] == "test")
    edited = [dict(r, query=r["query"] + "?") if r["id"] == tid else r for r in rows]
    assert ft.make_plan(report, edited).data_sha256 == plan.data_sha256
    lines = list(report.lines)
    n = report.pledges[0].pledge.span.start_line - 1
    lines[n] = lines[n] + " Dodane zdanie."
    changed = parse_report_text(lines, report.source, closing_paragraphs=1)  # as its manifest says
    assert ft.make_plan(changed, rows).data_sha256 != plan.data_sha256
    # hyper-parameters are not data, but they change the fingerprint (and so the served name)
    other = ft.make_plan(report, rows, ft.HParams(epochs=4))
    assert other.data_sha256 == plan.data_sha256 and other.fingerprint != plan.fingerprint


def test_training_targets(report, rows) -> None:
    plain = ft.make_plan(report, rows, ft.HParams(negatives=False))
    assert len(plain.passages) == len(report.pledges)  # whole units only, no background class
    assert all(ft.BACKGROUND not in e.targets for e in plain.examples)
    assert any(len(e.targets) == 2 for e in plain.examples)  # two-pledge questions keep both
    neg = ft.make_plan(report, rows)  # the default: out-of-scope questions aim at the background class
    oos = {r["id"] for r in rows if not r["expected"] and r["split"] in ("tune", "train")}
    asked = [e for e in neg.examples if not e.id.startswith(("translation:", "conv:"))]
    assert {e.id.partition("~")[0] for e in asked if e.targets == (ft.BACKGROUND,)} == oos
    assert sum(c == ft.BACKGROUND for c, _ in neg.passages) == len(neg.passages) - len(report.pledges)
    assert {e.id.partition("~")[0] for e in asked} <= set(neg.train_ids)
    # and the training-only conversations, off-topic turns included (tests/test_conversation.py has the form)
    conv = [e for e in neg.examples if e.id.startswith("conv:")]
    assert conv and any(e.targets == (ft.BACKGROUND,) for e in conv)
    assert not ft.make_plan(report, rows, ft.HParams(conversations=0)).examples[-1].id.startswith("conv:")


def test_romanized_training_embeds_what_the_retriever_embeds(report, rows) -> None:
    from index.romanized import CYRILLIC, romanize, search_form

    typed = ft.make_plan(report, rows, ft.HParams(romanized=False))
    rom = ft.make_plan(report, rows)  # the default
    by_id = {r["id"]: r for r in rows}
    plain = {e.id: e for e in typed.examples}
    for e in rom.examples:
        if e.id.startswith(("translation:", "conv:")):
            assert e.id.startswith("conv:") or e == plain[e.id]
            continue
        qid, _, lat = e.id.partition("~")
        r = by_id[qid]
        if lat:  # the Latin-letter copy of a Cyrillic Ukrainian/Russian question, written back as served
            assert r["lang"] in ("uk", "ru") and e.targets == plain[qid].targets
            assert e.query == search_form(romanize(r["query"]), r["lang"])
        else:
            assert e.query == search_form(r["query"], r["lang"]) and e.targets == plain[qid].targets
    copies = {e.id[:-4] for e in rom.examples if e.id.endswith("~lat") and not e.id.startswith("conv:")}
    cyrillic = {
        r["id"] for r in rows if r["split"] == "tune" and r["lang"] in ("uk", "ru") and CYRILLIC.search(r["query"])
    }
    assert copies == cyrillic
    # typed in Latin letters and labelled Ukrainian: trained in the Cyrillic form the retriever embeds
    latin = next(r for r in rows if r["split"] == "tune" and r["lang"] == "uk" and r["query"].isascii())
    assert {e.id: e.query for e in rom.examples}[latin["id"]] == search_form(latin["query"], "uk") != latin["query"]
    assert rom.fingerprint != typed.fingerprint and rom.data_sha256 != typed.data_sha256


def test_folds_partition_tune_stratified_and_stable(rows) -> None:
    folds = ft.tune_folds(rows, 3)
    assert folds == ft.tune_folds(list(reversed(rows)), 3)
    tune = {r["id"] for r in rows if r["split"] == "tune"}
    assert sorted(sum(folds, [])) == sorted(tune)  # disjoint and complete
    by_id = {r["id"]: r for r in rows}
    for lang in ("pl", "en", "uk"):
        for scope in (True, False):
            counts = [sum(by_id[i]["lang"] == lang and bool(by_id[i]["expected"]) == scope for i in f) for f in folds]
            assert max(counts) - min(counts) <= 1, (lang, scope, counts)


def test_a_fold_is_held_out_of_training(report, rows) -> None:
    fold = ft.tune_folds(rows, 3)[1]
    plan = ft.make_plan(report, rows, ft.HParams(train_on="all"), held_out=fold)
    assert not {e.id for e in plan.examples} & set(fold) and list(plan.calibration_ids) == fold
    full = ft.make_plan(report, rows, ft.HParams(train_on="all"))
    assert {e.id for e in plan.examples} < {e.id for e in full.examples}
    assert plan.fingerprint != full.fingerprint  # a fold model is never mistaken for the served one
    split = ft.make_plan(report, rows, ft.HParams(train_on="split"))
    assert list(split.calibration_ids) == ft.calibration_ids()
    with pytest.raises(ft.FinetuneError, match="train_on 'most'"):
        ft.make_plan(report, rows, ft.HParams(train_on="most"))


def test_translated_fields_are_examples_only_while_current(report, rows) -> None:
    examples = ft.translated_examples(report)
    assert {e.id.split(":")[1] for e in examples} == {"en", "uk"}
    assert all(len(e.targets) == 1 and e.targets[0] in {p.id for p in report.pledges} for e in examples)
    assert not any(e.query in {p.title for p in report.pledges} for e in examples)  # translated, not Polish
    lines = list(report.lines)
    first = report.pledges[0]
    n = first.pledge.span.start_line - 1
    lines[n] = lines[n] + " Dodane zdanie."
    changed = parse_report_text(lines, report.source, closing_paragraphs=1)  # as its manifest says
    stale = {e.id for e in examples} - {e.id for e in ft.translated_examples(changed)}
    assert stale == {f"translation:{lang}:{first.id}:pledge" for lang in ("en", "uk")}
    plan = ft.make_plan(report, rows, ft.HParams(translations=False))
    assert not any(e.id.startswith("translation:") for e in plan.examples)


def test_soup_averages_the_runs_weights(report, rows, monkeypatch) -> None:
    pytest.importorskip("torch")
    import numpy as np

    seeds = []

    def fake_run(base, plan, hp, log):
        seeds.append(hp.seed)
        return {"encoder.layer.11.output.dense.weight": np.full((1, 2), float(hp.seed), dtype=np.float32)}

    from index import finetune_train

    monkeypatch.setattr(finetune_train, "_train_one", fake_run)
    plan = ft.make_plan(report, rows, ft.HParams(soup=3, seed=10))
    tensors = finetune_train.train(Path("unused"), plan, log=None)
    assert seeds == [10, 11, 12] and np.array_equal(tensors["encoder.layer.11.output.dense.weight"], [[11.0, 11.0]])
    with pytest.raises(ft.FinetuneError, match="soup 0"):
        finetune_train.train(Path("unused"), ft.make_plan(report, rows, ft.HParams(soup=0)), log=None)


def _fake_base(tmp_path: Path) -> Path:
    """A folder that passes for a materialised base as far as saving a fine-tuned folder needs."""
    base = tmp_path / "base"
    base.mkdir()
    (base / ft.PROMPTS).write_text('{"prompts": {"query": "query: ", "passage": "passage: "}}')
    return base


def test_stale_hash_triggers_retraining(tmp_path, rows, monkeypatch) -> None:
    import numpy as np

    calls = []
    tensors = {"encoder.layer.11.output.dense.bias": np.zeros(3, dtype=np.float32)}
    monkeypatch.setattr(ft, "train", lambda base, plan, log: calls.append(plan) or tensors)
    base = _fake_base(tmp_path)
    sha = {"value": "a" * 64}
    monkeypatch.setattr(ft, "materialize_e5", lambda path, log=None: base)
    monkeypatch.setattr(ft, "weights_sha256", lambda path: sha["value"])
    queries = tmp_path / "dev.jsonl"
    queries.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    settings = replace(Settings(), finetune=True, finetune_dir=tmp_path / "ft")
    quiet = {"queries": queries, "log": None}
    ft.finetune(settings, **quiet)
    ft.finetune(settings, **quiet)
    assert len(calls) == 1  # current: not trained again
    sha["value"] = "b" * 64  # the base was rebuilt with other weights: train again over it
    ft.finetune(settings, **quiet)
    assert len(calls) == 2
    # the served reports are not training data: next year's report (renamed pledges and all) changes nothing
    ft.finetune(replace(settings, reports=tmp_path / "next-year-reports"), **quiet)
    assert len(calls) == 2
    info = json.loads((tmp_path / "ft" / ft.MARKER).read_text())
    assert info["base_weights_sha256"] == "b" * 64 and info["files"]["model.safetensors"] > 0
    assert info["training_data_sha256"] == calls[0].data_sha256 and info["base_model"] == DEFAULT_MODEL
    assert info["hparams"] == json.loads(json.dumps(asdict(ft.HParams()))) and info["hparams"]["train_on"] == "all"
    tune = {r["id"] for r in rows if r["split"] == "tune"}
    train_only = {r["id"] for r in ft.read_rows(ft.TRAIN_QUERIES, ("train",))}
    assert set(info["train_ids"]) == tune | train_only and info["calibration_ids"] == []  # cross-fitted
    name = served_name(settings)
    assert name.startswith(DEFAULT_MODEL + "+kqa-") and name != DEFAULT_MODEL
    qid = calls[0].examples[0].id
    edited = [dict(r, query=r["query"] + " pilne") if r["id"] == qid else r for r in rows]
    queries.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in edited), encoding="utf-8")
    ft.finetune(settings, **quiet)
    assert len(calls) == 3 and served_name(settings) != name  # new data → retrained, index goes stale


def test_missing_finetuned_model_is_a_clear_error(tmp_path) -> None:
    settings = replace(Settings(), finetune=True, finetune_dir=tmp_path / "absent")
    with pytest.raises(EncoderError, match="make model"):
        served_name(settings)
    assert served_name(replace(settings, finetune=False)) == DEFAULT_MODEL
    assert Settings.from_env({"KQA_FINETUNE": "false"}).finetune is False


def _tiny_plan(report, rows, **hparams) -> ft.Plan:
    """A plan cut to a dozen questions and the whole-pledge passages plus a few background ones (seconds)."""
    plan = ft.make_plan(report, rows, ft.HParams(max_seq_length=64, batch_size=4, **hparams))
    passages = (
        tuple(p for p in plan.passages if p[0] != ft.BACKGROUND)
        + tuple(p for p in plan.passages if p[0] == ft.BACKGROUND)[:5]
    )
    return replace(plan, examples=plan.examples[:12], passages=passages)


@pytest.mark.model
def test_training_is_deterministic_and_changes_only_the_top_layers(report, rows) -> None:
    import numpy as np

    from index.finetune_train import train
    from index.materialize import materialize_e5
    from settings import Settings

    base = materialize_e5(Settings.from_env().model_dir)
    plan = _tiny_plan(report, rows, train_layers=2, epochs=2)
    first, second = train(base, plan, log=None), train(base, plan, log=None)
    assert sorted(first) == sorted(second) and all(np.array_equal(first[k], second[k]) for k in first)
    assert {k.split(".")[2] for k in first} == {"10", "11"}  # encoder.layer.N.…: only the top two layers
    assert plan.fingerprint == _tiny_plan(report, rows, train_layers=2, epochs=2).fingerprint
    other = train(base, _tiny_plan(report, rows, train_layers=2, epochs=2, seed=14), log=None)
    assert not all(np.array_equal(first[k], other[k]) for k in first)  # the seed matters, so the test can fail


@pytest.mark.model
def test_tiny_training_run_gives_a_folder_the_encoder_serves(tmp_path, report) -> None:
    import numpy as np

    from index.encoder import load_encoder
    from index.onnx_export import export_onnx

    settings = replace(Settings.from_env(), finetune=True, finetune_dir=tmp_path / "ft", encoder_precision="float32")
    # one step on the tune questions alone: every text of the plan runs once through the frozen layers, so the
    # train-only questions and conversations would cost most of this test's time and test nothing more
    hp = ft.HParams(
        max_steps=1, batch_size=4, max_seq_length=64, train_layers=1, train_questions=False, conversations=0
    )
    folder = ft.finetune(settings, hparams=hp, log=None)
    info = ft.read_info(folder)
    assert info["hparams"]["max_steps"] == 1 and info["changed_tensors"] == 16  # one layer's weights and biases
    assert (folder / "model.safetensors").stat().st_size < 10_000_000  # no second copy of the word table
    st = load_encoder(replace(settings, encoder_backend="sentence-transformers"))
    assert st.name.startswith(DEFAULT_MODEL + "+kqa-")
    export_onnx(folder, settings.model_dir)
    onnx = load_encoder(settings)
    assert onnx.backend == "onnx" and onnx.name == st.name
    q = ["czy jest darmowa mammografia?"]
    assert np.allclose(onnx.encode_queries(q), st.encode_queries(q), atol=1e-5)
    base = load_encoder(replace(settings, finetune=False, encoder_backend="sentence-transformers"))
    assert not np.allclose(base.encode_queries(q), st.encode_queries(q), atol=1e-5)  # the trained layer is read


def test_train_only_questions_are_training_data_only(tmp_path, report, rows) -> None:
    title = " ".join(report.pledges[0].title.split())
    extra = [
        {
            "id": "tr-1",
            "query": "szef na mnie krzyczy",
            "lang": "pl",
            "kind": "situation",
            "expected": [title],
            "split": "train",
        }
    ]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in extra), encoding="utf-8")
    both = ft.training_rows(ft.QUERIES, train)
    assert ft.tune_folds(both, 3) == ft.tune_folds(rows, 3)  # never in a fold
    assert ft.split_tune(both) == ft.split_tune(rows)  # nor in the calibration part
    off, on = ft.make_plan(report, both, ft.HParams(train_questions=False)), ft.make_plan(report, both)
    assert "tr-1" not in off.train_ids and off.data_sha256 == ft.make_plan(report, rows).data_sha256
    assert "tr-1" in on.train_ids and "tr-1" not in on.calibration_ids
    assert next(e for e in on.examples if e.id == "tr-1").targets == (report.pledges[0].id,)
    held = ft.make_plan(report, both, ft.HParams(train_questions=True), held_out=ft.tune_folds(rows, 3)[0])
    assert "tr-1" in held.train_ids  # a cross-fitting fold model trains on it too
    assert ft.training_rows(ft.QUERIES, tmp_path / "absent.jsonl") == rows


def test_train_only_file_is_checked(tmp_path) -> None:
    bad = tmp_path / "train.jsonl"
    bad.write_text(json.dumps({"id": "x", "query": "q", "lang": "pl", "expected": [], "split": "tune"}) + "\n")
    with pytest.raises(ft.FinetuneError, match=r"train.jsonl, line 1: split 'tune'; expected one of train"):
        ft.training_rows(ft.QUERIES, bad)
    first = ft.read_rows()[0]
    bad.write_text(json.dumps(dict(first, split="train")) + "\n")
    with pytest.raises(ft.FinetuneError, match=f"question id '{first['id']}' appears twice"):
        ft.training_rows(ft.QUERIES, bad)


def test_profile_sets_training_and_its_own_settings_and_a_variable_still_wins(tmp_path, rows, monkeypatch) -> None:
    from settings import PROFILES, SettingsError

    quick, thorough = Settings.from_env({"KQA_PROFILE": "quick"}), Settings.from_env({"KQA_PROFILE": "thorough"})
    assert quick == Settings() and ft.served_hparams(quick) == ft.HParams(threads=quick.threads)  # no retraining
    auto = Settings.from_env({})  # unset: quick's values under the label auto, until index.profiles moves it on
    assert auto == replace(quick, profile="auto")
    assert auto.with_profile("quick") == quick and auto.with_profile("thorough") == thorough
    hp = ft.served_hparams(thorough)
    assert (hp.train_layers, hp.conversation_forms) == (12, ("ctx", "alone", "rw"))
    # switching back and forth neither retrains nor rebuilds
    assert thorough.finetune_dir != quick.finetune_dir and thorough.index_dir != quick.index_dir
    assert all(getattr(thorough, k) == v for k, v in PROFILES["thorough"].items())
    assert Settings.from_env({}, profile="thorough") == thorough
    assert Settings.from_env({"KQA_PROFILE": ""}) == auto  # an empty variable is the default, label included
    both = Settings.from_env({"KQA_PROFILE": "thorough", "KQA_FINETUNE_LAYERS": "8"})
    assert (both.profile, ft.served_hparams(both).train_layers) == ("thorough", 8)
    # moving auto on keeps what a variable or a replace() set, as from_env does
    moved = replace(Settings.from_env({"KQA_FINETUNE_LAYERS": "8"}), index_dir=tmp_path).with_profile("thorough")
    assert (moved.finetune_layers, moved.index_dir, moved.finetune_forms) == (8, tmp_path, "ctx,alone,rw")
    with pytest.raises(SettingsError, match="profile 'auto' is unknown; use one of quick, thorough"):
        auto.with_profile("auto")
    with pytest.raises(SettingsError, match="KQA_PROFILE='fast' is not a profile; use one of auto, quick, thorough"):
        Settings.from_env({"KQA_PROFILE": "fast"})
    with pytest.raises(ft.FinetuneError, match="KQA_FINETUNE_FORMS='ctx,question'"):
        ft.served_hparams(replace(quick, finetune_forms="ctx,question"))
    with pytest.raises(ft.FinetuneError, match="KQA_FINETUNE_LAYERS=13"):
        ft.served_hparams(replace(quick, finetune_layers=13))
    # the profile's hyper-parameters are what `make model` trains with
    import numpy as np

    calls = []
    tensors = {"encoder.layer.11.output.dense.bias": np.zeros(3, dtype=np.float32)}
    monkeypatch.setattr(ft, "train", lambda base, plan, log: calls.append(plan) or tensors)
    base = _fake_base(tmp_path)
    monkeypatch.setattr(ft, "materialize_e5", lambda path, log=None: base)
    monkeypatch.setattr(ft, "weights_sha256", lambda path: "a" * 64)
    queries = tmp_path / "dev.jsonl"
    queries.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    messages: list[str] = []
    ft.finetune(replace(thorough, finetune_dir=tmp_path / "ft"), queries=queries, log=messages.append)
    assert calls[0].hparams == hp
    # a terminal says which profile it trains, before the minutes of the progress bar
    assert "profile thorough: top 12 of 12 layers, conversation forms ctx,alone,rw" in messages[0]
