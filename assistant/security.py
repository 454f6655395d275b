"""HTTP hardening for the served app: bounded bodies, no uploads, safe headers, trusted hosts, closed CORS.

Pure ASGI middleware, so it runs before FastAPI or Gradio read a byte of the request:

- a body over ``max_body_bytes`` is refused with 413 — by its Content-Length, or, when it is sent in chunks
  without one, as soon as the bytes read pass the limit (so no more than the limit is ever held);
- Gradio's upload routes answer 403: the app has no file inputs, and an open upload route lets any web page
  open in a kiosk browser fill the disk;
- every response carries a Content-Security-Policy (no outside scripts, styles, fonts, frames or
  connections; no framing by other sites), X-Content-Type-Options, X-Frame-Options and Referrer-Policy;
- a Host header not in ``trusted_hosts`` gets 400 (DNS rebinding would otherwise reach the API from a web page);
- the routes that write to the database (``/api/ask``, ``/api/feedback``) take at most ``rate_limit`` requests a
  minute per client and answer 429 with ``Retry-After`` beyond it (assistant/ratelimit.py); behind a proxy
  listed in ``trusted_proxies`` the client is the address it forwards.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from assistant.ratelimit import RateLimit, client_address, parse_networks

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Gradio's own front end needs inline scripts (its config) and inline styles; everything else is this origin.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' blob:; connect-src 'self'; "
    "worker-src 'self' blob:; frame-src 'none'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
UPLOAD_PATHS = ("/upload", "/gradio_api/upload", "/gradio_api/upload_progress")
LIMITED_PATHS = ("/api/ask", "/api/feedback")  # each request writes a row


def parse_hosts(value: str) -> frozenset[str]:
    """'127.0.0.1, localhost' → {'127.0.0.1', 'localhost'}; '*' allows any host."""
    return frozenset(h.strip().lower().strip("[]") for h in value.split(",") if h.strip())


def host_of(scope: Scope) -> str:
    """The Host header without its port ('[::1]:7860' → '::1')."""
    for key, value in scope.get("headers", []):
        if key == b"host":
            host: str = value.decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[1 : host.find("]")] if "]" in host else host
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


async def _reply(send: Send, status: int, message: str, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A small JSON error, with the safe headers too."""
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *HEADERS,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """Wraps the whole ASGI app (API and Gradio alike); see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, trusted_hosts: str, rate_limit: int = 0, trusted_proxies: str = ""
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hosts = parse_hosts(trusted_hosts)
        self.limit = RateLimit(rate_limit)
        self.proxies = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if "*" not in self.hosts and host_of(scope) not in self.hosts:
            if scope["type"] == "http":
                await _reply(send, 400, "unknown Host header; add the server's name to KQA_TRUSTED_HOSTS")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.rstrip("/") in UPLOAD_PATHS or path.startswith("/gradio_api/upload"):
            await _reply(send, 403, "this app accepts no file uploads")
            return
        if path.rstrip("/") in LIMITED_PATHS and await self._over_limit(scope, send):
            return
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _reply(send, 413, f"request body over {self.max_body_bytes} bytes; send a shorter question")
            return
        if length is None and scope.get("method") in ("POST", "PUT", "PATCH"):
            body = await self._read_limited(receive)
            if body is None:
                await _reply(send, 413, f"request body over {self.max_body_bytes} bytes; send a shorter question")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, self._with_headers(send))

    async def _over_limit(self, scope: Scope, send: Send) -> bool:
        """Count the request against its client; when over the limit, answer 429 and return True."""
        forwarded = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"), None)
        peer = (scope.get("client") or ("", 0))[0]
        wait = self.limit.wait(client_address(peer, forwarded, self.proxies))
        if not wait:
            return False
        await _reply(
            send,
            429,
            f"too many requests from this address (KQA_RATE_LIMIT={self.limit.per_minute} a "
            f"minute); try again in {math.ceil(wait)} s",
            ((b"retry-after", str(math.ceil(wait)).encode()),),
        )
        return True

    async def _read_limited(self, receive: Receive) -> bytes | None:
        """A body sent without Content-Length, read up to the limit (so at most that much is held); None if over."""
        parts, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.max_body_bytes:
                return None
            more = message.get("more_body", False)
        return b"".join(parts)

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in HEADERS if h[0] not in names)]
            await send(message)

        return send_with_headers


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app a body already read, then passes on the client's later messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the client's own receive (it used to call itself here, without end)

    return replayed
