"""The training loop of ``index.finetune`` (needs torch; imported only when a model is trained).

One run: the base model with every random generator seeded and deterministic algorithms on. Every text is
tokenized once. The embeddings and the encoder layers below the top ``train_layers`` are frozen, so each
text's output of them is computed once, without gradient and in eval mode, and cached (``_Halves.lower``).
Per step, a batch of questions runs from its cached states through the trained top layers with gradient; the
passages' vectors are recomputed without gradient at each epoch's start (``passage_grad="epoch"``) or run with
gradient every step (``"step"``); a softmax over the passage columns (``_loss``); AdamW with a linear decay.
The result is the trained layers' tensors, named as in the base weights file. ``soup`` > 1 averages those of
that many runs with consecutive seeds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import Tensor, nn

from index.finetune_data import BACKGROUND, Example, FinetuneError, HParams, Plan
from index.progress import Log, Progress

PAD_ID = 1  # XLM-R's <pad>
CHUNK = 16  # texts run through the frozen layers at once, sorted by length so that padding stays small


def _targets(batch: Sequence[Example], classes: list[str]) -> Tensor:
    """Target distribution over classes: spread evenly over each example's expected classes."""
    target = torch.zeros(len(batch), len(classes))
    for i, e in enumerate(batch):
        for t in e.targets:
            target[i, classes.index(t)] = 1.0 / len(e.targets)
    return target


def _loss(q: Tensor, p: Tensor, col_class: Tensor, target: Tensor, temperature: float) -> Tensor:
    """Cross-entropy of the class distribution, where log P(class) = logsumexp over its columns' log-softmax."""
    log_p_col = torch.log_softmax(q @ p.T / temperature, dim=1)
    log_p_class = torch.stack(
        [torch.logsumexp(log_p_col[:, col_class == k], dim=1) for k in range(target.shape[1])], dim=1
    )
    return -(target * log_p_class).sum(1).mean()


