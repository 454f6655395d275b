"""Long questions read in windows (assistant/retriever.py) and the sweep that chooses their settings (eval/windows.py),
with the fake encoder."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from assistant import Assistant
from assistant.retriever import RetrievalError, Retriever, evidence_windows
from index.encoder import Encoder

# a story in words the report and the background never use, so that it only dilutes (the fake encoder is a bag of
# words: a real story's function words would match every pledge alike)
STORY = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt ut labore. "
    "Ut enim ad minim veniam, quis nostrud exercitation. Duis aute irure dolor in reprehenderit voluptate. "
)
ASK = "Gdzie jest opieka wytchnieniowa? Rozwiniemy system opieki wyręczeniowej?"
RESPITE = "rozwiniemy-system-opieki-wyreczeniowej"


class CountingEncoder:
    """Records every batch the retriever embeds."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.calls: list[list[str]] = []
        self.name, self.dim, self.backend = encoder.name, encoder.dim, encoder.backend

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.encoder.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode_passages(texts)


def _retriever(a: Assistant, **settings: Any) -> Retriever:
    return Retriever(a.index, CountingEncoder(a.encoder), replace(a.settings, **settings), a.settings.strategy)


def test_short_text_has_no_windows_and_long_text_is_cut_at_sentence_ends() -> None:
    assert evidence_windows(ASK, 40, 4, 30) == []
    long = STORY * 2 + ASK
    windows = evidence_windows(long, 40, 4, 30)
    assert 2 <= len(windows) <= 4
    assert " ".join(windows).split() == long.split()  # every word once, in order
    assert all(w.rstrip().endswith((".", "?")) for w in windows)  # no sentence cut in two
    assert windows[-1].endswith(ASK)
    assert evidence_windows(long, 0, 4, 30) == evidence_windows(long, 40, 0, 30) == []


def test_a_run_on_sentence_is_cut_at_words_and_windows_stay_bounded() -> None:
    run_on = " ".join(f"słowo{i}" for i in range(300))
    windows = evidence_windows(run_on, 40, 4, 30)
    assert len(windows) == 4 and [len(w.split()) for w in windows] == [75, 75, 75, 75]
    assert len(evidence_windows(STORY * 20, 40, 6, 10)) == 6


def test_a_short_question_costs_one_text_and_scores_as_without_windows(fake_assistant: Assistant) -> None:
    on, off = _retriever(fake_assistant), _retriever(fake_assistant, window_max=0)
    a, b = on.retrieve(ASK), off.retrieve(ASK)
    assert on.encoder.calls == [[ASK]] and a.windows == 0  # the fake encoder records its calls
    assert a.ranked == b.ranked and a.margin == b.margin and np.array_equal(a.unit_scores, b.unit_scores)


def test_a_long_question_is_one_batch_and_its_evidence_blends_the_whole_with_its_windows(
    fake_assistant: Assistant,
) -> None:
    long = STORY * 3 + ASK
    on = _retriever(fake_assistant, window_weight=0.5, window_pool="mean")
    result = on.retrieve(long)
    (batch,) = on.encoder.calls  # the fake encoder records its calls
    assert batch[0] == long and batch[1:] == on.windows(long) and 2 <= result.windows == len(batch) - 1 <= 4
    # the same evidence from each text scored alone: relative to its own background, windows averaged
    alone = [_retriever(fake_assistant, window_max=0).retrieve(t) for t in batch]
    relative = [r.unit_scores - r.background for r in alone]
    expected = alone[0].background + 0.5 * relative[0] + 0.5 * np.mean(relative[1:], axis=0)
    assert result.unit_scores == pytest.approx(expected, abs=1e-5) and result.background == alone[0].background
    assert result.margin == pytest.approx(float(expected.max()) - alone[0].background, abs=1e-5)
    whole = _retriever(fake_assistant, window_weight=0.0).retrieve(long)
    assert [r.pledge_id for r in whole.ranked] == [r.pledge_id for r in alone[0].ranked]
    assert whole.margin == pytest.approx(alone[0].margin, abs=1e-6)


def test_with_max_pooling_the_asking_window_decides(fake_assistant: Assistant) -> None:
    long = STORY * 3 + ASK
    result = _retriever(fake_assistant, window_pool="max").retrieve(long)
    whole = _retriever(fake_assistant, window_max=0).retrieve(long)
    assert result.ranked[0].pledge_id == RESPITE != whole.ranked[0].pledge_id
    assert result.margin > whole.margin  # the asking window is nearer the report than the diluted whole


