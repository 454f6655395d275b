"""Status label from a status text: ``label_text(text) -> StatusLabel``, the one public entry (parser, build, eval).

Two readers, no model from ``index/``:

1. Rules (``corpus.status_rules``): each clause gives at most one cue (negation limited to the clause of its
   status verb); ``combine`` turns a passage's cues into one label, the first of these that applies:
   - a partial cue ("częściowo", "w 50%", "nie w pełni") → partly_done ("partial completion", "not fully
     completed");
   - something not done or stopped, and something done, set up, done so far or a step done → partly_done ("done
     in part, not done in part"; contested when only amounts or a step were done: they may not be the task);
   - something done and "3 z 5" → partly_done;
   - something not done or stopped: with a plan, a schedule or a postponement → planned, with work going on →
     in_progress, else not_done;
   - something done or set up → done;
   - else the first cue of: work going on → in_progress; postponed → planned; planned or scheduled → planned; a
     past programme only → unclear; "3 z 5" → partly_done; amounts done so far → in_progress; the future tense
     → planned (a step done alone decides nothing: on tune, reading it as in_progress made labels worse);
   - nothing → unclear ("no rule matched").
   The label is *contested* when other cues point elsewhere and the deciding rule does not explain them: a task
   reported complete explains work going on or planned after it; partly_done explains any; in_progress explains
   plans; a cue in a relative clause ("…, który prowadzi konsultacje") or an amount done so far contests nothing.
   A *weak* rule (a step done, the future tense, "3 z 5") is only a hint.
2. A classifier (``corpus.status_model``) learned from the tune cases of ``corpus/status_cases.jsonl``.

How they make one label (``Thresholds``, chosen on the tune cases by cross-validation: python -m eval.status
--choose):
- "done" is shown only when the rules read done, uncontested, and the classifier does not prefer another label
  with at least ``done_veto``; otherwise the rules' best other label (or the classifier's best non-done one) is
  shown, doubtful ("done_withheld"). The classifier alone never shows "done".
- No rule matched: "unclear", unless the classifier is at least ``alone_min`` sure of a label other than done,
  which is then shown, doubtful ("model_only").
- Otherwise the rules' label is shown. It is doubtful when the classifier prefers another label and the rule is
  contested ("contested") or weak ("weak"), or the classifier is at least ``disagree_min`` sure ("disagree").
On tune, a veto of "done" and a doubt on disagreement alone never helped (every setting that used them only
added doubt), so ``done_veto`` and ``disagree_min`` are above 1: never.

``doubt`` says why a label is doubtful (a key of DOUBTS, shown in the reader's language: assistant/messages.py).
An ``unclear`` label is not doubtful: it already says the text could not be read.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.model import StatusLabel
from corpus.status_model import LABELS, StatusModel, default_model
from corpus.status_rules import KIND_LABELS, KIND_RULES, QUIET, WEAK, Cue, clauses, cues

__all__ = [
    "DOUBTS",
    "LABELS",
    "MIXED",
    "RULES",
    "THRESHOLDS",
    "Rule",
    "RuleReading",
    "Thresholds",
    "clauses",
    "combine",
    "decide",
    "label_text",
]

MIXED = "done in part, not done in part"
NO_RULE = "no rule matched"
MODEL_RULE = "similar labelled passages"


@dataclass(frozen=True)
class Rule:
    """A rule a label can name: its name (English; interfaces translate it, assistant/messages.py RULE_NAMES) and
    the label it gives."""

    name: str
    label: str


# Every rule a label can carry ("" for the classifier's label: any but done).
RULES: tuple[Rule, ...] = (
    *(Rule(name, label) for name, label in {name: KIND_LABELS[kind] for kind, name in KIND_RULES.items()}.items()),
    Rule(MIXED, "partly_done"),
    Rule(NO_RULE, "unclear"),
    Rule(MODEL_RULE, ""),
)
DOUBTS = ("contested", "weak", "disagree", "done_withheld", "model_only")


@dataclass(frozen=True)
class Thresholds:
    """How sure the classifier must be (chosen on the tune cases by cross-validation: python -m eval.status
    --choose)."""

    done_veto: float = 1.01  # never (see the module docstring)
    alone_min: float = 0.6
    disagree_min: float = 1.01  # never


THRESHOLDS = Thresholds()
_DONE = ("task_done", "done", "set_up")
_NOT_DONE = ("negated", "stopped")
# A rule label does not contest these labels of other cues: "zrealizowane, ale nie w pełni" is one reading.
# The task reported complete is compatible with work going on or planned after it (its activities, a next edition).
# Something set up is not ("Trwają prace; powołano zespół roboczy"), except in a relative clause about it
# ("powołany został Zespół, który prowadzi konsultacje"): see ``combine``.
_COMPATIBLE = {
    "partly_done": {"done", "not_done", "planned", "in_progress"},
    "in_progress": {"planned", "unclear"},
    "not_done": {"planned"},
    "planned": {"not_done"},
    "task_done": {"in_progress", "planned"},
}


@dataclass(frozen=True)
class RuleReading:
    """What the rules read: a label, the rule and sentence that decided it, and whether to doubt it."""

    label: str
    rule: str
    evidence: str
    weak: bool
    contested: bool
    fallback: str  # the best label other than done the cues support ("" when none)


def _first(found: list[Cue], kinds: tuple[str, ...]) -> Cue | None:
    return next((c for c in found if c.kind in kinds), None)


def _decided(found: list[Cue]) -> tuple[str, Cue] | None:
    """(label, deciding cue) by the precedence of ``combine``'s docstring, or None when nothing matched."""
    has = {c.kind for c in found}
    partial = _first(found, ("not_fully", "partial"))
    if partial:
        return "partly_done", partial
    done, not_done = _first(found, _DONE), _first(found, _NOT_DONE)
    if not_done and (done or _first(found, ("so_far", "step_done"))):
        return "mixed", not_done
    if done and "of_total" in has:
        return "partly_done", _first(found, ("of_total",)) or done
    if not_done:
        later = _first(found, ("plan", "scheduled", "postponed", "ongoing"))
        return (later.label, later) if later else ("not_done", not_done)
    for group in (
        _DONE,
        ("ongoing",),
        ("postponed",),
        ("plan", "scheduled"),
        ("past",),
        ("of_total",),
        ("so_far",),
        ("future",),
    ):
        cue = _first(found, group)
        if cue:
            return cue.label, cue
    return None


