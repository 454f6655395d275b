"""The JSON API for helpline tools and web pages: ``POST /api/ask``, ``/api/pledges``, ``POST /api/feedback``,
``/api/health``, ``/api/stats``. OpenAPI docs at ``/api/docs``; the document (``/api/openapi.json``) is the
contract: bodies, constraints and every error reply are in it (assistant/api_models.py).

No Gradio queue sits in front of it. Engine calls run in a pool of ``api_threads`` threads (the answer is
CPU-bound, so more threads than cores only contend); a request waits at most ``api_wait_s`` for a thread and
then gets 503 with ``Retry-After`` instead of piling up. Errors are ``{"error": "<what to fix>"}`` with 400
(a question without letters), 404 (unknown pledge, answer or report), 405 (a method the route does not take:
``GET /api/ask`` among them, so no client keeps questions in URLs), 422 (bad parameter), 401/403 (stats without
the token), 413 (body too large), 429 (rate limit), 503 (loading, busy or database down).

    curl -X POST http://127.0.0.1:7860/api/ask -H 'Content-Type: application/json' \\
         -d '{"q": "is there free mammography?"}'
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, FastAPI, Path, Query, Request, Security
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from assistant.answer import Answer
from assistant.api_models import (
    ASK_LINKS,
    PLEDGES_LINKS,
    AskRequest,
    Counts,
    Health,
    Vote,
    VoteResult,
    ask_request_model,
    errors,
)
from assistant.core import Assistant, QuestionError
from assistant.feedback import FeedbackError, FeedbackStore, StoreUnavailable
from assistant.render import pledge_record
from settings import Settings

log = logging.getLogger("assistant.api")
T = TypeVar("T")


class ApiError(Exception):
    """An error reply: HTTP status, message saying what to fix, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class Service:
    """What the API serves: the assistant (None while it loads), the feedback store and a bounded pool."""

    settings: Settings
    feedback: FeedbackStore
    assistant: Assistant | None = None
    pool: ThreadPoolExecutor = field(init=False)
    io_pool: ThreadPoolExecutor = field(init=False)
    slots: asyncio.Semaphore | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(max(1, self.settings.api_threads), thread_name_prefix="kqa-api")
        # Database writes wait on the disk (an fsync per commit), not the CPU: their own threads, so they never
        # hold one of the engine's.
        self.io_pool = ThreadPoolExecutor(4, thread_name_prefix="kqa-io")

    def ready(self) -> Assistant:
        """The loaded assistant, or 503 while it loads."""
        if self.assistant is None:
            raise ApiError(503, "the assistant is still loading; try again in a few seconds", {"Retry-After": "5"})
        return self.assistant

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a database call in the I/O threads."""
        return await asyncio.get_running_loop().run_in_executor(self.io_pool, fn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the pool, waiting at most ``api_wait_s`` for a free thread."""
        if self.slots is None:  # created lazily: it belongs to the server's event loop
            self.slots = asyncio.Semaphore(max(1, self.settings.api_threads))
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout=self.settings.api_wait_s)
        except TimeoutError:
            raise ApiError(503, "the assistant is busy; try again in a moment", {"Retry-After": "1"}) from None
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)
        finally:
            self.slots.release()


# The admin token as a bearer scheme in the OpenAPI document (so clients and the docs page know to send it);
# missing or wrong tokens are judged by check_admin, which says which.
AdminToken = Annotated[
    HTTPAuthorizationCredentials | None,
    Security(HTTPBearer(auto_error=False, scheme_name="adminToken", description="KQA_ADMIN_TOKEN")),
]


def _at_most(assistant: Assistant, top_k: int | None, report: str | None) -> int | None:
    """``top_k`` cut to the pledges the question can be answered from (the engine refuses more than there are;
    the API promises "at most"). An unknown report is left for the engine to name (404)."""
    if top_k is None:
        return None
    n = sum(
        len(ed.report.pledges)
        for ed in assistant.library.latest()
        if report is None or report in (ed.key, ed.info.section)
    )
    return min(top_k, n) if n else top_k


def _router(service: Service) -> APIRouter:
    """Every /api/ route: asking and voting, the pledges and the operator's routes, then the catch-all."""
    api = APIRouter(prefix="/api")
    _ask_and_vote(api, service)
    _read_and_operate(api, service)

    @api.api_route(
        "/{rest:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
        include_in_schema=False,
    )
    async def elsewhere(request: Request, rest: str) -> JSONResponse:
        """Under /api/, a method a route does not declare gets 405 with Allow (GET /api/ask: use POST, the
        question must not be in the URL); an unknown path gets a JSON 404 (not echoing the path, which a client
        may have put a question in), not the web app's page."""
        allowed = sorted(
            {
                m
                for r in api.routes
                if isinstance(r, APIRoute)
                and r.path != "/api/{rest:path}"
                and r.matches(request.scope)[0] == Match.PARTIAL
                for m in r.methods or ()
            }
        )
        if not allowed:
            return _json_error(404, "no such API route; see /api/docs")
        hint = '; send the question in a JSON body: POST /api/ask {"q": "…"}' if rest == "ask" else ""
        return _json_error(
            405, f"{request.method} is not allowed here; use {', '.join(allowed)}{hint}", {"Allow": ", ".join(allowed)}
        )

    return api