def test_each_window_is_compared_with_its_own_background(fake_assistant: Assistant) -> None:
    """An off-topic post stays off-topic: its windows about city matters are judged against the background."""
    post = STORY * 3 + "Ile kosztuje bilet miesięczny na tramwaj i autobus w Krakowie dla ucznia?"
    on, off = _retriever(fake_assistant, window_pool="max"), _retriever(fake_assistant, window_max=0)
    assert on.retrieve(post).margin < on.retrieve(STORY * 3 + ASK).margin
    assert off.retrieve(post).windows == 0


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("window_weight", 1.5, "window_weight of 1.5 must lie in 0..1"),
        ("window_max", -1, "must not be negative"),
    ],
)
def test_bad_window_settings_are_named(fake_assistant: Assistant, setting: str, value: object, message: str) -> None:
    with pytest.raises(RetrievalError, match=message):
        _retriever(fake_assistant, **{setting: value})


def test_window_sweep_counts_each_kind_and_embeds_each_text_once(fake_assistant: Assistant) -> None:
    from eval.queries import Query
    from eval.windows import CachedEncoder, sweep

    queries = [
        Query("a", STORY * 3 + ASK, "pl", (RESPITE,), 1, "long_post", "tune"),
        Query("b", ASK, "pl", (RESPITE,), 2, "general", "tune"),
        Query("c", STORY * 3 + "Ile kosztuje bilet na tramwaj?", "pl", (), 3, "long_post", "tune"),
    ]
    grid = {"window_min_words": (40,), "window_max": (0, 3), "window_words": (30,), "window_weight": (1.0,)}
    grid = {"abstain_temperature": (0.0,), **grid}
    results = sweep(fake_assistant, queries, grid)
    assert [r["variant"] for r in results] == [
        {"abstain_temperature": 0.0, "window_max": 0},
        {"abstain_temperature": 0.0, "window_min_words": 40, "window_max": 3, "window_words": 30, "window_weight": 1.0},
    ]
    for r in results:
        assert r["at_served"]["long_post"]["n"] == 1 and r["at_served"]["long_post"]["n_off"] == 1
        assert r["at_served"]["all"]["n"] == 2 and set(r["margins"]) == {"a", "b", "c"}
    counting = CountingEncoder(fake_assistant.encoder)
    cached = CachedEncoder(counting)
    cached.encode_queries(["x", "y", "x"])
    cached.encode_queries(["y", "z"])
    assert counting.calls == [["x", "y"], ["z"]]


def test_soft_max_is_the_maximum_at_temperature_zero_and_above_it_otherwise() -> None:
    from assistant.retriever import soft_max

    x = np.array([[0.5, 0.7, -np.inf], [0.1, 0.1, 0.1]], dtype=np.float32)
    assert soft_max(x, 0.0).tolist() == pytest.approx([0.7, 0.1])
    soft = soft_max(x, 0.1)
    assert soft[0] == pytest.approx(0.7 + 0.1 * np.log(1 + np.exp(-2)), abs=1e-6)  # −inf adds nothing
    assert soft[1] == pytest.approx(0.1 + 0.1 * np.log(3), abs=1e-6)  # three alike: log 3 above each
    assert soft_max(x, 0.001).tolist() == pytest.approx([0.7, 0.1 + 0.001 * np.log(3)], abs=1e-5)
    assert soft_max(x.T, 0.1, axis=0).tolist() == pytest.approx(soft.tolist())


def test_soft_margin_counts_every_close_passage_on_both_sides(fake_assistant: Assistant) -> None:
    from assistant.retriever import soft_max

    t = 0.08
    r = _retriever(fake_assistant, abstain_temperature=t)
    result = r.retrieve(ASK)
    q = fake_assistant.encoder.encode_queries([ASK])[0]
    background = float(soft_max(fake_assistant.index.background @ q, t))
    used = r._abstain_used  # noqa: SLF001 — the units abstention looks at
    assert result.background == pytest.approx(background, abs=1e-5)
    assert result.margin == pytest.approx(float(soft_max(result.unit_scores[used], t)) - background, abs=1e-5)
    assert r.encoder.calls == [[ASK]]  # the fake encoder records its calls


@pytest.mark.model
def test_the_reports_own_headings_and_sentences_are_answered(real_assistant: Assistant) -> None:
    """The build keeps only background passages under which no pledge heading or sentence, asked as a question,
    is refused; it reasons with the hard margin, so check that the served (soft) margin keeps that promise."""
    from index.build import pseudo_questions

    r = real_assistant.retriever
    refused = [q for q in pseudo_questions(real_assistant.library) if r.abstains(r.retrieve(q, "pl"), "pl")]
    assert refused == []
