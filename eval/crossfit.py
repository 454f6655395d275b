"""``python -m eval.crossfit`` — thresholds and answer-set width for a model trained on *all* of ``tune``.

A model must not calibrate on questions it was trained on (its margins there are too confident). With
``HParams(train_on="all")`` the served model sees every tune question, so calibration comes from cross-fitting:
the tune ids are cut into k stratified folds (``index.finetune_data.tune_folds``); for each fold a model is
trained on the other folds with the same hyper-parameters, exported at the served precision
(``KQA_ENCODER_PRECISION``: an int8 model is quantized the same way), indexed, and asked that fold's questions.
The k folds' records together (every tune question, each scored by a model that never saw it) go through the same
split-conformal choice as ``eval.calibrate`` (``choose``). That is 4× the questions of the 30 % calibration
part, at the price of k extra trainings (~1 min each on 2 free cores), and the served model trains on 100 % of
tune instead of 70 %.

The guarantee is the cross-conformal one (coverage ≥ 1 − 2α in the worst case, ≈ 1 − α in practice): the
fold models are close to, not the same as, the served model. Report the result on ``test`` (``python -m eval``).

Fold models and their indexes go to a temporary folder, deleted at the end; ``--keep DIR`` keeps them in DIR
(and a later run with the same DIR reuses the current ones). The pooled records are written to
``eval/out/crossfit/records.json`` (read by ``python -m eval.threshold_rules``).

    python -m eval.crossfit [--folds 3] [--keep DIR]   # prints the settings to serve
    python -m eval.crossfit --set train_layers=4        # a variant: choose it on these out-of-fold numbers
    python -m eval.crossfit --precision float32 --precision int8  # both, from the same fold models
    python -m eval.crossfit --romanized  # the folds' Ukrainian/Russian questions typed in Latin letters
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from eval.threshold_rules import outcome
from index.finetune_data import FinetuneError, HParams, served_hparams
from index.profiles import served
from settings import ROOT, Settings

RECORDS = ROOT / "eval" / "out" / "crossfit" / "records.json"
WORK_PREFIX = "kqa-crossfit-"  # the temporary folder's name starts so (`make clean` removes leftovers)


def fold_model(settings: Settings, hparams: HParams, fold: list[str], work: Path) -> Path:
    """The model trained without ``fold`` (trained now unless ``work`` holds a current one)."""
    from index import finetune as ft
    from index.materialize import materialize_e5, weights_sha256

    base_dir = materialize_e5(settings.model_dir)
    plan = ft.make_plan(ft.training_report(), ft.training_rows(), hparams, held_out=fold)
    folder = work / f"model-{plan.fingerprint[:8]}"
    if not ft.is_current(folder, plan, weights_sha256(base_dir)):
        start = time.monotonic()
        changed = ft.train(base_dir, plan, log=None)
        ft.save(changed, folder, plan, time.monotonic() - start, base_dir)
    return folder


def fold_records(
    settings: Settings,
    hparams: HParams,
    fold: list[str],
    work: Path,
    romanized: bool = False,
    precisions: tuple[str, ...] = ("int8",),
) -> dict[str, list[dict]]:
    """Train without ``fold``, export at each precision, index, and return per precision the
    ``calibration_records`` of the fold's questions (with ``romanized``, of its Ukrainian and Russian questions
    typed in Latin letters: ``eval.romanize``)."""
    from assistant.core import Assistant
    from eval.calibrate import calibration_records
    from eval.queries import load_queries
    from index.finetune_data import QUERIES
    from index.onnx_export import export_onnx

    folder = fold_model(settings, hparams, fold, work)
    out = {}
    for precision in precisions:
        export_onnx(folder, settings.model_dir, precision=precision)
        fold_settings = replace(
            settings,
            finetune=True,
            finetune_dir=folder,
            encoder_precision=precision,
            index_dir=work / f"index-{folder.name}-{precision}",
        )
        assistant = Assistant.load(fold_settings, log_fn=lambda m: None)
        wanted = set(fold)
        queries = [
            q for q in load_queries(QUERIES, {p.title: p.id for p in assistant.library.pledges}) if q.id in wanted
        ]
        if romanized:
            from eval.romanize import romanized_view

            queries = romanized_view(queries)
        out[precision] = calibration_records(assistant, queries)
    return out


def override(hparams: HParams, assignments: list[str]) -> HParams:
    """``hparams`` with ``FIELD=VALUE`` assignments applied (values parsed as JSON, else kept as text)."""
    known = {f.name for f in fields(hparams)}
    changes: dict[str, Any] = {}  # JSON-typed values; HParams and training check them at use
    for item in assignments:
        name, sep, raw = item.partition("=")
        if not sep or name not in known:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(sorted(known))}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        changes[name] = tuple(value) if isinstance(value, list) else value
    return replace(hparams, **changes)


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
    return out | {
        "false_abstentions": fa,
        "refused": refused,
        "n_out_of_scope": n_out,
        "handled": handled,
        "n_all": len(records),
    }


def _arguments() -> argparse.ArgumentParser:
    from eval.calibrate import add_rule_arguments

    ap = argparse.ArgumentParser(prog="python -m eval.crossfit", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the fold models and indexes in DIR (reused by a later run when current); "
        "by default they go to a temporary folder that is deleted",
    )
    ap.add_argument("--records", type=Path, default=RECORDS, help="where the pooled records are written")
    ap.add_argument(
        "--precision",
        action="append",
        choices=("int8", "float32"),
        help="the fold models' arithmetic (default: KQA_ENCODER_PRECISION); give it twice for both",
    )
    add_rule_arguments(ap)
    ap.add_argument(
        "--romanized",
        action="store_true",
        help="score the folds' Ukrainian/Russian questions typed in Latin letters (eval.romanize) "
        "at the served thresholds; chooses nothing",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a hyper-parameter other than the served one (index.finetune_data.HParams), e.g. epochs=5",
    )
    return ap


def _choice(records: list[dict], settings: Settings, args: argparse.Namespace) -> dict:
    """The conformal choice on pooled records, and what the served and the chosen thresholds do there."""
    from eval.calibrate import choose

    chosen = choose(
        records,
        abstain_alpha=args.abstain_alpha,
        per_language=args.per_language,
        min_per_language=args.min_per_language,
    )
    own = replace(settings, abstain_margins=chosen["abstain_margins"])
    return chosen | {
        "folds": args.folds,
        "out_of_fold": summary(records),
        "at_served_thresholds": summary(records, settings),
        "at_chosen_thresholds": summary(records, own),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: train the fold models, pool their records, print the chosen settings as JSON."""
    from eval.calibrate import CalibrationError
    from index.finetune_data import read_rows, tune_folds
    from settings import apply_privacy_env

    apply_privacy_env()
    ap = _arguments()
    args = ap.parse_args(argv)
    if args.folds < 2:
        ap.error(f"--folds {args.folds}: cross-fitting needs at least 2 folds")
    settings = served(Settings.from_env())  # the profile a server would answer with
    precisions = tuple(dict.fromkeys(args.precision or [settings.encoder_precision]))
    try:
        hparams = override(served_hparams(settings), args.set)  # the served ones, unless --set
    except (ValueError, FinetuneError) as exc:
        ap.error(str(exc))
    if hparams.train_on != "all":
        ap.error(
            f"the served model trains on train_on={hparams.train_on!r}, not on all of tune; use "
            "python -m eval.calibrate --ids <calibration part (index.finetune_data.calibration_ids())> instead"
        )
    start = time.monotonic()
    work = args.keep or Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
    work.mkdir(parents=True, exist_ok=True)
    records: dict[str, list[dict]] = {p: [] for p in precisions}
    try:
        for i, fold in enumerate(tune_folds(read_rows(), args.folds)):
            print(
                f"fold {i + 1}/{args.folds}: {len(fold)} questions ({time.monotonic() - start:.0f} s)", file=sys.stderr
            )
            for p, got in fold_records(settings, hparams, fold, work, args.romanized, precisions).items():
                records[p] += got
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"cross-fitted in {time.monotonic() - start:.0f} s", file=sys.stderr)
    if args.romanized:  # a stress view: the thresholds stay those chosen on the questions as written
        out = {p: summary(r, replace(settings, encoder_precision=p)) for p, r in records.items()}
        print(json.dumps({"romanized": out[precisions[0]] if len(out) == 1 else out}, indent=2))
        return 0
    try:
        chosen = {p: _choice(r, settings, args) for p, r in records.items()}
    except CalibrationError as exc:
        ap.error(str(exc))
    args.records.parent.mkdir(parents=True, exist_ok=True)
    args.records.write_text(json.dumps(records[precisions[0]], indent=1))
    for p in precisions[1:]:
        args.records.with_name(f"{args.records.stem}-{p}.json").write_text(json.dumps(records[p], indent=1))
    print(json.dumps(chosen[precisions[0]] if len(chosen) == 1 else chosen, indent=2))
    first = chosen[precisions[0]]
    print(f"KQA_ANSWER_SET_DELTA={first['answer_set_delta']}\nKQA_ABSTAIN_MARGINS={first['abstain_margins']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