def _batches(lengths: Sequence[int], batch_size: int, gen: torch.Generator) -> list[list[int]]:
    """One epoch's batches: a seeded shuffle, cut into pools of 8 batches; each pool sorted by length and cut
    into batches; the batches shuffled. Random batches padded every question to their longest (2.6× the
    tokens here); grouped by length, little padding is left. There are no in-batch negatives (every question
    is scored against the same passage columns), so grouping changes only which questions share a step."""
    order = torch.randperm(len(lengths), generator=gen).tolist()
    pool = 8 * batch_size
    batches = []
    for p in range(0, len(order), pool):
        ranked = sorted(order[p : p + pool], key=lambda i: lengths[i])
        batches += [ranked[b : b + batch_size] for b in range(0, len(ranked), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def _padded(rows: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Rows of different lengths stacked with zero padding, and the (batch, tokens) mask of real positions."""
    width = max(len(r) for r in rows)
    out = rows[0].new_zeros((len(rows), width, *rows[0].shape[1:]))
    mask = torch.zeros(len(rows), width)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        mask[i, : len(r)] = 1.0
    return out, mask


@dataclass
class _Halves:
    """A BERT cut below layer ``cut``: the frozen part (run once per text, cached) and the trained top."""

    embeddings: nn.Module
    layers: nn.ModuleList
    cut: int

    @staticmethod
    def _additive(mask: Tensor) -> Tensor:
        """The (batch, 1, 1, tokens) mask eager attention adds: 0 at real tokens, the float minimum at padding."""
        return (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min

    def _run(self, layers: nn.ModuleList, h: Tensor, mask: Tensor) -> Tensor:
        additive = self._additive(mask)
        for layer in layers:
            h = cast(Tensor, layer(h, additive))
        return h

    def lower(self, ids: Sequence[list[int]]) -> list[Tensor]:
        """Each text's token states after the frozen layers (no gradient, eval mode), without padding."""
        out: list[Tensor] = [torch.empty(0)] * len(ids)
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
        self.embeddings.eval()
        self.layers.eval()
        with torch.no_grad():
            for c in range(0, len(order), CHUNK):
                chunk = order[c : c + CHUNK]
                tokens, mask = _padded([torch.tensor(ids[i]) for i in chunk])
                tokens = torch.where(mask > 0, tokens, torch.full_like(tokens, PAD_ID))
                h = self._run(self.layers[: self.cut], self.embeddings(input_ids=tokens), mask)
                for row, i in enumerate(chunk):
                    out[i] = h[row, : len(ids[i])].clone()
        return out

    def upper(self, states: Sequence[Tensor]) -> Tensor:
        """Mean-pooled, normalised vectors of texts from their cached states through the trained layers."""
        h, mask = _padded(states)
        h = self._run(self.layers[self.cut :], h, mask)
        weights = mask.unsqueeze(-1)
        return nn.functional.normalize((h * weights).sum(1) / weights.sum(1).clamp(min=1e-9), dim=-1)

    def vectors(self, states: Sequence[Tensor], chunk: int = CHUNK) -> Tensor:
        """``upper`` in chunks of similar length, in input order (padding 55 short passages to the longest report
        passage, with gradient, once took 23 GB)."""
        if not states:
            return torch.zeros(0, 0)
        order = sorted(range(len(states)), key=lambda i: (len(states[i]), i))
        parts = [self.upper([states[i] for i in order[c : c + chunk]]) for c in range(0, len(order), chunk)]
        return torch.cat(parts)[torch.argsort(torch.tensor(order))]


def _load(base_dir: Path, hp: HParams) -> tuple[nn.Module, _Halves]:
    """The base BERT (eager attention, as exported) with everything but the top ``train_layers`` frozen, every
    random generator seeded and deterministic algorithms on."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bar is enough
    torch.set_num_threads(hp.threads)
    torch.use_deterministic_algorithms(True)
    bert = cast(nn.Module, AutoModel.from_pretrained(str(base_dir), local_files_only=True, attn_implementation="eager"))
    layers = cast(nn.ModuleList, cast(nn.Module, bert.encoder).layer)
    if not 1 <= hp.train_layers <= len(layers):
        raise FinetuneError(
            f"train_layers {hp.train_layers} must be between 1 and {len(layers)} (the encoder's "
            "layers); 12 trains them all"
        )
    cut = len(layers) - hp.train_layers
    bert.requires_grad_(False)
    for layer in layers[cut:]:
        layer.requires_grad_(True)
    random.seed(hp.seed)
    np.random.seed(hp.seed)
    torch.manual_seed(hp.seed)
    return bert, _Halves(cast(nn.Module, bert.embeddings), layers, cut)


def _token_ids(base_dir: Path, texts: Sequence[str], max_len: int) -> list[list[int]]:
    """Ids as sentence-transformers gives them (texts stripped, <s> … </s>, at most ``max_len``), each once."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(base_dir) / "tokenizer.json"))
    tok.enable_truncation(max_length=max_len)
    tok.no_padding()
    return [e.ids for e in tok.encode_batch([t.strip() for t in texts])]


def train(base_dir: Path, plan: Plan, log: Log = print) -> dict[str, np.ndarray]:
    """Fine-tune the base model at ``base_dir`` on ``plan``; the trained tensors (float32, named as in the base
    weights). With ``soup`` > 1, the mean of that many runs' tensors, one run per seed."""
    hp = plan.hparams
    if hp.soup < 1:
        raise FinetuneError(f"soup {hp.soup} must be at least 1 (the number of models averaged)")
    runs = [_train_one(base_dir, plan, replace(hp, seed=hp.seed + i), log) for i in range(hp.soup)]
    if len(runs) == 1:
        return runs[0]
    return {k: np.asarray(np.mean([r[k] for r in runs], axis=0, dtype=np.float64), dtype=np.float32) for k in runs[0]}


def _columns(plan: Plan, passage_prompt: str) -> tuple[list[str], list[str], list[str], Tensor]:
    """The report's passage texts, the background texts, the classes (pledge ids sorted, then the background
    class if any) and each passage column's class index."""
    report = [(c, passage_prompt + t) for c, t in plan.passages if c != BACKGROUND]
    background = [passage_prompt + t for c, t in plan.passages if c == BACKGROUND]
    classes = sorted({c for c, _ in report}) + ([BACKGROUND] if background else [])
    col_class = torch.tensor([classes.index(c) for c, _ in report] + [len(classes) - 1] * len(background))
    return [t for _, t in report], background, classes, col_class


def _train_one(base_dir: Path, plan: Plan, hp: HParams, log: Log) -> dict[str, np.ndarray]:
    """One training run of ``plan`` with ``hp`` (its seed); the trained layers' tensors."""
    if hp.passage_grad not in ("epoch", "step"):
        raise FinetuneError(f"passage_grad {hp.passage_grad!r} must be 'epoch' or 'step'")
    examples = list(plan.examples)
    if not examples:
        raise FinetuneError("no training examples; the dev set has no in-scope tune questions")
    bert, halves = _load(base_dir, hp)
    prompts = json.loads((Path(base_dir) / "config_sentence_transformers.json").read_text())["prompts"]
    report_texts, background, classes, col_class = _columns(plan, prompts.get("passage") or prompts["document"])
    ids = _token_ids(
        base_dir, [prompts["query"] + e.query for e in examples] + report_texts + background, hp.max_seq_length
    )
    states = halves.lower(ids)  # questions, then report passages, then background passages
    questions, passages = states[: len(examples)], states[len(examples) : len(examples) + len(report_texts)]
    bg_states = states[len(examples) + len(report_texts) :]
    opt = torch.optim.AdamW([w for w in bert.parameters() if w.requires_grad], lr=hp.lr)
    lengths = [len(q) for q in questions]
    steps_per_epoch = len(_batches(lengths, hp.batch_size, torch.Generator().manual_seed(0)))
    total = steps_per_epoch * hp.epochs if not hp.max_steps else min(hp.max_steps, steps_per_epoch * hp.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / max(1, total)))
    gen = torch.Generator().manual_seed(hp.seed)
    step = 0
    with Progress(total, f"fine-tuning ({len(examples)} examples)", log=log) as bar:
        for epoch in range(hp.epochs):
            batches = _batches(lengths, hp.batch_size, gen)
            bert.eval()  # passage vectors as they will be served (no dropout)
            with torch.no_grad():
                fixed = halves.vectors(passages) if hp.passage_grad == "epoch" else None
                bg = halves.vectors(bg_states) if bg_states else None
            bert.train()
            for chosen in batches:
                if step >= total:
                    break
                q = halves.upper([questions[i] for i in chosen])
                p = fixed if fixed is not None else halves.vectors(passages)
                loss = _loss(
                    q,
                    p if bg is None else torch.cat([p, bg]),
                    col_class,
                    _targets([examples[i] for i in chosen], classes),
                    hp.temperature,
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                bar.update(note=f"epoch {epoch + 1}/{hp.epochs}, loss {loss.item():.4f}")
    bert.eval()
    return {name: w.detach().numpy().copy() for name, w in bert.named_parameters() if w.requires_grad}
