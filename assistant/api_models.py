"""The JSON API's request and error bodies, and the responses each route documents: the OpenAPI document
(``/api/openapi.json``) says what the code does, since helpline tools generate their clients from it.

A question travels in the body of ``POST /api/ask``, never in a URL: URLs end up in proxy logs, browser histories
and referrers. Constraints the code enforces are in the schema too: a question has at least one letter (``\\p{L}``,
Unicode letters, the engine's own test), a reason goes only with a "down" vote.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import GenericAlias
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

# A question longer than this is refused (422); the engine reads at most 4 × max_question_chars characters of it
# (4,000 by default) and answers the first 1,000, so nothing it would read is refused.
MAX_QUESTION_CHARS = 4000
# The engine's test for "has words" (any character str.isalpha() accepts = Unicode category L), as a JSON Schema
# (ECMA-262) pattern. Documented, not enforced by the model: the engine refuses such a question itself, with 400
# and a message that says what to type.
LETTER = r"\p{L}"


def _not_bool(value: object) -> object:
    """JSON true/false is not a number (pydantic would read it as 1/0); 3.0 is (JSON Schema's integer)."""
    if isinstance(value, bool):
        raise ValueError("a whole number, not true/false")  # noqa: TRY004  # pydantic reports ValueError only
    return value


class ErrorBody(BaseModel):
    """Every error reply: what went wrong and what to do (never the question's text)."""

    error: str = Field(
        description="what went wrong and how to fix it",
        examples=['the question is empty; type a question, e.g. "is there free mammography?"'],
    )


# Earlier turns a client may send with a question; the server reads the last Settings.max_history_turns of them.
MAX_HISTORY = 20


class HistoryTurn(BaseModel):
    """One earlier turn as the client saw it: exactly the ``turn`` object of that answer."""

    model_config = ConfigDict(extra="forbid")
    q: str = Field(max_length=MAX_QUESTION_CHARS, description="the earlier question")
    pledge_ids: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default_factory=list,
        max_length=50,
        description="the pledges that answer showed (its `turn.pledge_ids`; [] when it was refused); an unknown "
        "id gets 422 naming it",
    )


class AskRequest(BaseModel):
    """A question, and how to answer it. Unknown fields are refused (422), so a misspelt option is not ignored."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"q": "is there free mammography?"},
                {"q": "opieka wytchnieniowa", "top_k": 2, "lang": "uk"},
                {
                    "q": "is it free?",
                    "history": [
                        {
                            "q": "is there free mammography?",
                            "pledge_ids": [
                                "zapewnimy-kobietom-w-kazdym-wieku-dostep-do-programow-profilaktycznych-oraz-wsparcie-w-zakresie-"
                                "chorob-zwiazanych-z-podeszlym-wiekiem"
                            ],
                        }
                    ],
                },
            ]
        },
    )
    q: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        json_schema_extra={"pattern": LETTER},
        description="the question, in any language; at least one letter (a question of only digits, "
        "signs or spaces gets 400)",
    )
    top_k: Annotated[int, Field(ge=1, le=50), BeforeValidator(_not_bool)] | None = Field(
        None, description="at most this many pledges (default 3; fewer when the report has fewer)"
    )
    lang: Literal["pl", "en", "uk"] | None = Field(None, description="reply language (default: the question's)")
    report: str | None = Field(
        None, min_length=1, max_length=300, description="only this report (its key or section); unknown: 404"
    )
    history: list[HistoryTurn] | None = Field(
        None,
        max_length=MAX_HISTORY,
        description="the conversation so far, oldest first: each earlier answer's `turn` object. A follow-up "
        '("is it free?", "po ukraińsku") is read with it; the server keeps nothing of it',
    )


def ask_request_model(pledge_ids: Sequence[str] | None) -> type[AskRequest]:
    """``AskRequest`` whose history may name only these pledge ids (an enum in the OpenAPI document, so a
    generated client knows them and any other id is a 422 by the schema as well as by the code); ``AskRequest``
    itself when they are not known yet (the API is documented before the assistant has loaded)."""
    if not pledge_ids:
        return AskRequest
    # types built from the data at run time: values to mypy, not type expressions it could check
    known: Any = Literal.__getitem__(tuple(sorted(pledge_ids)))
    turn = create_model(
        "HistoryTurn",
        __base__=HistoryTurn,
        pledge_ids=(
            _list_of(known),
            Field(default_factory=list, max_length=50, description=HistoryTurn.model_fields["pledge_ids"].description),
        ),
    )
    return create_model(
        "AskRequest",
        __base__=AskRequest,
        history=(
            _list_of(turn) | None,
            Field(None, max_length=MAX_HISTORY, description=AskRequest.model_fields["history"].description),
        ),
    )


def _list_of(item: Any) -> Any:
    """``list[item]`` for a type made at run time."""
    return GenericAlias(list, (item,))


class _VoteOn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(min_length=1, max_length=40, description="`answer_id` of a POST /api/ask reply")
    pledge_id: str = Field(
        min_length=1, max_length=300, description='a pledge that answer showed, or "-" for a "not in the report" answer'
    )


class UpVote(_VoteOn):
    """The pledge answered the question."""

    vote: Literal["up"]
    reason: None = None


class DownVote(_VoteOn):
    """The pledge did not answer it, optionally saying why."""

    vote: Literal["down"]
    reason: Literal["wrong_pledge", "outdated", "hard_to_understand"] | None = None


class TakeBack(_VoteOn):
    """Take back the vote on this answer and pledge."""

    vote: None
    reason: None = None


Vote = UpVote | DownVote | TakeBack


class Counts(BaseModel):
    up: int
    down: int


class VoteResult(BaseModel):
    """The vote as stored (one per answer and pledge; sending it again changes nothing) and the pledge's counts."""

    pledge_id: str
    vote: Literal["up", "down"] | None
    counts: Counts


class Health(BaseModel):
    ok: bool
    model: bool
    index: bool
    feedback_store: bool
    # the profile answering (quick, thorough); null while loading. With KQA_PROFILE unset it turns from quick to
    # thorough when the server's background build of it lands
    profile: str | None = None


WHY = {
    400: "the question has no letters, or the Host header is not one of KQA_TRUSTED_HOSTS",
    401: "no admin token sent (`Authorization: Bearer <token>`)",
    403: "wrong admin token, or stats closed (KQA_ADMIN_TOKEN unset)",
    404: "unknown pledge, answer or report",
    413: "request body over KQA_MAX_BODY_BYTES",
    422: "a parameter or field that does not fit the schema; the message names it",
    429: "over KQA_RATE_LIMIT requests a minute from this client; see Retry-After",
    503: "still loading, all engine threads busy, or the database down; see Retry-After",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error codes, each with the ``ErrorBody`` model. 400 (Host) and 413 (body)
    come from the security middleware, so every route can send them."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({400, 413, *codes}):
        out[code] = {"model": ErrorBody, "description": WHY[code]}
        if code in (429, 503):
            out[code]["headers"] = RETRY_AFTER
    return out


# OpenAPI links: what a client (and schemathesis's stateful phase) can do next with a reply's values.
ASK_LINKS = {
    "VoteOnTheFirstPledge": {
        "operationId": "vote",
        "description": "vote on the first pledge of this answer",
        "requestBody": {
            "answer_id": "$response.body#/answer_id",
            "pledge_id": "$response.body#/answers/0/pledge_id",
            "vote": "up",
        },
    }
}
PLEDGES_LINKS = {"OnePledge": {"operationId": "pledge", "parameters": {"pledge_id": "$response.body#/0/pledge_id"}}}
