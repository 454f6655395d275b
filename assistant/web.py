"""The HTTP server: the JSON API (assistant/api.py) with offline OpenAPI docs, CORS closed unless configured,
the security middleware (assistant/security.py) around everything, and uvicorn without access logs.

The app (app.py) mounts its Gradio UI on the server this returns; replicas are separate processes on separate
ports (see README, "Deploying for a city").
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse

from assistant.api import Service, install_api
from assistant.security import SecurityMiddleware
from assistant.ui_text import EXIT_PATH
from settings import Settings

# Where "Quick exit" goes: a blank page that says nothing about the app, served here (no outside site: the machine
# may be offline, and a request to a third party would tell it someone left this page).
NEUTRAL_PAGE = (
    '<!doctype html><html lang="pl"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Nowa karta</title>'
    "</head><body></body></html>"
)


def create_server(service: Service) -> FastAPI:
    """FastAPI app with ``/api/*`` and ``/api/docs`` (Swagger UI served from this machine, not a CDN)."""
    from fastapi_offline import FastAPIOffline

    app = FastAPIOffline(
        title="Kraków — miasto równych szans: API",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        static_url="/api/docs-static",
        description="Quoted, cited answers from Kraków's report. No question text is stored.",
    )
    install_api(app, service)

    @app.get(f"/{EXIT_PATH}", include_in_schema=False)
    def neutral_page() -> HTMLResponse:
        """The neutral page "Quick exit" replaces the app with; never cached."""
        return HTMLResponse(NEUTRAL_PAGE, headers={"Cache-Control": "no-store"})

    origins = [o.strip() for o in service.settings.cors_origins.split(",") if o.strip()]
    # Present even when empty: Gradio then adds none of its own (it would allow any localhost origin).
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Authorization"],
        allow_credentials=False,
    )
    return app


def secured(app: FastAPI, settings: Settings) -> SecurityMiddleware:
    """``app`` behind the body limit, upload refusal, safe headers, trusted-hosts check and rate limit."""
    return SecurityMiddleware(
        app,
        max_body_bytes=settings.max_body_bytes,
        trusted_hosts=settings.trusted_hosts,
        rate_limit=settings.rate_limit,
        trusted_proxies=settings.trusted_proxies,
    )


def serve(app: FastAPI, settings: Settings) -> None:
    """Run ``app`` (secured) with uvicorn on ``settings.host:port``; no access log (Gradio's URLs carry session
    ids, and a client may still put a question in one). uvicorn's own X-Forwarded-For handling is off: the
    security middleware believes the header only from ``KQA_TRUSTED_PROXIES``."""
    import uvicorn

    logging.getLogger("uvicorn.access").disabled = True
    uvicorn.run(
        secured(app, settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=5,
        proxy_headers=False,
    )
