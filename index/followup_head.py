"""Whether a later turn of a conversation needs its context: a logistic head over the turn's query vectors.

"is it free?", "a psycholog?" or "where is it?" mean little alone and continue the conversation; "and does the
police have an English line?" is a question of its own, even right after a pledge. Retrieval scores tell the two
apart only in part (docs/experiments.md): what does is what the turn asks for, which its vector carries. The head
reads the turn's vector and how its context moves it (the turn with the earlier question in front, as the
assistant embeds it, minus the turn alone) and gives a logit: high for a detail about the pledge just shown or an
elliptical switch to another pledge, low for a new question or an off-topic one, said as a follow-up or not.

It is trained when the index is built, with the served encoder, on the training-only conversations of
``TRAINING_FILES`` (never on tune, test or the check set): those the model is fine-tuned on, and those written for
the head alone (``eval/conversations_head.jsonl``, whose vectors the model has not been trained to place; 710
conversations in 7 languages). L2-regularised logistic regression by Newton's method, no extra dependency. ``C``
was chosen by 5-fold cross-validation on the fine-tuning conversations, grouped by conversation (log loss 0.402 /
0.368 / 0.345 / 0.350 / 0.409 at C = 1 / 3 / 10 / 30 / 100, 2026-12-07). How far the logit must reach before the
context carries is chosen with the other follow-up knobs on tune and on the head's own conversations, their logits
from heads that did not learn from them (``cross_fitted``; ``python -m eval.followup --joint --also …``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

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


class HeadTurn(NamedTuple):
    """One later turn the head learns from, and where it is (``conversation`` id, turn ``position``)."""

    turn: str
    expanded: str  # the turn with its context
    lang: str
    continues: bool
    conversation: str = ""
    position: int = 0  # the turn's index in its conversation


def training_turns(path: Path, k: int) -> list[HeadTurn]:
    """Every later turn of a labelled kind, the context as fine-tuning and serving have it
    (``index.conversation.in_context``)."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            conv = json.loads(line)
            for i, turn, expanded in in_context(conv["turns"], k):
                if i and turn["kind"] in CONTINUES + STANDS_ALONE:
                    out.append(
                        HeadTurn(
                            turn["q"], expanded, conv["lang"], turn["kind"] in CONTINUES, str(conv.get("id", "")), i
                        )
                    )
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
    x, labels = _design(embed, turns, paths)
    w = fit_logistic(x, labels)
    info = {"files": [p.name for p in paths], "turns": len(turns), "continue": int(labels.sum()), "c": HEAD_C, "k": k}
    return w.astype(np.float32), info


def _design(
    embed: Callable[[list[str]], np.ndarray], turns: list[HeadTurn], paths: list[Path]
) -> tuple[np.ndarray, np.ndarray]:
    """The head's features and labels for ``turns`` (from ``paths``, named when they cannot train a head)."""
    labels = np.array([t.continues for t in turns], dtype=np.float64)
    if not turns or labels.min() == labels.max():
        names = ", ".join(str(p) for p in paths)
        raise HeadError(f"{names}: need later turns of both kinds ({', '.join(CONTINUES + STANDS_ALONE)}) to train on")
    vectors = embed([search_form(text, t.lang) for t in turns for text in (t.turn, t.expanded)])
    return features(vectors[0::2], vectors[1::2]), labels


def cross_fitted(
    embed: Callable[[list[str]], np.ndarray], paths: list[Path], held: Path, k: int, folds: int = 5
) -> dict[tuple[str, int], np.ndarray]:
    """Heads for choosing on a training file: ``held`` (one of ``paths``) is split into ``folds`` by conversation
    (seeded), and each of its conversations gets the weights of a head trained on ``paths`` without that
    conversation's fold. Keyed by (conversation id, turn index) for every turn of ``held``'s conversations (a
    turn no head learns from too). On its own training turns a head's logit is surer than on a turn it has never
    seen; choosing the logit's threshold on those would choose it too low."""
    if folds < 2:
        raise HeadError(f"folds={folds}: cross-fitting needs at least 2 folds")
    if held.resolve() not in [p.resolve() for p in paths]:
        raise HeadError(f"{held} is not one of the head's training files ({', '.join(str(p) for p in paths)})")
    tagged = [(path.resolve() == held.resolve(), turn) for path in paths for turn in training_turns(path, k)]
    x, labels = _design(embed, [turn for _, turn in tagged], paths)
    lines = [json.loads(line) for line in held.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [str(conv.get("id", "")) for conv in lines]
    convs = sorted(set(ids))
    np.random.default_rng(0).shuffle(convs)
    fold_of = {conv: i % folds for i, conv in enumerate(convs)}
    held_fold = np.array([fold_of[turn.conversation] if own else -1 for own, turn in tagged])
    weights = [fit_logistic(x[held_fold != f], labels[held_fold != f]).astype(np.float32) for f in range(folds)]
    return {
        (cid, i): weights[fold_of[cid]] for cid, conv in zip(ids, lines, strict=True) for i in range(len(conv["turns"]))
    }


def logit(head: np.ndarray, alone: np.ndarray, context: np.ndarray) -> float:
    """How surely a turn needs its context (> 0: more likely than not), from its two query vectors."""
    return float(features(alone, context) @ head[:-1] + head[-1])
