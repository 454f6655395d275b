"""The training loop of ``index.finetune`` (needs torch; imported only when a model is trained).

One run: the base model with every random generator seeded and deterministic algorithms on; per step, a batch
of questions and the report's passages embedded with gradient, a softmax over the passage columns (``_loss``),
AdamW with a linear decay. ``soup`` > 1 averages the weights of that many runs with consecutive seeds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from index.finetune import BACKGROUND, Example, FinetuneError, HParams, Plan


def _targets(batch: list[Example], classes: list[str]) -> object:
    """Target distribution over classes: spread evenly over each example's expected classes."""
    import torch

    target = torch.zeros(len(batch), len(classes))
    for i, e in enumerate(batch):
        for t in e.targets:
            target[i, classes.index(t)] = 1.0 / len(e.targets)
    return target


def _loss(q: object, p: object, col_class: object, target: object, temperature: float) -> object:
    """Cross-entropy of the class distribution, where log P(class) = logsumexp over its columns' log-softmax."""
    import torch

    log_p_col = torch.log_softmax(q @ p.T / temperature, dim=1)  # type: ignore[operator]
    log_p_class = torch.stack([torch.logsumexp(log_p_col[:, col_class == k], dim=1)
                               for k in range(target.shape[1])], dim=1)  # type: ignore[attr-defined]
    return -(target * log_p_class).sum(1).mean()  # type: ignore[operator]


def _seeded_model(base_dir: Path, hp: HParams) -> object:
    """The base model, loaded with every random generator seeded and deterministic algorithms on."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(hp.threads)
    torch.use_deterministic_algorithms(True)
    random.seed(hp.seed)
    np.random.seed(hp.seed)
    torch.manual_seed(hp.seed)
    model = SentenceTransformer(str(base_dir), device="cpu", local_files_only=True)
    model.max_seq_length = hp.max_seq_length
    if hp.freeze_embeddings:
        model[0].auto_model.embeddings.requires_grad_(False)
    return model


def train(base_dir: Path, plan: Plan, log: Callable[[str], None] = print) -> object:
    """Fine-tune the sentence-transformers model at ``base_dir`` on ``plan``; returns the model (in memory).

    With ``soup`` > 1, one model per seed, then their floating-point weights averaged into the first.
    """
    import torch

    hp = plan.hparams
    if hp.soup < 1:
        raise FinetuneError(f"soup {hp.soup} must be at least 1 (the number of models averaged)")
    models = [_train_one(base_dir, plan, replace(hp, seed=hp.seed + i), log) for i in range(hp.soup)]
    if len(models) > 1:
        states = [m.state_dict() for m in models]  # type: ignore[attr-defined]
        with torch.no_grad():
            mean = {k: (torch.stack([st[k] for st in states]).mean(0) if v.is_floating_point() else v)
                    for k, v in states[0].items()}
        models[0].load_state_dict(mean)  # type: ignore[attr-defined]
    return models[0]


def _train_one(base_dir: Path, plan: Plan, hp: HParams, log: Callable[[str], None]) -> object:
    """One training run of ``plan`` with ``hp`` (its seed); returns the model in eval mode."""
    import torch

    if hp.passage_grad not in ("epoch", "step"):
        raise FinetuneError(f"passage_grad {hp.passage_grad!r} must be 'epoch' or 'step'")
    examples = list(plan.examples)
    if not examples:
        raise FinetuneError("no training examples; the dev set has no in-scope tune questions")
    model = _seeded_model(base_dir, hp)
    prompts = model.prompts or {}  # type: ignore[attr-defined]
    qp, pp = prompts.get("query", ""), prompts.get("passage") or prompts.get("document", "")
    report_cols = [(c, pp + t) for c, t in plan.passages if c != BACKGROUND]
    background = [pp + t for c, t in plan.passages if c == BACKGROUND]
    classes = sorted({c for c, _ in report_cols}) + ([BACKGROUND] if background else [])
    col_class = torch.tensor([classes.index(c) for c, _ in report_cols] + [len(classes) - 1] * len(background))
    embed = _embedder(model)
    opt = torch.optim.AdamW([w for w in model.parameters() if w.requires_grad], lr=hp.lr)  # type: ignore
    steps_per_epoch = -(-len(examples) // hp.batch_size)
    total = steps_per_epoch * hp.epochs if not hp.max_steps else min(hp.max_steps, steps_per_epoch * hp.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / max(1, total)))
    gen = torch.Generator().manual_seed(hp.seed)
    step, start = 0, time.monotonic()
    for epoch in range(hp.epochs):
        order = torch.randperm(len(examples), generator=gen).tolist()
        fixed, bg = _epoch_vectors(model, embed, [t for _, t in report_cols], background, hp.passage_grad)
        model.train()  # type: ignore[attr-defined]
        for b in range(0, len(order), hp.batch_size):
            if step >= total:
                break
            batch = [examples[i] for i in order[b:b + hp.batch_size]]
            q = embed([qp + e.query for e in batch])
            p = fixed if fixed is not None else embed([t for _, t in report_cols])
            loss = _loss(q, torch.cat([p, bg]), col_class, _targets(batch, classes), hp.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            log(f"epoch {epoch + 1}/{hp.epochs} step {step}/{total} loss {loss.item():.4f} "
                f"({time.monotonic() - start:.0f} s)")
    model.eval()  # type: ignore[attr-defined]
    return model


def _embedder(model: object) -> Callable[[list[str]], object]:
    """``embed(texts)``: normalised vectors in input order, run in chunks of similar length: padding 55 short
    background passages to the longest report passage, with gradient, took 23 GB and was killed."""
    import torch

    def embed(texts: list[str], chunk: int = 8) -> torch.Tensor:
        if not texts:
            return torch.zeros(0, model.get_embedding_dimension())  # type: ignore[attr-defined]
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        parts = [model(model.preprocess([texts[i] for i in order[c:c + chunk]]))["sentence_embedding"]  # type: ignore
                 for c in range(0, len(order), chunk)]
        return torch.cat(parts)[torch.argsort(torch.tensor(order))]

    return embed


def _epoch_vectors(model: object, embed: Callable, report_texts: list[str], background: list[str],
                   passage_grad: str) -> tuple[object, object]:
    """Vectors fixed for one epoch, without gradient: the report's passages (``passage_grad="epoch"``, else
    None: re-embedded with gradient every step) and the background passages (always: 336 passages under
    gradient every step took ~2 min a step). Computed in eval mode, as they will be served (no dropout)."""
    import torch

    model.eval()  # type: ignore[attr-defined]
    with torch.no_grad():
        fixed = embed(report_texts) if passage_grad == "epoch" else None
        bg = embed(background)
    return fixed, bg
