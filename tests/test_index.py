"""FAISS search against brute-force numpy; saved index: round trip, staleness, damage, atomic writes."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index, input_fingerprint, open_index
from index.dense import DenseIndex
from index.fake import FakeEncoder
from index.lexical import LexicalIndex, analyze, fold
from index.store import IndexLoadError, load_index, save_index
from settings import Settings


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_search_equals_bruteforce() -> None:
    docs, queries = _unit_rows(500, 32, 1), _unit_rows(20, 32, 2)
    scores, ids = DenseIndex.build(docs).search(queries, k=10)
    brute = queries @ docs.T
    expected = np.argsort(-brute, axis=1)[:, :10]
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(brute, expected, axis=1), rtol=1e-5, atol=1e-6)


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).standard_normal((50, dim))
    x = (centres[rng.integers(0, 50, n)] + 0.5 * rng.standard_normal((n, dim))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_ivf_above_threshold_has_high_recall(tmp_path: Path) -> None:
    docs, queries = _clustered(20000, 32, 3), _clustered(50, 32, 4)
    idx = DenseIndex.build(docs, ann_threshold=10000)
    assert idx.kind == "ivf"
    idx.save(tmp_path / "ivf.faiss")
    idx = DenseIndex.load(tmp_path / "ivf.faiss", "ivf")  # nprobe survives a reload
    _, ids = idx.search(queries, k=10)
    truth = np.argsort(-(queries @ docs.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth, strict=True)])
    assert recall >= 0.95


def test_search_rejects_bad_k_and_dimension() -> None:
    idx = DenseIndex.build(_unit_rows(9, 8, 5))
    with pytest.raises(ValueError, match=r"k of 12 is outside 1..9"):
        idx.search(_unit_rows(1, 8, 6), k=12)
    with pytest.raises(ValueError, match=r"query dimension 4 differs from the index's 8"):
        idx.search(_unit_rows(1, 4, 6), k=1)


def test_lexical_analyzer_lemmatises_and_folds() -> None:
    assert fold("Zażółć gęślą") == "Zazolc gesla"
    assert analyze("przemocy w rodzinie", prefix=0) == analyze("przemoc rodzina", prefix=0)
    assert "czy" not in " ".join(analyze("czy jest pomoc", prefix=0))
    lex = LexicalIndex.build(["Bezpłatne badania mammograficzne", "Kursy języka polskiego"], prefix=6)
    known = lambda q: [t in lex.vocab for t in lex.query_terms(q)]  # noqa: E731
    assert known("tram ticket prices") == [False, False, False]
    assert known("free mammography screening") == [False, True, False]  # a shared stem, not a Polish word
    assert known("darmowa mammografia") == [False, True]
    assert int(np.argmax(lex.scores("kurs polskiego"))) == 1
    assert not lex.scores("tram ticket").any()


def _build(settings: Settings):
    from corpus.reports import load_report_set

    return build_index(
        load_report_set(settings.reports), FakeEncoder(), settings, fingerprint=input_fingerprint(settings.reports)
    )


def test_index_round_trip(tmp_path: Path, fake_settings: Settings) -> None:
    idx = _build(fake_settings)
    save_index(idx, fake_settings.index_dir)
    loaded = load_index(fake_settings.index_dir)
    assert loaded.manifest == idx.manifest and loaded.units == idx.units
    assert idx.followup_head is not None and loaded.followup_head is not None  # trained with the build
    np.testing.assert_array_equal(loaded.followup_head, idx.followup_head)
    np.testing.assert_array_equal(
        loaded.dense.index.reconstruct_n(0, loaded.dense.size), idx.dense.index.reconstruct_n(0, idx.dense.size)
    )
    q = FakeEncoder().encode_queries(["opieka wytchnieniowa"])
    assert loaded.dense.search(q, 5)[1].tolist() == idx.dense.search(q, 5)[1].tolist()
    assert json.loads((fake_settings.index_dir / "current" / "lexical" / "params.index.json").read_text())


def test_open_index_rebuilds_when_stale(fake_settings: Settings) -> None:
    messages: list[str] = []
    open_index(fake_settings, FakeEncoder(), log=messages.append)
    assert "no index" in messages[0]
    messages.clear()
    open_index(fake_settings, FakeEncoder(), log=messages.append)
    assert messages == []  # fresh: loaded, not rebuilt
    other = replace(fake_settings, lexical_prefix=7)
    open_index(other, FakeEncoder(), log=messages.append)
    assert "stale (lexical_prefix was 6, now 7)" in messages[0]
    messages.clear()
    open_index(other, FakeEncoder(dim=32, name="another-model"), log=messages.append)
    assert "model was 'fake-sha256', now 'another-model'" in messages[0] and "dim was 64, now 32" in messages[0]


def test_the_follow_up_head_follows_its_training_conversations(
    fake_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edited training conversations rebuild the index (the head is retrained); without them there is no head."""
    import index.build as build
    from index.followup_head import TRAINING_FILES

    copy = tmp_path / "conversations_train.jsonl"
    copy.write_bytes(TRAINING_FILES[0].read_bytes())
    monkeypatch.setattr(build, "HEAD_FILES", (copy, tmp_path / "missing.jsonl"))
    messages: list[str] = []
    first = open_index(fake_settings, FakeEncoder(), log=messages.append)
    lines = copy.read_text(encoding="utf-8").splitlines()
    copy.write_text("\n".join(lines[: len(lines) // 2]) + "\n", encoding="utf-8")
    messages.clear()
    second = open_index(fake_settings, FakeEncoder(), log=messages.append)
    assert "stale (followup_head was" in messages[0]
    assert first.followup_head is not None and second.followup_head is not None
    assert second.manifest["followup_head_trained"]["turns"] < first.manifest["followup_head_trained"]["turns"]
    copy.unlink()
    assert open_index(fake_settings, FakeEncoder(), log=messages.append).followup_head is None


@pytest.mark.parametrize(
    "damage",
    [
        "truncate_faiss",
        "garbage_manifest",
        "drop_units",
        "manifest_list",
        "cut_source_copy",
        "edit_pledges_same_size",
        "drop_pledge_id",
        "drop_followup_head",
    ],
)
def test_damaged_index_is_detected_and_rebuilt(fake_settings: Settings, damage: str) -> None:
    open_index(fake_settings, FakeEncoder(), log=lambda m: None)
    build = fake_settings.index_dir / "current"
    if damage == "truncate_faiss":
        data = (build / "dense.faiss").read_bytes()
        (build / "dense.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_manifest":
        (build / "manifest.json").write_text("{not json")
    elif damage == "manifest_list":
        (build / "manifest.json").write_text("[1, 2]")
    elif damage == "cut_source_copy":  # a snapshot cut short made every question fail with KeyError
        copy = build / "sources" / "krakow-miasto-rownych-szans.txt"
        copy.write_text(copy.read_text()[:500])
    elif damage == "edit_pledges_same_size":  # swapped ids load silently without a hash per file
        ids = json.loads((build / "pledges.json").read_text())
        (build / "pledges.json").write_text(json.dumps([ids[1], ids[0], *ids[2:]]))
    elif damage == "drop_followup_head":
        (build / "followup_head.npy").unlink()
    elif damage == "drop_pledge_id":
        ids = json.loads((build / "pledges.json").read_text())
        (build / "pledges.json").write_text(json.dumps(ids[1:]))
    else:
        lines = (build / "units.jsonl").read_text().splitlines()
        (build / "units.jsonl").write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(IndexLoadError, match="rebuild it"):
        load_index(fake_settings.index_dir)
    messages: list[str] = []
    idx = open_index(fake_settings, FakeEncoder(), log=messages.append)
    assert "rebuilding" in messages[0] and len(idx.units) == idx.dense.size


def test_crash_during_save_keeps_the_last_good_index(fake_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    good = open_index(fake_settings, FakeEncoder(), log=lambda m: None)
    before = os.readlink(fake_settings.index_dir / "current")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_index(good, fake_settings.index_dir)
    monkeypatch.undo()
    assert os.readlink(fake_settings.index_dir / "current") == before
    assert [p.name for p in (fake_settings.index_dir / "builds").iterdir()] == [Path(before).name]
    assert load_index(fake_settings.index_dir).manifest == good.manifest


def test_query_terms_match_simplemma_without_loading_it(report) -> None:
    """The run-time query map gives, for every term the index knows, what simplemma itself would."""
    docs = [f"{p.title}\n{p.pledge.text}\n{p.status.text}" for p in report.pledges]
    lex = LexicalIndex.build(docs, prefix=6)
    questions = [
        "Czy są bezpłatne badania mammograficzne dla kobiet?",
        "przemocy w rodzinie pomoc dzieciom",
        "opiekunów osób niesamodzielnych podwyżki",
        "kursy języka polskiego dla cudzoziemców",
        "szkoleń dla przedsiębiorczych kobiet",
        "mniejszościom narodowym festiwale",
        "bez diakrytykow: przemoc w rodzinie, opieka wytchnieniowa",
    ]
    for q in questions:
        assert [t for t in lex.query_terms(q) if t in lex.vocab] == [t for t in analyze(q) if t in lex.vocab], q
    assert 100 < len(lex.query_map) < 20_000


def test_lexical_bound_is_the_true_upper_bound(report) -> None:
    docs = [f"{p.title}\n{p.pledge.text}\n{p.status.text}" for p in report.pledges]
    lex = LexicalIndex.build(docs, prefix=6)
    for q in ["przemoc przemoc w rodzinie pełnomocnik", "mammografia HPV kardiolog", "kursy języka polskiego"]:
        norm = lex.normalized_scores(q)
        assert norm.max() > 0.2 and (norm <= 1.0).all(), (q, norm.max())
    # the idf used for the bound is bm25s' own: a one-term query scores idf · tf/(tf + k1·norm) < idf
    term = next(iter(lex.vocab))
    assert (lex.retriever.get_scores([term]) < lex.idf(term)).all()
    assert lex.retriever.get_scores([term]).max() > 0.3 * lex.idf(term)


@pytest.mark.real_release
def test_simplemma_dictionary_is_released_after_a_build(report) -> None:
    from index import lexical

    LexicalIndex.build([report.pledges[0].pledge.text], prefix=6)
    assert lexical._polish.cache_info().currsize == 0 and lexical._term.cache_info().currsize == 0


def test_auto_backend_says_when_it_falls_back_to_torch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from index import encoder, onnx_encoder, onnx_export

    def missing(*args: object, **kwargs: object) -> None:
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(onnx_export, "export_onnx", lambda folder, *args, **kwargs: folder)
    monkeypatch.setattr(encoder, "model_folders", lambda settings: (Path("models/x"), Path("models/x")))
    monkeypatch.setattr(onnx_encoder.OnnxEncoder, "load", classmethod(missing))
    monkeypatch.setattr(encoder, "load_sentence_transformer", lambda settings: "torch encoder")
    assert encoder.load_encoder(Settings()) == "torch encoder"
    assert "falling back to sentence-transformers and torch" in caplog.text and "make setup" in caplog.text
