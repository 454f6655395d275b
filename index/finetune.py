"""Supervised adaptation of the default model on our own questions (build time only: needs torch).

What a run learns from (questions, passages, split, hyper-parameters) is ``index.finetune_data``; the training
loop is ``index.finetune_train``. Loss: a softmax over every candidate passage (the 9 ``whole`` units by
default, e5 ``query: ``/``passage: `` prompts, cosine / temperature); a pledge's probability is the sum over
its passages, the target spreads evenly over the expected pledges (two-pledge questions: both); with
``negatives``, out-of-scope questions aim at the background class. Only the top ``train_layers`` encoder
layers train, on cached outputs of the frozen layers below; passage vectors are recomputed without gradient
at each epoch's start.

The output (``Settings.finetune_dir``) holds only what training changed: ``model.safetensors`` with the
trained layers' tensors, read over the base folder's weights (``index.weights``), and ``finetuned.json``
recording the base (its weights' SHA-256), the SHA-256 of the training data, the hyper-parameters, library
versions and the split ids. When the recorded fingerprint or base differs from the current ones,
``finetune`` trains again.

    python -m index.finetune          # (re)train if stale, then export to ONNX
    python -m index.finetune_compare  # hyper-parameter variants, measured on the calibration part only
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np

from index.finetune_data import (
    BACKGROUND,
    ENCODER_LAYERS,
    QUERIES,
    SPLIT_SEED,
    TRAIN_QUERIES,
    Example,
    FinetuneError,
    HParams,
    Plan,
    calibration_ids,
    make_plan,
    read_rows,
    served_hparams,
    split_tune,
    training_report,
    training_rows,
    translated_examples,
    tune_folds,
)
from index.folders import is_complete, read_marker, replaced_atomically, write_marker
from index.materialize import materialize_e5, weights_sha256
from index.progress import Log, stderr
from index.weights import WEIGHTS, save_changed
from settings import DEFAULT_MODEL, Settings

__all__ = [
    "BACKGROUND",
    "QUERIES",
    "TRAIN_QUERIES",
    "Example",
    "FinetuneError",
    "HParams",
    "Plan",
    "calibration_ids",
    "finetune",
    "is_current",
    "make_plan",
    "model_name",
    "read_info",
    "read_rows",
    "save",
    "split_tune",
    "train",
    "training_report",
    "training_rows",
    "translated_examples",
    "tune_folds",
]

FORMAT_VERSION = 2  # 2: only the changed tensors, over the base named by its weights' SHA-256
MARKER = "finetuned.json"
PROMPTS = "config_sentence_transformers.json"  # the e5 prompts, which the ONNX encoder reads from the folder
REQUIRED_FILES = (WEIGHTS, PROMPTS, MARKER)


def read_info(folder: Path) -> dict | None:
    """``finetuned.json`` of a complete folder of the current format, else None (no torch needed)."""
    if not is_complete(folder, MARKER, FORMAT_VERSION, REQUIRED_FILES):
        return None
    return read_marker(folder, MARKER)


def model_name(info: dict) -> str:
    """The encoder name a fine-tuned folder serves under: differs from the base, so old indexes go stale."""
    return f"{info['base_model']}+kqa-{info['fingerprint'][:8]}"


def is_current(folder: Path, plan: Plan, base_sha256: str) -> bool:
    """True when ``folder`` holds a complete model trained on exactly this plan over exactly this base."""
    info = read_info(folder)
    return (
        info is not None
        and info.get("fingerprint") == plan.fingerprint
        and info.get("base_weights_sha256") == base_sha256
    )


def _versions() -> dict[str, str]:
    out = {}
    for p in ("torch", "transformers", "tokenizers", "numpy"):
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "absent"
    return out


def save(changed: dict[str, np.ndarray], folder: Path, plan: Plan, seconds: float, base_dir: Path) -> Path:
    """Write the changed tensors and ``finetuned.json`` atomically (complete or absent)."""
    with replaced_atomically(Path(folder)) as tmp:
        save_changed(changed, tmp / WEIGHTS)
        shutil.copyfile(Path(base_dir) / PROMPTS, tmp / PROMPTS)
        write_marker(
            tmp,
            MARKER,
            {
                "format_version": FORMAT_VERSION,
                "base_model": DEFAULT_MODEL,
                "base_weights_sha256": weights_sha256(base_dir),
                "fingerprint": plan.fingerprint,
                "training_data_sha256": plan.data_sha256,
                "hparams": asdict(plan.hparams),
                "versions": _versions(),
                "changed_tensors": len(changed),
                "n_examples": len(plan.examples),
                "n_passages": len(plan.passages),
                "train_seconds": round(seconds, 1),
                "split_seed": SPLIT_SEED,
                "train_ids": list(plan.train_ids),
                "calibration_ids": list(plan.calibration_ids),
            },
        )
    return Path(folder)


def train(base_dir: Path, plan: Plan, log: Log = stderr) -> dict[str, np.ndarray]:
    """``index.finetune_train.train``: the trained tensors of ``plan`` over the base at ``base_dir``."""
    # OpenMP threads that wait by spinning take turns with every other process on a shared machine: a step of
    # 16 questions took 1.5-6 s with 2 spinning threads under load, 0.8 s with passive ones. Read when torch
    # starts its thread pool, so it only counts when torch is first imported here, as in `make model`.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from index import finetune_train

    return finetune_train.train(base_dir, plan, log)


def finetune(
    settings: Settings,
    *,
    force: bool = False,
    hparams: HParams | None = None,
    queries: Path = QUERIES,
    log: Log = stderr,
) -> Path:
    """Build ``settings.finetune_dir`` unless it already holds a model trained on the current data over the
    current base; return it."""
    plan = make_plan(training_report(), training_rows(queries), hparams or served_hparams(settings))
    base_dir = materialize_e5(settings.model_dir, log=log)
    folder = Path(settings.finetune_dir)
    if not force and is_current(folder, plan, weights_sha256(base_dir)):
        return folder
    if log is not None:
        reason = "no model yet" if read_info(folder) is None else "training data, hyper-parameters or base changed"
        hp = plan.hparams
        log(
            f"fine-tuning {DEFAULT_MODEL} on {len(plan.examples)} questions ({reason}; profile {settings.profile}: "
            f"top {hp.train_layers} of {ENCODER_LAYERS} layers, conversation forms {','.join(hp.conversation_forms)})"
        )
    start = time.monotonic()
    changed = train(base_dir, plan, log)
    save(changed, folder, plan, time.monotonic() - start, base_dir)
    if log is not None:
        log(f"fine-tuned model: {folder} ({time.monotonic() - start:.0f} s)")
    return folder


if __name__ == "__main__":  # python -m index.finetune [--force]
    from index.onnx_export import export_onnx

    cli_settings = Settings.from_env()
    trained = finetune(cli_settings, force="--force" in sys.argv[1:])
    print(f"fine-tuned model: {trained}; onnx: {export_onnx(trained, cli_settings.model_dir, log=stderr)}")
