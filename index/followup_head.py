"""Whether a later turn of a conversation needs its context: a logistic head over the turn's query vectors.

"is it free?", "a psycholog?" or "where is it?" mean little alone and continue the conversation; "and does the
police have an English line?" is a question of its own, even right after a pledge. Retrieval scores tell the two
apart only in part (docs/experiments.md): what does is what the turn asks for, which its vector carries. The head
reads the turn's vector and how its context moves it (the turn with the earlier question in front, as the
assistant embeds it, minus the turn alone) and gives a logit: high for a detail about the pledge just shown or an
elliptical switch to another pledge, low for a new question or an off-topic one, said as a follow-up or not.

It is trained when the index is built, with the served encoder, on the training-only conversations of
``TRAINING_FILES`` (never on tune or test): those the model is fine-tuned on, and those written for the head
alone (``eval/conversations_head.jsonl``, whose vectors the model has not been trained to place; with them, on
tune, 374 → 375 turns, out of fold 373 → 375). L2-regularised logistic regression by Newton's method, no extra
dependency. ``C`` was chosen by 5-fold cross-validation on the fine-tuning conversations, grouped by conversation
(log loss 0.402 / 0.368 / 0.345 / 0.350 / 0.409 at C = 1 / 3 / 10 / 30 / 100, 2026-12-07). How far the logit
must reach before the context carries is chosen on tune (``python -m eval.followup --head``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.conversation import in_context
from index.romanized import search_form
from settings import ROOT

# Turn kinds (eval/conversations_train.jsonl) that continue the conversation, and those that stand alone;
# first turns and requests for another language teach neither.
CONTINUES = ("detail", "sibling")
STANDS_ALONE = ("new_topic", "offtopic_followup", "offtopic_new")
HEAD_C = 10.0
FILE = "followup_head.npy"
# what the head trains on (each optional: a missing file is skipped; with neither there is no head)
TRAINING_FILES = (ROOT / "eval" / "conversations_train.jsonl", ROOT / "eval" / "conversations_head.jsonl")


class HeadError(ValueError):
    """The training conversations cannot be used; the message names the file, the line and the fix."""


def training_turns(path: Path, k: int) -> list[tuple[str, str, str, bool]]:
    """(turn, turn with its context, language, continues?) for every later turn of a labelled kind, the context
    as fine-tuning and serving have it (``index.conversation.in_context``)."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            conv = json.loads(line)
            for i, turn, expanded in in_context(conv["turns"], k):
                if i and turn["kind"] in CONTINUES + STANDS_ALONE:
                    out.append((turn["q"], expanded, conv["lang"], turn["kind"] in CONTINUES))
        except (ValueError, KeyError, TypeError) as exc:
            raise HeadError(
                f"{path}, line {n}: {type(exc).__name__}: {exc}; expected a conversation "
                '{"lang": …, "turns": [{"q": …, "kind": …}, …]}'
            ) from None
    return out


def features(alone: np.ndarray, context: np.ndarray) -> np.ndarray:
    """What the head reads (rows of): the turn's vector and how its context moves it."""
    return np.concatenate([alone, context - alone], axis=-1)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = HEAD_C, iterations: int = 50) -> np.ndarray:
    """Weights (bias last) minimising ½‖w‖² + c · Σ log loss, the bias unpenalised: Newton's method, which
    converges in a few steps for a few hundred features."""
    xb = np.hstack([x.astype(np.float64), np.ones((len(x), 1))])
    penalty = np.ones(xb.shape[1])
    penalty[-1] = 0.0
    w = np.zeros(xb.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = c * xb.T @ (p - y) + penalty * w
        hess = c * (xb.T * (p * (1 - p))) @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def train_head(embed: Callable[[list[str]], np.ndarray], paths: list[Path], k: int) -> tuple[np.ndarray, dict]:
    """The head's weights for the query vectors ``embed`` gives and what it was trained on (for the build's
    manifest)."""
    turns = [turn for path in paths for turn in training_turns(path, k)]
    labels = np.array([t[3] for t in turns], dtype=np.float64)
    if not turns or labels.min() == labels.max():
        names = ", ".join(str(p) for p in paths)
        raise HeadError(f"{names}: need later turns of both kinds ({', '.join(CONTINUES + STANDS_ALONE)}) to train on")
    texts = [search_form(text, lang) for alone, ctx, lang, _ in turns for text in (alone, ctx)]
    vectors = embed(texts)
    w = fit_logistic(features(vectors[0::2], vectors[1::2]), labels)
    info = {"files": [p.name for p in paths], "turns": len(turns), "continue": int(labels.sum()), "c": HEAD_C, "k": k}
    return w.astype(np.float32), info


def logit(head: np.ndarray, alone: np.ndarray, context: np.ndarray) -> float:
    """How surely a turn needs its context (> 0: more likely than not), from its two query vectors."""
    return float(features(alone, context) @ head[:-1] + head[-1])
