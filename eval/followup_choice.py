"""Choosing the follow-up knobs on labelled conversations: each later turn's two retrievals (``cases``), the
reading replayed over a grid of knobs (``score``, ``_grid_counts``) and the choices (``choose``, ``choose_head``,
``choose_joint``), scored out of fold. The command line is ``python -m eval.followup``, which says how each is used.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.conversation import (
    FollowUpPolicy,
    Turn,
    agrees,
    context_text,
    is_pure_request,
    last_shown,
    read_turn,
    reads_as_new,
    word_count,
)
from assistant.retriever import Retrieval
from eval.conversations import CARRY_KINDS, Conversation

if TYPE_CHECKING:
    from assistant.core import Assistant

# Six knobs (~1.8 million policies); steps of 0.01–0.02, finer than tune's ~400 turns can tell apart. An alone
# margin under the abstention threshold acts as the threshold, so the alone grid starts near it.
GRID_ALONE = np.round(np.arange(0.03, 0.161, 0.01), 4)
GRID_CONTEXT = np.round(np.arange(-0.06, 0.061, 0.01), 4)
GRID_OFFTOPIC = np.round(np.arange(-0.10, 0.121, 0.02), 4)
GRID_SHORT_WORDS = (0, 2, 3, 4, 5, 6)
GRID_BACKGROUND = np.concatenate(([-np.inf], np.round(np.arange(0.62, 0.861, 0.02), 4)))  # -inf: not used
GRID_STAY_GAIN = np.concatenate(([np.inf], np.round(np.arange(0.04, 0.201, 0.02), 4)))  # inf: not used
# --head (the six knobs as served): the follow-up head's logit (inf: the head not used), and the margin a later
# turn answered on its own needs besides the abstention threshold (-inf: the threshold alone)
GRID_NEEDS = np.concatenate(([np.inf], np.round(np.arange(0.0, 5.01, 0.5), 2)))
GRID_ANSWER = np.concatenate(([-np.inf], np.round(np.arange(0.04, 0.161, 0.01), 4)))
# --joint: the sum of both margins' excesses over the abstention threshold from which a turn otherwise refused is
# answered when its two retrievals agree on a pledge not just shown (inf: off)
GRID_AGREE = np.concatenate(([np.inf], np.round(np.linspace(-0.1, 0.2, 13), 4) + 0.0))  # + 0.0: no -0.0


@dataclass(frozen=True)
class Case:
    """One later turn's two retrievals and what would be right."""

    id: str
    kind: str
    expected: tuple[str, ...]
    previous: tuple[str, ...]
    alone: Retrieval
    context: Retrieval
    threshold: float
    words: int
    answered: bool | None = None  # detail turns: the report answers it (labelled)
    bears: float = 0.0  # the expected pledge's best sentence (turn alone) minus the closest background passages
    needs: float = -math.inf  # the follow-up head's logit (index.followup_head); -inf without a head
    bound: bool = True  # held to the carry-over bound (tune's turns; not --also's: choose_joint)


Chooser = Callable[[list[Case], float], tuple[FollowUpPolicy, dict]]


def cases(assistant: Assistant, convs: Iterable[Conversation], context_questions: int) -> list[Case]:
    """Both retrievals of every later turn that is not a language request, with the labels' history."""
    from assistant.language import detect_language

    out = []
    for conv in convs:
        history: list[Turn] = []
        for i, turn in enumerate(conv.turns):
            if i and not is_pure_request(turn.q):
                lang = detect_language(turn.q)
                expanded = context_text(history, turn.q, context_questions)
                alone = assistant.retrieve(turn.q, lang)
                context = assistant.retrieve(expanded, detect_language(expanded))
                out.append(
                    Case(
                        f"{conv.id}#{i}",
                        turn.kind,
                        turn.expected,
                        last_shown(history),
                        alone,
                        context,
                        assistant.retriever.threshold(lang),
                        word_count(turn.q),
                        turn.answered,
                        _bears(assistant, alone, turn.expected),
                        assistant.head_logit(alone, context),
                    )
                )
            history.append(Turn(turn.q, turn.expected))
    return out


