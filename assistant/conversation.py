"""Follow-up questions without a language model: each turn read against the turns before it.

A conversation lives with the user (the browser session, the CLI process, the API client's ``history``); the
server keeps nothing. A turn record is what the user saw: the question and the pledges shown as answers.

How a later turn is read, from retrieval scores only (history expansion as in TREC CAsT, the decision taken
on the turn's own retrieval score as HQE does):

1. A request for another language ("po ukraińsku", "in English?": ``assistant.language_request``) re-shows the
   last answer that showed pledges in that language.
2. The turn alone is retrieved. When its abstention margin reaches ``followup_alone_margin`` (and the abstention
   threshold) it stands on its own: a new question (or, if it lands on the pledge just shown, a detail about it),
   unless the turn with its context (step 3) scores ``followup_stay_gain`` more than the turn alone: a generic
   question ("who can apply?", "а хто може туди потрапити?") lands somewhere alone, but its context explains it
   much better, so the context carries.
3. Otherwise the turn is retrieved again with its context (the earlier questions in front of it). When that
   margin reaches ``followup_context_margin``, and the turn alone is not clearly about something else, the
   context carries: a detail about the pledge just shown, or an elliptical switch to another pledge ("a co z
   ginekologiem?"). Not clearly about something else: its own margin at least ``followup_offtopic_margin``, or
   it has at most ``followup_short_words`` words (a bare "ile kosztuje?" matches nothing on its own), or it is
   close to no general city topic either (its background score at most ``followup_background_max``: "do I need a
   referral from my doctor?" is near neither the report nor a city topic, "and my landlord?" is near the city's
   housing topics).
4. Otherwise the turn alone decides as a first question would: answered when its margin reaches the abstention
   threshold, else refused ("not in the report"), unless step 5 answers it.
5. A turn that would be refused is still answered when the turn alone and the turn with its context put the same
   pledge first, not one just shown, and their two margins' excesses over the abstention threshold add up to
   ``followup_agree_margin``: two readings that agree are more evidence than either ("a na ich święta jakieś
   imprezy miasto wspiera?" after the national minorities' pledge lands on their culture pledge a little under
   the threshold alone, and a little over it with its context). Off-topic follow-ups sit next to the pledge just
   shown, so a pledge that is not one of those is what both readings would have to agree on by chance; such an
   answer is never a carry-over. Its kind is ``sibling`` when the follow-up head reads the turn as continuing the
   conversation, else ``new_topic``.

In step 3 the follow-up head (``index.followup_head``, trained on the training-only conversations) also reads
what the turn asks for from its two query vectors: when its logit reaches ``followup_needs_logit`` (and the
context's margin ``followup_context_margin``), the context carries even if the turn alone seems to be about
something else: "czy jest dostępny w weekendy?" scores low alone and near a general city topic, yet plainly asks
about the pledge just shown. A turn that stands on its own (step 2) is not overruled by the head: "мене б'є
чоловік, куди звернутися?" after a question about bullying at work is a question of its own, however much it
reads like a continuation. The head can only hold such a turn on its own: step 2's stay gain carries the
context only when the head's odds are not on a new question (``reads_as_new``).

A later turn answered on its own (steps 2 and 4) needs at least ``followup_answer_margin`` besides the abstention
threshold: off-topic follow-ups are asked next to the conversation's topic ("does the police have an English
line?" after the domestic-violence pledge), so at a margin a first question would pass they are more often off
topic than first questions are, unless both retrievals agree (step 5).

At most two retrievals per turn. The margins, the word count, the background maximum, the stay gain, the
head's logit, the answer margin and the agreement margin are chosen together on the tune split of
``eval/conversations.jsonl`` and the head's training-only conversations, the head's logits on those cross-fitted
(``python -m eval.followup --joint --also eval/conversations_head.jsonl``), like the abstention threshold. As
chosen, the head does what the word count and the background maximum did, and both are off.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from assistant.language_request import language_request
from assistant.retriever import Retrieval
from index.conversation import expand

# What a later turn is, as the answer's ``follow_up.kind`` says it
DETAIL, LANGUAGE, SIBLING, NEW_TOPIC, OFFTOPIC = "detail", "language", "sibling", "new_topic", "offtopic"
FOLLOW_UP_KINDS = (DETAIL, LANGUAGE, SIBLING, NEW_TOPIC, OFFTOPIC)
# the follow-up head's logit at which it reads a turn as continuing the conversation as likely as not
# (reads_as_new, and the kind of an answer from agreement)
EVEN_ODDS = 0.0
MAX_TURN_CHARS = 1000  # an earlier question is cut like a new one (Settings.max_question_chars)


class HistoryError(ValueError):
    """The earlier turns cannot be used as given; the message names the value and the fix."""


@dataclass(frozen=True)
class Turn:
    """One earlier turn as the user saw it: the question and the pledges shown as answers ([] when refused)."""

    q: str
    pledge_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"q": self.q, "pledge_ids": list(self.pledge_ids)}


@dataclass(frozen=True)
class FollowUp:
    """How a turn continues the conversation: its kind and the pledges it continues (``about``: the pledges the
    conversation was about before this turn, for a detail, a language request or a sibling; none for a new or
    off-topic question)."""

    kind: str
    about: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "about": list(self.about)}


@dataclass(frozen=True)
class FollowUpPolicy:
    """The three margins that decide whether a turn's context carries, the length under which the off-topic
    margin does not apply, the background score under which it does not either, the gain by which the
    context overrides a turn that stands alone, the follow-up head's logit from which the context of a turn
    that does not stand alone carries whatever the margins say (``inf`` switches these three off), the
    margin a later turn answered on its own needs besides the abstention threshold (``-inf``: the threshold
    alone), and the sum of both margins' excesses over the abstention threshold from which a turn otherwise
    refused is answered when its two retrievals agree on a pledge not just shown (``inf``: off). See the module's
    docstring."""

    alone: float
    context: float
    offtopic: float
    short_words: int = 0
    background: float = -math.inf
    stay_gain: float = math.inf
    needs: float = math.inf
    answer: float = -math.inf
    agree: float = math.inf


def check_history(history: Iterable[object] | None, known: Container[str], max_turns: int) -> list[Turn]:
    """The last ``max_turns`` turns of ``history`` as ``Turn`` records.

    Takes ``Turn`` objects or dicts ``{"q": str, "pledge_ids": [str]}`` (the API's and ``Answer.to_json``'s
    shape); an unknown pledge id or a malformed turn is a ``HistoryError`` naming it.
    """
    if history is None:
        return []
    if isinstance(history, (str, bytes, Mapping)):
        raise HistoryError(
            f'history must be a list of turns [{{"q": "…", "pledge_ids": ["…"]}}], not {type(history).__name__}'
        )
    turns = [_turn(item, i) for i, item in enumerate(history)]
    for i, turn in enumerate(turns):
        unknown = [p for p in turn.pledge_ids if p not in known]
        if unknown:
            raise HistoryError(
                f"history[{i}].pledge_ids: unknown pledge id {unknown[0]!r}; send the pledge_id "
                "values of earlier answers (GET /api/pledges lists them)"
            )
    return turns[-max_turns:] if max_turns > 0 else []


def _turn(item: object, i: int) -> Turn:
    if isinstance(item, Turn):
        return item
    if not isinstance(item, Mapping):
        raise HistoryError(f'history[{i}] must be an object {{"q": …, "pledge_ids": […]}}, not {type(item).__name__}')
    q, ids = item.get("q"), item.get("pledge_ids", [])
    if not isinstance(q, str):
        raise HistoryError(f"history[{i}].q must be the earlier question as text, not {type(q).__name__}")
    if not isinstance(ids, (list, tuple)) or not all(isinstance(p, str) for p in ids):
        raise HistoryError(f"history[{i}].pledge_ids must be a list of pledge ids (strings)")
    return Turn(" ".join(q.split())[:MAX_TURN_CHARS], tuple(ids))


def context_text(history: list[Turn], question: str, max_questions: int = 2) -> str:
    """The turn with its context: the last ``max_questions`` earlier questions in front of it (history
    expansion). Earlier questions that asked only for another language add nothing and are skipped."""
    return expand([t.q for t in history if not is_pure_request(t.q)], question, max_questions)


def is_pure_request(text: str) -> bool:
    """Whether ``text`` asks only for the last answer in another language."""
    request = language_request(text)
    return request is not None and request.pure


def last_shown(history: list[Turn]) -> tuple[str, ...]:
    """The pledges of the most recent turn that showed any (what "it" refers to)."""
    return history[last_answered(history)].pledge_ids if history else ()


def last_answered(history: list[Turn]) -> int:
    """The index of the most recent turn that showed pledges (the last turn when none did): what a request for
    another language re-shows."""
    for i in range(len(history) - 1, -1, -1):
        if history[i].pledge_ids:
            return i
    return len(history) - 1


@dataclass(frozen=True)
class Reading:
    """How one later turn is answered: from its own retrieval or from the one with context, or refused."""

    source: str  # "alone" | "context" | "refuse"
    follow_up: FollowUp | None  # None for a first question


def read_turn(
    alone: Retrieval,
    context: Retrieval | None,
    previous: tuple[str, ...],
    policy: FollowUpPolicy,
    abstain_threshold: float,
    words: int,
    needs: float = -math.inf,
) -> Reading:
    """Decide a later turn of ``words`` words from its two retrievals (``context`` None: not needed, the turn
    stands alone) and the follow-up head's logit ``needs`` (-inf: no head).

    Pure: the calibration replays it over saved retrievals with other policies.
    """
    top_alone = alone.ranked[0].pledge_id if alone.ranked else None
    if context is not None and context.ranked and context.margin >= policy.context:
        if alone.margin >= max(policy.alone, abstain_threshold):
            # it stands alone unless far better read with its context, and the head does not read it as new
            carries = context.margin - alone.margin >= policy.stay_gain and not reads_as_new(needs, policy.needs)
        else:  # the head reads it as continuing the conversation, or the turn alone leaves room for its context
            carries = needs >= policy.needs or _may_carry(alone, policy, words)
        if carries:
            top = context.ranked[0].pledge_id
            return Reading("context", FollowUp(DETAIL if top in previous else SIBLING, previous))
    if alone.margin >= max(abstain_threshold, policy.answer):
        return Reading("alone", _standalone(top_alone, previous))
    if agrees(alone, context, previous, policy.agree, abstain_threshold):
        # a switch to another pledge that continues the conversation ("a na ich święta…?") when the head, in use,
        # reads it so (even odds or better, as reads_as_new); else, or with no logit, a question of its own
        continues = math.isfinite(policy.needs) and math.isfinite(needs) and needs >= EVEN_ODDS
        return Reading("alone", FollowUp(SIBLING, previous) if continues else FollowUp(NEW_TOPIC))
    return Reading("refuse", FollowUp(OFFTOPIC))


def agrees(
    alone: Retrieval, context: Retrieval | None, previous: Container[str], bar: float, abstain_threshold: float
) -> bool:
    """Whether the turn alone and the turn with its context put the same pledge first, one not just shown, with
    margins whose excesses over the abstention threshold add up to ``bar`` (step 5 of the module's docstring).
    Over the threshold, so that an operator who raises it to refuse more raises this bar with it."""
    if context is None or not alone.ranked or not context.ranked or bar == math.inf:
        return False
    top = alone.ranked[0].pledge_id
    excess = alone.margin + context.margin - 2 * abstain_threshold
    return top == context.ranked[0].pledge_id and top not in previous and excess >= bar


def reads_as_new(needs: float, bar: float) -> bool:
    """Whether the follow-up head, in use (its bar ``followup_needs_logit`` finite), puts the odds on a question
    of its own: its logit ``needs`` below even (-inf: no head).

    A turn that stands alone carries its context on a better context score only against this: with the 12-layer
    model "mój mąż mnie bije, gdzie szukać pomocy?" after bullying at work scored 0.08 more with its context (the
    pledge on bullying at work, which holds both "przemoc" and "praca") at a logit of -0.6. Even odds, not a
    chosen threshold: on the tune choice (``python -m eval.followup --joint``, 2026-12-07) a bar at -1, 0 or 1
    changed nothing for the quick profile; for thorough -1 and 0 gained a turn, 1 lost one."""
    return math.isfinite(bar) and math.isfinite(needs) and needs < EVEN_ODDS


def needs_context(alone: Retrieval, policy: FollowUpPolicy, abstain_threshold: float, words: int) -> bool:
    """Whether ``read_turn`` looks at the turn with its context (the second retrieval) at all: for a turn that
    does not stand alone, always when the follow-up head is on (its logit needs the context's vector) or the
    agreement margin is (it compares the two retrievals); for one that does, when the stay gain is on, or when
    the agreement margin is and the turn falls short of the answer margin."""
    agree = policy.agree < math.inf
    if alone.margin >= max(policy.alone, abstain_threshold):
        return math.isfinite(policy.stay_gain) or (agree and alone.margin < policy.answer)
    return math.isfinite(policy.needs) or agree or _may_carry(alone, policy, words)


def _may_carry(alone: Retrieval, policy: FollowUpPolicy, words: int) -> bool:
    """Whether the turn alone leaves room for its context: it is not clearly about something else. A turn of a
    few words ("ile kosztuje?", "де це?") matches nothing well on its own, so its low margin says nothing; nor
    does a low margin of a longer turn that is close to no general city topic either."""
    return words <= policy.short_words or alone.margin >= policy.offtopic or alone.background <= policy.background


def word_count(text: str) -> int:
    """Words as ``FollowUpPolicy.short_words`` counts them."""
    return len(text.split())


def _standalone(top: str | None, previous: tuple[str, ...]) -> FollowUp:
    if top is not None and top in previous:
        return FollowUp(DETAIL, previous)
    return FollowUp(NEW_TOPIC)
