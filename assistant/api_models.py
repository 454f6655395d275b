"""The JSON API's request and error bodies, and the responses each route documents: the OpenAPI document
(``/api/openapi.json``) says what the code does, since helpline tools generate their clients from it.

A question travels in the body of ``POST /api/ask``, never in a URL: URLs end up in proxy logs, browser histories
and referrers. Constraints the code enforces are in the schema too: a question has at least one letter (``\\p{L}``,
Unicode letters, the engine's own test), a reason goes only with a "down" vote.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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

    error: str = Field(description="what went wrong and how to fix it",
                       examples=["the question is empty; type a question, e.g. \"is there free mammography?\""])


class AskRequest(BaseModel):
    """A question, and how to answer it. Unknown fields are refused (422), so a misspelt option is not ignored."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"q": "is there free mammography?"}, {"q": "opieka wytchnieniowa", "top_k": 2, "lang": "uk"}]})
    q: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, json_schema_extra={"pattern": LETTER},
                   description="the question, in any language; at least one letter (a question of only digits, "
                               "signs or spaces gets 400)")
    top_k: Annotated[int, Field(ge=1, le=50), BeforeValidator(_not_bool)] | None = Field(
        None, description="at most this many pledges (default 3; fewer when the report has fewer)")
    lang: Literal["pl", "en", "uk"] | None = Field(None, description="reply language (default: the question's)")
    report: str | None = Field(None, min_length=1, max_length=300,
                               description="only this report (its key or section); unknown: 404")


class _VoteOn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(min_length=1, max_length=40, description="`answer_id` of a POST /api/ask reply")
    pledge_id: str = Field(min_length=1, max_length=300,
                           description="a pledge that answer showed, or \"-\" for a \"not in the report\" answer")


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
ASK_LINKS = {"VoteOnTheFirstPledge": {
    "operationId": "vote", "description": "vote on the first pledge of this answer",
    "requestBody": {"answer_id": "$response.body#/answer_id", "pledge_id": "$response.body#/answers/0/pledge_id",
                    "vote": "up"}}}
PLEDGES_LINKS = {"OnePledge": {"operationId": "pledge", "parameters": {"pledge_id": "$response.body#/0/pledge_id"}}}
