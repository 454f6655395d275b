"""The follow-up head (index.followup_head): its training turns, its fit, and its place in a build."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.fake import FakeEncoder
from index.followup_head import (
    HeadError,
    HeadTurn,
    cross_fitted,
    features,
    fit_logistic,
    logit,
    train_head,
    training_turns,
)


def _write(path: Path, convs: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in convs) + "\n", encoding="utf-8")
    return path


def _conv(cid: str, *turns: tuple[str, str]) -> dict:
    return {"id": cid, "lang": "en", "turns": [{"q": q, "kind": k} for q, k in turns]}


def test_training_turns_pair_each_later_turn_with_its_context(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.jsonl",
        [
            _conv(
                "a",
                ("free mammography?", "first"),
                ("in Polish please", "language"),  # neither kind, and not context for the next turn
                ("is it free?", "detail"),
                ("and a tram ticket?", "offtopic_followup"),
            )
        ],
    )
    assert training_turns(path, 1) == [
        HeadTurn("is it free?", "free mammography? is it free?", "en", True, "a", 2),
        HeadTurn("and a tram ticket?", "is it free? and a tram ticket?", "en", False, "a", 3),
    ]


def test_a_malformed_conversation_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(_conv("a", ("q", "first"))) + "\n" + '{"lang": "en"}\n', encoding="utf-8")
    with pytest.raises(HeadError, match=r"c\.jsonl, line 2: KeyError"):
        training_turns(path, 1)
    one_kind = _write(tmp_path / "d.jsonl", [_conv("a", ("q", "first"), ("is it free?", "detail"))])
    with pytest.raises(HeadError, match="both kinds"):
        train_head(FakeEncoder().encode_queries, [one_kind], 1)


def test_fit_logistic_minimises_its_objective() -> None:
    """Newton's steps reach the minimum: the gradient vanishes, and the fit separates what is separable."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 * rng.standard_normal(200) > 0.2).astype(float)
    w = fit_logistic(x, y, c=1.0)
    xb = np.hstack([x, np.ones((200, 1))])
    p = 1 / (1 + np.exp(-(xb @ w)))
    grad = xb.T @ (p - y) + np.r_[w[:-1], 0.0]
    assert np.abs(grad).max() < 1e-6
    assert ((xb @ w > 0) == (y > 0)).mean() > 0.85 and w[0] > 0 > w[1]


def test_the_head_reads_what_a_turn_asks_for(tmp_path: Path) -> None:
    """Trained on turns that continue ("is it …?") and turns that stand alone, it scores unseen ones the same
    way; its logit is the linear function of the turn's two vectors."""
    convs = []
    for i, (thing, other) in enumerate(
        [("free", "tram"), ("open", "museum"), ("online", "parking"), ("anonymous", "zoo")]
    ):
        convs.append(_conv(f"c{i}", ("help for carers", "first"), (f"is it {thing}?", "detail")))
        convs.append(
            _conv(f"d{i}", ("help for carers", "first"), (f"where is the {other} office?", "offtopic_followup"))
        )
    enc = FakeEncoder()
    half = len(convs) // 2
    paths = [_write(tmp_path / "a.jsonl", convs[:half]), _write(tmp_path / "b.jsonl", convs[half:])]
    head, info = train_head(enc.encode_queries, paths, 1)
    assert head.shape == (2 * enc.dim + 1,) and info == {
        "files": ["a.jsonl", "b.jsonl"],
        "turns": 8,
        "continue": 4,
        "c": 10.0,
        "k": 1,
    }
    a, c = enc.encode_queries(["is it cheap?", "help for carers is it cheap?"])
    b, d = enc.encode_queries(["where is the library office?", "help for carers where is the library office?"])
    assert logit(head, a, c) > 0 > logit(head, b, d)
    assert logit(head, a, c) == pytest.approx(float(features(a, c) @ head[:-1] + head[-1]), abs=1e-5)


def test_cross_fitted_heads_never_saw_the_conversation_they_score(tmp_path: Path) -> None:
    """Each conversation of the held file gets a head trained on everything but its fold: the same weights
    within a fold, and exactly those a head fitted without that fold's conversations has."""
    things = ["free", "open", "online", "anonymous", "cheap", "near"]
    others = ["tram", "museum", "parking", "zoo", "pool", "court"]
    base = [_conv(f"b{i}", ("help for carers", "first"), (f"is it {t}?", "detail")) for i, t in enumerate(things)]
    base += [_conv(f"o{i}", ("help", "first"), (f"the {o} office?", "offtopic_followup")) for i, o in enumerate(others)]
    held = [
        _conv(f"h{i}", ("respite care", "first"), (f"is it {t} there?", "detail"), (f"and the {o}?", "new_topic"))
        for i, (t, o) in enumerate(zip(things, others, strict=True))
    ]
    enc = FakeEncoder()
    paths = [_write(tmp_path / "train.jsonl", base), _write(tmp_path / "held.jsonl", held)]
    heads = cross_fitted(enc.encode_queries, paths, paths[1], 1, folds=3)
    assert set(heads) == {(f"h{i}", j) for i in range(6) for j in range(3)}  # every turn, first turns too
    groups: dict[bytes, set[str]] = {}
    for (conv, _), w in heads.items():
        groups.setdefault(w.tobytes(), set()).add(conv)
    assert sorted(len(g) for g in groups.values()) == [2, 2, 2]  # three folds of two conversations
    turns = training_turns(paths[0], 1) + training_turns(paths[1], 1)
    for convs in groups.values():
        kept = [t for t in turns if t.conversation not in convs]
        vectors = enc.encode_queries([text for t in kept for text in (t.turn, t.expanded)])
        w = fit_logistic(features(vectors[0::2], vectors[1::2]), np.array([t.continues for t in kept], float))
        assert np.allclose(heads[min(convs), 1], w, atol=1e-5)
    again = cross_fitted(enc.encode_queries, paths, paths[1], 1, folds=3)  # seeded: the same folds each time
    assert again.keys() == heads.keys() and all(np.array_equal(again[k], heads[k]) for k in heads)
    with pytest.raises(HeadError, match="at least 2 folds"):
        cross_fitted(enc.encode_queries, paths, paths[1], 1, folds=1)
    with pytest.raises(HeadError, match="not one of the head's training files"):
        cross_fitted(enc.encode_queries, paths[:1], paths[1], 1)
