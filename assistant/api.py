"""The JSON API for helpline tools and web pages: ``/api/ask``, ``/api/pledges``, ``/api/feedback``, ``/api/health``,
``/api/stats``. OpenAPI docs at ``/api/docs``.

No Gradio queue sits in front of it. Engine calls run in a pool of ``api_threads`` threads (the answer is
CPU-bound, so more threads than cores only contend); a request waits at most ``api_wait_s`` for a thread and
then gets 503 with ``Retry-After`` instead of piling up. Errors are ``{"error": "<what to fix>"}`` with 400
(empty question), 404 (unknown pledge or answer), 422 (bad parameter), 401/403 (stats without the token),
503 (loading, busy or database down).

    curl 'http://127.0.0.1:7860/api/ask?q=is+there+free+mammography'
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.core import Assistant, QuestionError
from assistant.feedback import FeedbackError, FeedbackStore, StoreUnavailable
from assistant.render import pledge_record
from settings import Settings

log = logging.getLogger("assistant.api")


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

    async def write(self, fn: Any, *args: Any) -> Any:
        """Run a database call in the I/O threads."""
        return await asyncio.get_running_loop().run_in_executor(self.io_pool, fn, *args)

    async def run(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` in the pool, waiting at most ``api_wait_s`` for a free thread."""
        if self.slots is None:  # created lazily: it belongs to the server's event loop
            self.slots = asyncio.Semaphore(max(1, self.settings.api_threads))
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout=self.settings.api_wait_s)
        except asyncio.TimeoutError:
            raise ApiError(503, "the assistant is busy; try again in a moment", {"Retry-After": "1"}) from None
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)
        finally:
            self.slots.release()


class Vote(BaseModel):
    """A vote on one pledge of one answer; ``vote: null`` takes it back."""

    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(min_length=1, max_length=40)
    pledge_id: str = Field(min_length=1, max_length=300)
    vote: Literal["up", "down"] | None
    reason: Literal["wrong_pledge", "outdated", "hard_to_understand"] | None = None


def _router(service: Service) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/ask", summary="Answer a question with quoted, cited pledges (same object as `ask --json`)")
    async def ask(q: str = Query(..., max_length=8000, description="the question"),
                  top_k: int | None = Query(None, ge=1, le=50, description="pledges to return (default 3)"),
                  lang: Literal["pl", "en", "uk"] | None = Query(None, description="reply language"),
                  report: str | None = Query(None, max_length=300, description="a report's key or section")
                  ) -> dict:
        ans = await service.run(lambda: service.ready().ask(q, top_k, lang=lang, report=report))
        await service.write(service.feedback.record, ans, report or "")
        return ans.to_json()

    @api.get("/pledges", summary="Every pledge with its status, citation and report")
    async def pledges() -> list[dict]:
        library = service.ready().library
        return [pledge_record(library, p) for p in library.pledges]

    @api.get("/pledges/{pledge_id}", summary="One pledge")
    async def pledge(pledge_id: str) -> dict:
        library = service.ready().library
        try:
            return pledge_record(library, library.by_id(pledge_id))
        except KeyError:
            raise ApiError(404, f"no pledge {pledge_id!r}; GET /api/pledges lists the ids") from None

    @api.post("/feedback", summary="Vote on one pledge of an answer (one vote per answer and pledge)")
    async def feedback(vote: Vote) -> dict:
        counts = await service.write(service.feedback.vote, vote.answer_id, vote.pledge_id, vote.vote, vote.reason)
        return {"pledge_id": vote.pledge_id, "vote": vote.vote, "counts": counts}

    @api.get("/health", summary="Model, index and feedback store answer")
    async def health() -> JSONResponse:
        checks = {"model": False, "index": False, "feedback_store": False}
        if service.assistant is not None:
            a = service.assistant
            checks["index"] = a.index.dense.size > 0 and bool(a.library.pledges)
            checks["model"] = bool(await service.run(lambda: a.encoder.encode_queries(["zdrowie"]).shape[0] == 1))
        checks["feedback_store"] = await service.write(service.feedback.health)
        ok = all(checks.values())
        return JSONResponse({"ok": ok, **checks}, status_code=200 if ok else 503)

    @api.get("/stats", summary="Operator counts (no question text); needs the admin token")
    async def stats(authorization: str | None = Header(None), days: int = Query(30, ge=1, le=3660)) -> dict:
        check_admin(service.settings, authorization)
        return await service.write(service.feedback.stats, days)

    return api


def token_ok(configured: str | None, given: str | None) -> bool:
    """The admin token check (API and Stats tab): constant-time, and closed when no token is configured."""
    if not configured or not given:
        return False
    return hmac.compare_digest(configured.encode("utf-8"), given.encode("utf-8"))


def check_admin(settings: Settings, authorization: str | None) -> None:
    """401/403 unless ``Authorization: Bearer <KQA_ADMIN_TOKEN>`` (constant-time compare; never logged)."""
    if not settings.admin_token:
        raise ApiError(403, "stats are closed; the operator sets KQA_ADMIN_TOKEN to open them")
    sent = (authorization or "").removeprefix("Bearer ").strip()
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
        return _json_error(400 if exc.code in ("empty", "no_words") else 422, str(exc))

    @app.exception_handler(FeedbackError)
    async def _feedback_error(_: Request, exc: FeedbackError) -> JSONResponse:
        return _json_error(404 if exc.unknown else 422, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return _json_error(503, "feedback could not be saved right now; please try later", {"Retry-After": "30"})

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The offending value is left out: for `q` it would be the resident's question.
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', 'invalid')}"
                 for e in exc.errors()]
        return _json_error(422, "bad parameter — " + "; ".join(parts) + "; see /api/docs")
