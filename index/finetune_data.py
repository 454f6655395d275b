"""What one fine-tuning run learns from: the questions, their target pledges, the passages, the split and the
hyper-parameters, with a fingerprint that changes whenever any of them does (no torch needed).

Data: the ``tune`` questions of ``eval/dev.jsonl`` (never ``test``), and with ``train_questions`` the
train-only questions of ``eval/train.jsonl``. The served model (``train_on="all"``) trains on all of them, and
its thresholds and answer sets come from cross-fitting (``eval/crossfit.py``: models trained without one of
``tune_folds``). ``train_on="split"`` trains on a seeded, stratified ~70 % and keeps the other ~30 %
(``calibration_ids``) for choosing hyper-parameters, thresholds and answer sets. Passages are the report's own
units (``index.units.build_units``). With ``negatives``, the background passages (``index/background_pl.txt``)
form one more class that out-of-scope questions aim at. With ``translations``, each current field (title,
pledge, status) of the unofficial EN/UK translations (``corpus/translations``) is one more example aimed at its
pledge. With ``romanized``, questions are trained in the form the retriever embeds
(``index.romanized.search_form``), and each Cyrillic Ukrainian/Russian question also as typed in Latin letters
(``romanize``) and written back. With ``conversations`` (k > 0), the training-only conversations of
``eval/conversations_train.jsonl`` add every later turn in the form the assistant embeds it with its context
(the last k earlier questions in front of it: ``index.conversation.expand``), aimed at the pledge(s) that turn is
about or at the background when it is off-topic, plus the standalone turns and rewrites as questions of their own:
so the model learns which follow-ups continue the last answer ("is it free?") and which do not ("and a dentist?").
The tune and test conversations of ``eval/conversations.jsonl`` are never trained on.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from corpus.model import Report
from settings import DEFAULT_MODEL, ROOT, Settings

# 2: upper layers trained on cached lower-layer states, passages fixed per epoch; the folder holds only the
# tensors training changed (index/weights.py)
FORMAT_VERSION = 2
QUERIES = ROOT / "eval" / "dev.jsonl"
# Questions written only to train on (split "train"): never evaluated, never in a fold or the calibration part.
TRAIN_QUERIES = ROOT / "eval" / "train.jsonl"
# Conversations written only to train on (split "train"), likewise.
TRAIN_CONVERSATIONS = ROOT / "eval" / "conversations_train.jsonl"
SPLIT_SEED = 13
CALIBRATION_FRACTION = 0.3
BACKGROUND = "__background__"


class FinetuneError(RuntimeError):
    """The training data or the fine-tuned folder is unusable; the message says what to fix."""


@dataclass(frozen=True)
class HParams:
    """Everything that shapes the trained weights besides the data (recorded and fingerprinted)."""

    epochs: int = 3
    lr: float = 1e-4  # with only the top layers training (train_layers) a larger step (screened on a tune fold)
    temperature: float = 0.05
    batch_size: int = 16
    kinds: tuple[str, ...] = ("whole",)  # unit kinds that are candidate passages (extra positives)
    # out-of-scope questions (tune and train-only) aim at a background class: chosen on cross-fitted tune
    # records (margin AUC 0.973 → 0.980) and kept on test (README, Evaluation: abstention 0.814 → 0.881)
    negatives: bool = True
    translations: bool = True  # EN/UK translated fields of each pledge as extra examples
    train_questions: bool = True  # the train-only questions of eval/train.jsonl as extra examples
    # Ukrainian/Russian questions as the retriever embeds them (typed in Latin letters → written back in
    # Cyrillic: index.romanized.search_form), each Cyrillic one once more typed in Latin letters and written
    # back. Chosen out of fold on tune (handled 242 → 244 of 258; typed in Latin letters, 66 → 68 of 75)
    romanized: bool = True
    # k > 0: the training-only conversations, each later turn with the last k earlier questions in front of it,
    # as served (Settings.followup_context_questions must be the same k). Chosen on the tune conversations (handled
    # later turns 193 → 228 of 240, two-fold; docs/evaluation.md, Conversations); 0: none
    conversations: int = 1
    # which forms of those turns: "ctx" (a later turn as served, with its context), "alone" (standalone turns as
    # they are), "rw" (the conversation writer's standalone rewrite). Only "ctx": the other two repeat what the
    # dev set's questions already teach and cost two thirds of the conversation examples (training time, issue 27)
    conversation_forms: tuple[str, ...] = ("ctx",)
    # "split": train on tune's train part (the calibration part sets thresholds); "all": train on every tune
    # question, and take thresholds from cross-fitted models that never saw the question (eval/crossfit.py)
    train_on: str = "all"
    max_seq_length: int = 512
    # Only the top this many of the 12 encoder layers train. The embedding layer (the 250k×384 word table is
    # 80 % of the weights) always stays frozen: no gradient or AdamW state for it (under deterministic algorithms
    # its backward pass took ~7 s of a ~7.3 s step), and the fine-tuned folder shares the base's table instead
    # of a second copy (index/weights.py). Frozen layers' output for every text is computed once, without
    # gradient, and cached: a step runs and back-propagates through the trained layers only. 12: all of them.
    train_layers: int = 4
    # "step": passages re-embedded with gradient every step (the first set-up, ~3 s a step). "epoch": passage
    # vectors recomputed without gradient at each epoch's start, only the questions carry gradient.
    passage_grad: str = "epoch"
    seed: int = 13
    # >1: train this many models (seeds seed, seed+1, …) and average their weights (a "uniform soup": runs
    # from one start that differ only by data order and dropout land in one basin, and their mean is
    # steadier than any one of them). Costs that many trainings.
    soup: int = 1
    threads: int = 2
    max_steps: int = 0  # >0: stop after this many steps (tests)


FORMS = ("ctx", "alone", "rw")
ENCODER_LAYERS = 12  # the default model's (multilingual-e5-small); HParams.train_layers counts from the top


def served_hparams(settings: Settings) -> HParams:
    """The hyper-parameters of the served model: the defaults, with the threads, the trained layers and the
    conversation forms of ``settings`` (its profile: ``settings.PROFILES``)."""
    forms = tuple(f.strip() for f in settings.finetune_forms.split(",") if f.strip())
    if not forms or set(forms) - set(FORMS):
        raise FinetuneError(
            f"KQA_FINETUNE_FORMS={settings.finetune_forms!r}: name one or more of {', '.join(FORMS)}, comma-separated"
        )
    if not 1 <= settings.finetune_layers <= ENCODER_LAYERS:
        raise FinetuneError(
            f"KQA_FINETUNE_LAYERS={settings.finetune_layers}: the encoder has {ENCODER_LAYERS} layers; "
            f"use 1 to {ENCODER_LAYERS}"
        )
    return HParams(threads=settings.threads, train_layers=settings.finetune_layers, conversation_forms=forms)


@dataclass(frozen=True)
class Example:
    """One train question and the classes (pledge ids, or BACKGROUND) it should land on."""

    id: str
    query: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """What one training run uses: examples, candidate passages with their class, the split and the hash."""

    examples: tuple[Example, ...]
    passages: tuple[tuple[str, str], ...]  # (class, text): pledge id or BACKGROUND
    train_ids: tuple[str, ...]
    calibration_ids: tuple[str, ...]
    data_sha256: str
    hparams: HParams = field(default_factory=HParams)

    @property
    def fingerprint(self) -> str:
        """Hash of data, hyper-parameters, base model and format: a different value means retrain."""
        doc = {
            "data": self.data_sha256,
            "hparams": asdict(self.hparams),
            "base": DEFAULT_MODEL,
            "format_version": FORMAT_VERSION,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


# --- data ---------------------------------------------------------------------------------------------------


def read_rows(path: Path = QUERIES, splits: tuple[str, ...] = ("tune", "test")) -> list[dict]:
    """Question rows (JSONL), checked for the fields the split and the training need."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = [k for k in ("id", "query", "lang", "expected", "split") if k not in row]
        if missing:
            raise FinetuneError(
                f"{path}, line {n}: missing {', '.join(missing)}; every row needs id, query, "
                f"lang, expected and split ({'/'.join(splits)})"
            )
        if row["split"] not in splits:
            raise FinetuneError(f"{path}, line {n}: split {row['split']!r}; expected one of {', '.join(splits)}")
        rows.append(row)
    return rows


