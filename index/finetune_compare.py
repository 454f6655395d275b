"""Choosing fine-tuning hyper-parameters on the calibration part of ``tune`` (never on ``test``).

    python -m index.finetune_compare            # every variant below, and the base model
    python -m index.finetune_compare no-negatives  # only the named ones

Each variant is trained in memory (nothing is saved) on the train part of tune (``train_on="split"``, whatever
the variant says) and measured with whole-pledge dense hit@1 / mrr@10 and the
off-topic ROC AUCs (top cosine, margin) on the calibration questions the model was not trained on. A variant
that wins here still has to win on ``test`` (``python -m eval``) before it becomes the default.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from corpus.model import Report
from index.finetune import train
from index.finetune_data import HParams, calibration_ids, make_plan, training_report, training_rows
from index.profiles import first
from index.progress import stderr
from settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def roc_auc(pos: list[float], neg: list[float]) -> float:
    """P(score of a random positive > a random negative), ties counted half."""
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def calibration_metrics(model: SentenceTransformer, report: Report, rows: list[dict], ids: Iterable[str]) -> dict:
    """Whole-pledge dense hit@1 / mrr and off-topic ROC AUCs, on the given question ids.

    ``auc_top``: of the top cosine; ``auc_margin``: of top cosine minus the mean of the three best background
    cosines (the served abstention score, without the build's background calibration).
    """
    from index.units import build_units, load_background

    prompts = model.prompts or {}
    units = [u for u in build_units(report) if u.kind == "whole"]
    title_to_id = {" ".join(p.title.split()): p.id for p in report.pledges}
    by_id = {r["id"]: r for r in rows}
    chosen = [by_id[i] for i in sorted(ids)]

    def enc(texts: list[str], prompt: str) -> np.ndarray:
        return np.asarray(
            model.encode(texts, prompt=prompt, normalize_embeddings=True, show_progress_bar=False, batch_size=32)
        )

    pv = enc([u.text for u in units], (prompts.get("passage") or ""))
    qv = enc([r["query"] for r in chosen], (prompts.get("query") or ""))
    sims = qv @ pv.T
    bg = np.sort(qv @ enc(load_background(), (prompts.get("passage") or "")).T, axis=1)[:, -3:].mean(axis=1)
    hits, rr, top_in, top_out, margin_in, margin_out = [], [], [], [], [], []
    for r, s, b in zip(chosen, sims, bg, strict=True):
        expected = {title_to_id[" ".join(t.split())] for t in r["expected"]}
        order = [units[j].pledge_id for j in np.argsort(-s, kind="stable")]
        if expected:
            hits.append(order[0] in expected)
            rank = min(order.index(e) for e in expected) + 1
            rr.append(1 / rank if rank <= 10 else 0.0)
            top_in.append(float(s.max()))
            margin_in.append(float(s.max() - b))
        else:
            top_out.append(float(s.max()))
            margin_out.append(float(s.max() - b))
    return {
        "n_in": len(hits),
        "n_out": len(top_out),
        "hit@1": round(float(np.mean(hits)), 4),
        "mrr@10": round(float(np.mean(rr)), 4),
        "auc_top": round(roc_auc(top_in, top_out), 4),
        "auc_margin": round(roc_auc(margin_in, margin_out), 4),
    }


def _model(base_dir: Path, trained: dict[str, np.ndarray] | None = None) -> SentenceTransformer:
    """The base sentence-transformers model, with ``trained`` tensors loaded over it."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(base_dir), local_files_only=True)
    if trained:
        bert = cast(torch.nn.Module, model[0].auto_model)
        bert.load_state_dict({k: torch.from_numpy(v) for k, v in trained.items()}, strict=False)
    return model


def compare(settings: Settings, variants: dict[str, HParams], log: Callable[[str], None] = print) -> dict:
    """Train each variant in memory and measure it (and the base model) on the calibration part."""
    from index.materialize import materialize_e5

    report, rows = training_report(), training_rows()
    cal = calibration_ids()
    base_dir = materialize_e5(settings.model_dir)
    out = {"base": calibration_metrics(_model(base_dir), report, rows, cal)}
    log(f"base: {out['base']}")
    for name, hp in variants.items():
        start = time.monotonic()
        # always the 70/30 split here: a variant trained on all of tune would be measured on its own questions
        plan = make_plan(report, rows, replace(hp, train_on="split"))
        model = _model(base_dir, train(base_dir, plan, log=stderr))
        out[name] = calibration_metrics(model, report, rows, cal) | {"seconds": round(time.monotonic() - start)}
        log(f"{name}: {out[name]}")
    return out


VARIANTS = {  # measured so far: README, Evaluation (default vs no-translations vs no-negatives)
    "default": HParams(),
    "no-translations": HParams(translations=False),
    "no-train-questions": HParams(train_questions=False),
    "no-negatives": HParams(negatives=False),
    "soup3": HParams(soup=3),
    "step": HParams(passage_grad="step"),
    "layers4": HParams(train_layers=4),
    "t0.02": HParams(temperature=0.02),
    "t0.1": HParams(temperature=0.1),
    "epochs5": HParams(epochs=5),
    "lr5e-5": HParams(lr=5e-5),
    "units": HParams(kinds=("whole", "pledge", "status")),
}


if __name__ == "__main__":
    names = sys.argv[1:] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    print(json.dumps(compare(first(Settings.from_env()), {n: VARIANTS[n] for n in names}), indent=2))