def _ask_and_vote(api: APIRouter, service: Service) -> None:
    """The two routes that write (rate-limited by the security middleware)."""

    async def ask(body: AskRequest) -> Answer:
        def answer() -> Answer:
            assistant = service.ready()
            history = [t.model_dump() for t in body.history or []]
            return assistant.ask(
                body.q,
                _at_most(assistant, body.top_k, body.report),
                lang=body.lang,
                report=body.report,
                history=history,
            )

        ans = await service.run(answer)
        await service.write(service.feedback.record, ans, body.report or "")
        return ans

    # the body's model names the pledges the history may name, when they are known (see ask_request_model)
    ask.__annotations__["body"] = ask_request_model(
        [p.id for p in service.assistant.library.pledges] if service.assistant is not None else None
    )
    api.post(
        "/ask",
        operation_id="ask",
        summary="Answer a question with quoted, cited pledges (same object as `ask --json`)",
        response_model=Answer,
        responses={**errors(400, 404, 422, 429, 503), 200: {"links": ASK_LINKS}},
    )(ask)

    @api.post(
        "/feedback",
        operation_id="vote",
        summary="Vote on one pledge of an answer (one vote per answer and pledge; the same vote again changes nothing)",
        responses=errors(404, 422, 429, 503),
    )
    async def feedback(vote: Vote) -> VoteResult:
        counts = await service.write(service.feedback.vote, vote.answer_id, vote.pledge_id, vote.vote, vote.reason)
        return VoteResult(pledge_id=vote.pledge_id, vote=vote.vote, counts=Counts(**counts))


def _read_and_operate(api: APIRouter, service: Service) -> None:
    """The pledges, health and the operator's stats."""

    @api.get(
        "/pledges",
        operation_id="pledges",
        summary="Every pledge with its status, citation and report",
        responses={**errors(503), 200: {"links": PLEDGES_LINKS}},
    )
    async def pledges() -> list[dict[str, Any]]:
        library = service.ready().library
        return [pledge_record(library, p) for p in library.pledges]

    @api.get("/pledges/{pledge_id}", operation_id="pledge", summary="One pledge", responses=errors(404, 422, 503))
    async def pledge(pledge_id: str = Path(min_length=1, max_length=300)) -> dict[str, Any]:
        library = service.ready().library
        try:
            return pledge_record(library, library.by_id(pledge_id))
        except KeyError:
            raise ApiError(404, f"no pledge {pledge_id!r}; GET /api/pledges lists the ids") from None

    @api.get(
        "/health",
        operation_id="health",
        summary="Model, index and feedback store answer",
        response_model=Health,
        responses={**errors(), 503: {"model": Health, "description": "a check failed, or still loading"}},
    )
    async def health() -> JSONResponse:
        checks = {"model": False, "index": False, "feedback_store": False}
        profile = None
        if service.assistant is not None:
            a = service.assistant
            profile = a.settings.profile
            checks["index"] = a.index.dense.size > 0 and bool(a.library.pledges)
            checks["model"] = bool(await service.run(lambda: a.encoder.encode_queries(["zdrowie"]).shape[0] == 1))
        checks["feedback_store"] = await service.write(service.feedback.health)
        ok = all(checks.values())
        return JSONResponse({"ok": ok, **checks, "profile": profile}, status_code=200 if ok else 503)

    @api.get(
        "/stats",
        operation_id="stats",
        summary="Operator counts (no question text); needs the admin token",
        responses=errors(401, 403, 422, 503),
    )
    async def stats(credentials: AdminToken, days: int = Query(30, ge=1, le=3660)) -> dict[str, Any]:
        check_admin(service.settings, credentials.credentials if credentials else None)
        return await service.write(service.feedback.stats, days)


def token_ok(configured: str | None, given: str | None) -> bool:
    """The admin token check (API and Stats tab): constant-time, and closed when no token is configured."""
    if not configured or not given:
        return False
    return hmac.compare_digest(configured.encode("utf-8"), given.encode("utf-8"))


def check_admin(settings: Settings, sent: str | None) -> None:
    """401/403 unless the bearer token ``sent`` is KQA_ADMIN_TOKEN (constant-time compare; never logged)."""
    if not settings.admin_token:
        raise ApiError(403, "stats are closed; the operator sets KQA_ADMIN_TOKEN to open them")
    if not sent:
        raise ApiError(401, "send the admin token as 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
    if not token_ok(settings.admin_token, sent):
        raise ApiError(403, "wrong admin token")


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install_api(app: FastAPI, service: Service) -> None:
    """Add the routes and the error handlers that turn exceptions into ``{"error": …}`` replies."""
    app.include_router(_router(service))

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json_error(exc.status, exc.message, exc.headers)

    @app.exception_handler(QuestionError)
    async def _question_error(_: Request, exc: QuestionError) -> JSONResponse:
        status = {"empty": 400, "no_words": 400, "report": 404}.get(exc.code, 422)
        return _json_error(status, str(exc))

    @app.exception_handler(FeedbackError)
    async def _feedback_error(_: Request, exc: FeedbackError) -> JSONResponse:
        return _json_error(404 if exc.unknown else 422, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return _json_error(503, "feedback could not be saved right now; please try later", {"Retry-After": "30"})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Under /api/ FastAPI's own errors (a body that is not JSON: 400) get the documented error body too;
        # Gradio's routes keep their {"detail": …}, which its front end reads.
        if not request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        return _json_error(exc.status_code, f"{exc.detail}; see /api/docs", dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The offending value is left out (for `q` it would be the resident's question), except a pledge id in
        # the history, which is the report's own name and which the message must name.
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', 'invalid')}"
            + (f" (got unknown pledge id {e.get('input')!r})" if "pledge_ids" in e.get("loc", ()) else "")
            for e in exc.errors()
        ]
        return _json_error(422, "bad parameter — " + "; ".join(parts) + "; see /api/docs")