def _bears(assistant: Assistant, alone: Retrieval, expected: tuple[str, ...]) -> float:
    """How well the expected pledge's best sentence matches the turn alone, against general city topics."""
    rows = [i for i, _ in assistant.sentences.get(expected[0], [])] if expected else []
    scores = [float(alone.unit_scores[i]) for i in rows if np.isfinite(alone.unit_scores[i])]
    return max(scores, default=-1.0) - alone.background


def answered_auc(data: list[Case]) -> tuple[float | None, int]:
    """Can retrieval scores tell a detail follow-up the report answers ("is it free?" → "bezpłatne") from one it
    does not ("what are the opening hours?")? The AUC of ``bears`` over the labelled detail turns (0.5: no)."""
    pos = [c.bears for c in data if c.answered is True]
    neg = [c.bears for c in data if c.answered is False]
    if not pos or not neg:
        return None, 0
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 3), len(pos) + len(neg)


def score(policy: FollowUpPolicy, data: list[Case]) -> dict:
    """Handled right, wrong carry-overs and context reads of ``policy`` over ``data``."""
    handled = carry = carry_n = used = 0
    for c in data:
        reading = read_turn(c.alone, c.context, c.previous, policy, c.threshold, c.words, c.needs)
        shown = {"alone": c.alone, "context": c.context}.get(reading.source)
        top = shown.ranked[0].pledge_id if shown is not None and shown.ranked else None
        handled += (top in c.expected) if c.expected else top is None
        if c.kind in CARRY_KINDS:
            carry_n += 1
            carry += top is not None and top in c.previous and top not in c.expected
        used += reading.source == "context"
    return {"handled": handled, "n": len(data), "carry": carry, "carry_n": carry_n, "context_reads": used}


def _grid() -> np.ndarray:
    """Every (alone, context, off-topic, short words, background, stay gain) policy of the grid, one row each."""
    knobs = (GRID_ALONE, GRID_CONTEXT, GRID_OFFTOPIC, GRID_SHORT_WORDS, GRID_BACKGROUND, GRID_STAY_GAIN)
    return np.array(list(itertools.product(*knobs)), dtype=float)


def _policy(row: np.ndarray) -> FollowUpPolicy:
    a, c, o, short, b, g = (float(x) for x in row)
    return FollowUpPolicy(a, c, o, int(short), b, g)