def combine(found: list[Cue], text: str) -> RuleReading:
    """One label from a passage's cues (see the module docstring)."""
    decided = _decided(found)
    if decided is None:
        return RuleReading("unclear", NO_RULE, text.split("\n")[0][:300], False, False, "")
    label, cue = decided
    if label == "mixed":  # contested when only amounts or a step were done: those may not be part of the task
        return RuleReading("partly_done", MIXED, cue.sentence, False, not _first(found, _DONE), "partly_done")
    strong_others = {c.label for c in found if c.kind not in QUIET and c.label != label and not c.relative}
    contested = bool(strong_others - _COMPATIBLE.get(cue.kind if cue.kind in _COMPATIBLE else label, set()))
    others = [c.label for c in found if c.label not in ("done", label)]
    fallback = label if label != "done" else next(iter(others), "")
    return RuleReading(label, KIND_RULES[cue.kind], cue.sentence, cue.kind in WEAK, contested, fallback)


def decide(reading: RuleReading, proba: dict[str, float], limits: Thresholds = THRESHOLDS) -> StatusLabel:
    """The shown label from the rules' reading and the classifier's probabilities (module docstring)."""
    best = max(proba, key=lambda k: proba[k])
    if reading.label == "done":
        if not reading.contested and (best == "done" or proba[best] < limits.done_veto):
            return StatusLabel(label="done", evidence=reading.evidence, rule=reading.rule, doubtful=False)
        other = reading.fallback or max((k for k in LABELS if k != "done"), key=lambda k: proba[k])
        return StatusLabel(
            label=other, evidence=reading.evidence, rule=reading.rule, doubtful=True, doubt="done_withheld"
        )
    if reading.rule == NO_RULE:
        if best != "done" and best != "unclear" and proba[best] >= limits.alone_min:
            return StatusLabel(
                label=best, evidence=reading.evidence, rule=MODEL_RULE, doubtful=True, doubt="model_only"
            )
        return StatusLabel(label="unclear", evidence=reading.evidence, rule=NO_RULE, doubtful=False)
    doubt = ""
    if best != reading.label:
        if reading.contested:
            doubt = "contested"
        elif reading.weak:
            doubt = "weak"
        elif proba[best] >= limits.disagree_min:
            doubt = "disagree"
    return StatusLabel(
        label=reading.label,
        evidence=reading.evidence,
        rule=reading.rule,
        doubtful=bool(doubt) and reading.label != "unclear",
        doubt=doubt if reading.label != "unclear" else "",
    )


def label_text(text: str, model: StatusModel | None = None) -> StatusLabel:
    """Label a status text (plain text, paragraphs separated by blank lines); ``model``: another classifier
    (eval/status.py passes ones learned on folds of the tune cases)."""
    reading = combine(cues(text), text)
    return decide(reading, (model or default_model()).proba(text))