def training_rows(queries: Path = QUERIES, train: Path = TRAIN_QUERIES) -> list[dict]:
    """The dev set's rows and the train-only rows (``train``, if present); ids must be unique across both."""
    rows = read_rows(queries) + (read_rows(train, ("train",)) if Path(train).exists() else [])
    seen: set[str] = set()
    for r in rows:
        if r["id"] in seen:
            raise FinetuneError(f"question id {r['id']!r} appears twice in {queries} and {train}; ids must be unique")
        seen.add(r["id"])
    return rows


def _tune_strata(rows: Iterable[dict]) -> list[tuple[tuple[str, bool], list[str]]]:
    """The ``tune`` ids by (language, in scope), strata and ids sorted (so input order never matters)."""
    strata: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for r in rows:
        if r["split"] == "tune":
            strata[(r["lang"], bool(r["expected"]))].append(r["id"])
    return [(key, sorted(ids)) for key, ids in sorted(strata.items())]


def split_tune(
    rows: Iterable[dict], seed: int = SPLIT_SEED, fraction: float = CALIBRATION_FRACTION
) -> tuple[list[str], list[str]]:
    """``(train_ids, calibration_ids)`` of the ``tune`` rows, sorted; stratified by (language, in scope).

    Each stratum is sorted by id and shuffled with its own seeded generator, so adding a question in one
    language leaves the other languages' split untouched.
    """
    train, calibration = [], []
    for (lang, scope), ids in _tune_strata(rows):
        random.Random(f"{seed}:{lang}:{scope}").shuffle(ids)
        k = round(fraction * len(ids))
        calibration += ids[:k]
        train += ids[k:]
    return sorted(train), sorted(calibration)


