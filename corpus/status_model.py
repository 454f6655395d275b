"""The status labeller's second opinion: a small classifier over word stems learned from the labelled cases.

``corpus/status_cases.jsonl`` holds status passages written in the style of Polish municipal reports, each with
its label, a case type and a split (``tune`` or ``test``, assigned once, stratified by label). The classifier
learns from the ``tune`` cases only, when first needed, deterministically (same cases → same weights): multinomial
logistic regression (L2, full-batch gradient descent from zero weights, numpy only) over word-stem unigrams and
bigrams. Stems are a word's first ``STEM`` letters, so Polish inflection shares features; numbers, years and
percentages are folded to one token each; "nie" is joined to the word after it.

It never decides alone: ``corpus.status`` uses it to confirm or doubt what the rules read (its docstring says how).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

CASES_FILE = Path(__file__).resolve().parent / "status_cases.jsonl"
LABELS = ("done", "partly_done", "in_progress", "planned", "not_done", "unclear")
SPLITS = ("tune", "test", "fresh", "fresh2")  # fresh, fresh2: written after test was looked at (eval/status.py)
STEM = 6
L2 = 0.001
STEPS = 400
RATE = 2.0
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|proc\w*\.?)|\d+(?:[ ,.]\d{3})*(?:[.,]\d+)?|[^\W\d_]+")


@dataclass(frozen=True)
class Case:
    """One labelled status passage."""

    text: str
    label: str
    case: str
    split: str


def load_cases(path: Path = CASES_FILE, split: str | None = None) -> list[Case]:
    """The labelled cases (of one split, or all); a malformed line is refused naming the line."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            case = Case(text=row["text"], label=row["label"], case=row.get("case", ""), split=row["split"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path}, line {n}: not a case ({exc}); expected "
                '{"text": ..., "label": ..., "case": ..., "split": "tune" or "test"}'
            ) from None
        if case.label not in LABELS or case.split not in SPLITS:
            raise ValueError(
                f"{path}, line {n}: label {case.label!r} / split {case.split!r}; expected a label of "
                f"{', '.join(LABELS)} and split one of {', '.join(SPLITS)}"
            )
        if split is None or case.split == split:
            out.append(case)
    return out


def features(text: str) -> list[str]:
    """Word-stem unigrams and bigrams of a text, numbers folded, "nie" joined to the next word."""
    words: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        token = m.group()
        if token[0].isdigit():
            token = (
                "<%>"
                if ("%" in token or "proc" in token)
                else ("<rok>" if re.fullmatch(r"(?:19|20)\d\d", token) else "<liczba>")
            )
        words.append(token[:STEM])
    joined: list[str] = []
    for w in words:
        if joined and joined[-1] == "nie" and w != "tylko":
            joined[-1] = f"nie_{w}"
        else:
            joined.append(w)
    return joined + [f"{a}_{b}" for a, b in itertools.pairwise(joined)]


@dataclass(frozen=True)
class StatusModel:
    """Learned weights over a vocabulary; ``proba`` gives a probability per label."""

    vocab: dict[str, int]
    weights: np.ndarray  # (features + 1 bias, labels)

    def _sparse(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and values of a text's row: its known features (L2-normalised) and the bias."""
        cols = np.array(sorted({self.vocab[f] for f in features(text) if f in self.vocab}), dtype=np.int64)
        vals = np.full(len(cols), 1 / np.sqrt(len(cols))) if len(cols) else np.zeros(0)
        return np.append(cols, len(self.vocab)), np.append(vals, 1.0)

    def proba(self, text: str) -> dict[str, float]:
        cols, vals = self._sparse(text)
        z = vals @ self.weights[cols]
        p = np.exp(z - z.max())
        return dict(zip(LABELS, (p / p.sum()).tolist(), strict=True))


def train(cases: list[Case]) -> StatusModel:
    """Fit the classifier on ``cases`` (deterministic: zero start, fixed steps). The rows are kept sparse: a few
    dozen features each, so a step costs microseconds, not a dense matrix product."""
    vocab: dict[str, int] = {}
    for c in cases:
        for f in features(c.text):
            vocab.setdefault(f, len(vocab))
    model = StatusModel(vocab, np.zeros((len(vocab) + 1, len(LABELS))))
    parts = [model._sparse(c.text) for c in cases]
    rows = np.concatenate([np.full(len(cols), i) for i, (cols, _) in enumerate(parts)]) if parts else np.zeros(0, int)
    cols = np.concatenate([cols for cols, _ in parts]) if parts else np.zeros(0, int)
    vals = np.concatenate([vals for _, vals in parts]) if parts else np.zeros(0)
    y = np.zeros((len(cases), len(LABELS)))
    y[np.arange(len(cases)), [LABELS.index(c.label) for c in cases]] = 1.0
    w, n = model.weights, max(len(cases), 1)
    for _ in range(STEPS):
        z = np.zeros_like(y)
        np.add.at(z, rows, w[cols] * vals[:, None])
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = np.zeros_like(w)
        np.add.at(grad, cols, (p - y)[rows] * vals[:, None])
        w -= RATE * (grad / n + L2 * w)
    return model


@cache
def default_model() -> StatusModel:
    """The classifier learned from the tune cases, once per process."""
    return train(load_cases(split="tune"))
