"""The HTTP server: the JSON API (assistant/api.py) with offline OpenAPI docs, CORS closed unless configured,
the security middleware (assistant/security.py) around everything, and uvicorn without access logs.

The app (app.py) mounts its Gradio UI on the server this returns; replicas are separate processes on separate
ports (see README, "Deploying for a city").
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from assistant.api import Service, install_api
from assistant.security import SecurityMiddleware
from settings import Settings


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
