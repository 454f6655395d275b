"""``python -m eval.crossfit`` — thresholds and answer-set width for a model trained on *all* of ``tune``.

A model must not calibrate on questions it was trained on (its margins there are too confident). With
``HParams(train_on="all")`` the served model sees every tune question, so calibration comes from cross-fitting:
the tune ids are cut into k stratified folds (``index.finetune.tune_folds``); for each fold a model is trained
on the other folds with the same hyper-parameters, exported, indexed, and asked that fold's questions. The k
folds' records together (every tune question, each scored by a model that never saw it) go through the same
split-conformal choice as ``eval.calibrate`` (``choose``). That is 4× the questions of the 30 % calibration
part, at the price of k extra trainings, and the served model trains on 100 % of tune instead of 70 %.

The guarantee is the cross-conformal one (coverage ≥ 1 − 2α in the worst case, ≈ 1 − α in practice): the
fold models are close to, not the same as, the served model. Report the result on ``test`` (``python -m eval``).

    python -m eval.crossfit [--folds 3] [--work DIR]   # prints the settings to serve
    python -m eval.crossfit --set train_questions=true  # a variant: choose it on these out-of-fold numbers
    python -m eval.crossfit --romanized  # the folds' Ukrainian/Russian questions typed in Latin letters
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from eval.threshold_rules import outcome
from settings import Settings


def fold_records(settings: object, hparams: object, fold: list[str], work: Path,
                 romanized: bool = False) -> list[dict]:
    """Train without ``fold``, export, index, and return ``calibration_records`` for the fold's questions
    (with ``romanized``, for its Ukrainian and Russian questions typed in Latin letters: ``eval.romanize``)."""
    import time

    from assistant.core import Assistant
    from eval.calibrate import calibration_records
    from eval.queries import load_queries
    from index import finetune as ft
    from index import finetune_train
    from index.materialize import materialize_e5
    from index.onnx_export import export_onnx

    rows = ft.training_rows()
    plan = ft.make_plan(ft.training_report(), rows, hparams, held_out=fold)  # type: ignore
    folder = work / f"model-{plan.fingerprint[:8]}"
    if not ft.is_current(folder, plan):
        start = time.monotonic()
        base_dir = materialize_e5(settings.model_dir)  # type: ignore[attr-defined]
        model = finetune_train.train(base_dir, plan, log=lambda m: None)
        ft.save(model, folder, plan, time.monotonic() - start, base_dir)
    export_onnx(folder)
    fold_settings = replace(settings, finetune=True, finetune_dir=folder, index_dir=work / f"index-{folder.name}")
    assistant = Assistant.load(fold_settings, log_fn=lambda m: None)
    wanted = set(fold)
    queries = [q for q in load_queries(ft.QUERIES, {p.title: p.id for p in assistant.library.pledges})
               if q.id in wanted]
    if romanized:
        from eval.romanize import romanized_view

        queries = romanized_view(queries)
    return calibration_records(assistant, queries)


def override(hparams: object, assignments: list[str]) -> object:
    """``hparams`` with ``FIELD=VALUE`` assignments applied (values parsed as JSON, else kept as text)."""
    from dataclasses import fields

    known = {f.name: f for f in fields(hparams)}  # type: ignore[arg-type]
    changes = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        if not sep or name not in known:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(known)}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        changes[name] = tuple(value) if isinstance(value, list) else value
    return replace(hparams, **changes)  # type: ignore[type-var]


def summary(records: list[dict], settings: Settings | None = None) -> dict:
    """Out-of-fold hit@1 (share of in-scope questions whose top pledge is right) over the pooled records; with
    ``settings``, also what its abstention thresholds (``Settings.abstain_threshold``, as the retriever applies
    them) do: in-scope questions refused, off-topic ones refused, and questions handled right (answered right or
    refused right)."""
    inside = [r for r in records if r["in_scope"]]
    out: dict = {"hit@1": round(sum(r["gap"] == 0 for r in inside) / max(len(inside), 1), 4), "n": len(inside)}
    if settings is None:
        return out
    fa, _, refused, n_out, handled = outcome(records, settings.margins_by_language(), settings)["all"]
    return out | {"false_abstentions": fa, "refused": refused, "n_out_of_scope": n_out, "handled": handled,
                  "n_all": len(records)}


def main(argv: list[str] | None = None) -> int:
    """Entry point: train the fold models, pool their records, print the chosen settings as JSON."""
    from eval.calibrate import CalibrationError, add_rule_arguments, choose
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = argparse.ArgumentParser(prog="python -m eval.crossfit", description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("models/crossfit"),
                    help="where fold models and indexes go (kept: a second run reuses current ones)")
    add_rule_arguments(ap)
    ap.add_argument("--romanized", action="store_true",
                    help="score the folds' Ukrainian/Russian questions typed in Latin letters (eval.romanize) "
                    "at the served thresholds; chooses nothing")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a hyper-parameter other than the served one (index.finetune.HParams), e.g. epochs=5")
    args = ap.parse_args(argv)
    if args.folds < 2:
        ap.error(f"--folds {args.folds}: cross-fitting needs at least 2 folds")
    from index import finetune as ft

    settings = Settings.from_env()
    try:
        hparams = override(ft.HParams(threads=settings.threads), args.set)  # the served ones, unless --set
    except ValueError as exc:
        ap.error(str(exc))
    if hparams.train_on != "all":
        ap.error(f"the served model trains on train_on={hparams.train_on!r}, not on all of tune; use "
                 "python -m eval.calibrate --ids <calibration part (index.finetune.calibration_ids())> instead")
    records: list[dict] = []
    for i, fold in enumerate(ft.tune_folds(ft.read_rows(), args.folds)):
        print(f"fold {i + 1}/{args.folds}: {len(fold)} questions", file=sys.stderr)
        records += fold_records(settings, hparams, fold, args.work, romanized=args.romanized)
    served = summary(records, settings)
    if args.romanized:  # a stress view: the thresholds stay those chosen on the questions as written
        print(json.dumps({"romanized": served}, indent=2))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "records.json").write_text(json.dumps(records, indent=1))
    try:
        chosen = choose(records, abstain_alpha=args.abstain_alpha, per_language=args.per_language,
                        min_per_language=args.min_per_language)
    except CalibrationError as exc:
        ap.error(str(exc))
    own = replace(settings, abstain_margins=chosen["abstain_margins"])
    chosen |= {"folds": args.folds, "out_of_fold": summary(records), "at_served_thresholds": served,
               "at_chosen_thresholds": summary(records, own)}
    print(json.dumps(chosen, indent=2))
    print(f"KQA_ANSWER_SET_DELTA={chosen['answer_set_delta']}\nKQA_ABSTAIN_MARGINS={chosen['abstain_margins']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
