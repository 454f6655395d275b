"""Which profile answers when none is pinned (``KQA_PROFILE`` unset, i.e. ``auto``): the best one built.

Issue 27 wants a new user's first answer within minutes, and only the quick profile trains that fast; issue 25's
follow-up targets are met by the thorough one, which trains for 14–20 minutes. So ``auto`` serves quick's build at
once, and thorough's as soon as it is complete. The server starts that training in the background when thorough
is missing or stale (assistant/upgrade.py); ``make thorough`` does it in the foreground.

A profile's build is *complete* when its fine-tuned folder is whole, trained over the base that is there now, and
exported at the served precision. It is *current* when it was also trained on today's data and hyper-parameters
(``index.finetune.is_current``). A complete but stale thorough build still serves, a coherent model with the
index built from it, until its retraining lands: the server never stops answering to retrain.
"""

from __future__ import annotations

from settings import AUTO, BEST_PROFILE, DEFAULT_MODEL, FIRST_PROFILE, Settings


def separate(first: Settings, best: Settings) -> bool:
    """True when the two profiles' builds live apart (a model trained per profile, its own folders). Pinning
    ``KQA_FINETUNE_DIR`` or ``KQA_INDEX_DIR`` makes them one folder, and then only the first profile serves."""
    return (
        best.finetune
        and best.model == DEFAULT_MODEL
        and best.finetune_dir != first.finetune_dir
        and best.index_dir != first.index_dir
    )


def complete(settings: Settings) -> bool:
    """True when ``settings``' fine-tuned model can be served as it is on disk (see the module's docstring)."""
    from index.finetune import read_info
    from index.materialize import weights_sha256
    from index.onnx_export import is_exported

    info = read_info(settings.finetune_dir)
    try:
        base = weights_sha256(settings.model_dir)
    except RuntimeError:  # no base model (yet): nothing fine-tuned over it can load
        return False
    if info is None or info.get("base_weights_sha256") != base:
        return False
    if settings.encoder_backend not in ("auto", "onnx"):
        return True
    return is_exported(settings.finetune_dir, settings.encoder_precision, settings.model_dir)


def current(settings: Settings) -> bool:
    """True when ``settings``' build is complete and trained on the current data and hyper-parameters."""
    from index.finetune import QUERIES, is_current, training_report, training_rows
    from index.finetune_data import make_plan, served_hparams
    from index.materialize import weights_sha256

    if not complete(settings):
        return False
    plan = make_plan(training_report(), training_rows(QUERIES), served_hparams(settings))
    return is_current(settings.finetune_dir, plan, weights_sha256(settings.model_dir))


def first(settings: Settings) -> Settings:
    """What ``auto`` serves before the best profile is built; a pinned profile stays."""
    return settings.with_profile(FIRST_PROFILE) if settings.profile == AUTO else settings


def can_move(settings: Settings) -> bool:
    """True when ``settings`` is ``auto`` and its two profiles' builds live apart, so the best can answer."""
    return settings.profile == AUTO and separate(first(settings), settings.with_profile(BEST_PROFILE))


def waiting_note(settings: Settings, answering: Settings) -> str | None:
    """What to tell someone ``answering`` serves while ``auto`` waits for the best profile to be built (the
    chat's and the evaluation's line), or None."""
    if not can_move(settings) or answering.profile == BEST_PROFILE:
        return None
    return (
        f"answering with the {answering.profile} profile until the {BEST_PROFILE} one is built "
        "(`make thorough`, ~15–20 min once; it reads follow-ups better)"
    )


def served(settings: Settings) -> Settings:
    """The profile ``settings`` answers with: a pinned one as it is; for ``auto`` the best profile when its
    build is complete, else the first."""
    if not can_move(settings):
        return first(settings)
    best = settings.with_profile(BEST_PROFILE)
    return best if complete(best) else first(settings)


def upgrade(settings: Settings) -> Settings | None:
    """For ``auto``: the best profile's settings when its build is missing or stale (to train in the background
    while ``served`` answers), else None. A pinned profile is never changed under its operator."""
    if not can_move(settings):
        return None
    best = settings.with_profile(BEST_PROFILE)
    return None if current(best) else best