def tune_folds(rows: Iterable[dict], k: int = 3, seed: int = SPLIT_SEED) -> list[list[str]]:
    """``k`` disjoint folds of the ``tune`` ids (sorted), stratified by (language, in scope) as ``split_tune``:
    with ``train_on="all"`` a model trained without fold i scores fold i, and the k folds together calibrate."""
    folds: list[list[str]] = [[] for _ in range(k)]
    offset = 0  # continue the round-robin across strata, so small strata do not all start in fold 0
    for (lang, scope), ids in _tune_strata(rows):
        random.Random(f"{seed}:fold:{lang}:{scope}").shuffle(ids)
        for i, qid in enumerate(ids):
            folds[(offset + i) % k].append(qid)
        offset += len(ids)
    return [sorted(f) for f in folds]


def calibration_ids(path: Path = QUERIES) -> list[str]:
    """Ids of the tune questions kept out of training (for thresholds and answer sets)."""
    return split_tune(read_rows(path))[1]


def translated_examples(report: Report) -> list[Example]:
    """One example per current translated field (EN/UK title, pledge, status), aimed at its pledge.

    Stale fields (their Polish source changed) are left out, as in the app; the ids say where each came from.
    """
    from corpus.translated import FIELDS, LANGUAGES, Translations

    translations = Translations()
    out = []
    for p in report.pledges:
        for lang in LANGUAGES:
            current = translations.for_pledge(p, lang)
            fields = current.fields if current else {}
            out += [Example(f"translation:{lang}:{p.id}:{f}", fields[f], (p.id,)) for f in FIELDS if f in fields]
    return out


def _question_examples(qid: str, query: str, lang: str, targets: tuple[str, ...], romanized: bool) -> list[Example]:
    """The example(s) of one train question: as typed, or (``romanized``) in the form the retriever embeds plus,
    for a Cyrillic Ukrainian/Russian one, a copy typed in Latin letters (id ``…~lat``) and written back."""
    if not romanized:
        return [Example(qid, query, targets)]
    from index.romanized import LANGS, romanize, search_form

    out = [Example(qid, search_form(query, lang), targets)]
    if lang in LANGS and (latin := romanize(query)) != query.lower():
        out.append(Example(f"{qid}~lat", search_form(latin, lang), targets))
    return out