def _grid_counts(
    data: list[Case], grid: np.ndarray, needs: float = math.inf, answer: float = -math.inf, agree: float = math.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Handled, wrong carry-overs and context reads of every grid row with the head's logit ``needs``, the
    answer margin ``answer`` and the agreement margin ``agree``: ``read_turn``'s branches, vectorised (``score``
    is the reference; a test checks they agree)."""
    a, c, o, short, b, g = grid.T
    handled, carry, used = (np.zeros(len(grid), dtype=int) for _ in range(3))
    for case in data:
        tops = {
            "alone": case.alone.ranked[0].pledge_id if case.alone.ranked else None,
            "context": case.context.ranked[0].pledge_id if case.context.ranked else None,
        }
        alone, context = case.alone.margin, case.context.margin
        stands = alone >= np.maximum(a, case.threshold)
        may_carry = (case.words <= short) | (alone >= o) | (case.alone.background <= b) | (case.needs >= needs)
        stays = (context - alone >= g) & (not reads_as_new(case.needs, needs))
        carries = bool(case.context.ranked) & (context >= c) & np.where(stands, stays, may_carry)
        agreed = agrees(case.alone, case.context, case.previous, agree, case.threshold)
        answers_alone = ~carries & ((alone >= max(case.threshold, answer)) | agreed)
        for source, where in (("alone", answers_alone), ("context", carries), (None, ~answers_alone & ~carries)):
            top = tops.get(source) if source else None
            right = (top in case.expected) if case.expected else top is None
            handled += where * right
            if case.kind in CARRY_KINDS:
                carry += where * (top is not None and top in case.previous and top not in case.expected)
        used += carries
    return handled, carry, used


def choose(data: list[Case], max_carry: float) -> tuple[FollowUpPolicy, dict]:
    """The grid policy that reads context least often among those with wrong carry-overs ≤ ``max_carry`` that
    handle within one standard error of the most turns any of them handles (the one-standard-error rule of
    CART and the lasso: of the policies tune cannot tell apart, the most conservative). Ties go to the one that
    carries over least, handles most, then stands turns alone soonest and overrides and widens least.

    Why not simply the most turns handled: on a few hundred tune turns a policy that carries context for two more of
    them wins by chance as easily as by merit, and every extra context read is a chance to answer a new or
    off-topic question with the previous pledge. With the model of 2026-12-06 the plain maximum (233 of 240, 55
    context reads) gave 9 of 149 wrong carry-overs on test's later turns, this rule's choice (231, 43 reads) 4."""
    grid = _grid()
    handled, carry, used = _grid_counts(data, grid)
    carry_n = sum(c.kind in CARRY_KINDS for c in data)
    ok = carry <= max_carry * carry_n if carry_n else np.ones(len(grid), dtype=bool)
    if not ok.any():
        raise SystemExit(f"no policy keeps wrong carry-overs at or under {max_carry}; raise --max-carry")
    top, n = int(handled[ok].max()), len(data)
    near = ok & (handled >= top - math.sqrt(top * (n - top) / n))
    a, c, o, short, b, g = grid.T
    order = np.lexsort((-short, -b, g, o, c, -a, handled, -carry, -used))  # the last key sorts first
    best = next(i for i in order[::-1] if near[i])
    policy = _policy(grid[best])
    return policy, score(policy, data)


def choose_head(data: list[Case], max_carry: float, base: FollowUpPolicy) -> tuple[FollowUpPolicy, dict]:
    """``base`` with the follow-up head's logit (``GRID_NEEDS``) and the answer margin (``GRID_ANSWER``) that
    handle the most turns with wrong carry-overs ≤ ``max_carry``; ties go to fewer carry-overs, then the higher
    logit (the context read least often), then the lower answer margin (the fewest refusals). Two knobs on top of
    six fixed ones: for the logit alone, the one-standard-error rule of ``choose`` kept one that changes almost
    nothing (tune is flat from 1.0 to 5.0) and scored 3 turns less out of fold."""
    carry_n = sum(c.kind in CARRY_KINDS for c in data)
    policies = [replace(base, needs=float(n), answer=float(a)) for n in GRID_NEEDS for a in GRID_ANSWER]
    ok = [(p, s) for p, s in ((p, score(p, data)) for p in policies) if s["carry"] <= max_carry * carry_n]
    if not ok:
        raise SystemExit(f"no policy keeps wrong carry-overs at or under {max_carry}; raise --max-carry")
    return max(ok, key=lambda ps: (ps[1]["handled"], -ps[1]["carry"], ps[0].needs, -ps[0].answer))


def choose_joint(
    data: list[Case], max_carry: float, start: FollowUpPolicy, rounds: int = 4
) -> tuple[FollowUpPolicy, dict]:
    """All nine knobs by coordinate descent from ``start``: the six margins over the grid with the head's logit,
    the answer margin and the agreement margin fixed, then those three with the six fixed, until a round changes
    nothing. Each step keeps, of the policies whose wrong carry-overs on the ``bound`` turns stay within
    ``max_carry``, the one with the most turns handled less wrong carry-overs over all turns (a carry-over counts
    twice: it is a turn handled wrong, and the issue bounds them apart); ties go to fewer carry-overs, then fewer
    context reads (the grid), or the higher logit, the lower answer margin and the higher agreement margin (the
    three).

    For choosing on more turns than tune's (``--also``): their turns count, but the bound stays tune's, since the
    head's conversations were written with far more off-topic follow-ups next to the topic than the evaluation
    has. The two-step choice (six without the head, then two) fixes margins the head then makes moot."""
    held = [c for c in data if c.bound]
    rest = [c for c in data if not c.bound]
    limit = max_carry * sum(c.kind in CARRY_KINDS for c in held)
    policy, grid = start, _grid()
    for _ in range(rounds):
        counts = [_grid_counts(part, grid, policy.needs, policy.answer, policy.agree) for part in (held, rest)]
        (handled, carry, used), (handled2, carry2, used2) = counts
        ok = carry <= limit
        if not ok.any():
            raise SystemExit(f"no policy keeps wrong carry-overs at or under {max_carry}; raise --max-carry")
        value, carried = handled + handled2 - carry - carry2, carry + carry2
        best = next(i for i in np.lexsort((used + used2, carried, -value)) if ok[i])  # the last key sorts first
        six = _policy(grid[best])
        triples = []
        for n, a, g in itertools.product(GRID_NEEDS, GRID_ANSWER, GRID_AGREE):
            p = replace(six, needs=float(n), answer=float(a), agree=float(g))
            s, s2 = score(p, held), score(p, rest)
            if s["carry"] <= limit:
                carried = s["carry"] + s2["carry"]
                triples.append((s["handled"] + s2["handled"] - carried, -carried, p.needs, -p.answer, p.agree, p))
        if not triples:  # the grid's own triple is always there unless start's is off the grid
            raise SystemExit(f"no (logit, answer, agreement) keeps wrong carry-overs at or under {max_carry}: {six}")
        chosen = max(triples, key=lambda t: t[:5])[5]
        if chosen == policy:
            break
        policy = chosen
    return policy, score(policy, data)


def cross_fit(assistant: Assistant, data: list[Case], path: Path, folds: int = 5) -> list[Case]:
    """``data``, the later turns of ``path`` (one of the head's training files), each with the logit of a head that
    did not learn from its conversation (``index.followup_head.cross_fitted``): what the served head would give
    a turn it has never seen."""
    from index.build import embed_texts
    from index.followup_head import TRAINING_FILES, cross_fitted
    from index.followup_head import logit as head_logit

    def embed(texts: list[str]) -> np.ndarray:
        encoder = assistant.retriever.encoder
        return embed_texts(encoder, texts, True, "embedding the head's training turns", queries=True)

    files = [p for p in TRAINING_FILES if p.is_file()]
    if path.resolve() not in [p.resolve() for p in files]:
        raise SystemExit(
            f"--also {path}: not one of the follow-up head's training files ({', '.join(map(str, files))})"
        )
    heads = cross_fitted(embed, files, path, assistant.settings.followup_context_questions, folds)
    out = []
    for c in data:
        conv, _, i = c.id.rpartition("#")
        alone, context = c.alone.vector, c.context.vector
        needs = (
            head_logit(heads[conv, int(i)], alone, context) if alone is not None and context is not None else c.needs
        )
        out.append(replace(c, needs=needs))
    return out


def out_of_fold(data: list[Case], max_carry: float, folds: int = 5, chooser: Chooser | None = None) -> dict:
    """What choosing on tune is worth on turns it did not see: the tune conversations split into ``folds``
    (seeded, whole conversations), each fold scored with the policy ``choose`` keeps on the others. A policy
    that fits tune's quirks scores lower here than on all of tune (the grid has six knobs and tune ~390 turns)."""
    if folds < 2:
        raise SystemExit(f"--folds {folds}: need at least 2 folds to score out of fold (or 0 to skip)")
    conv_of = [c.id.split("#")[0] for c in data]  # a case's id is "<conversation>#<turn>"
    convs = sorted(set(conv_of))
    np.random.default_rng(0).shuffle(convs)
    fold_of = {conv: i % folds for i, conv in enumerate(convs)}
    total = {"handled": 0, "n": 0, "carry": 0, "carry_n": 0, "context_reads": 0}
    for k in range(folds):
        held = [c for c, conv in zip(data, conv_of, strict=True) if fold_of[conv] == k]
        rest = [c for c, conv in zip(data, conv_of, strict=True) if fold_of[conv] != k]
        policy, _ = (chooser or choose)(rest, max_carry)
        for key, value in score(policy, held).items():
            total[key] += value
    return total
