"""Per-client rate limit for the routes that write to the database, and who the client is behind a proxy.

    >>> limit = RateLimit(per_minute=2)
    >>> [limit.wait("10.0.0.1", now=100.0) for _ in range(3)]
    [0.0, 0.0, 30.0]
    >>> limit.wait("10.0.0.2", now=100.0), limit.wait("10.0.0.1", now=130.0)
    (0.0, 0.0)

The limit is a GCRA (a token bucket kept as one number per client): ``per_minute`` requests at once, then one
every ``60 / per_minute`` seconds. It lives in each replica's memory, so N replicas allow up to N times as much;
the proxy's ``limit_req`` is the place for one limit over all of them (README, "Deploying for a city").
"""

from __future__ import annotations

import ipaddress
import threading
import time

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' → networks; a bad entry is an error naming it and the fix."""
    out = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"KQA_TRUSTED_PROXIES entry {part!r} is not an IP address or network; write e.g. '127.0.0.1,10.0.0.0/8'"
            ) from None
    return tuple(out)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The client a request counts against: the peer, or when the peer is a trusted proxy, the address that
    proxy forwarded — the rightmost one in X-Forwarded-For that is not itself a trusted proxy (entries left of
    it were written by the client and prove nothing).

    >>> proxies = parse_networks("127.0.0.1")
    >>> client_address("127.0.0.1", "6.6.6.6, 203.0.113.7", proxies)
    '203.0.113.7'
    >>> client_address("198.51.100.2", "203.0.113.7", proxies)  # not from the proxy: the header is ignored
    '198.51.100.2'
    """
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    while hops and _trusted(hops[-1], proxies):
        hops.pop()
    return hops[-1] if hops else peer


class RateLimit:
    """``per_minute`` requests per client and minute (0: no limit), thread-safe, memory bounded by sweeping
    clients whose bucket is full again."""

    def __init__(self, per_minute: int, max_clients: int = 100_000) -> None:
        self.per_minute, self.max_clients = per_minute, max_clients
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._due: dict[str, float] = {}  # client → theoretical arrival time of its next request
        self._lock = threading.Lock()

    def wait(self, client: str, now: float | None = None) -> float:
        """0.0 when the request may go ahead (and is counted), else the seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            due = max(self._due.get(client, now), now)
            if due - now > 60.0 - self.interval + 1e-9:
                return round(due - now - (60.0 - self.interval), 3)
            if len(self._due) >= self.max_clients:
                self._sweep(now)
            self._due[client] = due + self.interval
        return 0.0

    def _sweep(self, now: float) -> None:
        """Forget clients whose bucket is full again; if that frees nothing (a flood of new addresses), forget
        the oldest half, which errs towards letting a request through."""
        self._due = {c: t for c, t in self._due.items() if t > now}
        if len(self._due) >= self.max_clients:
            keep = sorted(self._due.items(), key=lambda kv: kv[1])[len(self._due) // 2 :]
            self._due = dict(keep)