def conversation_examples(
    path: Path,
    title_to_id: dict[str, str],
    k: int,
    romanized: bool,
    negatives: bool = True,
    forms: tuple[str, ...] = ("ctx", "alone", "rw"),
) -> list[Example]:
    """Examples from training-only conversations (see the module's docstring): each later turn that is not a
    request for another language with its last ``k`` earlier questions in front of it (``…:ctx``); the
    standalone turns (first, new-topic, off-topic new) as they are (``…:alone``); every rewrite (``…:rw``).
    Without ``negatives``, the off-topic ones are left out (there is no background class). ``forms`` keeps
    only those of the three."""
    from index.conversation import in_context

    out: list[Example] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        conv = json.loads(line)
        for i, turn, expanded in in_context(conv["turns"], k):
            try:
                targets = tuple(title_to_id[" ".join(t.split())] for t in turn["expected"]) or (BACKGROUND,)
            except KeyError as exc:
                raise FinetuneError(f"{path}, line {n}: unknown pledge title {exc.args[0]!r}") from None
            qid, lang = f"conv:{conv['id']}#{i}", conv["lang"]
            if targets == (BACKGROUND,) and not negatives:
                continue
            if turn["kind"] != "language":
                if i and "ctx" in forms:
                    out += _question_examples(f"{qid}:ctx", expanded, lang, targets, romanized)
                if turn["kind"] in ("first", "new_topic", "offtopic_new") and "alone" in forms:
                    out += _question_examples(f"{qid}:alone", turn["q"], lang, targets, romanized)
            if turn.get("rewrite") and "rw" in forms:
                out += _question_examples(f"{qid}:rw", turn["rewrite"], lang, targets, romanized)
    return out


def training_report() -> Report:
    """The report the dev set's questions were written against (``corpus.load_report()``, the bundled 2025
    edition), whatever ``KQA_REPORTS`` serves. Training data are the repository's own files: adding next
    year's report never retrains the model (nor invalidates its cross-fitted thresholds), and a pledge that
    the new edition renames cannot break ``make model``."""
    from corpus import load_report

    return load_report()


def make_plan(report: Report, rows: list[dict], hparams: HParams = HParams(), held_out: Iterable[str] = ()) -> Plan:
    """Examples and passages for a run; the hash covers the train questions and every passage text used.

    ``train_on="split"``: the train part of tune; ``"all"``: every tune question except ``held_out`` (one
    cross-fitting fold, or nothing for the served model). With ``train_questions``, every ``train`` row too.
    """
    from index.units import build_units, load_background

    title_to_id = {" ".join(p.title.split()): p.id for p in report.pledges}
    if hparams.train_on == "split":
        train_ids, cal_ids = split_tune(rows)
    elif hparams.train_on == "all":
        cal_ids = sorted(set(held_out))
        train_ids = sorted(r["id"] for r in rows if r["split"] == "tune" and r["id"] not in set(cal_ids))
    else:
        raise FinetuneError(f"train_on {hparams.train_on!r} must be 'split' or 'all'")
    if hparams.train_questions:
        train_ids = sorted(train_ids + [r["id"] for r in rows if r["split"] == "train"])
    by_id = {r["id"]: r for r in rows}
    examples = []
    for qid in train_ids:
        r = by_id[qid]
        try:
            targets = tuple(title_to_id[" ".join(t.split())] for t in r["expected"])
        except KeyError as exc:
            raise FinetuneError(f"question {qid}: unknown pledge title {exc.args[0]!r}") from None
        if not targets and not hparams.negatives:
            continue
        examples += _question_examples(qid, r["query"], r["lang"], targets or (BACKGROUND,), hparams.romanized)
    if hparams.translations:
        examples += translated_examples(report)
    if hparams.conversations and TRAIN_CONVERSATIONS.exists():
        examples += conversation_examples(
            TRAIN_CONVERSATIONS,
            title_to_id,
            hparams.conversations,
            hparams.romanized,
            hparams.negatives,
            hparams.conversation_forms,
        )
    if set(hparams.conversation_forms) - set(FORMS):
        raise FinetuneError(f"conversation_forms {hparams.conversation_forms!r} must name {', '.join(FORMS)}")
    unknown = set(hparams.kinds) - {"whole", "pledge", "status", "sentence"}
    if unknown or not hparams.kinds:
        raise FinetuneError(f"kinds {hparams.kinds!r} must name unit kinds (whole, pledge, status, sentence)")
    passages = [(u.pledge_id, u.text) for u in build_units(report) if u.kind in hparams.kinds]
    if hparams.negatives:
        passages += [(BACKGROUND, t) for t in load_background()]
    doc = {"questions": [asdict(e) for e in examples], "passages": passages}
    data_sha = hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return Plan(tuple(examples), tuple(passages), tuple(train_ids), tuple(cal_ids), data_sha, hparams)
